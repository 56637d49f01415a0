// The console's incident charts: a group's complaints per time bucket (bars) against the
// baseline the detector expected (a line), drawn from the canvas's data-arrivals
// attribute (no inline script: the CSP allows scripts from this site only). Every chart
// has a table with the same numbers. Charts swapped in by htmx are drawn after the swap.
"use strict";
(function () {
  function draw(canvas) {
    if (!window.Chart || canvas.dataset.drawn) {
      return;
    }
    var spec = JSON.parse(canvas.dataset.arrivals);
    new window.Chart(canvas, {
      data: {
        labels: spec.labels,
        datasets: [
          { type: "bar", label: canvas.dataset.labelCounts, data: spec.counts,
            backgroundColor: "#0b5cab", order: 2 },
          { type: "line", label: canvas.dataset.labelBaseline, data: spec.baseline,
            borderColor: "#c2410c", backgroundColor: "#c2410c", borderDash: [6, 4],
            pointRadius: 0, stepped: "middle", order: 1 }
        ]
      },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
      }
    });
    canvas.dataset.drawn = "1";
  }

  function drawAll(root) {
    root.querySelectorAll("canvas[data-arrivals]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawAll(event.target); });
})();
