// The dashboard's only script: draws the charts the server described, and
// refreshes the live parts of the page when the visitor asks for it.
// Chart data comes from <script type="application/json" id="<chart id>-data">
// elements, so no inline code is needed and the Content-Security-Policy holds.
"use strict";

(function () {
  var STORAGE_KEY = "spucsvi.refresh-seconds";
  var timer = null;
  var etag = null;
  var inFlight = false;

  // The page's colours (light or dark scheme) for the parts of a chart that
  // are not data: text, grid lines, the range selector.
  function applyTheme(layout) {
    var style = getComputedStyle(document.documentElement);
    var text = style.getPropertyValue("--muted").trim();
    var grid = style.getPropertyValue("--border").trim();
    var soft = style.getPropertyValue("--purple-soft").trim();
    layout.font = Object.assign({}, layout.font, { color: text });
    ["xaxis", "yaxis"].forEach(function (name) {
      var axis = layout[name] || {};
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

  // Upright date labels: as many ticks as fit the chart's width.
  function fitTicks(layout, element) {
    var width = element.getBoundingClientRect().width || 600;
    ["xaxis", "yaxis"].forEach(function (name) {
      var axis = layout[name];
      if (axis && axis.type === "date") {
        axis.nticks = Math.max(2, Math.min(8, Math.floor(width / 120)));
      }
    });
  }

  // Data colours with at least 3:1 contrast against the panel, in either scheme.
  function dataColours(traces) {
    var style = getComputedStyle(document.documentElement);
    var strong = style.getPropertyValue("--chart-data").trim();
    var soft = style.getPropertyValue("--chart-data-soft").trim();
    if (!strong) {
      return traces;
    }
    traces.forEach(function (trace) {
      if (trace.marker && trace.marker.color) {
        trace.marker.color = trace.type === "bar" ? soft : strong;
        if (trace.marker.line) {
          trace.marker.line.color = strong;
        }
      }
      if (trace.line && trace.line.color) {
        trace.line.color = strong;
      }
    });
    return traces;
  }

  // The visitor's own sighting, ringed in the brightness chart after they sent it.
  function yourSighting(element) {
    var source = document.getElementById("your-sighting-data");
    if (!source || element.id !== "brightness-chart") {
      return [];
    }
    var point = JSON.parse(source.textContent);
    var accent = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim();
    return [{
      type: "scatter",
      mode: "markers+text",
      name: "your sighting",
      x: [point.x],
      y: [point.y],
      text: ["your sighting"],
      textposition: "bottom center",
      textfont: { color: accent, size: 13 },
      marker: { size: 30, color: "rgba(0,0,0,0)", line: { color: accent, width: 3 } },
      cliponaxis: false,
      hoverinfo: "skip"
    }];
  }

  // Plotly's toolbar buttons are for the mouse: keyboard users would tab
  // through a dozen per chart on the way to the table.
  function untabToolbar(element) {
    element.querySelectorAll(".modebar-btn, .modebar a").forEach(function (button) {
      button.setAttribute("tabindex", "-1");
    });
  }

  function drawCharts(root) {
    root.querySelectorAll(".chart[id]").forEach(function (element) {
      var source = document.getElementById(element.id + "-data");
      if (!source || !window.Plotly) {
        return;
      }
      var figure = JSON.parse(source.textContent);
      var layout = applyTheme(figure.layout);
      fitTicks(layout, element);
      var traces = dataColours(figure.data).concat(yourSighting(element));
      window.Plotly.react(element, traces, layout, figure.config).then(function () {
        untabToolbar(element);
      });
    });
  }

  // Plotly keeps listeners (window resize) for each chart until purged.
  function releaseCharts(root) {
    if (window.Plotly) {
      root.querySelectorAll(".js-plotly-plot").forEach(function (element) {
        window.Plotly.purge(element);
      });
    }
  }

  function setStatus(text) {
    var status = document.getElementById("refresh-status");
    if (status) {
      status.textContent = text;
    }
  }

  function refresh(select) {
    if (document.hidden || inFlight) {
      return;
    }
    inFlight = true;
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(select.dataset.liveUrl, { headers: headers, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 304) {
          setStatus("Up to date at " + new Date().toLocaleTimeString());
          return null;
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        etag = response.headers.get("ETag");
        return response.json();
      })
      .then(function (live) {
        if (!live) {
          return;
        }
        document.getElementById("live-summary").innerHTML = live.summary_html;
        var results = document.getElementById("live-results");
        releaseCharts(results);
        results.innerHTML = live.results_html;
        drawCharts(results);
        setStatus("Updated at " + new Date().toLocaleTimeString());
      })
      .catch(function (error) {
        setStatus("Could not refresh (" + error.message + "); will try again.");
      })
      .finally(function () {
        inFlight = false;
      });
  }

  // A filter link without empty fields: /?location=venus, not /?location=venus&from=&to=.
  function dropEmptyFields(form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("input, select").forEach(function (field) {
        if (!field.value) {
          field.disabled = true;
        }
      });
    });
    // Coming back to the page (bfcache) must not leave fields disabled.
    window.addEventListener("pageshow", function () {
      form.querySelectorAll("[disabled]").forEach(function (field) {
        field.disabled = false;
      });
    });
  }

  function schedule(select) {
    var seconds = Number(select.value);
    if (timer) {
      clearInterval(timer);
      timer = null;
    }
    try {
      window.localStorage.setItem(STORAGE_KEY, String(seconds));
    } catch (ignored) {
      // Storage may be disabled; the choice then lasts for this page only.
    }
    if (seconds > 0) {
      timer = setInterval(function () { refresh(select); }, seconds * 1000);
      setStatus("Refreshing every " + seconds + " s");
    } else {
      setStatus("");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", function () {
      drawCharts(document);
    });
    var filters = document.querySelector("form.filters");
    if (filters) {
      dropEmptyFields(filters);
    }
    var select = document.getElementById("refresh-interval");
    if (!select) {
      return;
    }
    var saved = null;
    try {
      saved = window.localStorage.getItem(STORAGE_KEY);
    } catch (ignored) {
      saved = null;
    }
    if (saved && select.querySelector('option[value="' + saved + '"]')) {
      select.value = saved;
    }
    select.addEventListener("change", function () { schedule(select); });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && Number(select.value) > 0) {
        refresh(select);
      }
    });
    schedule(select);
  });
})();
