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
  // The address whose content the page shows (a #fragment aside).
  var shown = window.location.pathname + window.location.search;

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

  // Data colours with at least 3:1 contrast against the panel, in either
  // scheme; one colour per series (unit) when the server numbered them.
  function dataColours(traces) {
    var style = getComputedStyle(document.documentElement);
    function colour(name) {
      return style.getPropertyValue(name).trim();
    }
    if (!colour("--chart-data")) {
      return traces;
    }
    traces.forEach(function (trace) {
      var series = trace.meta && trace.meta.series !== undefined ? trace.meta.series % 2 : null;
      var strong = series === null ? colour("--chart-data") : colour("--chart-series-" + series);
      var soft = series === null ? colour("--chart-data-soft") : colour("--chart-series-" + series + "-soft");
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
        trace.fillcolor = colour("--chart-series-" + series + "-band");
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
    form.querySelectorAll("input, select").forEach(function (field) {
      if (!field.value) {
        field.disabled = true;
      }
    });
  }

  function savedInterval() {
    try {
      return window.localStorage.getItem(STORAGE_KEY);
    } catch (ignored) {
      return null;
    }
  }

  function restoreInterval(select) {
    var saved = savedInterval();
    if (saved && select.querySelector('option[value="' + saved + '"]')) {
      select.value = saved;
    }
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
      timer = setInterval(function () {
        var current = document.getElementById("refresh-interval");
        if (current) {
          refresh(current);
        }
      }, seconds * 1000);
      setStatus("Refreshing every " + seconds + " s");
    } else {
      setStatus("");
    }
  }

  // The page's <main> replaced by another answer's, charts redrawn, the
  // visitor's refresh choice kept.
  function swapMain(fresh) {
    var main = document.getElementById("main");
    releaseCharts(main);
    main.innerHTML = fresh.innerHTML;
    drawCharts(main);
    var select = document.getElementById("refresh-interval");
    if (select) {
      restoreInterval(select);
      setStatus(Number(select.value) > 0 ? "Refreshing every " + select.value + " s" : "");
    }
    etag = null;
  }

  function formProblem(form, text) {
    var problem = form.parentNode.querySelector(".alert-error");
    if (!problem) {
      problem = document.createElement("p");
      problem.className = "alert alert-error";
      problem.setAttribute("role", "alert");
      form.parentNode.insertBefore(problem, form);
    }
    problem.textContent = text;
  }

  // The form sent without leaving the page. A refused sighting shows its
  // reasons next to its fields, with focus on the first; an accepted one shows
  // the page after it, at the confirmation. No POST enters the browser's
  // history, so Back never asks to send the form again.
  function sendSighting(form) {
    var main = document.getElementById("main");
    var button = form.querySelector("button[type=submit]");
    if (main.getAttribute("aria-busy")) {
      return;
    }
    main.setAttribute("aria-busy", "true");
    if (button) {
      button.disabled = true;
    }
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      headers: { Accept: "text/html" }
    })
      .then(function (response) {
        return response.text().then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("main");
          if (!fresh) {
            throw new Error("HTTP " + response.status);
          }
          swapMain(fresh);
          var invalid = document.querySelector('#sighting-form [aria-invalid="true"]');
          var recorded = document.getElementById("recorded");
          var alert = document.querySelector("#report .alert-error");
          if (response.redirected) {
            window.history.pushState({ spucsvi: true }, "", response.url.split("#")[0] + "#report");
            shown = window.location.pathname + window.location.search;
          }
          var target = invalid || recorded || alert;
          if (target) {
            if (!invalid) {
              target.setAttribute("tabindex", "-1");
            }
            target.focus({ preventScroll: true });
            target.scrollIntoView({ block: "center" });
          }
        });
      })
      .catch(function (error) {
        formProblem(form, "Could not reach SPUCSVi (" + error.message + "): your sighting may " +
          "not have been sent. Check the table before sending it again.");
        if (button) {
          button.disabled = false;
        }
      })
      .finally(function () {
        document.getElementById("main").removeAttribute("aria-busy");
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id === "sighting-form" && window.fetch && window.DOMParser) {
      event.preventDefault();
      sendSighting(form);
    } else if (form.classList.contains("filters")) {
      dropEmptyFields(form);
    }
  });

  document.addEventListener("change", function (event) {
    if (event.target.id === "refresh-interval") {
      schedule(event.target);
    }
  });

  // Coming back to the page (bfcache) must not leave filter fields disabled.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form.filters [disabled]").forEach(function (field) {
      field.disabled = false;
    });
  });

  // Back or Forward to another address than the one shown: show that one.
  window.addEventListener("popstate", function () {
    if (window.location.pathname + window.location.search !== shown) {
      window.location.reload();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", function () {
      drawCharts(document);
    });
    var select = document.getElementById("refresh-interval");
    document.addEventListener("visibilitychange", function () {
      var current = document.getElementById("refresh-interval");
      if (!document.hidden && current && Number(current.value) > 0) {
        refresh(current);
      }
    });
    if (select) {
      restoreInterval(select);
      schedule(select);
    }
  });
})();
