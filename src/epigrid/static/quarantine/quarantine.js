/* Quarantine pages: the release forecast (bar) and a person's temperatures (line) with ECharts, a select that
   submits its form, and the copy button of the report link. Data comes embedded in the page (json_script). */
(function () {
  "use strict";

  function data(id) {
    var el = id && document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function bar(el, d) {
    return {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 36, right: 12, top: 16, bottom: 28 },
      xAxis: { type: "category", data: d.days },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ name: d.label, type: "bar", data: d.counts, itemStyle: { color: "#0b6e99" }, barMaxWidth: 36 }],
    };
  }

  function line(el, d) {
    return {
      tooltip: { trigger: "axis" },
      grid: { left: 40, right: 12, top: 16, bottom: 40 },
      xAxis: { type: "category", data: d.times, axisLabel: { rotate: 30 } },
      yAxis: { type: "value", min: 35, max: function (v) { return Math.max(40, Math.ceil(v.max)); } },
      series: [{
        name: d.label, type: "line", data: d.values, symbolSize: 7, itemStyle: { color: "#a4262c" },
        markLine: { silent: true, symbol: "none", lineStyle: { color: "#d39b00", type: "dashed" },
          data: [{ yAxis: d.threshold }] },
      }],
    };
  }

  function chart(el) {
    var d = data(el.dataset.chart);
    if (!d) return;
    var instance = echarts.init(el, null, { renderer: "canvas" });
    instance.setOption(el.dataset.kind === "line" ? line(el, d) : bar(el, d));
    window.addEventListener("resize", function () { instance.resize(); });
    el.dataset.rendered = "1";
  }

  if (typeof echarts !== "undefined") document.querySelectorAll("[data-chart]").forEach(chart);

  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.requestSubmit(); });
  });

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      if (!navigator.clipboard) return;
      navigator.clipboard.writeText(button.dataset.copy).then(function () {
        button.textContent = button.dataset.copied;
      });
    });
  });
})();
