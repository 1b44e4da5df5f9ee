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

  // --- Time zones. The server writes every time in UTC, saying so; the
  // visitor may see them in their own zone instead (the default), with recent
  // ones also as "3 min ago". Filter times then mean the visitor's clock.
  var ZONE_KEY = "spucsvi.zone";
  var localZone = (window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone) || "";
  var TIME_SHAPE = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d))?)?(Z|[+-]\d\d:?\d\d)?$/;

  function useLocal() {
    var mode = "local";
    try {
      mode = window.localStorage.getItem(ZONE_KEY) || "local";
    } catch (ignored) {
      mode = "local";
    }
    return mode === "local" && localZone !== "" && localZone !== "UTC" && localZone !== "Etc/UTC";
  }

  function pad(n) {
    return String(n).padStart(2, "0");
  }

  function localStamp(d, seconds) {
    var text = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) +
      " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
    return seconds ? text + ":" + pad(d.getSeconds()) : text;
  }

  function utcStamp(d, seconds) {
    var text = d.toISOString().slice(0, seconds ? 19 : 16);
    return text + "Z";
  }

  function shortZone(d) {
    var part = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" })
      .formatToParts(d).filter(function (p) { return p.type === "timeZoneName"; })[0];
    return part ? part.value : localZone;
  }

  function ago(d) {
    var seconds = (Date.now() - d.getTime()) / 1000;
    if (seconds < -60 || seconds > 86400) {
      return "";
    }
    if (seconds < 60) {
      return "just now";
    }
    if (seconds < 3600) {
      return Math.floor(seconds / 60) + " min ago";
    }
    var hours = Math.floor(seconds / 3600);
    return hours + (hours === 1 ? " hour ago" : " hours ago");
  }

  function showTimes(root) {
    var local = useLocal();
    root.querySelectorAll("time.when").forEach(function (t) {
      if (!t.dataset.utc) {
        t.dataset.utc = t.textContent;
      }
      var raw = t.getAttribute("datetime");
      var d = new Date(raw.length > 24 ? raw.slice(0, 23) + "Z" : raw);
      if (isNaN(d.getTime())) {
        return;
      }
      var seconds = t.dataset.utc.length > 20;
      t.textContent = local ? localStamp(d, seconds) + " " + shortZone(d) : t.dataset.utc;
      var next = t.nextElementSibling;
      if (next && next.classList.contains("ago")) {
        next.remove();
      }
      var since = ago(d);
      if (since) {
        var span = document.createElement("span");
        span.className = "ago";
        span.textContent = " (" + since + ")";
        t.after(span);
      }
    });
  }

  // A filter time as the server reads it (UTC, or with its zone) to a Date.
  function fromUrlValue(value) {
    var m = TIME_SHAPE.exec(value.trim());
    if (!m) {
      return null;
    }
    var iso = m[1] + "-" + m[2] + "-" + m[3] + "T" + (m[4] || "00") + ":" + (m[5] || "00") +
      ":" + (m[6] || "00") + (m[7] || "Z");
    var d = new Date(iso);
    return isNaN(d.getTime()) ? null : { date: d, dayOnly: !m[4], seconds: !!m[6], zoned: !!m[7] };
  }

  // A time typed on the visitor's clock to UTC for the URL; a date alone is that
  // local day (for 'to', all of it).
  function toUrlValue(value, isEnd) {
    var m = TIME_SHAPE.exec(value.trim());
    if (!m || m[7]) {
      return value;  // not a time (the server says why), or it names its zone
    }
    var d = new Date(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0));
    if (isNaN(d.getTime())) {
      return value;
    }
    if (!m[4] && isEnd) {
      d = new Date(+m[1], +m[2] - 1, +m[3] + 1, 0, 0, 0);
      d = new Date(d.getTime() - 60000);  // to the last minute of that day, inclusive
    }
    return utcStamp(d, !!m[6]);
  }

  function showFilterZone(root) {
    var local = useLocal();
    root.querySelectorAll(".zone-name").forEach(function (label) {
      label.textContent = local ? "your time (" + localZone + ")" : "UTC";
    });
    root.querySelectorAll("input.time-input").forEach(function (input) {
      if (input.dataset.utc === undefined) {
        input.dataset.utc = input.value;
      }
      var parsed = input.dataset.utc ? fromUrlValue(input.dataset.utc) : null;
      if (!parsed) {
        input.value = input.dataset.utc;
      } else if (local) {
        input.value = localStamp(parsed.date, parsed.seconds);
      } else if (parsed.zoned) {
        input.value = utcStamp(parsed.date, parsed.seconds).replace("T", " ").replace("Z", "");
      } else {
        input.value = input.dataset.utc;
      }
    });
    root.querySelectorAll(".zone-switch").forEach(function (group) {
      group.hidden = localZone === "" || localZone === "UTC" || localZone === "Etc/UTC";
      group.querySelectorAll("[data-zone]").forEach(function (button) {
        button.setAttribute("aria-pressed", String((button.dataset.zone === "local") === local));
      });
    });
  }

  // A chart's UTC times moved to the visitor's clock.
  function chartZone(figure) {
    var layout = figure.layout;
    if (!useLocal() || !layout.xaxis || layout.xaxis.type !== "date") {
      return figure;
    }
    var zone = shortZone(new Date());
    function move(stamp) {
      var d = new Date(String(stamp).replace(" ", "T").slice(0, 23) + "Z");
      return isNaN(d.getTime()) ? stamp : localStamp(d, true) + "." +
        String(d.getMilliseconds()).padStart(3, "0");
    }
    figure.data.forEach(function (trace) {
      if (trace.x) {
        trace.x = trace.x.map(move);
      }
      if (trace.hovertemplate) {
        trace.hovertemplate = trace.hovertemplate.replace(/ UTC/g, " " + zone);
      }
    });
    if (layout.xaxis.range) {
      layout.xaxis.range = layout.xaxis.range.map(move);
    }
    if (layout.xaxis.title && layout.xaxis.title.text) {
      layout.xaxis.title.text = layout.xaxis.title.text.replace("(UTC)", "(your time, " + zone + ")");
    }
    return figure;
  }

  function zonePoint(point) {
    if (!useLocal()) {
      return point;
    }
    var d = new Date(String(point.x).replace(" ", "T").slice(0, 23) + "Z");
    return { x: localStamp(d, true) + "." + String(d.getMilliseconds()).padStart(3, "0"), y: point.y };
  }

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

  // Upright date labels: about one tick per 100 px, and at least four, so that a
  // narrow chart of a few minutes still gets labels inside it (with two, its only
  // tick fell at the edge, and a label that would stick out is left out). On a
  // narrow chart "Time of sighting" is "Time", so a zone such as
  // "(your time, GMT+5:30)" still fits on a phone.
  function fitTimeAxis(layout, element) {
    var width = element.getBoundingClientRect().width || 600;
    ["xaxis", "yaxis"].forEach(function (name) {
      var axis = layout[name];
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
    var point = zonePoint(JSON.parse(source.textContent));
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

  // One chart per task, the first at once: typing in the form is never held
  // up for longer than one chart takes to draw. The smallest figure goes first:
  // plotly.js's first draw also sets plotly.js up, so that cost lands beside
  // the lightest chart rather than the heaviest.
  function figureSize(element) {
    var source = document.getElementById(element.id + "-data");
    return source ? source.textContent.length : 0;
  }

  function drawCharts(root) {
    var charts = Array.prototype.slice.call(root.querySelectorAll(".chart[id]"));
    charts.sort(function (a, b) { return figureSize(a) - figureSize(b); });
    charts.forEach(function (element, index) {
      if (index === 0) {
        drawChart(element);
      } else {
        setTimeout(function () { drawChart(element); }, 0);
      }
    });
  }

  function drawChart(element) {
    var source = document.getElementById(element.id + "-data");
    if (!source || !window.Plotly || !element.isConnected) {
      return;
    }
    var figure = chartZone(JSON.parse(source.textContent));
    var layout = applyTheme(figure.layout);
    fitTimeAxis(layout, element);
    var traces = dataColours(figure.data).concat(yourSighting(element));
    window.Plotly.react(element, traces, layout, figure.config).then(function () {
      untabToolbar(element);
      if (keepZoom[element.id]) {
        element.dataset.zoomed = "true";
        window.Plotly.relayout(element, keepZoom[element.id]);
        delete keepZoom[element.id];
      }
      if (!element.dataset.watchesZoom) {
        element.dataset.watchesZoom = "true";
        element.on("plotly_relayout", function (change) {
          if (change["xaxis.range[0]"] !== undefined || change["xaxis.range"] !== undefined) {
            element.dataset.zoomed = "true";
          } else if (change["xaxis.autorange"]) {
            delete element.dataset.zoomed;
          }
        });
      }
      if (element.id === "locations-chart" && !element.dataset.clickable) {
        element.dataset.clickable = "true";
        element.on("plotly_click", function (event) {
          var name = event.points && event.points[0] && event.points[0].customdata;
          if (name) {
            filterByLocation(name);
          }
        });
      }
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

  // What the visitor has seen: the number of sightings when they last looked
  // (loaded, or chose a view), and the highest count in the table then.
  var seenTotal = null;
  var seenCount = 0;

  function lookedNow() {
    var strip = document.querySelector(".summary-strip[data-unfiltered-total]");
    seenTotal = strip ? Number(strip.dataset.unfilteredTotal) : null;
    seenCount = highestCount();
  }

  function highestCount() {
    var highest = 0;
    document.querySelectorAll("table.sightings tbody tr td:first-child").forEach(function (cell) {
      highest = Math.max(highest, Number(cell.textContent) || 0);
    });
    return highest;
  }

  // The location list brought up to date, the visitor's choice and search kept.
  function updateLocations(locations) {
    var select = document.getElementById("filter-location");
    if (!select || !locations) {
      return;
    }
    var chosen = {};
    Array.prototype.forEach.call(select.selectedOptions, function (option) {
      chosen[option.value] = true;
    });
    var words = (document.getElementById("location-search") || { value: "" }).value.trim().toLowerCase();
    var options = locations.map(function (pair) {
      var option = document.createElement("option");
      option.value = pair[0];
      option.textContent = pair[0];
      option.label = pair[0] + " (" + pair[1].toLocaleString("en") + ")";
      option.selected = !!chosen[pair[0]];
      option.hidden = words !== "" && !option.selected && pair[0].toLowerCase().indexOf(words) < 0;
      return option;
    });
    select.replaceChildren.apply(select, options);
  }

  // Zoomed charts (the visitor dragged or used the toolbar) keep their ranges
  // through a refresh.
  var keepZoom = {};

  function refresh(select, now) {
    if ((document.hidden && !now) || inFlight) {
      return;
    }
    inFlight = true;
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(select.dataset.liveUrl, { headers: headers, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 304) {
          setStatus("Up to date at " + new Date().toLocaleTimeString() + newSince(null));
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
        var summary = document.getElementById("live-summary");
        summary.innerHTML = live.summary_html;
        var results = document.getElementById("live-results");
        results.querySelectorAll(".js-plotly-plot").forEach(function (element) {
          if (element.dataset.zoomed && element.layout && element.layout.xaxis) {
            keepZoom[element.id] = {
              "xaxis.range": element.layout.xaxis.range.slice(),
              "yaxis.range": element.layout.yaxis.range.slice()
            };
          }
        });
        releaseCharts(results);
        results.innerHTML = live.results_html;
        drawCharts(results);
        showTimes(summary);
        showTimes(results);
        updateLocations(live.locations);
        document.querySelectorAll("table.sightings tbody tr").forEach(function (row) {
          var count = Number(row.cells[0].textContent) || 0;
          row.classList.toggle("is-new", count > seenCount);
        });
        setStatus("Updated at " + new Date().toLocaleTimeString() + newSince(live.unfiltered_total));
      })
      .catch(function (error) {
        setStatus("SPUC or SPUCSVi is not answering (" + error.message + "): what you see may " +
          "be out of date. Trying again.");
      })
      .finally(function () {
        inFlight = false;
      });
  }

  var lastNew = "";

  function newSince(total) {
    if (total !== null && seenTotal !== null) {
      var added = total - seenTotal;
      lastNew = added > 0 ? "; " + added.toLocaleString("en") + " new since you looked" : "";
    }
    return lastNew;
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
  // The page's <main> replaced by another answer's. A chart whose data did
  // not change is kept as drawn (its zoom too); the others are drawn anew.
  function swapMain(fresh) {
    var main = document.getElementById("main");
    var kept = {};
    fresh.querySelectorAll(".chart[id]").forEach(function (placeholder) {
      var old = document.getElementById(placeholder.id);
      var oldData = document.getElementById(placeholder.id + "-data");
      var newData = fresh.querySelector("#" + placeholder.id + "-data");
      if (old && oldData && newData && old.classList.contains("js-plotly-plot") &&
          oldData.textContent === newData.textContent &&
          !document.getElementById("your-sighting-data") && !fresh.querySelector("#your-sighting-data")) {
        kept[placeholder.id] = old;
      }
    });
    main.querySelectorAll(".js-plotly-plot").forEach(function (element) {
      if (!kept[element.id] && window.Plotly) {
        window.Plotly.purge(element);
      }
    });
    Object.keys(kept).forEach(function (id) {
      kept[id].remove();
    });
    var nodes = Array.prototype.slice.call(fresh.childNodes);
    main.replaceChildren.apply(main, nodes.map(function (node) {
      return document.adoptNode(node);
    }));
    Object.keys(kept).forEach(function (id) {
      var placeholder = document.getElementById(id);
      placeholder.replaceWith(kept[id]);
    });
    showTimes(main);
    showFilterZone(main);
    initFacets(main);
    var now = document.getElementById("refresh-now");
    if (now) {
      now.hidden = false;
    }
    var charts = Array.prototype.filter.call(main.querySelectorAll(".chart[id]"), function (c) {
      return !kept[c.id];
    });
    charts.forEach(function (element, index) {
      if (index === 0) {
        drawChart(element);
      } else {
        setTimeout(function () { drawChart(element); }, 0);
      }
    });
    var select = document.getElementById("refresh-interval");
    if (select) {
      restoreInterval(select);
      setStatus(Number(select.value) > 0 ? "Refreshing every " + select.value + " s" : "");
    }
    etag = null;
  }

  // A view of the dashboard (sort, page, filter, range) shown in place: the
  // same URL a link would open, put in the history, scroll kept, focus on the
  // control that asked for it.
  function showView(url, options) {
    var main = document.getElementById("main");
    if (main.getAttribute("aria-busy")) {
      return;
    }
    var focusKey = options.focusKey;
    main.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        return response.text().then(function (html) {
          var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("main");
          if (!fresh) {
            throw new Error("HTTP " + response.status);
          }
          if (options.push) {
            window.history.pushState({ spucsvi: true }, "", url);
          }
          shown = window.location.pathname + window.location.search;
          var x = window.scrollX;
          var y = window.scrollY;
          swapMain(fresh);
          window.scrollTo(x, y);
          lookedNow();
          var target = null;
          (focusKey || "").split(" ").some(function (key) {
            target = key && document.querySelector('[data-focus-key~="' + key + '"]');
            return target;
          });
          if (!target && /^page-/.test(focusKey || "")) {
            target = document.querySelector('.pagination [data-focus-key^="page-"]');
          }
          if (target) {
            target.focus({ preventScroll: true });
          }
        });
      })
      .catch(function () {
        window.location.assign(url);  // the plain way still works
      })
      .finally(function () {
        document.getElementById("main").removeAttribute("aria-busy");
      });
  }

  // A click on a location's bar adds it to the filter.
  function filterByLocation(name) {
    var url = new URL(window.location.href);
    url.hash = "";
    if (url.searchParams.getAll("location").indexOf(name) < 0) {
      url.searchParams.append("location", name);
    }
    url.searchParams.delete("page");
    showView(url.href, { push: true });
  }

  // The location list: a search box that narrows it (shown only with JavaScript).
  function initFacets(root) {
    var search = root.querySelector ? root.querySelector("#location-search") : null;
    if (search) {
      search.hidden = false;
    }
  }

  document.addEventListener("input", function (event) {
    if (event.target.id !== "location-search") {
      return;
    }
    var words = event.target.value.trim().toLowerCase();
    var select = document.getElementById("filter-location");
    Array.prototype.forEach.call(select.options, function (option) {
      option.hidden = words !== "" && !option.selected &&
        option.value.toLowerCase().indexOf(words) < 0;
    });
  });

  function isView(url) {
    return url.origin === window.location.origin && url.pathname === window.location.pathname;
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
      var params = new URLSearchParams();
      Array.prototype.forEach.call(form.elements, function (field) {
        if (!field.name || field.disabled) {
          return;
        }
        if (field.type === "select-multiple") {
          Array.prototype.forEach.call(field.selectedOptions, function (option) {
            params.append(field.name, option.value);
          });
        } else if (field.value.trim()) {
          var value = field.value;
          if (field.classList.contains("time-input") && useLocal()) {
            value = toUrlValue(value, field.name === "to");
          }
          params.append(field.name, value);
        }
      });
      if (window.fetch && window.DOMParser) {
        event.preventDefault();
        var query = params.toString();
        var url = new URL(form.action, window.location.href);
        url.search = query ? "?" + query : "";
        showView(url.href, { push: true, focusKey: "apply" });
      } else {
        dropEmptyFields(form);
      }
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".zone-button");
    if (!button) {
      return;
    }
    try {
      window.localStorage.setItem(ZONE_KEY, button.dataset.zone);
    } catch (ignored) {
      // Storage may be disabled: the choice is then not kept.
    }
    showTimes(document);
    showFilterZone(document);
    drawCharts(document);
  });

  document.addEventListener("change", function (event) {
    if (event.target.id === "refresh-interval") {
      schedule(event.target);
    }
  });

  document.addEventListener("click", function (event) {
    if (event.target.id === "refresh-now") {
      var select = document.getElementById("refresh-interval");
      if (select) {
        refresh(select, true);
      }
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
      showView(window.location.href, { push: false });
    }
  });

  // Links to another view of this page (sort, page, range, clear) open in place.
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("main a[href]");
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey ||
        event.ctrlKey || event.shiftKey || event.altKey || link.hasAttribute("download") ||
        !window.fetch || !window.DOMParser) {
      return;
    }
    var url = new URL(link.href, window.location.href);
    if (!isView(url) || url.hash) {
      return;
    }
    event.preventDefault();
    showView(url.href, { push: true, focusKey: link.dataset.focusKey });
  });

  document.addEventListener("DOMContentLoaded", function () {
    showTimes(document);
    showFilterZone(document);
    initFacets(document);
    lookedNow();
    var now = document.getElementById("refresh-now");
    if (now) {
      now.hidden = false;
    }
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
