/* Grid pages: the emergency report attaches the phone's location when the reporter allows it. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-locate]");
  if (!form || !navigator.geolocation) return;
  navigator.geolocation.getCurrentPosition(function (p) {
    form.elements.lat.value = p.coords.latitude.toFixed(6);
    form.elements.lng.value = p.coords.longitude.toFixed(6);
    var note = form.querySelector("[data-located]");
    if (note) note.hidden = false;
  }, function () { /* no location: the place typed is enough */ }, { timeout: 8000, maximumAge: 300000 });
})();
