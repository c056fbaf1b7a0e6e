/* Service worker of the grid worker's app (scope: the app). Rendered by grids.pwa.service_worker.
 *
 * - The shell (script, styles, Leaflet, manifest, icons) is cached when the worker installs; the page itself
 *   is cached whenever it answers 200 (never a redirect to the login page) and served from the cache when
 *   the network is gone.
 * - The last task list and the task forms (GET) come from the network when there is one, else from the cache.
 * - Everything else, and every write (POST), goes to the network untouched: changes made offline wait in the
 *   app's own queue (IndexedDB), each with its client UUID, never in here.
 */
"use strict";
var CONFIG = {{ config|safe }};
var CACHE = "epigrid-grid-app-" + CONFIG.version;

function pageRequest() {
  return new Request(CONFIG.page, { credentials: "same-origin", redirect: "manual" });
}

async function cachePage(cache) {
  try {
    var response = await fetch(pageRequest());
    if (response.ok && response.type === "basic" && !response.redirected) await cache.put(CONFIG.page, response);
  } catch (e) { /* offline at install: the page is cached at the next visit */ }
}

self.addEventListener("install", function (event) {
  event.waitUntil((async function () {
    var cache = await caches.open(CACHE);
    await cache.addAll(CONFIG.shell);
    await cachePage(cache);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", function (event) {
  event.waitUntil((async function () {
    var names = await caches.keys();
    await Promise.all(names.filter(function (n) {
      return n.indexOf("epigrid-grid-app-") === 0 && n !== CACHE;
    }).map(function (n) { return caches.delete(n); }));
    await self.clients.claim();
  })());
});

function apiKey(url) {
  for (var i = 0; i < CONFIG.apiCache.length; i++) {
    if (url.pathname === CONFIG.apiCache[i]) return CONFIG.apiCache[i];
  }
  return null;
}

async function networkFirst(request, key) {
  var cache = await caches.open(CACHE);
  try {
    var response = await fetch(request);
    if (response.ok && response.type === "basic" && !response.redirected) {
      await cache.put(key, response.clone());
    }
    return response;
  } catch (e) {
    var cached = await cache.match(key, { ignoreVary: true, ignoreSearch: true });
    if (cached) return cached;
    throw e;
  }
}

async function cacheFirst(request) {
  var cached = await caches.match(request, { ignoreVary: true });
  return cached || fetch(request);
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === CONFIG.page) {
    event.respondWith(networkFirstPage(request));
    return;
  }
  var key = apiKey(url);
  if (key) { event.respondWith(networkFirst(request, key)); return; }
  if (url.pathname.indexOf(CONFIG.static) === 0 || CONFIG.shell.indexOf(url.pathname) !== -1) {
    event.respondWith(cacheFirst(request));
  }
});

async function networkFirstPage(request) {
  var cache = await caches.open(CACHE);
  try {
    var response = await fetch(request);
    if (response.ok && response.type === "basic" && !response.redirected) {
      await cache.put(CONFIG.page, response.clone());
    }
    return response;
  } catch (e) {
    var cached = await cache.match(CONFIG.page, { ignoreVary: true, ignoreSearch: true });
    if (cached) return cached;
    throw e;
  }
}
