// The dashboard's only script: draws the charts the server described, and
// refreshes the live parts of the page when the visitor asks for it.
// Chart data comes from <script type="application/json" id="<chart id>-data">
// elements, so no inline code is needed and the Content-Security-Policy holds.
"use strict";

(function () {
  var STORAGE_KEY = "spucsvi.refresh-seconds";
  var timer = null;
  var etag = null;

  function drawCharts(root) {
    root.querySelectorAll(".chart[id]").forEach(function (element) {
      var source = document.getElementById(element.id + "-data");
      if (!source || !window.Plotly) {
        return;
      }
      var figure = JSON.parse(source.textContent);
      window.Plotly.react(element, figure.data, figure.layout, figure.config);
    });
  }

  function setStatus(text) {
    var status = document.getElementById("refresh-status");
    if (status) {
      status.textContent = text;
    }
  }

  function refresh(select) {
    if (document.hidden) {
      return;
    }
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
        results.innerHTML = live.results_html;
        drawCharts(results);
        setStatus("Updated at " + new Date().toLocaleTimeString());
      })
      .catch(function (error) {
        setStatus("Could not refresh (" + error.message + "); will try again.");
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
