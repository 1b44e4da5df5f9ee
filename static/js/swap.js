// The one way server HTML enters the page. A region (an element with an id:
// <main id="main">, or one marked data-live) is replaced by its twin in a fresh
// copy of the page when the server's HTML for it changed; a chart whose inputs
// did not change is kept as drawn, zoom and all; new content is enhanced by
// every feature that registered for it (times, charts, controls).
import { chartInputs, isDrawn, releaseChart } from "./charts.js";

// The server's HTML of each region, as last put in the page (before any
// feature changed it), to tell whether a fresh copy differs.
const served = new WeakMap();
const enhancers = [];
// The ETag of the page shown, when it had one.
let version = null;

export function onNewContent(enhance) {
  enhancers.push(enhance);
}

export function pageVersion() {
  return version;
}

/** The page as loaded: its regions noted as served, then enhanced. */
export function start() {
  const main = document.getElementById("main");
  [main, ...main.querySelectorAll("[data-live]")].forEach((region) => {
    served.set(region, region.innerHTML);
  });
  enhancers.forEach((enhance) => enhance(document));
}

/** A page's HTML as a document; an answer with no page in it is an error. */
export function parsePage(html, status) {
  const fresh = new DOMParser().parseFromString(html, "text/html");
  if (!fresh.getElementById("main")) {
    throw new Error(`HTTP ${status}`);
  }
  return fresh;
}

/**
 * The regions matching `selector` replaced from the fresh document `fresh`,
 * which the server answered with `etag`. `sameView` (a newer copy of the view
 * shown) keeps what the visitor did that the server does not know: a chart's
 * zoom, a choice in a list not yet applied. Whether anything changed.
 */
export function swap(fresh, { selector, sameView, etag }) {
  version = etag;
  let changed = false;
  document.querySelectorAll(selector).forEach((region) => {
    const twin = region.id && fresh.getElementById(region.id);
    if (twin && twin.innerHTML !== served.get(region)) {
      replace(region, twin, sameView);
      changed = true;
    }
  });
  return changed;
}

function replace(region, twin, sameView) {
  const kept = new Map();
  region.querySelectorAll("[data-chart]").forEach((chart) => {
    const next = chart.id && twin.querySelector(`#${CSS.escape(chart.id)}`);
    if (next && isDrawn(chart) && chartInputs(chart) === chartInputs(next)) {
      kept.set(chart.id, chart);
    } else {
      releaseChart(chart, sameView);
    }
  });
  const chosen = sameView ? choices(region) : null;
  // Noted before the kept charts go in: their drawing is not the server's HTML.
  const html = [twin, ...twin.querySelectorAll("[data-live]")].map((r) => [
    r === twin ? region : r,
    r.innerHTML,
  ]);
  kept.forEach((chart) => chart.remove());
  region.replaceChildren(...[...twin.childNodes].map((node) => document.adoptNode(node)));
  kept.forEach((chart, id) => document.getElementById(id).replaceWith(chart));
  html.forEach(([r, text]) => served.set(r, text));
  if (chosen) {
    choose(region, chosen);
  }
  enhancers.forEach((enhance) => enhance(region));
}

function selects(region) {
  return region.matches("select") ? [region] : [...region.querySelectorAll("select[id]")];
}

// The visitor's choice in each list, by option: an option the list had before
// keeps it; a new one comes as the server sends it; a chosen one the server no
// longer lists (one a search added) stays, chosen.
function choices(region) {
  return new Map(
    selects(region).map((select) => [
      select.id,
      new Map([...select.options].map((option) => [option.value, option])),
    ]),
  );
}

function choose(region, chosen) {
  selects(region).forEach((select) => {
    const before = chosen.get(select.id) || new Map();
    const listed = new Set();
    [...select.options].forEach((option) => {
      listed.add(option.value);
      if (before.has(option.value)) {
        option.selected = before.get(option.value).selected;
      }
    });
    before.forEach((option, value) => {
      if (option.selected && !listed.has(value)) {
        select.append(option);
      }
    });
  });
}
