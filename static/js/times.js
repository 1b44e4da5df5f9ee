// Time zones. The server writes every time in UTC, saying so; the visitor may
// see them in their own zone instead (the default), with recent ones also as
// "3 min ago". Filter times then mean the visitor's clock.
import { keep, recall } from "./storage.js";

const ZONE_KEY = "spucsvi.zone";
const TIME_SHAPE = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d))?)?(Z|[+-]\d\d:?\d\d)?$/;
// Zones renamed in the tz database that browsers (ICU, following CLDR) still
// report by their old names: the visitor reads the current one.
const RENAMED = {
  "Asia/Calcutta": "Asia/Kolkata",
  "Asia/Katmandu": "Asia/Kathmandu",
  "Asia/Saigon": "Asia/Ho_Chi_Minh",
  "Asia/Rangoon": "Asia/Yangon",
  "Europe/Kiev": "Europe/Kyiv",
  "Atlantic/Faeroe": "Atlantic/Faroe",
  "America/Godthab": "America/Nuuk",
  "America/Buenos_Aires": "America/Argentina/Buenos_Aires",
  "America/Indianapolis": "America/Indiana/Indianapolis",
  "America/Louisville": "America/Kentucky/Louisville",
  "Pacific/Truk": "Pacific/Chuuk",
  "Pacific/Ponape": "Pacific/Pohnpei",
  "Pacific/Enderbury": "Pacific/Kanton",
  "Africa/Asmera": "Africa/Asmara",
};
const reported = (window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone) || "";
const localZone = RENAMED[reported] || reported;
const localIsUtc = ["", "UTC", "Etc/UTC", "Etc/GMT", "GMT"].includes(localZone);

export function useLocal() {
  return (recall(ZONE_KEY) || "local") === "local" && !localIsUtc;
}

export function chooseZone(mode) {
  keep(ZONE_KEY, mode);
}

function pad(n, width = 2) {
  return String(n).padStart(width, "0");
}

function localStamp(d, seconds) {
  const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return seconds ? `${text}:${pad(d.getSeconds())}` : text;
}

function utcStamp(d, seconds) {
  return `${d.toISOString().slice(0, seconds ? 19 : 16)}Z`;
}

export function shortZone(d) {
  const part = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" })
    .formatToParts(d)
    .find((p) => p.type === "timeZoneName");
  return part ? part.value : localZone;
}

/** A chart's UTC stamp ("2026-11-27 18:03:00.123") on the visitor's clock. */
export function localMoment(stamp) {
  const d = new Date(`${String(stamp).replace(" ", "T").slice(0, 23)}Z`);
  return isNaN(d.getTime()) ? stamp : `${localStamp(d, true)}.${pad(d.getMilliseconds(), 3)}`;
}

/** A chart's stamp (on the visitor's clock when `useLocal()`, else UTC) as UTC to
 * the second for the URL ("2026-11-27T18:03:00Z"), or null. */
export function utcMoment(stamp) {
  const text = String(stamp).replace(" ", "T");
  const whole = text.length === 10 ? `${text}T00:00:00` : text.slice(0, 23);
  const d = new Date(useLocal() ? whole : `${whole}Z`);
  return isNaN(d.getTime()) ? null : utcStamp(d, true);
}

function ago(d) {
  const seconds = (Date.now() - d.getTime()) / 1000;
  if (seconds < -60 || seconds > 86400) {
    return "";
  }
  if (seconds < 60) {
    return "just now";
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)} min ago`;
  }
  const hours = Math.floor(seconds / 3600);
  return hours + (hours === 1 ? " hour ago" : " hours ago");
}

export function showTimes(root) {
  const local = useLocal();
  root.querySelectorAll("time.when").forEach((t) => {
    if (!t.dataset.utc) {
      t.dataset.utc = t.textContent;
    }
    const raw = t.getAttribute("datetime");
    const d = new Date(raw.length > 24 ? `${raw.slice(0, 23)}Z` : raw);
    if (isNaN(d.getTime())) {
      return;
    }
    const seconds = t.dataset.utc.length > 20;
    t.textContent = local ? `${localStamp(d, seconds)} ${shortZone(d)}` : t.dataset.utc;
    const next = t.nextElementSibling;
    if (next && next.classList.contains("ago")) {
      next.remove();
    }
    const since = ago(d);
    if (since) {
      const span = document.createElement("span");
      span.className = "ago";
      span.textContent = ` (${since})`;
      t.after(span);
    }
  });
}

// A filter time as the server reads it (UTC, or with its zone) to a Date.
function fromUrlValue(value) {
  const m = TIME_SHAPE.exec(value.trim());
  if (!m) {
    return null;
  }
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4] || "00"}:${m[5] || "00"}:${m[6] || "00"}${m[7] || "Z"}`;
  const d = new Date(iso);
  return isNaN(d.getTime()) ? null : { date: d, seconds: !!m[6], zoned: !!m[7] };
}

/** A time typed on the visitor's clock to UTC for the URL; a date alone is that
 * local day (for 'to', all of it). */
export function toUrlValue(value, isEnd) {
  const m = TIME_SHAPE.exec(value.trim());
  if (!m || m[7]) {
    return value; // not a time (the server says why), or it names its zone
  }
  let d = new Date(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0));
  if (isNaN(d.getTime())) {
    return value;
  }
  if (!m[4] && isEnd) {
    d = new Date(+m[1], +m[2] - 1, +m[3] + 1, 0, 0, 0);
    d = new Date(d.getTime() - 60000); // to the last minute of that day, inclusive
  }
  return utcStamp(d, !!m[6]);
}

// A filter time as the visitor reads it, as the server wrote it (`raw`): on
// their clock, or in UTC; what is not a time as it was typed.
function shownFilterTime(raw, local) {
  const parsed = raw ? fromUrlValue(raw) : null;
  if (!parsed) {
    return raw;
  }
  if (local) {
    return localStamp(parsed.date, parsed.seconds);
  }
  return parsed.zoned
    ? utcStamp(parsed.date, parsed.seconds).replace("T", " ").replace("Z", "")
    : raw;
}

export function showFilterZone(root) {
  const local = useLocal();
  root.querySelectorAll(".zone-name").forEach((label) => {
    label.textContent = local ? `your time (${localZone})` : "UTC";
  });
  // A field shows the server's time on the chosen clock, unless the visitor typed
  // in it since: what they typed stays as typed.
  root.querySelectorAll("input.time-input").forEach((input) => {
    if (input.dataset.utc === undefined) {
      input.dataset.utc = input.defaultValue;
    }
    if (input.value === input.defaultValue) {
      input.defaultValue = shownFilterTime(input.dataset.utc, local);
      input.value = input.defaultValue;
    }
  });
  // A time's chip says what its field says.
  root.querySelectorAll(".chip[data-time]").forEach((chip) => {
    const shown = shownFilterTime(chip.dataset.time, local);
    chip.querySelector(".chip-value").textContent = shown;
    chip.setAttribute("aria-label", `Remove the filter: ${chip.dataset.word} ${shown}`);
  });
  // The spreadsheet download gets a column in the visitor's zone (web/api.py).
  root.querySelectorAll("a[data-zone-param]").forEach((link) => {
    const url = new URL(link.href);
    if (local) {
      url.searchParams.set("tz", localZone);
    } else {
      url.searchParams.delete("tz");
    }
    link.href = url.href;
  });
  root.querySelectorAll(".zone-switch").forEach((group) => {
    group.hidden = localIsUtc;
    group.querySelectorAll("[data-zone]").forEach((button) => {
      button.setAttribute("aria-pressed", String((button.dataset.zone === "local") === local));
    });
  });
}
