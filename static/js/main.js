// The dashboard's script, as ES modules by feature: times (time zones),
// charts (drawing what the server declared), swap (the one way server HTML
// enters the page), navigation (other views in place), live (refresh), form
// (the sighting form), locations (the location list's search). This module
// starts them on the page as served.
import { allCharts, drawCharts, isDrawn } from "./charts.js";
import { lookedNow } from "./live.js";
import { onNewContent, start } from "./swap.js";
import { chooseZone, showFilterZone, showTimes } from "./times.js";
import "./form.js";
import "./locations.js";
import "./navigation.js";

onNewContent((root) => {
  showTimes(root);
  showFilterZone(root);
  drawCharts([...allCharts(root)].filter((chart) => !isDrawn(chart)));
});

// Times in UTC or the visitor's zone: everything that shows one redrawn.
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest(".zone-button");
  if (button) {
    chooseZone(button.dataset.zone);
    showTimes(document);
    showFilterZone(document);
    drawCharts(allCharts());
  }
});

// Chart colours follow the light or dark scheme.
window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
  drawCharts(allCharts());
});

start();
lookedNow();
