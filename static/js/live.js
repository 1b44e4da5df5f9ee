// Live refresh: the page's own address asked for again, conditionally (its
// ETag), every few seconds; a 304 changes nothing, a newer page has its live
// regions swapped in. New rows are marked and counted since the visitor looked.
// The status (aria-live) speaks only of a change: new sightings, an error, the
// page answering again; when it was last checked is quiet text beside it.
import { keep, recall } from "./storage.js";
import { onNewContent, pageVersion, parsePage, swap } from "./swap.js";

const STORAGE_KEY = "spucsvi.refresh-seconds";
let timer = null;
let inFlight = false;
// What the visitor has seen: the number of sightings when they last looked
// (loaded, or chose a view), and the highest count in the table then; and the
// number the last refresh showed.
let seenTotal = null;
let seenCount = 0;
let shownTotal = null;
let failing = false;

/** Said to a screen reader: only when it differs from what was said. */
function setStatus(text) {
  const status = document.getElementById("refresh-status");
  if (status && status.textContent !== text) {
    status.textContent = text;
  }
}

function setChecked(text) {
  const checked = document.getElementById("refresh-checked");
  if (checked) {
    checked.textContent = `${text} at ${new Date().toLocaleTimeString()}`;
  }
}

function unfilteredTotal(root) {
  const strip = root.querySelector(".summary-strip[data-unfiltered-total]");
  return strip ? Number(strip.dataset.unfilteredTotal) : null;
}

function rowCount(row) {
  return Number(row.cells[0].textContent) || 0;
}

function rows() {
  return document.querySelectorAll("table.sightings tbody tr");
}

export function lookedNow() {
  seenTotal = unfilteredTotal(document);
  shownTotal = seenTotal;
  seenCount = Math.max(0, ...[...rows()].map(rowCount));
}

function sightings(n) {
  return `${n.toLocaleString("en")} ${n === 1 ? "sighting" : "sightings"}`;
}

// What changed since the last refresh, in words, or "" when nothing to say.
function news(total) {
  if (total === null || shownTotal === null || total === shownTotal) {
    return "";
  }
  const added = total - shownTotal;
  if (added < 0) {
    return `SPUC now holds ${sightings(total)}, fewer than before`;
  }
  const since = total - seenTotal;
  const said = `${added.toLocaleString("en")} new ${added === 1 ? "sighting" : "sightings"}`;
  return since > added ? `${said}; ${since.toLocaleString("en")} new since you looked` : said;
}

async function refresh(now) {
  if ((document.hidden && !now) || inFlight || !document.getElementById("refresh-interval")) {
    return;
  }
  inFlight = true;
  const etag = pageVersion();
  const address = window.location.pathname + window.location.search;
  try {
    const response = await fetch(address, {
      cache: "no-store",
      credentials: "same-origin",
      headers: etag ? { Accept: "text/html", "If-None-Match": etag } : { Accept: "text/html" },
    });
    if (response.status === 304) {
      answered("");
      setChecked("Up to date");
      return;
    }
    // A 400 is this view with a refused part of its filter: still the page.
    if (!response.ok && response.status !== 400) {
      throw new Error(`HTTP ${response.status}`);
    }
    const fresh = parsePage(await response.text(), response.status);
    if (address !== window.location.pathname + window.location.search) {
      return; // the visitor chose another view meanwhile: this answer is for the last one
    }
    const options = { selector: "[data-live]", sameView: true, etag: response.headers.get("ETag") };
    const total = unfilteredTotal(fresh); // before the swap takes its content
    const changed = swap(fresh, options);
    rows().forEach((row) => row.classList.toggle("is-new", rowCount(row) > seenCount));
    answered(news(total));
    shownTotal = total === null ? shownTotal : total;
    setChecked(changed ? "Updated" : "Up to date");
  } catch (error) {
    failing = true;
    setStatus(
      `SPUC or SPUCSVi is not answering (${error.message}): what you see may ` +
        "be out of date. Trying again.",
    );
    setChecked("Tried");
  } finally {
    inFlight = false;
  }
}

// An answer came: say what is new, or that answers came back after a failure.
function answered(text) {
  if (text) {
    setStatus(text);
  } else if (failing) {
    setStatus("SPUCSVi answers again: the page is up to date.");
  }
  failing = false;
}

function schedule(select) {
  const seconds = Number(select.value);
  clearInterval(timer);
  timer = null;
  keep(STORAGE_KEY, String(seconds));
  if (seconds > 0) {
    timer = setInterval(() => refresh(false), seconds * 1000);
  }
}

// New content with the refresh controls (the page, or another view of it):
// "Refresh now" shown (it needs this script), the visitor's interval kept.
onNewContent((root) => {
  const select = root.querySelector("#refresh-interval");
  if (!select) {
    return;
  }
  document.getElementById("refresh-now").hidden = false;
  const saved = recall(STORAGE_KEY);
  if (saved && select.querySelector(`option[value="${CSS.escape(saved)}"]`)) {
    select.value = saved;
  }
  schedule(select);
});

// The visitor's own choice is said once; a new view keeps it silently.
document.addEventListener("change", (event) => {
  if (event.target.id === "refresh-interval") {
    schedule(event.target);
    const seconds = Number(event.target.value);
    setStatus(seconds > 0 ? `Refreshing every ${seconds} s` : "Refresh off");
  }
});

document.addEventListener("click", (event) => {
  if (event.target.id === "refresh-now") {
    refresh(true);
  }
});

document.addEventListener("visibilitychange", () => {
  const select = document.getElementById("refresh-interval");
  if (!document.hidden && select && Number(select.value) > 0) {
    refresh(false);
  }
});
