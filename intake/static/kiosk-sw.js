// The kiosk's service worker (served as /k/sw.js, so it controls every page under /k/).
//
// It keeps copies of the kiosk's language picker, its empty forms and the app's
// scripts and styles, so that a tablet that loses the connection can go on taking
// answers (kiosk.js queues them). Kiosk pages come from the network whenever it
// answers and from the copies only when it does not. Posts are never touched.
"use strict";

var CACHE = "intake-kiosk-v1";

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

// The picker page sends the list of pages and assets to keep.
self.addEventListener("message", function (event) {
  if (!event.data || event.data.type !== "cache") return;
  var urls = event.data.urls.filter(function (url) {
    return new URL(url, self.location.href).origin === self.location.origin;
  });
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(urls.map(function (url) {
      return fetch(url, { credentials: "same-origin", cache: "no-store", redirect: "manual" })
        .then(function (response) {
          if (keep(response, url)) return cache.put(url, response);
          return null;
        })
        .catch(function () { return null; });
    }));
  }));
});

// The app's assets are kept; of the pages only those the server marks: the picker,
// form lists, empty forms and the PIN page, never a page with answers or the staff
// panel.
function keep(response, url) {
  if (response.status !== 200 || response.redirected) return false;
  if (new URL(url, self.location.href).pathname.indexOf("/static/") === 0) return true;
  return response.headers.get("X-Intake-Offline") === "1";
}

function kioskHome(url) {
  var parts = url.pathname.split("/"); // "", "k", token, ...
  return url.origin + "/k/" + parts[2];
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.indexOf("/static/") === 0) {
    // Assets: the network's newest copy when it answers, else the kept one.
    event.respondWith(caches.open(CACHE).then(function (cache) {
      return fetch(request).then(function (response) {
        if (response.status === 200) cache.put(request, response.clone());
        return response;
      }, function () {
        return cache.match(request).then(function (hit) { return hit || Response.error(); });
      });
    }));
    return;
  }
  if (request.mode !== "navigate" || url.pathname.indexOf("/k/") !== 0) return;
  if (url.pathname.split("/").length < 3) return;
  event.respondWith(fetch(request).then(function (response) {
    // Keep the newest copy of the pages the server marks as fit for offline use.
    if (keep(response, request.url)) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) {
        return cache.put(request, copy);
      });
    }
    return response;
  }, function () {
    return caches.match(request).then(function (hit) {
      return hit || caches.match(kioskHome(url)).then(function (home) {
        return home || Response.error();
      });
    });
  }));
});
