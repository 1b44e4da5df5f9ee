// Charts the server declared, drawn with plotly.js. The markup contract, the
// same for every chart, so a new chart declared on the server needs no change here:
//
//   <div id="…" class="chart" data-chart="FIGURE-ID"
//        [data-chart-mark="POINT-ID"] [data-chart-filter="PARAM"]></div>
//   <script type="application/json" id="FIGURE-ID">{"data", "layout", "config"}</script>
//
// data-chart-mark names a JSON {x, y, units}, when present ringed as the visitor's
// own sighting (on the y axis the figure's unit_axes names for its units);
// data-chart-filter names the URL filter a click on a point adds its customdata to
// (sent as a bubbling "chart-filter" event with {name, value}); a point whose
// customdata is {opens: ID} instead brings that element into view and focuses it;
// data-chart-detail names where a zoomed window's own figure is asked for
// (GET URL?<the page's query>&window_from=…&window_to=… → {sightings, figure}).
// Figures are JSON, not code, so the Content-Security-Policy holds.
import { localMoment, shortZone, useLocal, utcMoment } from "./times.js";

// Zoom ranges to restore when a chart is drawn again, by chart id.
const zoomToKeep = new Map();

function source(element, attribute) {
  const id = element.dataset[attribute];
  return (id && element.ownerDocument.getElementById(id)) || null;
}

/** What a chart is drawn from: equal inputs draw the same chart. */
export function chartInputs(element) {
  return ["chart", "chartMark"].map((name) => source(element, name)?.textContent ?? "").join("\n");
}

export function isDrawn(element) {
  return element.classList.contains("js-plotly-plot");
}

// A chart's UTC times moved to the visitor's clock.
function chartZone(figure) {
  const layout = figure.layout;
  if (!useLocal() || !layout.xaxis || layout.xaxis.type !== "date") {
    return figure;
  }
  const zone = shortZone(new Date());
  figure.data.forEach((trace) => {
    if (trace.x) {
      trace.x = trace.x.map(localMoment);
    }
    // The columns of customdata the server marked as UTC times (a band's stretches).
    const times = (trace.meta && trace.meta.times) || [];
    if (times.length && trace.customdata) {
      trace.customdata = trace.customdata.map((row) =>
        row.map((value, column) => (times.includes(column) ? localMoment(value) : value)),
      );
    }
    if (trace.hovertemplate) {
      trace.hovertemplate = trace.hovertemplate.replace(/ UTC/g, ` ${zone}`);
    }
  });
  if (layout.xaxis.range) {
    layout.xaxis.range = layout.xaxis.range.map(localMoment);
  }
  if (layout.xaxis.title && layout.xaxis.title.text) {
    layout.xaxis.title.text = layout.xaxis.title.text.replace("(UTC)", `(your time, ${zone})`);
  }
  return figure;
}

