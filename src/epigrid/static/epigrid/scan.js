// The live clock of the scan pages: a running clock tells a live screen from a screenshot.
(function () {
  function tick() {
    var now = new Date();
    document.querySelectorAll("[data-clock]").forEach(function (el) {
      el.textContent = now.toLocaleTimeString("zh-CN", { timeZone: el.dataset.tz || undefined, hour12: false });
    });
    document.querySelectorAll("[data-date]").forEach(function (el) {
      el.textContent = now.toLocaleDateString("zh-CN", {
        timeZone: el.dataset.tz || undefined, year: "numeric", month: "long", day: "numeric", weekday: "long",
      });
    });
  }
  tick();
  setInterval(tick, 1000);
})();
