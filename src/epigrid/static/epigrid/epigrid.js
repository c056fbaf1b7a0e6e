/* EpiGrid page helpers: no framework, no build step. */
(function () {
  "use strict";
  // HTMX does not swap error responses; say so on the page instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("htmx-error");
    if (!box) return;
    var status = event.detail && event.detail.xhr ? event.detail.xhr.status : 0;
    box.textContent = status === 403 ? box.dataset.forbidden : box.dataset.message;
    box.hidden = false;
  });
  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("htmx-error");
    if (box) box.hidden = true;
  });
})();
