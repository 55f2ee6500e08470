// The door page's service worker: it keeps the page and its files (never the API's answers), so
// that the page opens again without network, e.g. after the phone reloaded the tab. The page is
// asked from the network first, so a new version is picked up as soon as the network is there.
// The gateway serves this script at /door/sw.js, its first line naming the files' version.
/* global VERSION */
"use strict";

var CACHE = "door-" + VERSION;
var ROOT = new URL(self.registration.scope).pathname.replace(/door\/?$/, "");
var FILES = [
  ROOT + "door",
  ROOT + "static/door.js",
  ROOT + "static/door.css",
  ROOT + "static/vendor/jsqr/jsQR.js",
];

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches
      .open(CACHE)
      .then(function (cache) {
        return cache.addAll(FILES);
      })
      .then(function () {
        return self.skipWaiting();
      })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches
      .keys()
      .then(function (names) {
        return Promise.all(
          names
            .filter(function (name) {
              return name.indexOf("door-") === 0 && name !== CACHE;
            })
            .map(function (name) {
              return caches.delete(name);
            })
        );
      })
      .then(function () {
        return self.clients.claim();
      })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET" || FILES.indexOf(new URL(request.url).pathname) < 0) return;
  event.respondWith(
    fetch(request)
      .then(function (response) {
        if (response.ok) {
          var copy = response.clone();
          caches.open(CACHE).then(function (cache) {
            cache.put(request, copy);
          });
        }
        return response;
      })
      .catch(function () {
        return caches.match(request).then(function (kept) {
          return kept || Response.error();
        });
      })
  );
});
