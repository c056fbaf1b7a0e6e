/* The command center: one map (Leaflet) with switchable layers, the situation panel (ECharts), live alarms
   and instructions to grids, kept current from the event stream (Server-Sent Events).

   Data: GET /api/v1/command/map and /api/v1/command/situation; alarms and instructions from their APIs.
   Everything from the database reaches the page through textContent or DOM nodes (never innerHTML), and
   ECharts gets only numbers and our own labels. No tiles unless configured (boundaries only, offline). */
(function () {
  "use strict";

  var root = document.getElementById("command-center");
  var mapEl = document.getElementById("cc-map");
  if (!root || !mapEl || typeof L === "undefined") return;

  function data(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  var cfg = data("cc-config");
  var T = cfg.labels;
  var MEASURE_SCALE = ["#eef1f4", "#fdd49e", "#fc8d59", "#e34a33", "#b30000"];
  var STATE_COLOURS = {
    new: "#9aa5b1", accepted: "#4c9be8", in_progress: "#f0b429", done: "#2f9e44", cannot: "#c92a2a",
  };
  var SEVERITY_ORDER = { critical: 0, warning: 1, info: 2 };

  // --- small helpers ----------------------------------------------------------------------------------

  function node(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") el.textContent = String(value);
      else if (key === "className") el.className = value;
      else if (key.indexOf("data-") === 0 || key.indexOf("aria-") === 0 || key === "role") el.setAttribute(key, value);
      else el[key] = value;
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      el.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return el;
  }

  function info(title, rows, extra) {
    // A popup or tooltip body: a bold title and "label: value" lines.
    var box = node("div", { className: "cc-info" }, [node("strong", { text: title })]);
    rows.forEach(function (row) {
      if (row[1] === null || row[1] === undefined || row[1] === "") return;
      var label = row[0] ? node("span", { className: "cc-muted", text: row[0] + ": " }) : null;
      box.appendChild(node("div", {}, [label, String(row[1])]));
    });
    (extra || []).forEach(function (child) { box.appendChild(child); });
    return box;
  }

  function csrf() {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : root.dataset.csrf;
  }

  function request(method, url, body) {
    var options = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRFToken"] = csrf();
      options.body = JSON.stringify(body || {});
    }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        var payload = null;
        try { payload = text ? JSON.parse(text) : null; } catch (e) { payload = null; }
        if (!response.ok) {
          var err = new Error((payload && payload.detail) || T.failed);
          err.status = response.status;
          throw err;
        }
        return payload;
      });
    });
  }

  function safeUrl(url) {
    // Only our own paths become links (a stored URL must not run script).
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" ? url : null;
  }

  function when(iso) {
    if (!iso) return "";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    var lang = document.documentElement.lang || undefined;
    var sameDay = d.toDateString() === new Date().toDateString();
    return sameDay
      ? d.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" })
      : d.toLocaleString(lang, { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  }

  function listOf(payload) {
    if (Array.isArray(payload)) return payload;
    if (payload && Array.isArray(payload.items)) return payload.items;
    if (payload && Array.isArray(payload.results)) return payload.results;
    return [];
  }

  // --- the map ----------------------------------------------------------------------------------------

  var map = L.map(mapEl, { attributionControl: Boolean(cfg.tileUrl), zoomControl: true });
  if (cfg.tileUrl) {
    L.tileLayer(cfg.tileUrl, { maxZoom: 19, attribution: cfg.tileAttribution || "" }).addTo(map);
  }
  var pointRenderer = L.canvas({ padding: 0.3 });
  var state = {
    measure: document.getElementById("cc-measure").value || "cases",
    gridById: {},
    features: [],
    maxima: {},
    selected: {},
    instruction: null, // {id, states: {grid_id: state}}
    loaded: {},
    fitted: false,
  };

  var groups = {
    grids: L.geoJSON(null, { style: gridStyle, onEachFeature: onGrid }),
    venues: L.layerGroup(),
    sampling_points: L.layerGroup(),
    quarantine_sites: L.layerGroup(),
    vaccination_sites: L.layerGroup(),
    waste_points: L.layerGroup(),
    cameras: L.layerGroup(),
    alarms: L.layerGroup(),
  };

  function enabledLayers() {
    var names = [];
    document.querySelectorAll("#cc-controls input[name=layer]").forEach(function (box) {
      if (box.checked && !box.disabled) names.push(box.value);
    });
    return names;
  }

  function syncVisibility() {
    var on = enabledLayers();
    Object.keys(groups).forEach(function (name) {
      var visible = on.indexOf(name) >= 0;
      if (visible && !map.hasLayer(groups[name])) map.addLayer(groups[name]);
      if (!visible && map.hasLayer(groups[name])) map.removeLayer(groups[name]);
    });
  }

  function breaks(max) {
    // Up to four classes above zero with integer upper bounds; the classes a small maximum cannot fill drop
    // out from the light end, so the grids with the most are always drawn darkest.
    var out = [];
    var previous = 0;
    for (var k = 1; k <= 4; k++) {
      var upper = Math.ceil((max * k) / 4);
      if (upper > previous) out.push({ from: previous + 1, to: upper });
      previous = Math.max(previous, upper);
    }
    out.forEach(function (b, i) { b.cls = 4 - (out.length - 1 - i); });
    return out;
  }

  function classOf(value, max) {
    if (value === null || value === undefined) return -1;
    if (value <= 0 || !max) return 0;
    var found = 4;
    breaks(max).some(function (b) {
      if (value <= b.to) { found = b.cls; return true; }
      return false;
    });
    return found;
  }

  function gridStyle(feature) {
    var p = feature.properties || {};
    var selected = Boolean(state.selected[p.id]);
    var fill;
    var opacity = 0.65;
    if (state.instruction) {
      var taskState = state.instruction.states[p.id];
      fill = taskState ? STATE_COLOURS[taskState] || "#9aa5b1" : "#ffffff";
      opacity = taskState ? 0.75 : 0.15;
    } else {
      var cls = classOf(p[state.measure], state.maxima[state.measure] || 0);
      fill = cls < 0 ? "#d5dae0" : MEASURE_SCALE[cls];
      if (cls < 0) opacity = 0.35;
    }
    return {
      color: selected ? "#0b3d91" : "#51606f",
      weight: selected ? 4 : 1,
      fillColor: fill,
      fillOpacity: opacity,
    };
  }

  function gridTooltip(layer) {
    var p = layer.feature.properties;
    var rows = cfg.measures.map(function (m) {
      var value = p[m];
      return [T["measure_" + m], value === null || value === undefined ? T.not_in_round : value];
    });
    if (state.instruction && state.instruction.states[p.id]) {
      rows.unshift([T.selected, cfg.taskStates[state.instruction.states[p.id]] || state.instruction.states[p.id]]);
    }
    return info(p.name + (p.community_name ? " · " + p.community_name : ""), rows);
  }

  function markGridElement(layer) {
    var el = layer.getElement && layer.getElement();
    if (!el) return;
    var p = layer.feature.properties;
    el.classList.add("cc-grid");
    el.setAttribute("data-grid-id", p.id);
    el.setAttribute("data-grid-code", p.code);
    el.classList.toggle("cc-grid-selected", Boolean(state.selected[p.id]));
    if (state.instruction) el.setAttribute("data-task-state", state.instruction.states[p.id] || "");
    else el.removeAttribute("data-task-state");
  }

  function onGrid(feature, layer) {
    state.gridById[feature.properties.id] = layer;
    layer.bindTooltip(gridTooltip, { sticky: true, direction: "top" });
    layer.on("add", function () { markGridElement(layer); });
    layer.on("click", function () {
      if (cfg.canDispatch) toggleSelect(feature.properties.id);
    });
  }

  function restyleGrids() {
    groups.grids.eachLayer(function (layer) {
      layer.setStyle(gridStyle(layer.feature));
      markGridElement(layer);
    });
    drawLegend();
  }

  function drawLegend() {
    var title = document.getElementById("cc-legend-title");
    var items = document.getElementById("cc-legend-items");
    items.textContent = "";
    function item(colour, label) {
      var swatch = node("span", { className: "cc-swatch" });
      swatch.style.background = colour;
      items.appendChild(node("li", {}, [swatch, label]));
    }
    if (state.instruction) {
      title.textContent = T.selected + ": " + (state.instruction.text || "").slice(0, 30);
      Object.keys(STATE_COLOURS).forEach(function (s) { item(STATE_COLOURS[s], cfg.taskStates[s] || s); });
      return;
    }
    title.textContent = T["measure_" + state.measure];
    item(MEASURE_SCALE[0], "0");
    breaks(state.maxima[state.measure] || 0).forEach(function (b) {
      item(MEASURE_SCALE[b.cls], b.from === b.to ? String(b.to) : b.from + "–" + b.to);
    });
    if (state.features.some(function (f) { return f.properties[state.measure] === null; })) {
      item("#d5dae0", T.not_in_round);
    }
  }

  function applyGrids(collection, withShapes) {
    if (withShapes) {
      groups.grids.clearLayers();
      state.gridById = {};
      state.features = collection.features;
      groups.grids.addData(collection);
    } else {
      var fresh = {};
      collection.features.forEach(function (f) { fresh[f.properties.id] = f.properties; });
      state.features.forEach(function (f) {
        if (fresh[f.properties.id]) f.properties = fresh[f.properties.id];
        var layer = state.gridById[f.properties.id];
        if (layer) layer.feature.properties = f.properties;
      });
    }
    state.maxima = collection.max || {};
    mapEl.setAttribute("data-grids", String(state.features.length));
    fillCommunities();
    restyleGrids();
    if (!state.fitted) {
      state.fitted = true;
      var bounds = groups.grids.getBounds();
      if (bounds.isValid()) map.fitBounds(bounds, { padding: [16, 16] });
      else map.setView(cfg.center, 12);
    }
  }

  function circle(item, options, popup) {
    var marker = L.circleMarker([item.lat, item.lng], Object.assign({ renderer: pointRenderer, weight: 1 }, options));
    marker.bindPopup(popup);
    return marker;
  }

  function applyVenues(items) {
    groups.venues.clearLayers();
    items.forEach(function (v) {
      if (v.lat === null || v.lng === null) return;
      var colour = v.over_capacity ? "#c92a2a" : v.key_place ? "#b45309" : "#0b6e99";
      circle(v, {
        radius: Math.min(14, 3 + Math.sqrt(v.present || 0)),
        color: colour, fillColor: colour, fillOpacity: 0.55,
      }, function () {
        return info(v.name, [
          [v.type_label, v.key_place ? T.key_place : ""],
          [T.present, v.present],
          [T.capacity, v.capacity],
          [T.over_capacity, v.over_capacity ? "!" : ""],
        ]);
      }).addTo(groups.venues);
    });
  }

  function applySamplingPoints(items) {
    groups.sampling_points.clearLayers();
    items.forEach(function (p) {
      circle(p, {
        radius: Math.min(14, 5 + (p.queue || 0) / 10),
        color: "#5f3dc4", fillColor: "#7048e8", fillOpacity: 0.6,
      }, function () {
        return info(p.name, [[T.queue, p.queue], [T.open_tubes, p.open_tubes], ["", p.opening_hours]]);
      }).addTo(groups.sampling_points);
    });
  }

  function applySites(items) {
    groups.quarantine_sites.clearLayers();
    items.forEach(function (s) {
      var colour = s.free > 0 ? "#2b8a3e" : "#c92a2a";
      circle(s, { radius: 8, color: colour, fillColor: colour, fillOpacity: 0.6 }, function () {
        return info(s.name, [[T.free_rooms, s.free], [T.rooms, s.rooms], [T.people, s.people]]);
      }).addTo(groups.quarantine_sites);
    });
  }

  function applyVaccinationSites(items) {
    // Sized by today's doses; grey when no slot is open today, amber when today's places are all booked.
    groups.vaccination_sites.clearLayers();
    items.forEach(function (s) {
      var full = s.capacity_today > 0 && s.booked_today >= s.capacity_today;
      var colour = s.capacity_today > 0 ? (full ? "#d97706" : "#0c8599") : "#868e96";
      circle(s, {
        radius: Math.min(14, 5 + Math.sqrt(s.doses_today || 0)),
        color: colour, fillColor: colour, fillOpacity: 0.6,
      }, function () {
        return info(s.name, [
          [T.doses_today, s.doses_today], [T.booked_today, s.booked_today], [T.places_today, s.capacity_today],
        ]);
      }).addTo(groups.vaccination_sites);
    });
  }

  function applyCameras(items) {
    groups.cameras.clearLayers();
    items.forEach(function (c) {
      var icon = L.divIcon({ className: "cc-camera-marker", html: node("span", { "aria-hidden": "true", text: "◉" }), iconSize: [20, 20] });
      var marker = L.marker([c.lat, c.lng], { icon: icon, title: c.name, keyboard: true });
      marker.bindPopup(function () {
        var link = node("a", {
          className: "button button-small", href: safeUrl(c.watch_url) || "#", target: "_blank", rel: "noopener",
          text: T.watch, "data-camera-id": c.id,
        });
        return info(c.name, [["", c.place]], [node("div", { className: "cc-row" }, [link])]);
      });
      marker.on("add", function () {
        var el = marker.getElement();
        if (el) el.setAttribute("data-camera-id", c.id);
      });
      marker.addTo(groups.cameras);
    });
  }

  function applyWastePoints(items) {
    // Temporary storage points and producers: red with a waste alarm being handled, amber when the oldest
    // waiting bag was labelled more than 36 hours ago, green otherwise; sized by the bags waiting.
    groups.waste_points.clearLayers();
    items.forEach(function (w) {
      var colour = w.alarms > 0 ? "#c92a2a" : (w.oldest_hours || 0) > 36 ? "#d97706" : "#2b8a3e";
      circle(w, {
        radius: Math.min(14, (w.kind === "institution" ? 6 : 4) + Math.sqrt(w.open_bags || 0)),
        color: colour, fillColor: colour, fillOpacity: 0.6,
      }, function () {
        return info(w.name, [
          [T.waste_open_bags, w.open_bags + " (" + w.open_kg + " kg)"],
          [T.waste_oldest_hours, w.oldest_hours === null ? "—" : w.oldest_hours],
          [T.waste_alarms, w.alarms],
        ]);
      }).addTo(groups.waste_points);
    });
  }

  var APPLY = {
    grids: null,
    venues: applyVenues,
    sampling_points: applySamplingPoints,
    quarantine_sites: applySites,
    cameras: applyCameras,
    alarms: syncAlarmsFromLayer,
    vaccination_sites: applyVaccinationSites,
    waste_points: applyWastePoints,
  };

  var mapLoading = false;
  var lastMapLoad = 0;

  function loadMap(names) {
    var wanted = names || enabledLayers();
    if (wanted.indexOf("grids") < 0) wanted = wanted.concat(["grids"]); // instructions need the grids
    var shapes = !state.loaded.grids;
    var query = "?layers=" + encodeURIComponent(wanted.join(",")) + "&measure=" + encodeURIComponent(state.measure) +
      "&boundaries=" + (shapes ? "true" : "false");
    mapLoading = true;
    var started = lastMapLoad = Date.now();
    return request("GET", cfg.api.map + query).then(function (payload) {
      wanted.forEach(function (name) {
        if (!(name in payload)) return;
        if (name === "grids") applyGrids(payload.grids, shapes);
        else APPLY[name](payload[name], started);
        state.loaded[name] = true;
      });
      syncVisibility();
      mapEl.setAttribute("data-loaded", "true");
    }).catch(function (err) {
      mapEl.setAttribute("data-error", err.message);
    }).then(function () { mapLoading = false; });
  }

  var mapTimer = null;
  function scheduleMapRefresh() {
    // The numbers on the map follow events, at most every 10 s.
    if (mapTimer) return;
    var wait = Math.max(0, lastMapLoad + 10000 - Date.now());
    mapTimer = setTimeout(function () {
      mapTimer = null;
      if (mapLoading) { scheduleMapRefresh(); return; }
      loadMap();
    }, wait);
  }

  document.querySelectorAll("#cc-controls input[name=layer]").forEach(function (box) {
    box.addEventListener("change", function () {
      if (box.checked && !state.loaded[box.value]) loadMap([box.value]);
      syncVisibility();
    });
  });
  document.getElementById("cc-measure").addEventListener("change", function (event) {
    state.measure = event.target.value;
    selectInstruction(null);
    restyleGrids();
  });

  // --- selection of grids (instructions) ---------------------------------------------------------------

  function toggleSelect(id, on) {
    var value = on === undefined ? !state.selected[id] : on;
    if (value) state.selected[id] = true;
    else delete state.selected[id];
    var layer = state.gridById[id];
    if (layer) {
      layer.setStyle(gridStyle(layer.feature));
      markGridElement(layer);
    }
    selectionChanged();
  }

  function selectionChanged() {
    var ids = Object.keys(state.selected);
    root.setAttribute("data-selected", String(ids.length));
    var count = document.getElementById("cc-selected-count");
    if (!count) return;
    count.textContent = String(ids.length);
    var names = ids.slice(0, 6).map(function (id) {
      var layer = state.gridById[id];
      return layer ? layer.feature.properties.name : id;
    });
    document.getElementById("cc-selected-names").textContent = names.join("、") + (ids.length > 6 ? "…" : "");
  }

  function fillCommunities() {
    var select = document.getElementById("cc-select-community");
    if (!select) return;
    var seen = {};
    var keep = select.value;
    while (select.options.length > 1) select.remove(1);
    state.features.forEach(function (f) {
      var p = f.properties;
      if (!p.community_code || seen[p.community_code]) return;
      seen[p.community_code] = true;
      select.appendChild(node("option", { value: p.community_code, text: p.community_name || p.community_code }));
    });
    select.value = keep;
  }

  if (cfg.canDispatch) {
    document.getElementById("cc-select-view").addEventListener("click", function () {
      var view = map.getBounds();
      state.features.forEach(function (f) {
        var layer = state.gridById[f.properties.id];
        if (layer && view.contains(layer.getBounds().getCenter())) toggleSelect(f.properties.id, true);
      });
    });
    document.getElementById("cc-select-clear").addEventListener("click", function () {
      Object.keys(state.selected).forEach(function (id) { toggleSelect(id, false); });
    });
    document.getElementById("cc-select-community").addEventListener("change", function (event) {
      var code = event.target.value;
      if (!code) return;
      state.features.forEach(function (f) {
        if (f.properties.community_code === code) toggleSelect(f.properties.id, true);
      });
      event.target.value = "";
    });
    document.getElementById("cc-instruction-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var status = document.getElementById("cc-instruction-status");
      var text = document.getElementById("cc-instruction-text").value.trim();
      var due = document.getElementById("cc-instruction-due").value;
      var ids = Object.keys(state.selected).map(Number);
      if (!ids.length) { status.textContent = T.choose_grids; return; }
      if (!text) { status.textContent = T.write_text; return; }
      var button = document.getElementById("cc-instruction-send");
      button.disabled = true;
      request("POST", cfg.api.instructions, {
        grid_ids: ids, text: text, due_at: due ? new Date(due).toISOString() : null,
      }).then(function (sent) {
        status.textContent = T.sent;
        document.getElementById("cc-instruction-text").value = "";
        document.getElementById("cc-instruction-due").value = "";
        Object.keys(state.selected).forEach(function (id) { toggleSelect(id, false); });
        return loadInstructions().then(function () { if (sent && sent.id) selectInstruction(sent.id); });
      }).catch(function (err) {
        status.textContent = err.message;
      }).then(function () { button.disabled = false; });
    });
  }

  // --- instructions ------------------------------------------------------------------------------------

  var instructions = [];

  function selectInstruction(id) {
    var chosen = null;
    instructions.forEach(function (ins) { if (ins.id === id) chosen = ins; });
    if (chosen) {
      var states = {};
      (chosen.grids || []).forEach(function (g) { states[g.grid_id] = g.state; });
      state.instruction = { id: chosen.id, text: chosen.text, states: states };
    } else {
      state.instruction = null;
    }
    root.setAttribute("data-instruction", state.instruction ? String(state.instruction.id) : "");
    document.querySelectorAll("#cc-instruction-list li").forEach(function (li) {
      li.classList.toggle("cc-current", state.instruction !== null && li.dataset.instructionId === String(state.instruction.id));
      var button = li.querySelector("button");
      if (button) button.setAttribute("aria-pressed", li.classList.contains("cc-current") ? "true" : "false");
    });
    restyleGrids();
  }

  function renderInstructions() {
    var list = document.getElementById("cc-instruction-list");
    list.textContent = "";
    if (!instructions.length) {
      list.appendChild(node("li", { className: "cc-muted", text: T.no_instructions }));
      return;
    }
    instructions.forEach(function (ins) {
      var total = ins.total || (ins.grids || []).length;
      var button = node("button", { type: "button", className: "cc-instruction-pick", "aria-pressed": "false" }, [
        node("span", { className: "cc-instruction-text", text: ins.text }),
        node("span", { className: "cc-muted cc-small", text: when(ins.sent_at) }),
      ]);
      var progress = node("progress", { max: total || 1, value: ins.done || 0 });
      var summary = node("span", {
        className: "cc-small", "data-done": ins.done || 0, "data-total": total,
        text: T.done + " " + (ins.done || 0) + "/" + total + " · " + T.accepted + " " + (ins.accepted || 0),
      });
      var li = node("li", { "data-instruction-id": ins.id }, [button, node("div", { className: "cc-row" }, [progress, summary])]);
      button.addEventListener("click", function () {
        selectInstruction(state.instruction && state.instruction.id === ins.id ? null : ins.id);
      });
      list.appendChild(li);
    });
  }

  function loadInstructions() {
    return request("GET", cfg.api.instructions).then(function (payload) {
      instructions = listOf(payload);
      renderInstructions();
      if (state.instruction) selectInstruction(state.instruction.id);
    }).catch(function () {
      instructions = [];
      renderInstructions();
    });
  }

  function taskStateChanged(taskId, taskState) {
    // An instruction's task moved on: show it at once; the list is fetched again right after.
    instructions.forEach(function (ins) {
      (ins.grids || []).forEach(function (g) { if (g.task_id === taskId) g.state = taskState; });
    });
    if (state.instruction) selectInstruction(state.instruction.id);
  }

  var instructionTimer = null;
  function scheduleInstructions() {
    if (instructionTimer) return;
    instructionTimer = setTimeout(function () { instructionTimer = null; loadInstructions(); }, 500);
  }

  // --- alarms ------------------------------------------------------------------------------------------

  var alarms = {}; // id -> {data, row, marker}

  function alarmIcon(a) {
    return L.divIcon({
      className: "alarm-marker alarm-" + (a.severity || "info"),
      html: node("span", { "aria-hidden": "true", text: "!" }),
      iconSize: [24, 24],
    });
  }

  function updateAlarmCount() {
    var n = Object.keys(alarms).length;
    document.getElementById("cc-alarm-count").textContent = String(n);
    document.getElementById("cc-alarm-empty").hidden = n > 0;
    root.setAttribute("data-alarms", String(n));
  }

  function alarmAction(id, action, body, rowStatus) {
    // Sends the version the operator saw: if someone else changed the alarm meanwhile the server says so
    // (409) and the row shows the alarm as it is now.
    rowStatus.textContent = "";
    var entry = alarms[String(id)];
    if (entry && entry.data.version !== undefined) body.version = entry.data.version;
    request("POST", cfg.api.alarms + "/" + id + "/" + action, body).then(function (payload) {
      if (payload && payload.id) upsertAlarm(payload);
      else refreshAlarm(id);
    }).catch(function (err) {
      var message = err.status === 409 ? T.changed_meanwhile : err.message;
      refreshAlarm(id).then(function () {
        var current = alarms[String(id)];
        var status = current ? current.row.querySelector("[role=status]") : null;
        if (status) status.textContent = message;
      });
    });
  }

  function loadAssignees(id, select) {
    // The people who may take this alarm (staff whose area covers it), asked for when the list is opened.
    if (select.dataset.loaded) return;
    select.dataset.loaded = "1";
    request("GET", cfg.api.alarms + "/" + id + "/assignees").then(function (people) {
      listOf(people).forEach(function (u) {
        select.appendChild(node("option", { value: u.id, text: u.name + (u.role ? " · " + u.role : "") }));
      });
    }).catch(function () { delete select.dataset.loaded; });
  }

  function alarmRow(a) {
    var li = node("li", { className: "cc-alarm", "data-alarm-id": a.id });
    fillAlarmRow(li, a);
    return li;
  }

  function fillAlarmRow(li, a) {
    li.textContent = "";
    li.setAttribute("data-status", a.status || "open");
    li.setAttribute("data-severity", a.severity || "info");
    var title = node("button", { type: "button", className: "cc-alarm-title", text: a.title || a.kind || ("#" + a.id) });
    title.addEventListener("click", function () {
      var entry = alarms[a.id];
      if (entry && entry.marker) {
        if (!map.hasLayer(groups.alarms)) map.addLayer(groups.alarms);
        map.setView(entry.marker.getLatLng(), Math.max(map.getZoom(), 15));
        entry.marker.openPopup();
      }
    });
    li.appendChild(node("div", { className: "cc-alarm-head" }, [
      node("span", { className: "cc-sev cc-sev-" + (a.severity || "info"), text: T["severity_" + a.severity] || a.severity || "" }),
      title,
      node("span", { className: "cc-muted cc-small", text: when(a.raised_at) }),
    ]));
    var meta = [T["status_" + a.status] || a.status];
    if (a.assignee_name) meta.push(a.assignee_name);
    var metaLine = node("div", { className: "cc-small cc-muted" }, [meta.join(" · ")]);
    var link = safeUrl(a.url);
    if (link) metaLine.appendChild(node("a", { href: link, className: "cc-alarm-link", text: " " + T.open_record }));
    li.appendChild(metaLine);
    var rowStatus = node("div", { className: "cc-small cc-error", role: "status" });
    if (cfg.canHandleAlarms) {
      var actions = node("div", { className: "cc-row cc-alarm-actions" });
      if (a.status === "open") {
        var ack = node("button", { type: "button", className: "button button-small", "data-action": "acknowledge", text: T.acknowledge });
        ack.addEventListener("click", function () { alarmAction(a.id, "acknowledge", {}, rowStatus); });
        actions.appendChild(ack);
      }
      var pick = node("select", { className: "cc-assignee", "aria-label": T.choose_assignee });
      pick.appendChild(node("option", { value: "", text: T.choose_assignee }));
      ["focus", "mousedown", "keydown"].forEach(function (type) {
        pick.addEventListener(type, function () { loadAssignees(a.id, pick); });
      });
      var assign = node("button", { type: "button", className: "button button-secondary button-small", "data-action": "assign", text: T.assign });
      assign.addEventListener("click", function () {
        if (!pick.value) { loadAssignees(a.id, pick); pick.focus(); return; }
        alarmAction(a.id, "assign", { user_id: Number(pick.value), note: note.value.trim() }, rowStatus);
      });
      var note = node("input", { type: "text", className: "cc-note", placeholder: T.note, maxLength: 500, "aria-label": T.note });
      actions.appendChild(pick);
      actions.appendChild(assign);
      var close = node("button", { type: "button", className: "button button-danger button-small", "data-action": "close", text: T.close });
      close.addEventListener("click", function () { alarmAction(a.id, "close", { note: note.value.trim() }, rowStatus); });
      actions.appendChild(note);
      actions.appendChild(close);
      if (cfg.consultationUrl) {
        actions.appendChild(node("a", {
          href: cfg.consultationUrl + "?alarm=" + encodeURIComponent(a.id),
          className: "button button-secondary button-small", "data-action": "consult", text: T.consult,
        }));
      }
      li.appendChild(actions);
    }
    li.appendChild(rowStatus);
  }

  function placeRow(li, a) {
    // Most severe first, then newest.
    var list = document.getElementById("cc-alarm-list");
    var rank = SEVERITY_ORDER[a.severity] === undefined ? 3 : SEVERITY_ORDER[a.severity];
    var before = null;
    Array.prototype.some.call(list.children, function (other) {
      if (other === li) return false;
      var data = alarms[other.dataset.alarmId] && alarms[other.dataset.alarmId].data;
      if (!data) return false;
      var otherRank = SEVERITY_ORDER[data.severity] === undefined ? 3 : SEVERITY_ORDER[data.severity];
      if (otherRank > rank || (otherRank === rank && (data.raised_at || "") < (a.raised_at || ""))) {
        before = other;
        return true;
      }
      return false;
    });
    list.insertBefore(li, before);
  }

  function upsertAlarm(incoming) {
    if (!incoming || incoming.id === undefined || incoming.id === null) return;
    var id = String(incoming.id);
    if (incoming.status === "closed") { removeAlarm(id); return; }
    var entry = alarms[id];
    var a = Object.assign({}, entry ? entry.data : {}, incoming);
    if (!entry) {
      entry = alarms[id] = { data: a, row: null, marker: null, seenAt: Date.now() };
      entry.row = alarmRow(a);
      placeRow(entry.row, a);
    } else {
      entry.data = a;
      entry.seenAt = Date.now();
      fillAlarmRow(entry.row, a);
    }
    if (a.lat !== null && a.lat !== undefined && a.lng !== null && a.lng !== undefined) {
      if (!entry.marker) {
        var marker = L.marker([a.lat, a.lng], { icon: alarmIcon(a), title: a.title || a.kind || "", keyboard: true, zIndexOffset: 1000 });
        marker.on("add", function () {
          var el = marker.getElement();
          if (el) {
            el.setAttribute("data-alarm-id", id);
            el.setAttribute("data-status", entry.data.status || "open");
          }
        });
        marker.bindPopup(function () {
          var d = entry.data;
          return info(d.title || d.kind, [
            ["", T["severity_" + d.severity] || d.severity],
            ["", T["status_" + d.status] || d.status],
            ["", when(d.raised_at)],
          ]);
        });
        entry.marker = marker;
        marker.addTo(groups.alarms);
      } else {
        entry.marker.setLatLng([a.lat, a.lng]);
        entry.marker.setIcon(alarmIcon(a));
        var el = entry.marker.getElement();
        if (el) {
          el.setAttribute("data-alarm-id", id);
          el.setAttribute("data-status", a.status || "open");
        }
      }
    }
    updateAlarmCount();
  }

  function removeAlarm(id) {
    var entry = alarms[id];
    if (!entry) return;
    if (entry.marker) groups.alarms.removeLayer(entry.marker);
    if (entry.row.parentNode) entry.row.parentNode.removeChild(entry.row);
    delete alarms[id];
    updateAlarmCount();
  }

  function refreshAlarm(id) {
    return request("GET", cfg.api.alarms + "/" + id).then(upsertAlarm).catch(function (err) {
      if (err.status === 404) removeAlarm(String(id)); // closed and gone from the actor's view, or out of scope
    });
  }

  function syncAlarmsFromLayer(items, askedAt) {
    // The map's alarms layer is the full list of open alarms in scope when it was asked for: an alarm it
    // lacks was closed meanwhile, unless it arrived (from the stream) after the question was asked.
    var present = {};
    items.forEach(function (a) { present[String(a.id)] = true; upsertAlarm(a); });
    Object.keys(alarms).forEach(function (id) {
      if (!present[id] && alarms[id].seenAt < askedAt) removeAlarm(id);
    });
  }

  function loadAlarms() {
    return request("GET", cfg.api.alarms + "?status=active").then(function (payload) {
      listOf(payload).forEach(upsertAlarm);
    }).catch(function () { /* the map's alarms layer still lists them */ });
  }

  // --- situation ---------------------------------------------------------------------------------------

  var charts = {};

  function chart(id) {
    if (typeof echarts === "undefined") return null;
    var el = document.getElementById(id);
    if (!el) return null;
    if (!charts[id]) {
      charts[id] = echarts.init(el, null, { renderer: "canvas" });
      window.addEventListener("resize", function () { charts[id].resize(); });
    }
    return charts[id];
  }

  function show(value) {
    return value === null || value === undefined ? "—" : String(value);
  }

  function applySituation(s) {
    (s.order || Object.keys(s.counters)).forEach(function (key) {
      var row = document.querySelector('#cc-counters tr[data-counter="' + key + '"]');
      var pair = s.counters[key];
      if (!row || !pair) return;
      var today = row.querySelector(".cc-today");
      today.textContent = show(pair.today);
      today.setAttribute("data-value", pair.today === null ? "" : String(pair.today));
      row.querySelector(".cc-yesterday").textContent = show(pair.yesterday);
      var trend = pair.today === null || pair.yesterday === null ? "" : pair.today > pair.yesterday ? "up" : pair.today < pair.yesterday ? "down" : "same";
      row.setAttribute("data-trend", trend);
    });
    document.getElementById("cc-situation-time").textContent = when(s.generated_at);
    // The level in force, in the response-level panel (whose form changes it).
    var level = document.querySelector("#cc-response-level [data-testid=current-level]");
    if (level && s.response_level) {
      level.textContent = s.response_level.label;
      level.setAttribute("data-level", s.response_level.code);
    }
    document.getElementById("cc-response-level").setAttribute("data-level", s.response_level ? s.response_level.code : "");
    var t = s.turnaround || {};
    document.querySelectorAll("[data-turnaround]").forEach(function (el) {
      var day = t[el.getAttribute("data-turnaround")];
      el.textContent = show(day ? day.p50 : null);
    });
    drawEpicurve(s.epicurve);
    drawTurnaround(t);
    root.setAttribute("data-situation-at", s.generated_at || "");
  }

  function drawEpicurve(curve) {
    var el = document.getElementById("cc-epicurve");
    if (!curve) {
      if (charts["cc-epicurve"]) { charts["cc-epicurve"].dispose(); delete charts["cc-epicurve"]; }
      el.textContent = T.no_curve;
      el.classList.add("cc-chart-empty");
      return;
    }
    el.classList.remove("cc-chart-empty");
    var c = chart("cc-epicurve");
    if (!c) return;
    c.setOption({
      animation: false,
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { bottom: 0, textStyle: { fontSize: 11 } },
      grid: { left: 32, right: 8, top: 8, bottom: 48 },
      xAxis: { type: "category", data: curve.days.map(function (d) { return d.slice(5); }), axisLabel: { fontSize: 10 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: T.confirmed, type: "bar", stack: "cases", data: curve.confirmed, itemStyle: { color: "#c92a2a" } },
        { name: T.asymptomatic, type: "bar", stack: "cases", data: curve.asymptomatic, itemStyle: { color: "#f08c00" } },
      ],
    });
    el.setAttribute("data-rendered", "1");
  }

  function drawTurnaround(t) {
    var c = chart("cc-turnaround");
    if (!c || !t.buckets) return;
    var edges = t.buckets;
    var names = edges.map(function (edge, i) { return (i ? edges[i - 1] : 0) + "–" + edge; });
    names.push("≥" + edges[edges.length - 1]);
    c.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { bottom: 0, textStyle: { fontSize: 11 } },
      grid: { left: 32, right: 8, top: 8, bottom: 40 },
      xAxis: { type: "category", name: T.hours, data: names, axisLabel: { fontSize: 10 } },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: T.today, type: "bar", data: (t.today || {}).histogram || [], itemStyle: { color: "#0b6e99" } },
        { name: T.yesterday, type: "bar", data: (t.yesterday || {}).histogram || [], itemStyle: { color: "#adb5bd" } },
      ],
    });
  }

  var situationTimer = null;
  var lastSituation = Date.now();
  function scheduleSituation() {
    // At most one fetch per situationMinSeconds, however many events arrive.
    if (situationTimer) return;
    var wait = Math.max(0, lastSituation + cfg.situationMinSeconds * 1000 - Date.now());
    situationTimer = setTimeout(function () {
      situationTimer = null;
      lastSituation = Date.now();
      request("GET", cfg.api.situation).then(applySituation).catch(function () {});
    }, wait);
  }

  // --- the event stream --------------------------------------------------------------------------------

  var STREAM_TYPES = [
    "alarm.raised", "alarm.updated", "task.accepted", "task.started", "task.done", "task.cannot", "tasks.created",
    "instruction.sent", "case.confirmed", "contact.identified", "quarantine.started", "quarantine.ended", "tube.positive",
    "testing.results", "testing.recall", "response_level.changed", "vaccination.dose",
  ];

  function parse(event) {
    try { return JSON.parse(event.data); } catch (e) { return null; }
  }

  function anyEvent() {
    scheduleSituation();
    scheduleMapRefresh();
  }

  function onStreamEvent(event) {
    var ev = parse(event);
    if (!ev) return;
    var p = ev.payload || {};
    var type = ev.type || event.type;
    if (type === "alarm.raised" && p.alarm_id !== undefined) {
      upsertAlarm({
        id: p.alarm_id, kind: p.kind, severity: p.severity, lat: p.lat, lng: p.lng, status: "open",
        raised_at: ev.occurred_at, title: p.title, org_code: ev.org_code,
      });
      refreshAlarm(p.alarm_id);
    } else if (type === "alarm.updated" && p.alarm_id !== undefined) {
      if (p.status === "closed") removeAlarm(String(p.alarm_id));
      else {
        if (alarms[String(p.alarm_id)]) upsertAlarm({ id: p.alarm_id, status: p.status });
        refreshAlarm(p.alarm_id);
      }
    } else if (type.indexOf("task.") === 0 || type === "instruction.sent") {
      if (p.source === "instruction" && p.task_id !== undefined && p.state) taskStateChanged(p.task_id, p.state);
      scheduleInstructions();
    }
    anyEvent();
  }

  function connect() {
    if (typeof EventSource === "undefined") return;
    var label = document.getElementById("cc-stream-label");
    var source = new EventSource(cfg.api.stream);
    var lost = null;
    source.addEventListener("open", function () {
      if (lost) { clearTimeout(lost); lost = null; }
      if (root.getAttribute("data-stream-state") === "reconnecting") {
        // Back after an outage: catch up on what the replay may not carry (numbers, alarm list).
        anyEvent();
        loadAlarms();
      }
      root.setAttribute("data-stream-state", "live");
      label.textContent = T.live;
    });
    source.addEventListener("error", function () {
      // A stream that ends and is taken up again at once (short polls behind a plain WSGI server) is not
      // "lost": say so only when it stays away for a few seconds.
      if (lost) return;
      lost = setTimeout(function () {
        lost = null;
        if (source.readyState === EventSource.OPEN) return;
        root.setAttribute("data-stream-state", "reconnecting");
        label.textContent = T.reconnecting;
      }, 3000);
    });
    STREAM_TYPES.forEach(function (type) { source.addEventListener(type, onStreamEvent); });
    source.addEventListener("message", onStreamEvent);
  }

  // --- start -------------------------------------------------------------------------------------------

  function fitToWindow() {
    // The map and panels fill the window below the top bar, whatever its height (banner, navigation rows).
    if (window.matchMedia("(max-width: 900px)").matches) { root.style.height = ""; return; }
    var top = root.getBoundingClientRect().top + window.scrollY;
    root.style.height = Math.max(520, window.innerHeight - top) + "px";
    map.invalidateSize();
  }
  fitToWindow();
  window.addEventListener("resize", fitToWindow);

  applySituation(data("cc-situation-data"));
  drawLegend();
  selectionChanged();
  updateAlarmCount();
  loadMap().then(loadAlarms);
  loadInstructions();
  connect();
  setInterval(scheduleSituation, 60000);
  setInterval(scheduleMapRefresh, 60000);
})();
