// My pass: shows the person's current pass as a QR code and replaces it every 30 s with a fresh
// one from the server. It also keeps a signed batch of one pass per minute for the next day, so
// that a phone without network still shows a valid code (the batch belongs to this sign-in
// session and dies with it). The same screen shows a dependant's pass or a family pass: the
// canvas says which (data-query) and where that pass's batch is kept (data-batch-key).
"use strict";

(function () {
  const canvas = document.getElementById("pass-qr");
  const status = document.getElementById("pass-status");
  if (!canvas || !status || typeof qrcode !== "function") return;
  const texts = JSON.parse(document.getElementById("texts").textContent);
  const REFRESH_MS = 30000;
  const QUERY = canvas.dataset.query || "";
  const BATCH_KEY = canvas.dataset.batchKey || "vaora-pass-batch";
  const BATCH_HOURS = 24;

  let shownCode = "";
  let nextRefresh = 0;
  let online = true;

  function draw(code) {
    if (code === shownCode) return;
    shownCode = code;
    const qr = qrcode(0, "M");
    qr.addData(code, "Alphanumeric");
    qr.make();
    const modules = qr.getModuleCount();
    const quiet = 4;
    const ratio = window.devicePixelRatio || 1;
    const css = Math.min(canvas.parentElement.clientWidth - 16, 320);
    const cell = Math.max(1, Math.floor((css * ratio) / (modules + 2 * quiet)));
    const size = cell * (modules + 2 * quiet);
    canvas.width = size;
    canvas.height = size;
    canvas.style.width = size / ratio + "px";
    canvas.style.height = size / ratio + "px";
    const g = canvas.getContext("2d");
    g.fillStyle = "#fff";
    g.fillRect(0, 0, size, size);
    g.fillStyle = "#000";
    for (let r = 0; r < modules; r++) {
      for (let c = 0; c < modules; c++) {
        if (qr.isDark(r, c)) g.fillRect((c + quiet) * cell, (r + quiet) * cell, cell, cell);
      }
    }
    canvas.dataset.code = code;
  }

  function say(text) {
    if (status.textContent !== text) status.textContent = text;
  }

  async function post(url) {
    const r = await fetch(url, { method: "POST", headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (r.status === 401) {
      window.location.href = "/signin?next=" + encodeURIComponent(window.location.pathname + window.location.search);
      throw new Error("signed out");
    }
    if (!r.ok) throw new Error("HTTP " + r.status);
    return r.json();
  }

  function savedBatch() {
    try {
      return JSON.parse(localStorage.getItem(BATCH_KEY) || "[]");
    } catch (_) {
      return [];
    }
  }

  // The batch is fetched once and again when less than half of it is left.
  async function keepBatch() {
    const batch = savedBatch();
    const last = batch.length ? Date.parse(batch[batch.length - 1].valid_until) : 0;
    if (last - Date.now() > (BATCH_HOURS / 2) * 3600 * 1000) return;
    const fresh = await post("/api/v1/passes/batch?hours=" + BATCH_HOURS + (QUERY ? "&" + QUERY : ""));
    localStorage.setItem(BATCH_KEY, JSON.stringify(fresh.map((p) => ({ code: p.code, valid_from: p.valid_from, valid_until: p.valid_until }))));
  }

  function offlinePass() {
    const now = Date.now();
    return savedBatch().find((p) => Date.parse(p.valid_from) <= now && now < Date.parse(p.valid_until));
  }

  async function refresh() {
    if (!navigator.onLine) {
      online = false;
      nextRefresh = Date.now() + 5000;
      tick();
      return;
    }
    try {
      const p = await post("/api/v1/passes" + (QUERY ? "?" + QUERY : ""));
      online = true;
      draw(p.code);
      nextRefresh = Date.now() + REFRESH_MS;
      keepBatch().catch(() => {});
    } catch (e) {
      online = false;
      nextRefresh = Date.now() + 5000;
    }
    tick();
  }

  function tick() {
    const now = Date.now();
    if (now >= nextRefresh) {
      refresh();
      return;
    }
    if (online) {
      const s = Math.max(0, Math.ceil((nextRefresh - now) / 1000));
      say(texts["pass.refresh_in"] + " " + s + " " + texts["pass.seconds"]);
    } else {
      const p = offlinePass();
      if (p) {
        draw(p.code);
        say(texts["pass.offline"]);
      } else {
        say(texts["pass.offline_none"]);
      }
    }
  }

  window.addEventListener("online", refresh);
  window.addEventListener("offline", () => {
    online = false;
    tick();
  });
  setInterval(tick, 1000);
  refresh();
})();
