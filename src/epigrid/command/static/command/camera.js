// The camera player's snapshot picture: reload it every few seconds with a cache-busting query, the next
// image loaded off-screen first so that the picture never flashes empty; paused while the tab is hidden.
(function () {
  "use strict";
  var img = document.querySelector("img[data-snapshot-src]");
  if (!img) return;
  var src = img.getAttribute("data-snapshot-src");
  var every = parseInt(img.getAttribute("data-refresh-ms"), 10) || 3000;
  var loading = false;

  function next() {
    if (loading || document.hidden) return;
    loading = true;
    var fresh = new Image();
    fresh.onload = function () { img.src = fresh.src; loading = false; };
    fresh.onerror = function () { loading = false; };
    fresh.src = src + (src.indexOf("?") === -1 ? "?" : "&") + "_t=" + Date.now();
  }

  window.setInterval(next, every);
})();
