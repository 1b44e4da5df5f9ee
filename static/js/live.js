// Live refresh: the page's own address asked for again, conditionally (its
// ETag), every few seconds; a 304 changes nothing, a newer page has its live
// regions swapped in. New rows are marked and counted since the visitor looked.
import { keep, recall } from "./storage.js";
import { onNewContent, pageVersion, parsePage, swap } from "./swap.js";

const STORAGE_KEY = "spucsvi.refresh-seconds";
let timer = null;
let inFlight = false;
// What the visitor has seen: the number of sightings when they last looked
// (loaded, or chose a view), and the highest count in the table then.
let seenTotal = null;
let seenCount = 0;
let lastNew = "";

function setStatus(text) {
  const status = document.getElementById("refresh-status");
  if (status) {
    status.textContent = text;
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
  seenCount = Math.max(0, ...[...rows()].map(rowCount));
}

function newSince(total) {
  if (total !== null && seenTotal !== null) {
    const added = total - seenTotal;
    lastNew = added > 0 ? `; ${added.toLocaleString("en")} new since you looked` : "";
  }
  return lastNew;
}

function at() {
  return new Date().toLocaleTimeString();
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
      setStatus(`Up to date at ${at()}${newSince(null)}`);
      return;
    }
    if (!response.ok) {
      throw new Error(`HTTP ${response.status}`);
    }
    const fresh = parsePage(await response.text(), response.status);
    if (address !== window.location.pathname + window.location.search) {
      return; // the visitor chose another view meanwhile: this answer is for the last one
    }
    const options = { selector: "[data-live]", sameView: true, etag: response.headers.get("ETag") };
    const since = newSince(unfilteredTotal(fresh)); // before the swap takes its content
    const changed = swap(fresh, options);
    rows().forEach((row) => row.classList.toggle("is-new", rowCount(row) > seenCount));
    setStatus(changed ? `Updated at ${at()}${since}` : `Up to date at ${at()}${since}`);
  } catch (error) {
    setStatus(
      `SPUC or SPUCSVi is not answering (${error.message}): what you see may ` +
        "be out of date. Trying again.",
    );
  } finally {
    inFlight = false;
  }
}

function schedule(select) {
  const seconds = Number(select.value);
  clearInterval(timer);
  timer = null;
  keep(STORAGE_KEY, String(seconds));
  if (seconds > 0) {
    timer = setInterval(() => refresh(false), seconds * 1000);
    setStatus(`Refreshing every ${seconds} s`);
  } else {
    setStatus("");
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

document.addEventListener("change", (event) => {
  if (event.target.id === "refresh-interval") {
    schedule(event.target);
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
