/* Investigation pages: the trajectory map (Leaflet), chain graphs and the epicurve (ECharts).
   Data comes embedded in the page (json_script); names come from the database, so text reaches the page only
   through textContent or ECharts' HTML encoder. No tiles unless configured, as on the jurisdiction map. */
(function () {
  "use strict";

  function data(id) {
    var el = id && document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function lines(texts) {
    var box = document.createElement("div");
    texts.forEach(function (text, index) {
      var line = document.createElement(index === 0 ? "strong" : "div");
      line.textContent = text;
      box.appendChild(line);
    });
    return box;
  }

  function trajectoryMap() {
    var el = document.getElementById("trajectory-map");
    if (!el || typeof L === "undefined") return;
    var points = data("trajectory-points") || [];
    var config = data("map-config") || {};
    var map = L.map(el, { attributionControl: Boolean(config.tileUrl) });
    if (config.tileUrl) {
      L.tileLayer(config.tileUrl, { maxZoom: 19, attribution: config.tileAttribution || "" }).addTo(map);
    }
    var path = [];
    points.forEach(function (p) {
      var latlng = [p.lat, p.lng];
      path.push(latlng);
      var number = document.createElement("span");
      number.textContent = String(p.n);  // the row of the timeline table
      var icon = L.divIcon({ className: "inv-marker inv-marker-" + (p.source_code || ""), html: number, iconSize: [24, 24] });
      L.marker(latlng, { icon: icon, title: p.n + ". " + p.place })
        .bindPopup(lines([p.n + ". " + p.place, p.source, p.start + " – " + p.end]))
        .addTo(map);
    });
    if (path.length > 1) {
      L.polyline(path, { color: "#a4262c", weight: 2, opacity: 0.8, dashArray: "6 4" }).addTo(map);
    }
    if (path.length === 1) {
      map.setView(path[0], 15);
    } else if (path.length) {
      map.fitBounds(L.latLngBounds(path), { padding: [24, 24], maxZoom: 16 });
    } else {
      map.setView(config.center, 12);
    }
    el.dataset.markers = String(points.length);
  }

  function encode(text) {
    return echarts.format.encodeHTML(String(text));
  }

  function chainGraph(el) {
    var graph = data(el.dataset.graph);
    if (!graph) return;
    var labelled = graph.nodes.length <= 80;
    var nodes = graph.nodes.map(function (n) {
      return {
        id: n.id,
        name: n.name,
        category: n.category,
        value: n.generation,
        url: n.url,
        symbolSize: n.current ? 26 : 18,
        itemStyle: n.current ? { borderColor: "#1d2733", borderWidth: 3 } : undefined,
        label: { show: labelled || n.current },
      };
    });
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      tooltip: {
        formatter: function (p) {
          if (p.dataType === "edge") return encode(graph.labels.link + ": " + p.data.kind);
          return encode(p.data.name) + "<br>" + encode(graph.labels.generation + ": " + p.data.value);
        },
      },
      legend: [{ data: graph.categories.map(function (c) { return c.name; }), bottom: 0 }],
      series: [{
        type: "graph",
        layout: "force",
        roam: true,
        draggable: true,
        data: nodes,
        links: graph.links,
        categories: graph.categories,
        edgeSymbol: ["none", "arrow"],
        edgeSymbolSize: 8,
        // A small chain is drawn large; a big one at its natural size (the reader zooms with the wheel).
        zoom: nodes.length < 8 ? 2 : nodes.length < 40 ? 1.4 : 1,
        force: { repulsion: 220, edgeLength: [50, 110], gravity: 0.1 },
        label: { position: "right", fontSize: 11 },
        lineStyle: { color: "#7b8794", width: 1.5, curveness: 0.08 },
        emphasis: { focus: "adjacency" },
      }],
    });
    chart.on("click", function (p) {
      if (p.dataType === "node" && p.data.url) window.location.assign(p.data.url);
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.dataset.rendered = "1";
  }

  function epicurve(el) {
    var curve = data(el.dataset.chart);
    if (!curve) return;
    var chart = echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { bottom: 0 },
      grid: { left: 40, right: 16, top: 16, bottom: 64 },
      xAxis: { type: "category", data: curve.days, axisLabel: { rotate: 45 } },
      yAxis: { type: "value", minInterval: 1 },
      series: curve.series.map(function (s) {
        return { name: s.name, type: "bar", stack: s.stack, data: s.data, itemStyle: { color: s.color } };
      }),
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.dataset.rendered = "1";
  }

  function selectAll() {
    document.querySelectorAll("[data-select-all]").forEach(function (box) {
      box.addEventListener("change", function () {
        document.querySelectorAll("input[name=contacts]").forEach(function (c) {
          if (c.dataset.tier === box.dataset.selectAll) c.checked = box.checked;
        });
      });
    });
  }

  trajectoryMap();
  if (typeof echarts !== "undefined") {
    document.querySelectorAll("[data-graph]").forEach(chainGraph);
    document.querySelectorAll("[data-chart]").forEach(epicurve);
  }
  selectAll();
})();
