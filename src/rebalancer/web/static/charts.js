// Draws the drift charts from the JSON API (the same documents as the CLI's --json).
// Each chart box names its data with data-src; once drawn it carries data-drawn="true"
// (or "empty" when there is nothing to draw, "failed" when the data could not be read).
"use strict";

(function () {
  function points(value) {
    return value === null || value === undefined ? null : Number(value) * 100;
  }

  function draw(box, runs) {
    var ordered = runs.slice().reverse();  // the API answers newest first
    var xs = [], before = [], after = [], band = [];
    var edge = box.dataset.band ? Number(box.dataset.band) * 100 : null;
    ordered.forEach(function (run) {
      xs.push(Date.parse(run.started_at) / 1000);
      before.push(points(run.largest_drift_before));
      after.push(points(run.largest_drift_after));
      band.push(edge);
    });
    var series = [
      {},
      { label: "before", stroke: "#b3261e", width: 2, points: { show: xs.length < 60 } },
      { label: "after", stroke: "#1b6e3a", width: 2, points: { show: xs.length < 60 } },
    ];
    var data = [xs, before, after];
    if (edge !== null) {
      series.push({ label: "band", stroke: "#777", dash: [6, 4], width: 1, points: { show: false } });
      data.push(band);
    }
    var opts = {
      width: Math.max(box.clientWidth, 320),
      height: 260,
      series: series,
      axes: [{}, { label: "drift (pp)", values: function (u, ticks) {
        return ticks.map(function (t) { return t.toFixed(1); });
      } }],
      scales: { x: { time: true } },
    };
    new uPlot(opts, data, box);
    box.dataset.drawn = "true";
  }

  function load(box) {
    fetch(box.dataset.src, { headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (doc) {
        if (!doc.runs || doc.runs.length === 0) {
          box.textContent = "No runs to chart yet.";
          box.dataset.drawn = "empty";
          return;
        }
        draw(box, doc.runs);
      })
      .catch(function (err) {
        box.textContent = "The chart's data could not be read (" + err.message + ").";
        box.dataset.drawn = "failed";
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-src].chart-box").forEach(load);
  });
})();
