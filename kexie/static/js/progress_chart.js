// Registration progress: target vs verified per association (bars), complete and stale
// shares (lines, right axis). Data from a json_script element; no inline script (CSP).
(function () {
  "use strict";

  function draw(el) {
    if (!window.echarts) return;
    var source = document.getElementById(el.getAttribute("data-progress-chart"));
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 8, right: 8, bottom: 8, top: 40, containLabel: true },
      xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: data.labels.length > 8 ? 30 : 0 } },
      yAxis: [
        { type: "value", minInterval: 1 },
        { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value} %" } },
      ],
      series: [
        { type: "bar", name: data.names.target, data: data.target },
        { type: "bar", name: data.names.verified, data: data.verified },
        { type: "line", name: data.names.complete, yAxisIndex: 1, data: data.complete },
        { type: "line", name: data.names.stale, yAxisIndex: 1, data: data.stale },
      ],
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function init(root) {
    root.querySelectorAll("[data-progress-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
})();
