// vaora's service worker (VERSION and ASSETS are prepended by the server). It keeps this release's
// scripts, styles and font, and the last copy of each app screen, so that an installed vaora opens
// without network: My pass then shows this minute's pass from the offline batch, and the checker
// screen queues scans. API calls always go to the network.
"use strict";

const SHELL = "vaora-shell-" + VERSION;
const PAGES = "vaora-pages";
const PRECACHE = [
  "/app.css",
  "/app.js",
  "/pass.js",
  "/scan.js",
  "/vendor/qrcode.js",
  "/vendor/jsqr.js",
  "/icon.svg",
  "/fonts/DejaVuSans.ttf",
  "/fonts/DejaVuSans-Bold.ttf",
].map((p) => ASSETS + p);
// Screens worth keeping for offline use.
const KEPT = [/^\/$/, /^\/pass$/, /^\/visits$/, /^\/check$/, /^\/check\/\d+$/, /^\/scan$/];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("vaora-shell-") && k !== SHELL).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/assets/")) {
    event.respondWith(caches.match(req).then((hit) => hit || fetch(req)));
    return;
  }
  if (req.mode === "navigate" && KEPT.some((re) => re.test(url.pathname))) {
    event.respondWith(
      fetch(req)
        .then((res) => {
          // Only a page shown to a signed-in person is kept (not a redirect to sign in).
          if (res.ok && !res.redirected) {
            const copy = res.clone();
            caches.open(PAGES).then((c) => c.put(url.pathname, copy));
          }
          return res;
        })
        .catch(() => caches.match(url.pathname, { cacheName: PAGES }).then((hit) => hit || caches.match("/pass", { cacheName: PAGES })).then((hit) => hit || Response.error())),
    );
  }
});
