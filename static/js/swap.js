// The one way server HTML enters the page. A region (an element with an id:
// <main id="main">, or one marked data-live) is replaced by its twin in a fresh
// copy of the page when the server's HTML for it changed; a chart whose inputs
// did not change is kept as drawn, zoom and all; what the visitor typed or
// chose and has not sent stays, and so does focus; new content is enhanced by
// every feature that registered for it (times, charts, controls).
import { chartInputs, isDrawn, releaseChart } from "./charts.js";
import { keep, recall } from "./storage.js";

// The server's HTML of each region, as last put in the page (before any
// feature changed it), to tell whether a fresh copy differs.
const served = new WeakMap();
const enhancers = [];
// The ETag of the page shown, when it had one.
let version = null;
// What the visitor typed and has not sent, kept for this tab: the page built
// anew (Back from another page, a reload) gets it back.
const TYPED_KEY = "spucsvi.typed";

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
  retype(main, recalled());
  enhancers.forEach((enhance) => enhance(document));
  ["input", "change"].forEach((name) => document.addEventListener(name, remember));
}

// What the visitor typed, kept for the tab as text: a field's value, or a list's
// changed options as [value, chosen] pairs.
function remember() {
  const plain = {};
  typed(document.getElementById("main"), null).forEach((value, id) => {
    plain[id] = typeof value === "string" ? value : value.map((o) => [o.value, o.selected]);
  });
  keep(TYPED_KEY, JSON.stringify(plain), { forTab: true });
}

function recalled() {
  let plain = {};
  try {
    plain = JSON.parse(recall(TYPED_KEY, { forTab: true }) || "{}");
  } catch {
    // Not ours, or broken: nothing to give back.
  }
  return new Map(
    Object.entries(plain).map(([id, value]) => [
      id,
      typeof value === "string"
        ? value
        : value.map(([text, chosen]) =>
            Object.assign(new Option(text, text), { selected: chosen }),
          ),
    ]),
  );
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
 * which the server answered with `etag`. What the visitor typed or chose and
 * has not sent stays, whatever the view (see `typed`); `sent` is the form whose
 * answer this is: its fields show what the server answered. `sameView` (a newer
 * copy of the view shown) keeps a chart's zoom too. Focus stays on the control
 * that had it. Whether anything changed.
 */
export function swap(fresh, { selector, sameView, etag, sent = null }) {
  version = etag;
  let changed = false;
  document.querySelectorAll(selector).forEach((region) => {
    const twin = region.id && fresh.getElementById(region.id);
    if (twin && twin.innerHTML !== served.get(region)) {
      replace(region, twin, sameView, sent);
      changed = true;
    }
  });
  remember(); // what was sent is no longer the visitor's to keep
  return changed;
}

function replace(region, twin, sameView, sent) {
  const kept = new Map();
  region.querySelectorAll("[data-chart]").forEach((chart) => {
    const next = chart.id && twin.querySelector(`#${CSS.escape(chart.id)}`);
    if (next && isDrawn(chart) && chartInputs(chart) === chartInputs(next)) {
      kept.set(chart.id, chart);
    } else {
      releaseChart(chart, sameView);
    }
  });
  const unsent = typed(region, sent);
  const focused = focusedIn(region);
  // Noted before the kept charts go in: their drawing is not the server's HTML.
  const html = [twin, ...twin.querySelectorAll("[data-live]")].map((r) => [
    r === twin ? region : r,
    r.innerHTML,
  ]);
  kept.forEach((chart) => chart.remove());
  region.replaceChildren(...[...twin.childNodes].map((node) => document.adoptNode(node)));
  kept.forEach((chart, id) => document.getElementById(id).replaceWith(chart));
  html.forEach(([r, text]) => served.set(r, text));
  retype(region, unsent);
  enhancers.forEach((enhance) => enhance(region));
  refocus(region, focused);
}

function fields(region) {
  const all = [...region.querySelectorAll("input[id], select[id], textarea[id]")];
  return region.matches("select[id]") ? [region, ...all] : all;
}

// What the visitor typed or chose in the region and has not sent, by field id:
// a field whose value differs from the one the server wrote (its default), or
// the options of a list whose choice differs from the server's. The fields of
// the form just sent (`sent`) are not kept: they were sent.
function typed(region, sent) {
  const unsent = new Map();
  fields(region).forEach((field) => {
    if (field.type === "hidden" || (sent && field.name && sent.contains(field))) {
      return;
    }
    if (field.tagName === "SELECT") {
      const changed = [...field.options].filter(
        (option) => option.selected !== option.defaultSelected,
      );
      if (changed.length) {
        unsent.set(field.id, changed);
      }
    } else if (field.value !== field.defaultValue) {
      unsent.set(field.id, field.value);
    }
  });
  return unsent;
}

// The visitor's changes put back on the server's new fields. A chosen option the
// server no longer lists (one a search added) stays, chosen.
function retype(region, unsent) {
  unsent.forEach((value, id) => {
    const field = document.getElementById(id);
    if (!field || !region.contains(field)) {
      return;
    }
    if (field.tagName !== "SELECT") {
      field.value = value;
      return;
    }
    const listed = new Map([...field.options].map((option) => [option.value, option]));
    value.forEach((option) => {
      if (listed.has(option.value)) {
        listed.get(option.value).selected = option.selected;
      } else if (option.selected) {
        field.append(option);
      }
    });
  });
}

// The control with focus in the region, as a selector that finds its twin.
function focusedIn(region) {
  const active = document.activeElement;
  if (!active || active === document.body || !region.contains(active)) {
    return null;
  }
  if (active.id) {
    return `#${CSS.escape(active.id)}`;
  }
  const key = active.dataset && active.dataset.focusKey;
  return key ? `[data-focus-key="${CSS.escape(key)}"]` : "";
}

// Focus back where it was: on the twin of the control that had it, or else on
// the region, never lost to the page's body.
function refocus(region, focused) {
  if (focused === null || region.contains(document.activeElement)) {
    return;
  }
  let target = focused && region.querySelector(focused);
  if (!target && focused && region.matches(focused)) {
    target = region;
  }
  if (!target) {
    region.setAttribute("tabindex", "-1");
    target = region;
  }
  target.focus({ preventScroll: true });
}
