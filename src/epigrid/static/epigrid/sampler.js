/* Sampling station (testing:station): open a pooled tube, add people, seal.
 *
 * Every write goes through a queue kept in localStorage (per account): opening a tube, adding a specimen
 * (each with its client UUID, which makes a replay harmless: the API answers 200 with the same specimen),
 * sealing. The queue is sent in order; a network error or a server error leaves the item at the head and
 * retries (every few seconds, and at once when the browser is back online). A 4xx answer is final: the
 * item leaves the queue and the page says why.
 */
(function () {
  "use strict";
  var root = document.getElementById("sampler");
  if (!root) return;
  var text = document.getElementById("sampler-text").dataset;
  var csrf = root.dataset.csrf;
  var tubesUrl = root.dataset.tubesUrl;
  var ocrUrl = root.dataset.ocrUrl;
  var storeKey = "epigrid.sampler.v1." + (root.dataset.user || "");
  var RETRY_MS = 4000;

  function $(sel) { return root.querySelector(sel); }

  // --- state --------------------------------------------------------------------------------------
  var state = load();
  function load() {
    try {
      var s = JSON.parse(window.localStorage.getItem(storeKey) || "null");
      if (s && Array.isArray(s.queue)) return s;
    } catch (e) { /* a damaged entry starts afresh */ }
    return { tube: null, queue: [], seq: 0 };
  }
  function save() { window.localStorage.setItem(storeKey, JSON.stringify(state)); }

  function uuid4() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b); // also where randomUUID is missing (plain http on a LAN)
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function maskName(name) {
    name = (name || "").trim();
    if (name.length <= 1) return name ? "*" : "";
    if (name.length === 2) return name[0] + "*";
    return name[0] + new Array(name.length - 1).join("*") + name[name.length - 1];
  }

  // --- messages -----------------------------------------------------------------------------------
  function say(kind, message) {
    var err = $("[data-error]"), note = $("[data-notice]");
    err.hidden = kind !== "error"; note.hidden = kind !== "notice";
    if (kind === "error") err.textContent = message;
    if (kind === "notice") note.textContent = message;
  }

  // --- rendering ----------------------------------------------------------------------------------
  function render() {
    var tube = state.tube;
    var step = !tube ? "tube" : tube.status === "open" ? "fill" : "sealed";
    root.querySelectorAll("[data-step]").forEach(function (el) { el.hidden = el.dataset.step !== step; });
    root.dataset.state = step;
    $("[data-queue]").textContent = String(state.queue.length);
    root.dataset.queue = String(state.queue.length);
    var online = navigator.onLine !== false;
    $("[data-net]").textContent = online ? text.online : text.offline;
    $("[data-net]").classList.toggle("sampler-offline", !online);
    $("[data-retry]").hidden = state.queue.length === 0;
    if (!tube) return;
    var count = tube.people.length;
    $("[data-tube-code]").textContent = tube.barcode;
    $("[data-count]").textContent = String(count);
    $("[data-pool]").textContent = String(tube.pool);
    $("[data-testid=tube-fill]").dataset.filled = String(count);
    $("[data-progress]").max = tube.pool;
    $("[data-progress]").value = count;
    var list = $("[data-people]");
    list.textContent = "";
    tube.people.forEach(function (p) {
      var li = document.createElement("li");
      li.textContent = p.name || "…";
      li.dataset.state = p.state;
      if (p.state === "queued") {
        var s = document.createElement("span");
        s.className = "sampler-queued";
        s.textContent = " · " + text.queued;
        li.appendChild(s);
      }
      list.appendChild(li);
    });
    $("[data-sealed-code]").textContent = tube.barcode;
    $("[data-sealed-count]").textContent = count + "/" + tube.pool;
  }

  // --- the queue ----------------------------------------------------------------------------------
  var outcomes = {};   // item id -> {ok, detail}
  var draining = null;
  var retryTimer = null;

  function enqueue(item) {
    state.seq = (state.seq || 0) + 1;
    item.id = state.seq;
    state.queue.push(item);
    save(); render();
    return item.id;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(body || {}),
    });
  }

  function tubeUrl(barcode, suffix) {
    return tubesUrl + "/" + encodeURIComponent(barcode) + (suffix || "");
  }

  function send(item) {
    if (item.kind === "open") return post(tubesUrl, { barcode: item.barcode, pool_size: item.pool, client_id: item.cid });
    if (item.kind === "add") return post(tubeUrl(item.barcode, "/specimens"), item.body);
    return post(tubeUrl(item.barcode, "/seal"), {});
  }

  function drain() {
    // One pass at a time; started in a microtask so that the reset below always comes after the assignment.
    if (draining) return draining;
    draining = Promise.resolve().then(run).finally(function () { draining = null; render(); });
    return draining;
  }

  async function run() {
    while (state.queue.length) {
      var item = state.queue[0], response, data = {};
      try {
        response = await send(item);
        data = await response.json().catch(function () { return {}; });
      } catch (e) {
        scheduleRetry();
        return;  // offline: keep the item at the head
      }
      if (response.status === 401 || response.status === 403) {
        say("error", data.detail && response.status === 403 ? data.detail : text.login);
        scheduleRetry();
        return;
      }
      if (response.status >= 500 || response.status === 429) { scheduleRetry(); return; }
      outcomes[item.id] = await settle(item, response.status, data);
      state.queue.shift();
      save(); render();
    }
  }

  function scheduleRetry() {
    if (retryTimer) return;
    retryTimer = window.setTimeout(function () { retryTimer = null; drain(); }, RETRY_MS);
  }

  function dropItemsOf(barcode) {
    state.queue = state.queue.filter(function (q, i) { return i === 0 || q.barcode !== barcode; });
  }

  async function tubeStatus(barcode) {
    try {
      var r = await fetch(tubeUrl(barcode), { credentials: "same-origin", headers: { "Accept": "application/json" } });
      return r.ok ? await r.json() : null;
    } catch (e) { return null; }
  }

  async function tubeClosed(barcode) {
    var t = await tubeStatus(barcode);
    return !!t && t.status !== "open";
  }

  async function settle(item, status, data) {
    var ok = status >= 200 && status < 300;
    var tube = state.tube && state.tube.barcode === item.barcode ? state.tube : null;
    if (item.kind === "open") {
      // A replayed "open" carries the same client id, so the API answers 200 with our tube; a 409 means
      // the barcode belongs to someone else's tube.
      if (!ok) {
        dropItemsOf(item.barcode);
        if (tube) state.tube = null;
        say("error", data.detail || text.rejected);
      }
      return { ok: ok, detail: data.detail || "" };
    }
    if (item.kind === "add") {
      var person = tube && tube.people.filter(function (p) { return p.cid === item.body.client_id; })[0];
      if (ok) {
        if (person) { person.state = "ok"; person.name = (data.person && data.person.name) || person.name; }
        if (tube && data.sealed) tube.status = "sealed";
      } else {
        if (tube && person) {
          tube.people.splice(tube.people.indexOf(person), 1);
          if (tube.status === "full") tube.status = "open";
          if (status === 409 && await tubeClosed(item.barcode)) tube.status = "sealed";
        }
        say("error", (item.label ? item.label + ": " : "") + (data.detail || text.rejected));
      }
      return { ok: ok, detail: data.detail || "" };
    }
    // seal
    if (ok) { if (tube) tube.status = "sealed"; }
    else {
      if (tube && status === 409 && tube.people.length === 0) tube.status = "open";
      say("error", data.detail || text.rejected);
    }
    return { ok: ok, detail: data.detail || "" };
  }

  async function submit(item) {
    var id = enqueue(item);
    await drain();
    if (outcomes[id]) { var o = outcomes[id]; delete outcomes[id]; return o; }
    return { queued: true };
  }

  // --- actions ------------------------------------------------------------------------------------
  var tubeForm = document.getElementById("tube-form");
  tubeForm.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var barcode = tubeForm.barcode.value.trim();
    var checked = tubeForm.querySelector("input[name=pool_size]:checked");
    if (!/^[A-Za-z0-9-]{1,40}$/.test(barcode)) { say("error", text.needBarcode); tubeForm.barcode.focus(); return; }
    var pool = parseInt(checked ? checked.value : "10", 10);
    say("", "");
    state.tube = { barcode: barcode, pool: pool, people: [], status: "open" };
    tubeForm.barcode.value = "";
    var outcome = await submit({ kind: "open", barcode: barcode, pool: pool, cid: uuid4() });
    render();
    if (outcome.ok || outcome.queued) focusNext();
    else tubeForm.barcode.focus();
  });

  var personForm = document.getElementById("person-form");
  var codeForm = document.getElementById("code-form");

  function focusNext() {
    var field = document.getElementById("person-code");
    if (field && !field.closest("[hidden]")) field.focus();
  }

  function addPerson(body, label) {
    var tube = state.tube;
    if (!tube || tube.status !== "open") return Promise.resolve({ ok: false });
    if (tube.people.length >= tube.pool) { say("error", text.full); return Promise.resolve({ ok: false }); }
    body.client_id = uuid4();
    tube.people.push({ cid: body.client_id, name: label, state: "queued" });
    if (tube.people.length >= tube.pool) tube.status = "full";  // the server seals it with this swab
    say("", "");
    return submit({ kind: "add", barcode: tube.barcode, body: body, label: label });
  }

  personForm.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var name = personForm.name.value.trim();
    var idNumber = personForm.id_number.value.trim().toUpperCase();
    var phone = personForm.phone.value.trim();
    if (!name || !idNumber) { say("error", text.needPerson); (name ? personForm.id_number : personForm.name).focus(); return; }
    var method = personForm.method.value || "typed";
    var label = maskName(name);
    personForm.reset();
    personForm.method.value = "typed";
    $("[data-ocr-note]").hidden = true;
    var outcome = await addPerson({ person: { name: name, id_number: idNumber, phone: phone }, method: method }, label);
    render();
    if (outcome.ok === false && "detail" in outcome) {
      // rejected: give the details back for correction
      personForm.name.value = name; personForm.id_number.value = idNumber; personForm.phone.value = phone;
      personForm.method.value = method;
      personForm.id_number.focus();
      return;
    }
    if (outcome.ok) say("notice", text.added + ": " + label);
    focusNext();
  });

  codeForm.addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var code = codeForm.code.value.trim();
    if (!code) return;
    codeForm.reset();
    var outcome = await addPerson({ code: code }, "");
    render();
    if (outcome.ok) say("notice", text.added);
    focusNext();
  });

  $("[data-seal]").addEventListener("click", async function () {
    var tube = state.tube;
    if (!tube || tube.status !== "open") return;
    if (!tube.people.length) { say("error", text.sealEmpty); return; }
    tube.status = "sealed";
    await submit({ kind: "seal", barcode: tube.barcode });
    render();
  });

  $("[data-next]").addEventListener("click", function () {
    state.tube = null;
    save(); render(); say("", "");
    tubeForm.barcode.focus();
  });

  $("[data-retry]").addEventListener("click", function () { drain(); });

  // --- ID card photo → OCR ------------------------------------------------------------------------
  var photo = $("[data-photo]");
  photo.addEventListener("change", async function () {
    var file = photo.files && photo.files[0];
    if (!file) return;
    var note = $("[data-ocr-note]");
    if (navigator.onLine === false) { say("error", text.ocrOffline); photo.value = ""; return; }
    note.hidden = false; note.textContent = text.reading;
    root.dataset.ocr = "reading";
    var form = new FormData();
    form.append("image", file);
    try {
      var response = await fetch(ocrUrl, {
        method: "POST", credentials: "same-origin", body: form,
        headers: { "X-CSRFToken": csrf, "Accept": "application/json" },
      });
      var data = await response.json().catch(function () { return {}; });
      if (!response.ok) {
        note.hidden = true;
        say("error", data.detail || text.rejected);
        root.dataset.ocr = "error";
        return;
      }
      personForm.name.value = data.name || "";
      personForm.id_number.value = data.id_number || "";
      personForm.method.value = "ocr";
      note.textContent = data.id_number_valid === false ? text.readInvalid : text.read;
      root.dataset.ocr = "done";
      say("", "");
      personForm.phone.focus();
    } catch (e) {
      note.hidden = true;
      say("error", text.ocrOffline);
      root.dataset.ocr = "error";
    } finally {
      photo.value = "";
    }
  });

  // --- camera (BarcodeDetector where the browser has it) ------------------------------------------
  var video = $("[data-video]");
  var stream = null;
  function stopCamera() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null; video.hidden = true;
  }
  if ("BarcodeDetector" in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    root.querySelectorAll("[data-camera]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        if (stream) { stopCamera(); return; }
        var target = document.getElementById(button.dataset.camera);
        var detector = new window.BarcodeDetector();
        navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s) {
          stream = s; video.srcObject = s; video.hidden = false; video.play();
          (function scan() {
            if (!stream) return;
            detector.detect(video).then(function (found) {
              if (found.length && found[0].rawValue) {
                stopCamera();
                target.value = found[0].rawValue;
                target.form.requestSubmit();
              }
            }).catch(function () {}).finally(function () { if (stream) window.setTimeout(scan, 200); });
          })();
        }).catch(function () { button.hidden = true; });
      });
    });
  }

  window.addEventListener("online", function () { render(); drain(); });
  window.addEventListener("offline", render);
  window.addEventListener("storage", function (ev) { if (ev.key === storeKey) { state = load(); render(); } });

  render();
  if (state.queue.length) drain();
  if (!state.tube) tubeForm.barcode.focus(); else focusNext();
})();
