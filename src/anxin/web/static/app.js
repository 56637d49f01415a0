// Draws the charts of a page from their data-chart attribute (no inline script: the
// Content-Security-Policy allows scripts from this site only). Amounts arrive as integers
// in minor units and are only formatted here. Every chart has a table with the same data.
"use strict";
(function () {
  var palette = ["#0b5cab", "#c2410c", "#0d6b38", "#7c3aed", "#a4161a", "#4a5360", "#0e7490"];

  function money(value, scale) {
    return (value / Math.pow(10, scale)).toFixed(scale);
  }

  function draw(canvas) {
    if (!window.Chart || canvas.dataset.drawn) {
      return;
    }
    var spec = JSON.parse(canvas.dataset.chart);
    var datasets = spec.datasets.map(function (set, index) {
      return { label: set.label, data: set.data, backgroundColor: palette[index % palette.length] };
    });
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: {
          x: { stacked: true },
          y: { stacked: true, beginAtZero: true,
               ticks: { callback: function (value) { return money(value, spec.scale); } } }
        },
        plugins: {
          tooltip: { callbacks: { label: function (item) {
            return item.dataset.label + ": " + money(item.parsed.y, spec.scale);
          } } }
        }
      }
    });
    canvas.dataset.drawn = "1";
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  });
})();
