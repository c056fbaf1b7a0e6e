/* Draws the org-unit boundaries embedded in the page (json_script) with Leaflet. No tiles unless configured. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || typeof L === "undefined") return;
  var layers = JSON.parse(document.getElementById("map-layers").textContent);
  var config = JSON.parse(document.getElementById("map-config").textContent);

  var map = L.map(el, { zoomControl: true, attributionControl: Boolean(config.tileUrl) });
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { maxZoom: 19, attribution: config.tileAttribution || "" }).addTo(map);
  }

  function popup(props) {
    // Built from DOM nodes, never from HTML strings: names come from the database.
    var box = document.createElement("div");
    [[el.dataset.labelName, props.name], [el.dataset.labelCode, props.code]].forEach(function (row) {
      var line = document.createElement("div");
      var label = document.createElement("strong");
      label.textContent = row[0] + ": ";
      line.appendChild(label);
      line.appendChild(document.createTextNode(row[1]));
      box.appendChild(line);
    });
    return box;
  }

  var outline = function (color, dash) {
    return { color: color, weight: 2, dashArray: dash, fill: false, interactive: false };
  };
  L.geoJSON(layers.streets, { style: outline("#444444", null) }).addTo(map);
  L.geoJSON(layers.communities, { style: outline("#7a4fa3", "6 4") }).addTo(map);
  var grids = L.geoJSON(layers.grids, {
    style: { color: "#0b6e99", weight: 1.5, fillColor: "#0b6e99", fillOpacity: 0.15 },
    onEachFeature: function (feature, layer) {
      layer.bindPopup(popup(feature.properties || {}));
      layer.on("mouseover", function () { layer.setStyle({ fillOpacity: 0.35 }); });
      layer.on("mouseout", function () { grids.resetStyle(layer); });
    },
  }).addTo(map);

  var bounds = grids.getBounds();
  if (bounds.isValid()) {
    map.fitBounds(bounds, { padding: [12, 12] });
  } else {
    map.setView(config.center, 12);
  }
})();
