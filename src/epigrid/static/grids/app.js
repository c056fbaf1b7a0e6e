/* The grid worker's app (grids:app): today's tasks, a map, forms from the task types, photos as evidence.
 *
 * Every change (accept, start, done, cannot) goes into a queue in IndexedDB first — with a client UUID, the
 * version of the task the worker saw and, for done, the form and a photo downscaled to <= 1280 px — and the
 * queue is sent through POST /api/v1/grid/sync whenever the phone is online (at once, on the "online" event,
 * after a failed try every few seconds). The server applies each client id once, so a resend after a lost
 * answer changes nothing; conflicts (the task moved on meanwhile) and rejections come back per change and
 * are shown to the worker. The last task list is kept in localStorage so the app opens offline; the service
 * worker (grids/sw.js) keeps the page and its files.
 */
(function () {
  "use strict";
  var root = document.getElementById("grid-app");
  if (!root) return;
  var cfg = JSON.parse(document.getElementById("app-config").textContent);
  var text = document.getElementById("app-text").dataset;
  var storeKey = "epigrid.gridapp.v1." + cfg.user;
  var RETRY_MS = 5000;
  var BATCH = 10;             // changes per sync request (photos make them large)
  var MAX_SIDE = 1280;        // evidence photos are downscaled to this before base64
  var URGENT = 4;

  function $(sel, el) { return (el || root).querySelector(sel); }
  function fmt(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, k) { return k in values ? String(values[k]) : m; });
  }
  function el(tag, attrs, children) {
    // DOM nodes only, never HTML strings: titles and names come from the database.
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else if (k.indexOf("data-") === 0 || k === "type" || k === "name" || k === "value" || k === "for" ||
               k === "id" || k === "accept" || k === "capture" || k === "role" || k === "aria-label" ||
               k === "rows" || k === "maxlength" || k === "hidden" || k === "src" || k === "alt") {
        if (attrs[k] !== false && attrs[k] != null) node.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
      }
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  function uuid4() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function csrf() {
    // The cookie first: a page served from the offline cache may carry an older token.
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : root.dataset.csrf;
  }

  // --- what is kept on the phone --------------------------------------------------------------------
  var store = loadStore();
  function loadStore() {
    try {
      var s = JSON.parse(window.localStorage.getItem(storeKey) || "null");
      if (s && Array.isArray(s.tasks)) return s;
    } catch (e) { /* a damaged entry starts afresh */ }
    return { tasks: [], types: null, fetchedAt: null, seen: null, problems: [], seq: 0 };
  }
  function saveStore() {
    try { window.localStorage.setItem(storeKey, JSON.stringify(store)); } catch (e) { /* full: the queue is elsewhere */ }
  }

  // The queue: IndexedDB (photos do not fit localStorage's few megabytes), one database per account.
  var dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = window.indexedDB.open("epigrid-gridapp-" + cfg.user, 1);
        req.onupgradeneeded = function () { req.result.createObjectStore("queue", { keyPath: "client_id" }); };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }
  function tx(mode, work) {
    return db().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction("queue", mode);
        var out = work(t.objectStore("queue"));
        t.oncomplete = function () { resolve(out && "result" in out ? out.result : undefined); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error); };
      });
    });
  }
  function queueAll() {
    return tx("readonly", function (s) { return s.getAll(); }).then(function (items) {
      return (items || []).sort(function (a, b) { return a.seq - b.seq; });
    });
  }
  function queuePut(item) { return tx("readwrite", function (s) { s.put(item); }); }
  function queueDelete(ids) { return tx("readwrite", function (s) { ids.forEach(function (id) { s.delete(id); }); }); }

  var queue = [];  // in-memory copy of the IndexedDB queue, in order
  function refreshQueue() { return queueAll().then(function (items) { queue = items; render(); }); }

  // --- the list the worker sees: the server's last answer with the queued changes applied -------------
  var NEXT = { accept: "accepted", start: "in_progress", done: "done", cannot: "cannot" };
  function overlay() {
    var byId = {};
    var tasks = store.tasks.map(function (t) { var c = Object.assign({}, t); byId[c.id] = c; return c; });
    queue.forEach(function (item) {
      var t = byId[item.task_id];
      if (!t) return;
      t.state = NEXT[item.action]; t.version = item.base_version + 1; t.queued = true;
    });
    return tasks;
  }
  function taskById(id) {
    return overlay().filter(function (t) { return t.id === id; })[0] || null;
  }

  var position = null;
  var current = null;  // id of the task open in the detail view

  // --- rendering ------------------------------------------------------------------------------------
  function endOfToday() { var d = new Date(); d.setHours(23, 59, 59, 999); return d; }
  function localTime(iso) {
    var d = new Date(iso);
    var today = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var hm = pad(d.getHours()) + ":" + pad(d.getMinutes());
    return d.toDateString() === today.toDateString() ? hm : (d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + hm;
  }
  function distance(t) {
    if (t.distance_m == null) return "";
    return t.distance_m < 1000 ? fmt(text.metres, { n: t.distance_m }) : fmt(text.km, { n: (t.distance_m / 1000).toFixed(1) });
  }
  function isOpen(t) { return t.state === "new" || t.state === "accepted" || t.state === "in_progress"; }

  function card(t) {
    var overdue = isOpen(t) && new Date(t.due_at) < new Date();
    var meta = [
      el("span", { class: "ga-type", text: cfg.types[t.type] || t.type }),
      el("span", { class: "ga-due" + (overdue ? " ga-overdue" : ""), text: (overdue ? text.overdue : text.due) + " " + localTime(t.due_at) }),
    ];
    var dist = distance(t);
    if (dist) meta.push(el("span", { class: "ga-dist", text: dist }));
    var badges = [el("span", { class: "ga-state ga-state-" + t.state, "data-testid": "task-state", text: cfg.states[t.state] || t.state })];
    if (t.escalation) badges.push(el("span", { class: "ga-esc", text: t.escalation > 1 ? text.escalated2 : text.escalated1 }));
    if (t.queued) badges.push(el("span", { class: "ga-queued", "data-testid": "task-queued", text: text.queued }));
    var who = t.person ? t.person.name : t.subject;
    return el("li", {}, [
      el("button", {
        type: "button", class: "ga-card ga-p" + t.priority, "data-task-id": t.id, "data-testid": "task-card",
        "data-state": t.state, "data-overdue": overdue ? "true" : "false",
      }, [
        el("span", { class: "ga-card-title", text: t.title }),
        who ? el("span", { class: "ga-card-who", text: who }) : null,
        el("span", { class: "ga-card-meta" }, meta),
        el("span", { class: "ga-card-badges" }, badges),
      ]),
    ]);
  }

  function renderList() {
    var list = $("[data-list]");
    list.textContent = "";
    var tasks = overlay();
    var stale = $("[data-stale]");
    stale.hidden = !(navigator.onLine === false && store.fetchedAt);
    if (store.fetchedAt) stale.textContent = fmt(text.stale, { time: localTime(store.fetchedAt) });
    if (!tasks.length) { list.appendChild(el("p", { class: "ga-empty", text: text.none })); return; }
    var end = endOfToday();
    var today = tasks.filter(function (t) { return new Date(t.due_at) <= end; });
    var later = tasks.filter(function (t) { return new Date(t.due_at) > end; });
    [[text.today, today, "today"], [text.later, later, "later"]].forEach(function (group) {
      if (!group[1].length) return;
      list.appendChild(el("h2", { class: "ga-group", text: group[0] + " (" + group[1].length + ")" }));
      list.appendChild(el("ul", { class: "ga-cards", "data-group": group[2] }, group[1].map(card)));
    });
  }

  function render() {
    var online = navigator.onLine !== false;
    root.dataset.online = String(online);
    root.dataset.queue = String(queue.length);
    $("[data-queue-count]").textContent = String(queue.length);
    var net = $("[data-net]");
    net.textContent = online ? text.online : text.offline;
    net.classList.toggle("ga-offline", !online);
    $("[data-sync-now]").hidden = queue.length === 0;
    renderProblems();
    renderList();
    if (current !== null && !$("[data-view=task]").hidden && !formOpen) renderTask();
    if (map) drawMap();
  }

  function renderProblems() {
    var box = $("[data-problems]");
    var ul = $("[data-problem-list]");
    ul.textContent = "";
    box.hidden = !store.problems.length;
    store.problems.forEach(function (p) {
      ul.appendChild(el("li", { "data-outcome": p.outcome, "data-testid": "problem" }, [
        el("strong", { text: p.title + " · " + (text[p.action] || p.action) + ": " }),
        (p.outcome === "conflict" ? text.conflict : text.rejected) + (p.message ? " — " + p.message : ""),
      ]));
    });
  }

  function note(message) {
    var n = $("[data-note]");
    n.hidden = !message; n.textContent = message || "";
  }

  // --- views ----------------------------------------------------------------------------------------
  function show(view) {
    root.querySelectorAll("[data-view]").forEach(function (v) { v.hidden = v.dataset.view !== view; });
    root.querySelectorAll("[data-tab]").forEach(function (b) {
      b.setAttribute("aria-selected", String(b.dataset.tab === view));
    });
    if (view === "map") drawMap();
  }

  var formOpen = null;  // "done" | "cannot" while the worker fills a form (re-renders must not wipe it)

  function renderTask() {
    var t = taskById(current);
    var box = $("[data-task]");
    box.textContent = "";
    if (!t) { show("list"); current = null; return; }
    box.dataset.taskId = String(t.id);
    var facts = [
      [text.where, t.subject],
      [text.person, t.person ? t.person.name + (t.person.phone ? " · " + t.person.phone : "") : ""],
      [text.due, localTime(t.due_at)],
    ];
    var dl = el("dl", { class: "ga-facts" });
    facts.forEach(function (f) { if (f[1]) { dl.appendChild(el("dt", { text: f[0] })); dl.appendChild(el("dd", { text: f[1] })); } });
    var params = t.params || {};
    if (params.text) { dl.appendChild(el("dt", { text: text.instruction })); dl.appendChild(el("dd", { text: params.text })); }
    if (params.description) { dl.appendChild(el("dt", { text: text.where })); dl.appendChild(el("dd", { text: params.description })); }
    box.appendChild(el("h2", { class: "ga-task-title", text: t.title }));
    box.appendChild(el("p", { class: "ga-card-badges" }, [
      el("span", { class: "ga-type", text: cfg.types[t.type] || t.type }),
      el("span", { class: "ga-state ga-state-" + t.state, "data-testid": "detail-state", text: cfg.states[t.state] || t.state }),
      el("span", { class: "ga-prio", text: cfg.priorities[String(t.priority)] || "" }),
      t.queued ? el("span", { class: "ga-queued", text: text.queued }) : null,
    ]));
    box.appendChild(dl);
    if (!isOpen(t)) return;
    var actions = el("div", { class: "ga-actions" });
    if (t.state === "new") actions.appendChild(actionButton("accept", t));
    if (t.state === "new" || t.state === "accepted") actions.appendChild(actionButton("start", t));
    actions.appendChild(el("button", { type: "button", class: "ga-btn ga-btn-go", "data-action": "done", "data-testid": "action-done", text: text.done }));
    actions.appendChild(el("button", { type: "button", class: "ga-btn ga-btn-quiet", "data-action": "cannot", "data-testid": "action-cannot", text: text.cannot }));
    box.appendChild(actions);
    actions.addEventListener("click", function (ev) {
      var b = ev.target.closest("[data-action]");
      if (!b) return;
      if (b.dataset.action === "done") openForm(t, "done");
      else if (b.dataset.action === "cannot") openForm(t, "cannot");
      else act(t, b.dataset.action, {});
    });
  }

  function actionButton(action, t) {
    return el("button", { type: "button", class: "ga-btn", "data-action": action, "data-testid": "action-" + action, text: text[action] });
  }

  function openTask(id) {
    current = id; formOpen = null; note("");
    show("task");
    renderTask();
    window.scrollTo(0, 0);
  }

  // --- forms from GET /api/v1/grid/task-types ---------------------------------------------------------
  function fieldFor(f, t) {
    var label = f.label + (f.required ? " *" : "");
    var wrap = el("div", { class: "ga-field", "data-field": f.name, "data-kind": f.kind });
    if (f.kind === "text") {
      var id = "f-" + f.name;
      wrap.appendChild(el("label", { for: id, text: label }));
      wrap.appendChild(el("input", { type: "text", id: id, name: f.name, maxlength: "500" }));
    } else if (f.kind === "bool" || f.kind === "choice") {
      var options = f.kind === "bool" ? [["true", text.yes], ["false", text.no]] : f.choices;
      var set = el("fieldset", {}, [el("legend", { text: label })]);
      options.forEach(function (o) {
        set.appendChild(el("label", { class: "ga-choice" }, [el("input", { type: "radio", name: f.name, value: o[0] }), " " + o[1]]));
      });
      wrap.appendChild(set);
    } else if (f.kind === "checklist") {
      var items = (t.params && t.params.checklist) || [];
      var list = el("fieldset", { class: "ga-checklist" }, [el("legend", { text: label })]);
      items.forEach(function (item, i) {
        var name = f.name + "." + i;
        list.appendChild(el("div", { class: "ga-check", "data-item": item }, [
          el("span", { text: item }),
          el("label", { class: "ga-choice" }, [el("input", { type: "radio", name: name, value: "ok" }), " " + text.ok]),
          el("label", { class: "ga-choice" }, [el("input", { type: "radio", name: name, value: "problem" }), " " + text.problem]),
        ]));
      });
      wrap.appendChild(list);
    }
    return wrap;
  }

  function openForm(t, kind) {
    var box = $("[data-task]");
    var old = $("form", box);
    if (old) old.remove();
    formOpen = kind;
    var form = el("form", { class: "ga-form", "data-testid": "form-" + kind, "data-kind": kind });
    form.noValidate = true;
    var spec = store.types && store.types[t.type];
    if (kind === "done") {
      if (!spec) { note(text.formsMissing); formOpen = null; return; }
      spec.fields.forEach(function (f) { form.appendChild(fieldFor(f, t)); });
      var photoLabel = spec.photo_required ? text.photoRequired : text.photo;
      form.appendChild(el("div", { class: "ga-field ga-photo" }, [
        el("label", { for: "f-photo", text: photoLabel }),
        el("input", { type: "file", id: "f-photo", name: "photo", accept: "image/*", capture: "environment", "data-testid": "photo" }),
        el("img", { class: "ga-preview", alt: "", hidden: true, "data-preview": "1" }),
      ]));
    } else {
      form.appendChild(el("div", { class: "ga-field" }, [
        el("label", { for: "f-reason", text: text.reason }),
        el("textarea", { id: "f-reason", name: "reason", rows: "3", maxlength: "300", "data-testid": "reason" }),
      ]));
    }
    form.appendChild(el("p", { class: "ga-error", role: "alert", "data-form-error": "1", hidden: true }));
    form.appendChild(el("button", {
      type: "submit", class: "ga-btn ga-btn-go", "data-testid": "submit-" + kind,
      text: kind === "done" ? text.submitDone : text.submitCannot,
    }));
    box.appendChild(form);
    var photoData = null;
    var photo = $("input[name=photo]", form);
    if (photo) {
      photo.addEventListener("change", function () {
        var file = photo.files && photo.files[0];
        photoData = null;
        form.dataset.photo = "reading";
        if (!file) { form.dataset.photo = ""; return; }
        downscale(file).then(function (b64) {
          photoData = b64;
          var img = $("[data-preview]", form);
          img.src = "data:image/jpeg;base64," + b64; img.hidden = false;
          form.dataset.photo = "ready";
        }).catch(function () { formError(form, text.photoFailed); form.dataset.photo = "error"; });
      });
    }
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (kind === "cannot") {
        var reason = form.reason.value.trim();
        if (!reason) { formError(form, text.needReason); return; }
        act(t, "cannot", { reason: reason });
        return;
      }
      var result = readForm(form, spec, t);
      if (result.error) { formError(form, result.error); return; }
      if (spec.photo_required && !photoData) { formError(form, text.needPhoto); return; }
      act(t, "done", { result: result.value, photo_base64: photoData });
    });
    var first = $("input, textarea", form);
    if (first && first.type !== "file") first.focus();
  }

  function formError(form, message) {
    var p = $("[data-form-error]", form);
    p.hidden = false; p.textContent = message;
  }

  function readForm(form, spec, t) {
    var value = {};
    for (var i = 0; i < spec.fields.length; i++) {
      var f = spec.fields[i];
      var v;
      if (f.kind === "text") {
        v = form.elements[f.name].value.trim();
      } else if (f.kind === "bool" || f.kind === "choice") {
        var picked = form.querySelector("input[name='" + f.name + "']:checked");
        v = picked ? (f.kind === "bool" ? picked.value === "true" : picked.value) : "";
      } else if (f.kind === "checklist") {
        var items = (t.params && t.params.checklist) || [];
        var answers = {}, missing = false;
        items.forEach(function (item, j) {
          var a = form.querySelector("input[name='" + f.name + "." + j + "']:checked");
          if (a) answers[item] = a.value; else missing = true;
        });
        v = missing ? "" : answers;
      }
      if (v === "" || v == null) {
        if (f.required) return { error: fmt(text.fill, { field: f.label }) };
        continue;
      }
      value[f.name] = v;
    }
    return { value: value };
  }

  function downscale(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        var scale = Math.min(1, MAX_SIDE / Math.max(img.naturalWidth, img.naturalHeight));
        var canvas = document.createElement("canvas");
        canvas.width = Math.max(1, Math.round(img.naturalWidth * scale));
        canvas.height = Math.max(1, Math.round(img.naturalHeight * scale));
        canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
        URL.revokeObjectURL(url);
        resolve(canvas.toDataURL("image/jpeg", 0.8).split(",")[1]);
      };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("image")); };
      img.src = url;
    });
  }

  // --- acting: into the queue, then sent --------------------------------------------------------------
  function act(t, action, extra) {
    store.seq = (store.seq || 0) + 1;
    var item = {
      client_id: uuid4(),
      seq: store.seq,
      task_id: t.id,
      title: t.title,
      action: action,
      base_version: t.version,
      at: new Date().toISOString(),
      result: extra.result || null,
      reason: extra.reason || "",
      photo_base64: extra.photo_base64 || null,
      lat: position ? position.lat : null,
      lng: position ? position.lng : null,
    };
    saveStore();
    queuePut(item).then(function () {
      queue.push(item);
      formOpen = null;
      if (action === "done" || action === "cannot") { current = null; show("list"); }
      render();
      if (current !== null) renderTask();
      note(navigator.onLine === false ? text.saved : "");
      drain();
    }).catch(function () { note(text.storageFull); });
  }

  var draining = null, retryTimer = null;
  function drain() {
    if (draining) return draining;
    if (navigator.onLine === false) return Promise.resolve();
    root.dataset.syncing = "true";
    draining = run().finally(function () { draining = null; root.dataset.syncing = "false"; render(); });
    return draining;
  }

  function retryLater() {
    if (retryTimer) return;
    retryTimer = window.setTimeout(function () { retryTimer = null; drain(); }, RETRY_MS);
  }

  async function run() {
    var sent = 0;
    await refreshQueue();
    while (queue.length && navigator.onLine !== false) {
      var batch = queue.slice(0, BATCH);
      var body = batch.map(function (i) {
        return {
          client_id: i.client_id, task_id: i.task_id, action: i.action, base_version: i.base_version,
          at: i.at, result: i.result, reason: i.reason, photo_base64: i.photo_base64, lat: i.lat, lng: i.lng,
        };
      });
      var response, answers;
      try {
        response = await fetch(cfg.api.sync, {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf() },
          body: JSON.stringify(body),
        });
      } catch (e) { retryLater(); return; }
      if (response.status === 401 || response.status === 403) { note(text.login); retryLater(); return; }
      if (response.status >= 500 || response.status === 429) { retryLater(); return; }
      answers = await response.json().catch(function () { return null; });
      if (!response.ok || !Array.isArray(answers)) {
        // The whole request was refused (a malformed change): report each and let the rest go on.
        var detail = answers && answers.detail ? answers.detail : String(response.status);
        answers = batch.map(function (i) { return { client_id: i.client_id, task_id: i.task_id, outcome: "rejected", message: detail }; });
      }
      var done = [];
      answers.forEach(function (a) {
        var item = batch.filter(function (i) { return i.client_id === a.client_id; })[0];
        if (!item) return;
        done.push(item.client_id);
        var t = store.tasks.filter(function (x) { return x.id === item.task_id; })[0];
        if (a.outcome === "applied" || a.outcome === "duplicate") {
          sent += 1;
          if (t && a.state) { t.state = a.state; t.version = a.version; }
        } else {
          store.problems.push({ title: item.title, action: item.action, outcome: a.outcome, message: a.message || "" });
          if (t && a.state) { t.state = a.state; t.version = a.version; }
        }
      });
      // A change the server did not mention stays queued and goes again (once: its client id guards it).
      await queueDelete(done);
      saveStore();
      await refreshQueue();
      if (!done.length) { retryLater(); return; }
    }
    if (sent) note(fmt(text.synced, { n: sent }));
    await refresh();
  }

  // --- the list from the server ---------------------------------------------------------------------
  var refreshing = null;
  function refresh() {
    if (refreshing) return refreshing;
    refreshing = load().finally(function () { refreshing = null; });
    return refreshing;
  }

  async function load() {
    var url = cfg.api.myTasks + (position ? "?lat=" + position.lat + "&lng=" + position.lng : "");
    try {
      var got = await Promise.all([
        fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } }),
        store.types ? null : fetch(cfg.api.types, { credentials: "same-origin", headers: { "Accept": "application/json" } }),
      ]);
      if (got[0].status === 401 || got[0].status === 403) { note(text.login); return; }
      if (!got[0].ok) return;
      var tasks = await got[0].json();
      if (got[1] && got[1].ok) store.types = await got[1].json();
      announce(tasks);
      store.tasks = tasks;
      store.fetchedAt = new Date().toISOString();
      saveStore();
    } catch (e) {
      /* offline: the last list stays */
    } finally {
      root.dataset.state = "ready";
      render();
    }
  }

  function announce(tasks) {
    // New urgent tasks since the last list: a banner (and a system notification where allowed). The first
    // list on a phone announces nothing: everything would be "new".
    var seen = store.seen;
    store.seen = tasks.map(function (t) { return t.id; });
    if (!seen) return;
    var fresh = tasks.filter(function (t) { return t.priority >= URGENT && seen.indexOf(t.id) === -1; });
    if (!fresh.length) return;
    var message = fmt(text.urgent, { n: fresh.length }) + ": " + fresh.map(function (t) { return t.title; }).join("; ");
    $("[data-banner-text]").textContent = message;
    $("[data-banner]").hidden = false;
    root.dataset.urgent = String(fresh.length);
    if (window.Notification && Notification.permission === "granted" && navigator.serviceWorker && navigator.serviceWorker.ready) {
      navigator.serviceWorker.ready.then(function (reg) { reg.showNotification(text.urgent.replace("{n}", fresh.length), { body: message, tag: "epigrid-urgent" }); }).catch(function () {});
    }
  }

  // --- the map (Leaflet; tiles only when configured) ---------------------------------------------------
  var map = null, markers = null;
  function drawMap() {
    if ($("[data-view=map]").hidden || typeof L === "undefined") return;
    if (!map) {
      map = L.map("ga-map", { attributionControl: Boolean(cfg.tileUrl) });
      if (cfg.tileUrl) L.tileLayer(cfg.tileUrl, { maxZoom: 19, attribution: cfg.tileAttribution || "" }).addTo(map);
      if (cfg.grids && cfg.grids.features && cfg.grids.features.length) {
        L.geoJSON(cfg.grids, { style: { color: "#0b6e99", weight: 1.5, fillOpacity: 0.06 }, interactive: false }).addTo(map);
      }
      markers = L.layerGroup().addTo(map);
    }
    map.invalidateSize();
    markers.clearLayers();
    var points = [];
    overlay().forEach(function (t) {
      if (t.lat == null || t.lng == null) return;
      var overdue = isOpen(t) && new Date(t.due_at) < new Date();
      var colour = overdue ? "#a4262c" : t.priority >= URGENT ? "#d97706" : "#0b6e99";
      var m = L.circleMarker([t.lat, t.lng], { radius: 9, color: colour, fillColor: colour, fillOpacity: 0.7 });
      var pop = el("div", {}, [el("strong", { text: t.title }), el("br"), (cfg.types[t.type] || t.type) + " · " + localTime(t.due_at)]);
      var open = el("button", { type: "button", class: "ga-link", text: "›" });
      open.addEventListener("click", function () { openTask(t.id); });
      pop.appendChild(open);
      m.bindPopup(pop);
      m.addTo(markers);
      points.push([t.lat, t.lng]);
    });
    if (position) {
      L.circleMarker([position.lat, position.lng], { radius: 6, color: "#1e8e3e", fillColor: "#1e8e3e", fillOpacity: 1 })
        .bindTooltip(text.youAreHere).addTo(markers);
      points.push([position.lat, position.lng]);
    }
    if (points.length) map.fitBounds(points, { padding: [24, 24], maxZoom: 16 });
    else map.setView(cfg.center, 12);
    root.dataset.markers = String(markers.getLayers().length);
  }

  // --- wiring ---------------------------------------------------------------------------------------
  root.addEventListener("click", function (ev) {
    var c = ev.target.closest("[data-task-id]");
    if (c && c.closest("[data-list]")) { openTask(parseInt(c.dataset.taskId, 10)); return; }
    var tab = ev.target.closest("[data-tab]");
    if (tab) { current = null; show(tab.dataset.tab); return; }
    if (ev.target.closest("[data-back]")) { current = null; formOpen = null; show("list"); render(); return; }
    if (ev.target.closest("[data-sync-now]")) { drain(); return; }
    if (ev.target.closest("[data-refresh]")) { locate().then(refresh); return; }
    if (ev.target.closest("[data-banner-close]")) { $("[data-banner]").hidden = true; return; }
    if (ev.target.closest("[data-problems-clear]")) { store.problems = []; saveStore(); render(); }
  });

  function locate() {
    if (!navigator.geolocation) return Promise.resolve();
    return new Promise(function (resolve) {
      navigator.geolocation.getCurrentPosition(function (p) {
        position = { lat: Math.round(p.coords.latitude * 1e6) / 1e6, lng: Math.round(p.coords.longitude * 1e6) / 1e6 };
        resolve();
      }, function () { resolve(); }, { timeout: 5000, maximumAge: 60000 });
    });
  }

  window.addEventListener("online", function () { render(); drain(); });
  window.addEventListener("offline", render);

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(cfg.sw, { scope: cfg.scope }).then(function () {
      root.dataset.sw = "registered";
    }).catch(function () { root.dataset.sw = "failed"; });
  }

  // Polling for new (urgent) tasks until the event stream exists; with cfg.streamUrl the stream triggers it.
  window.setInterval(function () { if (navigator.onLine !== false && !draining) refresh(); }, cfg.pollSeconds * 1000);
  if (cfg.streamUrl && window.EventSource) {
    var stream = new EventSource(cfg.streamUrl);
    ["tasks.created", "task.escalated"].forEach(function (type) { stream.addEventListener(type, function () { refresh(); }); });
  }
  // Tests and the future stream can ask for a refresh.
  window.EpiGridGridApp = { refresh: refresh, drain: drain };

  render();
  // Without IndexedDB (some private modes) the app still lists tasks; changes then say there is no room.
  refreshQueue().catch(function () {}).then(function () {
    return locate();
  }).then(function () {
    return queue.length ? drain() : refresh();
  }).then(function () {
    if (navigator.onLine === false) { root.dataset.state = "ready"; render(); }
  });
})();
