// Other views of the dashboard (sort, page, filter, range) shown in place: the
// same URL a link or the filter form would open, put in the history, scroll
// kept, focus on the control that asked for it, what the visitor typed and has
// not sent kept (swap.js). Without fetch, links and forms
// work the plain way.
import { lookedNow } from "./live.js";
import { parsePage, swap } from "./swap.js";
import { toUrlValue, useLocal } from "./times.js";

// The address whose content the page shows (a #fragment aside).
let shown = here();

function here() {
  return window.location.pathname + window.location.search;
}

/** The address bar moved to what the page shows (after a form's answer). */
export function showing(url) {
  window.history.pushState({ spucsvi: true }, "", url);
  shown = here();
}

function focusOn(focusKey) {
  let target = null;
  (focusKey || "").split(" ").some((key) => {
    target = key && document.querySelector(`[data-focus-key~="${CSS.escape(key)}"]`);
    return target;
  });
  if (!target && /^page-/.test(focusKey || "")) {
    target = document.querySelector('.pagination [data-focus-key^="page-"]');
  }
  if (target) {
    target.focus({ preventScroll: true });
  }
}

async function showView(url, { push, focusKey, sent = null }) {
  const main = document.getElementById("main");
  if (main.getAttribute("aria-busy")) {
    return;
  }
  main.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    });
    const fresh = parsePage(await response.text(), response.status);
    if (push) {
      showing(url);
    }
    shown = here();
    const { scrollX, scrollY } = window;
    swap(fresh, { selector: "#main", sameView: false, etag: response.headers.get("ETag"), sent });
    window.scrollTo(scrollX, scrollY);
    lookedNow();
    // A part of the filter just sent that was refused: focus on it, its reason beside it.
    const refused = sent && document.querySelector('form.filters [aria-invalid="true"]');
    if (refused) {
      refused.focus({ preventScroll: true });
    } else {
      focusOn(focusKey);
    }
  } catch {
    window.location.assign(url); // the plain way still works
  } finally {
    main.removeAttribute("aria-busy");
  }
}

function isView(url) {
  return url.origin === window.location.origin && url.pathname === window.location.pathname;
}

// Links to another view of this page (sort, page, range, clear) open in place.
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest("main a[href]");
  if (
    !link ||
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey ||
    link.hasAttribute("download")
  ) {
    return;
  }
  const url = new URL(link.href, window.location.href);
  if (!isView(url) || url.hash) {
    return;
  }
  event.preventDefault();
  showView(url.href, { push: true, focusKey: link.dataset.focusKey });
});

// A click on a chart's point adds it to the filter its chart names.
document.addEventListener("chart-filter", (event) => {
  const { name, value } = event.detail;
  const url = new URL(window.location.href);
  url.hash = "";
  if (!url.searchParams.getAll(name).includes(value)) {
    url.searchParams.append(name, value);
  }
  url.searchParams.delete("page");
  showView(url.href, { push: true });
});

// The filter form: times typed on the visitor's clock sent in UTC, empty fields
// left out (/?location=venus, not /?location=venus&from=&to=).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.classList.contains("filters")) {
    return;
  }
  event.preventDefault();
  const params = new URLSearchParams();
  [...form.elements].forEach((field) => {
    if (!field.name || field.disabled || (field.type === "checkbox" && !field.checked)) {
      return;
    }
    if (field.type === "select-multiple") {
      [...field.selectedOptions].forEach((option) => params.append(field.name, option.value));
    } else if (field.value.trim()) {
      const local = field.classList.contains("time-input") && useLocal();
      params.append(field.name, local ? toUrlValue(field.value, field.name === "to") : field.value);
    }
  });
  const url = new URL(form.action, window.location.href);
  const query = params.toString();
  url.search = query ? `?${query}` : "";
  showView(url.href, { push: true, focusKey: "apply", sent: form });
});

// Back or Forward to another address than the one shown: show that one.
window.addEventListener("popstate", () => {
  if (here() !== shown) {
    showView(window.location.href, { push: false });
  }
});
