// The location list's search box (shown only with this script). The list holds
// the most sighted locations and those chosen; what the visitor types narrows it
// at once, and, a moment later, the server's search of every location
// (/api/locations) adds the ones that match. A choice is never undone by it.
import { onNewContent } from "./swap.js";

const PAUSE_MS = 250;
const RESULTS = 50;
// The server's answers by search text, the last few: a refreshed list gets its
// found locations back without asking again.
const found = new Map();
const KEPT_SEARCHES = 20;
let timer = null;

function parts() {
  return {
    search: document.getElementById("location-search"),
    select: document.getElementById("filter-location"),
  };
}

function words(search) {
  return search.value.trim().toLowerCase();
}

// The server's search of these words, counted within the page's filter but its
// locations, as the list's counts are: its query string, the key of its answer.
function searchFor(text) {
  const params = new URLSearchParams(window.location.search);
  ["location", "sort", "order", "page", "per_page"].forEach((key) => params.delete(key));
  params.set("q", text);
  params.set("limit", String(RESULTS));
  return params.toString();
}

// Options that do not hold the words hidden, the chosen ones always in sight, and
// those the server found for them (it folds case more fully than toLowerCase).
function narrow({ search, select }) {
  const text = words(search);
  const matched = new Set((found.get(searchFor(text)) || []).map(({ location }) => location));
  [...select.options].forEach((option) => {
    option.hidden =
      text !== "" &&
      !option.selected &&
      !matched.has(option.value) &&
      !option.value.toLowerCase().includes(text);
  });
}

function add({ search, select }, locations) {
  const listed = new Set([...select.options].map((option) => option.value));
  locations.forEach(({ location, sightings }) => {
    if (!listed.has(location)) {
      const option = new Option(location, location);
      option.label = `${location} (${sightings.toLocaleString("en")})`;
      select.append(option);
      listed.add(location);
    }
  });
  narrow({ search, select });
}

async function ask(elements) {
  const text = words(elements.search);
  const search = searchFor(text);
  if (text === "" || found.has(search)) {
    add(elements, found.get(search) || []);
    return;
  }
  const url = new URL(elements.search.dataset.search, window.location.href);
  url.search = search;
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) {
      return; // the list as it is still works
    }
    const { locations } = await response.json();
    found.set(search, locations);
    if (found.size > KEPT_SEARCHES) {
      found.delete(found.keys().next().value);
    }
    const now = parts();
    if (now.search && now.select && words(now.search) === text) {
      add(now, locations);
    }
  } catch {
    // Offline or the server busy: the visitor still has the list as it is.
  }
}

onNewContent(() => {
  const elements = parts();
  if (!elements.search || !elements.select) {
    return;
  }
  elements.search.hidden = false;
  document.querySelectorAll(".location-search-hint").forEach((hint) => {
    hint.hidden = false;
  });
  add(elements, found.get(searchFor(words(elements.search))) || []);
});

document.addEventListener("input", (event) => {
  if (event.target.id !== "location-search") {
    return;
  }
  const elements = parts();
  if (!elements.select) {
    return;
  }
  narrow(elements);
  clearTimeout(timer);
  timer = setTimeout(() => ask(elements), PAUSE_MS);
});
