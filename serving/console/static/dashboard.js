// divert review console: the dashboard's charts (Chart.js, vendored). Data comes from the page's JSON block.
(function () {
  "use strict";
  var node = document.getElementById("dashboard-data");
  if (!node || typeof Chart === "undefined") { return; }
  var data = JSON.parse(node.textContent);
  var palette = ["#d92d20", "#7a5af8", "#f79009", "#1f5fbf", "#12b76a", "#667085", "#ee46bc", "#0e9384"];
  function color(i) { return palette[i % palette.length]; }
  function lines(id, series, order) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var names = order || Object.keys(series);
    new Chart(el, {
      type: "line",
      data: { labels: data.volume.buckets, datasets: names.map(function (name, i) {
        return { label: name, data: series[name], borderColor: color(i), backgroundColor: color(i), tension: 0.2,
                 pointRadius: data.volume.buckets.length > 60 ? 0 : 2 };
      }) },
      options: { animation: false, maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
                 scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }
  lines("chart-volume-label", data.volume.by_label, data.labels);  // label colours as in the other charts
  lines("chart-volume-rec", data.volume.by_recommendation);

  var agreement = document.getElementById("chart-agreement");
  if (agreement) {
    var versions = Object.keys(data.agreement);
    new Chart(agreement, {
      type: "bar",
      data: { labels: data.labels, datasets: versions.map(function (v, i) {
        return { label: v, backgroundColor: color(i + 5),
                 data: data.labels.map(function (l) { var r = data.agreement[v][l]; return r === null ? null : 100 * r; }) };
      }) },
      options: { animation: false, maintainAspectRatio: false,
                 scales: { y: { min: 0, max: 100, title: { display: true, text: "agreement %" } } } }
    });
  }

  var calibration = document.getElementById("chart-calibration");
  if (calibration) {
    var sets = data.labels.map(function (l, i) {
      return { label: l, showLine: true, borderColor: color(i), backgroundColor: color(i),
               data: data.calibration[l].map(function (p) { return { x: p.x, y: p.y, n: p.n }; }) };
    });
    sets.push({ label: "perfectly calibrated", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }], showLine: true,
                borderColor: "#98a2b3", borderDash: [4, 4], pointRadius: 0 });
    new Chart(calibration, {
      type: "scatter",
      data: { datasets: sets },
      options: { animation: false, maintainAspectRatio: false,
                 scales: { x: { min: 0, max: 1, title: { display: true, text: "mean score in bin" } },
                           y: { min: 0, max: 1, title: { display: true, text: "share labelled positive by reviewers" } } },
                 plugins: { tooltip: { callbacks: { label: function (ctx) {
                   var p = ctx.raw; return ctx.dataset.label + ": score " + p.x.toFixed(2) + ", positive " +
                     (100 * p.y).toFixed(0) + "%" + (p.n ? " (n=" + p.n + ")" : "");
                 } } } } }
    });
  }
})();
