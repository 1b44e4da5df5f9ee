// Charts the server declared, drawn with plotly.js. The markup contract, the
// same for every chart, so a new chart declared on the server needs no change here:
//
//   <div id="…" class="chart" data-chart="FIGURE-ID"
//        [data-chart-mark="POINT-ID"] [data-chart-filter="PARAM"]></div>
//   <script type="application/json" id="FIGURE-ID">{"data", "layout", "config"}</script>
//
// data-chart-mark names a JSON {x, y}, when present ringed as the visitor's own
// sighting; data-chart-filter names the URL filter a click on a point adds its
// customdata to (sent as a bubbling "chart-filter" event with {name, value}).
// Figures are JSON, not code, so the Content-Security-Policy holds.
import { localMoment, shortZone, useLocal } from "./times.js";

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
  ["xaxis", "yaxis"].forEach((name) => {
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
function mark(element) {
  const point = source(element, "chartMark");
  if (!point) {
    return [];
  }
  const { x, y } = JSON.parse(point.textContent);
  const accent = cssColour("--accent");
  return [
    {
      type: "scatter",
      mode: "markers+text",
      name: "your sighting",
      x: [useLocal() ? localMoment(x) : x],
      y: [y],
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

// Listeners added once per drawn element: whether the visitor zoomed, and
// the click that filters by a point.
function listen(element) {
  if (element.dataset.listening) {
    return;
  }
  element.dataset.listening = "true";
  element.on("plotly_relayout", (change) => {
    if (change["xaxis.range[0]"] !== undefined || change["xaxis.range"] !== undefined) {
      element.dataset.zoomed = "true";
    } else if (change["xaxis.autorange"]) {
      delete element.dataset.zoomed;
    }
  });
  const name = element.dataset.chartFilter;
  if (name) {
    element.on("plotly_click", (event) => {
      const value = event.points && event.points[0] && event.points[0].customdata;
      if (value) {
        element.dispatchEvent(
          new CustomEvent("chart-filter", { bubbles: true, detail: { name, value } }),
        );
      }
    });
  }
}

function drawChart(element) {
  const figureSource = source(element, "chart");
  if (!figureSource || !window.Plotly || !element.isConnected) {
    return;
  }
  const figure = chartZone(JSON.parse(figureSource.textContent));
  const layout = applyTheme(figure.layout);
  fitTimeAxis(layout, element);
  const traces = dataColours(figure.data).concat(mark(element));
  window.Plotly.react(element, traces, layout, figure.config).then(() => {
    untabToolbar(element);
    const zoom = zoomToKeep.get(element.id);
    if (zoom) {
      zoomToKeep.delete(element.id);
      element.dataset.zoomed = "true";
      window.Plotly.relayout(element, zoom);
    }
    listen(element);
  });
}

/** The one drawing loop: one chart per task, the first at once, so typing in
 * the form is never held up for longer than one chart takes to draw. The
 * smallest figure goes first: plotly.js's first draw also sets plotly.js up,
 * so that cost lands beside the lightest chart rather than the heaviest. */
export function drawCharts(elements) {
  const size = (element) => chartInputs(element).length;
  [...elements]
    .sort((a, b) => size(a) - size(b))
    .forEach((element, index) => {
      if (index === 0) {
        drawChart(element);
      } else {
        setTimeout(() => drawChart(element), 0);
      }
    });
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