function cssColour(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// The page's colours (light or dark scheme) for the parts of a chart that
// are not data: text, grid lines, the range selector.
function applyTheme(layout) {
  const text = cssColour("--muted");
  const grid = cssColour("--border");
  const soft = cssColour("--purple-soft");
  layout.font = { ...layout.font, color: text };
  const axes = Object.keys(layout).filter((name) => /^[xy]axis\d*$/.test(name));
  new Set(["xaxis", "yaxis", ...axes]).forEach((name) => {
    const axis = layout[name] || {};
    axis.gridcolor = grid;
    axis.zerolinecolor = grid;
    axis.linecolor = grid;
    if (axis.rangeselector) {
      axis.rangeselector.bgcolor = soft;
      axis.rangeselector.activecolor = grid;
      axis.rangeselector.font = { color: text };
    }
    if (axis.rangeslider) {
      axis.rangeslider.bgcolor = soft;
      axis.rangeslider.bordercolor = grid;
    }
    layout[name] = axis;
  });
  return layout;
}

// Upright date labels: about one tick per 100 px, and at least four, so that a
// narrow chart of a few minutes still gets labels inside it (with two, its only
// tick fell at the edge, and a label that would stick out is left out). On a
// narrow chart "Time of sighting" is "Time", so a zone such as
// "(your time, GMT+5:30)" still fits on a phone.
function fitTimeAxis(layout, element) {
  const width = element.getBoundingClientRect().width || 600;
  ["xaxis", "yaxis"].forEach((name) => {
    const axis = layout[name];
    if (axis && axis.type === "date") {
      axis.nticks = Math.max(4, Math.min(8, Math.floor(width / 100)));
      if (width < 500 && axis.title && axis.title.text) {
        axis.title.text = axis.title.text.replace("Time of sighting (", "Time (");
      }
    }
  });
}

// Data colours with at least 3:1 contrast against the panel, in either
// scheme; one colour per series (unit) when the server numbered them.
function dataColours(traces) {
  if (!cssColour("--chart-data")) {
    return traces;
  }
  traces.forEach((trace) => {
    const series = trace.meta && trace.meta.series !== undefined ? trace.meta.series % 2 : null;
    const name = series === null ? "--chart-data" : `--chart-series-${series}`;
    const strong = cssColour(name);
    const soft = cssColour(`${name}-soft`);
    if (trace.marker && trace.marker.color) {
      trace.marker.color = trace.type === "bar" ? soft : strong;
      if (trace.marker.line) {
        trace.marker.line.color = strong;
      }
    }
    if (trace.line && trace.line.color) {
      trace.line.color = strong;
    }
    if (trace.fillcolor && series !== null) {
      trace.fillcolor = cssColour(`${name}-band`);
    }
  });
  return traces;
}

// The visitor's own sighting, ringed after they sent it.
function mark(element, figure) {
  const point = source(element, "chartMark");
  if (!point) {
    return [];
  }
  const { x, y, units } = JSON.parse(point.textContent);
  const yaxis = (figure.unit_axes && figure.unit_axes[units]) || "y";
  const accent = cssColour("--accent");
  return [
    {
      type: "scatter",
      mode: "markers+text",
      name: "your sighting",
      x: [useLocal() ? localMoment(x) : x],
      y: [y],
      yaxis,
      text: ["your sighting"],
      textposition: "bottom center",
      textfont: { color: accent, size: 13 },
      marker: { size: 30, color: "rgba(0,0,0,0)", line: { color: accent, width: 3 } },
      cliponaxis: false,
      hoverinfo: "skip",
    },
  ];
}

// Plotly's toolbar buttons are for the mouse: keyboard users would tab
// through a dozen per chart on the way to the table.
function untabToolbar(element) {
  element.querySelectorAll(".modebar-btn, .modebar a").forEach((button) => {
    button.setAttribute("tabindex", "-1");
  });
}

// Listeners added once per drawn element: whether the visitor zoomed (then the
// window's detail is asked for), and the click that filters by a point.
function listen(element) {
  if (element.dataset.listening) {
    return;
  }
  element.dataset.listening = "true";
  element.on("plotly_relayout", (change) => {
    if (change["xaxis.range[0]"] !== undefined || change["xaxis.range"] !== undefined) {
      element.dataset.zoomed = "true";
      showWindow(element, change["yaxis.range[0]"] !== undefined || !!change["yaxis.range"]);
    } else if (change["xaxis.autorange"]) {
      delete element.dataset.zoomed;
      if (windowsAsked.has(element)) {
        drawChart(element); // the overview again, as the server drew it
      }
    }
  });
  const name = element.dataset.chartFilter;
  if (name) {
    element.on("plotly_click", (event) => {
      const value = event.points && event.points[0] && event.points[0].customdata;
      const opens = value && value.opens && document.getElementById(value.opens);
      if (opens) {
        const shown = opens.hidden ? opens.nextElementSibling : opens;
        shown.scrollIntoView({ block: "center" });
        shown.focus();
      } else if (value && typeof value === "string") {
        element.dispatchEvent(
          new CustomEvent("chart-filter", { bubbles: true, detail: { name, value } }),
        );
      }
    });
  }
}

// The figure as drawn on this page: times on the visitor's clock, the page's
// colours, the visitor's own sighting ringed.
function prepared(figure, element) {
  const zoned = chartZone(figure);
  const layout = applyTheme(zoned.layout);
  fitTimeAxis(layout, element);
  return {
    traces: dataColours(zoned.data).concat(mark(element, zoned)),
    layout,
    config: zoned.config,
  };
}

function drawChart(element) {
  const figureSource = source(element, "chart");
  if (!figureSource || !window.Plotly || !element.isConnected) {
    return;
  }
  forgetWindow(element);
  const { traces, layout, config } = prepared(JSON.parse(figureSource.textContent), element);
  element.dataset.overview = JSON.stringify((layout.xaxis && layout.xaxis.range) || null);
  window.Plotly.react(element, traces, layout, config).then(() => {
    untabToolbar(element);
    listen(element);
    const zoom = zoomToKeep.get(element.id);
    if (zoom) {
      zoomToKeep.delete(element.id);
      element.dataset.zoomed = "true";
      window.Plotly.relayout(element, zoom);
    }
  });
}

// --- Detail on zoom: the window asked of the server, as Grafana asks again on zoom.

// The window asked for last, by chart element: {key, controller}.
const windowsAsked = new WeakMap();

// The line above a chart that says what its zoomed window shows (role=status).
function statusLine(element, words) {
  let line = element.previousElementSibling;
  if (!line || !line.classList.contains("chart-status")) {
    if (!words) {
      return;
    }
    line = document.createElement("p");
    line.className = "note chart-status";
    line.setAttribute("role", "status");
    element.before(line);
  }
  if (words) {
    line.textContent = words;
  } else {
    line.remove();
  }
  // What the overview's note says is not what a zoomed chart shows.
  element.parentElement.querySelectorAll(".note:not(.chart-status)").forEach((note) => {
    note.hidden = !!words;
  });
}

function forgetWindow(element) {
  const asked = windowsAsked.get(element);
  if (asked) {
    asked.controller.abort();
    windowsAsked.delete(element);
  }
  element.removeAttribute("aria-busy");
  statusLine(element, "");
}

function windowWords(answer) {
  const count = answer.sightings.toLocaleString("en-US");
  const back = "Double-click the chart for the whole history.";
  if (!answer.sightings) {
    return `No sightings in this window. ${back}`;
  }
  if (answer.figure.reduced_from) {
    return `This window: ${count} sightings, as stretches of at least 10. ${back}`;
  }
  return `This window: every one of its ${count} sightings. ${back}`;
}

/** The zoomed window's own figure, asked of the server and drawn in the
 * visitor's window (and their brightness range, when `keepY`); the overview
 * again when the window is the overview's ("Reset axes"). The latest window
 * asked wins. */
async function showWindow(element, keepY) {
  const url = element.dataset.chartDetail;
  const shown = element.layout;
  if (!url || !shown || !shown.xaxis || !shown.xaxis.range) {
    return;
  }
  if (JSON.stringify(shown.xaxis.range) === element.dataset.overview) {
    if (windowsAsked.has(element)) {
      drawChart(element);
    }
    return;
  }
  const [from, to] = shown.xaxis.range.map(utcMoment);
  const key = `${from}/${to}`;
  const asked = windowsAsked.get(element);
  if (!from || !to || (asked && asked.key === key)) {
    return;
  }
  if (asked) {
    asked.controller.abort();
  }
  const controller = new AbortController();
  windowsAsked.set(element, { key, controller });
  element.setAttribute("aria-busy", "true");
  statusLine(element, "Loading detail…");
  const query = new URLSearchParams(window.location.search);
  query.set("window_from", from);
  query.set("window_to", to);
  try {
    const response = await fetch(`${url}?${query}`, {
      signal: controller.signal,
      headers: { Accept: "application/json" },
    });
    const answer = await response.json();
    if (!response.ok) {
      throw new Error(answer.error || response.statusText);
    }
    if (controller.signal.aborted) {
      return;
    }
    const { traces, layout, config } = prepared(answer.figure, element);
    layout.xaxis = { ...layout.xaxis, range: shown.xaxis.range.slice(), autorange: false };
    if (keepY && shown.yaxis && shown.yaxis.range) {
      layout.yaxis = { ...layout.yaxis, range: shown.yaxis.range.slice(), autorange: false };
    }
    await window.Plotly.react(element, traces, layout, config);
    untabToolbar(element);
    statusLine(element, windowWords(answer));
  } catch (error) {
    if (error.name !== "AbortError") {
      statusLine(element, `This window's detail could not be loaded (${error.message}).`);
    }
  } finally {
    const latest = windowsAsked.get(element);
    if (latest && latest.controller === controller) {
      element.removeAttribute("aria-busy");
    }
  }
}

/** The one drawing loop: one chart per task, each after the browser had its
 * turn (a key pressed, the page painted), so typing in the form is never held
 * up for longer than one chart takes to draw. The smallest figure goes first:
 * plotly.js's first draw also sets plotly.js up, so that cost lands beside the
 * lightest chart rather than the heaviest. */
export function drawCharts(elements) {
  const size = (element) => chartInputs(element).length;
  const queue = [...elements].sort((a, b) => size(a) - size(b));
  const next = () => {
    const element = queue.shift();
    if (element) {
      drawChart(element);
      setTimeout(next, 0);
    }
  };
  setTimeout(next, 0);
}

export function allCharts(root = document) {
  return root.querySelectorAll("[data-chart]");
}

/** A chart about to be replaced: its zoom kept for the chart drawn in its
 * place (when `keepZoom`), and plotly.js's listeners (window resize) released. */
export function releaseChart(element, keepZoom) {
  if (!isDrawn(element)) {
    return;
  }
  const layout = element.layout;
  if (keepZoom && element.dataset.zoomed && layout && layout.xaxis && layout.yaxis) {
    zoomToKeep.set(element.id, {
      "xaxis.range": layout.xaxis.range.slice(),
      "yaxis.range": layout.yaxis.range.slice(),
    });
  }
  window.Plotly.purge(element);
}
