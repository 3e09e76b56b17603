// Kexie page behaviour. Loaded with a CSP nonce; no inline handlers anywhere.
(function () {
  "use strict";

  // Navbar toggle on phones (Tabler's bundle is not loaded; this is all we need of it).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-kexie-toggle]");
    if (!button) return;
    var target = document.getElementById(button.getAttribute("data-kexie-toggle"));
    if (!target) return;
    var open = target.classList.toggle("show");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // Tree: the first click loads the children (htmx, "click once"); later clicks fold them.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-tree-toggle]");
    if (!button) return;
    var target = document.getElementById(button.getAttribute("data-tree-toggle"));
    if (!target) return;
    if (button.getAttribute("data-loaded") === "1") {
      var hidden = target.classList.toggle("d-none");
      button.textContent = hidden ? "+" : "\u2212";
      button.setAttribute("aria-expanded", hidden ? "false" : "true");
    } else {
      button.setAttribute("data-loaded", "1");
      button.textContent = "\u2212";
      button.setAttribute("aria-expanded", "true");
    }
  });

  // Progress bars: width comes from data-percent (no inline style attributes under CSP).
  function paintProgress(root) {
    root.querySelectorAll("[data-percent]").forEach(function (bar) {
      bar.style.width = bar.getAttribute("data-percent") + "%";
    });
  }

  // Confirmation for destructive buttons: data-confirm="text".
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var text = form.getAttribute("data-confirm");
    if (text && !window.confirm(text)) {
      event.preventDefault();
    }
  });

  // Charts: <div class="chart" data-chart="bar" data-source="id-of-json-script">.
  function drawCharts(root) {
    if (!window.echarts) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.getAttribute("data-source"));
      if (!source) return;
      var data = JSON.parse(source.textContent);
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption({
        tooltip: {},
        grid: { left: 8, right: 8, bottom: 8, top: 24, containLabel: true },
        xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: data.rotate || 0 } },
        yAxis: { type: "value", minInterval: 1 },
        series: [{ type: "bar", data: data.values, name: data.name }],
      });
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  function init(root) {
    paintProgress(root);
    drawCharts(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
})();
