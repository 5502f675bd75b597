// Scanning: the checker screen (passes and cards, into a queue that survives losing the network)
// and the citizen's venue scanner (a poster's code opens its check-in page). Camera frames are
// decoded by the browser's BarcodeDetector where there is one, else by jsQR; a keyboard-wedge
// scanner types into the code field and ends with Enter, which submits like a typed code.
"use strict";

(function () {
  const texts = JSON.parse((document.getElementById("texts") || { textContent: "{}" }).textContent);
  const video = document.getElementById("camera");
  const toggle = document.getElementById("camera-toggle");
  const note = document.getElementById("camera-note");
  const checker = document.getElementById("checker");
  const venueScanner = document.getElementById("venue-scanner");

  // ---- Camera -------------------------------------------------------------------------------

  let stream = null;
  let detector = null;
  let scratch = null;
  let lastText = "";
  let lastAt = 0;

  async function makeDetector() {
    if ("BarcodeDetector" in window) {
      try {
        const formats = await window.BarcodeDetector.getSupportedFormats();
        if (formats.includes("qr_code")) return new window.BarcodeDetector({ formats: ["qr_code"] });
      } catch (_) {
        // Fall back to jsQR.
      }
    }
    return null;
  }

  async function decodeFrame() {
    if (detector) {
      const found = await detector.detect(video);
      return found.length ? found[0].rawValue : null;
    }
    if (typeof jsQR !== "function") return null;
    // Decode at most 640 px wide: fast enough to keep up with the camera on a cheap phone.
    const scale = Math.min(1, 640 / video.videoWidth);
    const w = Math.round(video.videoWidth * scale);
    const h = Math.round(video.videoHeight * scale);
    if (!scratch) scratch = document.createElement("canvas");
    if (scratch.width !== w) scratch.width = w;
    if (scratch.height !== h) scratch.height = h;
    const g = scratch.getContext("2d", { willReadFrequently: true });
    g.drawImage(video, 0, 0, w, h);
    const found = jsQR(g.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "attemptBoth" });
    return found ? found.data : null;
  }

  // Every new camera frame is decoded as it arrives (requestVideoFrameCallback), or every 80 ms
  // where the browser cannot tell. The last read is kept as a performance measure from the
  // frame's capture to the code being read, with the decode time and how many frames were
  // skipped since the previous decode: the figure behind "read within 300 ms of a code entering
  // the frame".
  let lastFrames = 0;
  let generation = 0; // a camera restarted keeps one decoding chain, not two

  function schedule(onCode, gen) {
    if (!stream || gen !== generation) return;
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback((_, meta) => tick(onCode, meta, gen));
    else setTimeout(() => tick(onCode, null, gen), 80);
  }

  async function tick(onCode, meta, gen) {
    if (!stream || gen !== generation) return;
    if (video.readyState >= 2 && video.videoWidth > 0) {
      try {
        const started = performance.now();
        const text = await decodeFrame();
        const read = performance.now();
        const skipped = meta && lastFrames ? meta.presentedFrames - lastFrames - 1 : 0;
        if (meta) lastFrames = meta.presentedFrames;
        // The same code stays in front of the camera for a while: act on it once.
        const now = Date.now();
        if (text && (text !== lastText || now - lastAt > 4000)) {
          lastText = text;
          lastAt = now;
          if (meta) {
            performance.clearMeasures("vaora-camera-read");
            performance.measure("vaora-camera-read", {
              start: meta.captureTime || meta.expectedDisplayTime,
              end: read,
              detail: { decodeMs: read - started, skippedFrames: skipped },
            });
          }
          onCode(text.trim());
        } else if (text) {
          lastAt = now;
        }
      } catch (_) {
        // A frame that cannot be read is skipped.
      }
    }
    schedule(onCode, gen);
  }

  async function startCamera(onCode) {
    if (!video || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      if (note) note.textContent = texts["checker.camera_off"] || "";
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
        audio: false,
      });
    } catch (_) {
      if (note) note.textContent = texts["checker.camera_denied"] || "";
      if (toggle) {
        toggle.hidden = false;
        toggle.textContent = texts["checker.camera_start"];
      }
      return;
    }
    video.srcObject = stream;
    await video.play().catch(() => {});
    detector = await makeDetector();
    if (note) note.textContent = "";
    if (toggle) {
      toggle.hidden = false;
      toggle.textContent = texts["checker.camera_stop"];
    }
    generation += 1;
    lastFrames = 0;
    schedule(onCode, generation);
  }

  function stopCamera() {
    if (stream) for (const t of stream.getTracks()) t.stop();
    stream = null;
    if (video) video.srcObject = null;
    if (toggle) toggle.textContent = texts["checker.camera_start"];
  }

  function cameraButton(onCode) {
    if (!toggle) return;
    toggle.addEventListener("click", () => (stream ? stopCamera() : startCamera(onCode)));
  }

  // ---- Venue scanner (citizens) -------------------------------------------------------------

  if (venueScanner) {
    const onCode = (text) => {
      let target = null;
      try {
        const url = new URL(text, window.location.href);
        if (/^\/v\/[A-Za-z0-9]+$/i.test(url.pathname)) target = "/v/" + url.pathname.slice(3);
      } catch (_) {
        target = null;
      }
      if (!target && /^VV1[A-Z2-7]+$/i.test(text)) target = "/v/" + text;
      if (target) {
        stopCamera();
        window.location.href = target;
      } else if (note) {
        note.textContent = texts["venue.not_a_venue"] || "";
      }
    };
    cameraButton(onCode);
    startCamera(onCode);
    return;
  }

  if (!checker) return;

  // ---- Checker: answers ---------------------------------------------------------------------

  const checkpointId = Number(checker.dataset.checkpoint);
  const answer = document.getElementById("answer");
  const pendingEl = document.getElementById("pending");
  const netState = document.getElementById("net-state");
  const form = document.getElementById("scan-form");
  const input = document.getElementById("code");
  let audio = null;

  function beep(colour) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const o = audio.createOscillator();
      const gain = audio.createGain();
      o.frequency.value = colour === "green" ? 1320 : colour === "amber" ? 660 : 220;
      gain.gain.value = 0.15;
      o.connect(gain).connect(audio.destination);
      o.start();
      o.stop(audio.currentTime + (colour === "green" ? 0.12 : 0.45));
    } catch (_) {
      // No sound on this device.
    }
    if (navigator.vibrate) navigator.vibrate(colour === "green" ? 80 : [200, 80, 200]);
  }

  function show(colour, title, name, reason, until) {
    answer.className = "answer " + colour;
    answer.querySelector(".answer-colour").textContent = title;
    answer.querySelector(".answer-name").textContent = name || "";
    answer.querySelector(".answer-reason").textContent = reason || "";
    answer.querySelector(".answer-until").textContent = until || "";
    answer.querySelector(".answer-members").replaceChildren();
    answer.dataset.colour = colour;
  }

  // A time as the people at the gate read it: Vietnam time, 24-hour clock.
  function vnTime(iso) {
    const d = new Date(iso);
    if (isNaN(d)) return "";
    const vn = new Date(d.getTime() + 7 * 3600 * 1000);
    const two = (n) => String(n).padStart(2, "0");
    return `${two(vn.getUTCHours())}:${two(vn.getUTCMinutes())} ${two(vn.getUTCDate())}/${two(vn.getUTCMonth() + 1)}`;
  }

  function showAnswer(a) {
    // A status rule's name or a code's fault; a rule added since the page opened shows its name.
    const reason = a.reason ? texts["reason." + a.reason] || a.reason.replace(/_/g, " ") : "";
    const until = a.declared_until ? texts["checker.declared_until"] + " " + vnTime(a.declared_until) : "";
    show(a.colour, texts["checker." + a.colour], a.display_name, reason, until);
    // A family pass: each member with their own colour, so the checker sees who may not enter.
    const list = answer.querySelector(".answer-members");
    for (const m of a.members || []) {
      const li = document.createElement("li");
      li.className = "member " + m.colour;
      li.dataset.colour = m.colour;
      const dot = document.createElement("span");
      dot.className = "dot " + m.colour;
      dot.setAttribute("aria-hidden", "true");
      const why = m.reason ? texts["reason." + m.reason] || m.reason.replace(/_/g, " ") : "";
      li.append(dot, " " + (m.display_name || "") + " · " + (texts["status." + m.colour] || m.colour) + (why ? " · " + why : ""));
      list.append(li);
    }
    answer.dataset.reason = a.reason || "";
    answer.dataset.rule = a.rule || "";
    beep(a.colour);
  }

  // ---- Checker: the queue (IndexedDB) -------------------------------------------------------
  // Every scan is written to the device first and removed only when the server has answered it,
  // so a scan made without network is sent later; its id makes a resend harmless.

  const DB_NAME = "vaora-checker";
  const STORE = "scans";
  let dbPromise = null;

  function db() {
    dbPromise =
      dbPromise ||
      new Promise((resolve, reject) => {
        const req = indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "client_id" });
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    return dbPromise;
  }

  async function tx(mode, fn) {
    const d = await db();
    return new Promise((resolve, reject) => {
      const t = d.transaction(STORE, mode);
      const result = fn(t.objectStore(STORE));
      t.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
      t.onerror = () => reject(t.error);
    });
  }

  const queued = () => tx("readonly", (s) => s.getAll());
  const enqueue = (scan) => tx("readwrite", (s) => s.put(scan));
  const dequeue = (ids) => tx("readwrite", (s) => ids.forEach((id) => s.delete(id)));

  async function updatePending() {
    const all = await queued().catch(() => []);
    pendingEl.textContent = String(all.length);
    return all;
  }

  function newId() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return "web-" + Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  // One sync at a time; a sync asked for while one runs follows it (and so sends the new scan).
  let chain = Promise.resolve({});
  function sync() {
    chain = chain.then(sendQueued, sendQueued);
    return chain;
  }

  // Sends what is queued (up to 1,000 at a time), oldest first. Returns the answers by id.
  async function sendQueued() {
    const answers = {};
    // Known to be offline: do not try (a failed request is also an error in the console).
    if (!navigator.onLine) {
      setNet(false);
      await updatePending();
      return answers;
    }
    try {
      let all = await updatePending();
      while (all.length) {
        all.sort((a, b) => a.scanned_at.localeCompare(b.scanned_at));
        const chunk = all.slice(0, 1000);
        const r = await fetch("/api/v1/scans/batch", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({ scans: chunk }),
        });
        if (r.status === 401) {
          window.location.href = "/signin?next=" + encodeURIComponent(window.location.pathname);
          break;
        }
        if (!r.ok) break;
        const items = await r.json();
        const done = [];
        for (const item of items) {
          // An item refused for good (e.g. an invalid time) is dropped too: resending cannot help.
          done.push(item.client_id);
          answers[item.client_id] = item.answer || { colour: "red", reason: item.error && item.error.code };
        }
        await dequeue(done);
        all = await updatePending();
      }
      setNet(true);
    } catch (_) {
      setNet(false);
    }
    return answers;
  }

  function setNet(up) {
    netState.textContent = up ? texts["checker.online"] : texts["checker.offline"];
    checker.classList.toggle("offline", !up);
  }

  async function submit(code) {
    if (!code) return;
    const scan = { client_id: newId(), checkpoint_id: checkpointId, code, scanned_at: new Date().toISOString() };
    await enqueue(scan);
    const answers = await sync();
    const a = answers[scan.client_id];
    if (a) {
      showAnswer(a);
    } else {
      show("queued", texts["checker.queued"], "", "");
      beep("amber");
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const code = input.value.trim();
    input.value = "";
    submit(code);
    input.focus();
  });
  window.addEventListener("online", () => sync());
  window.addEventListener("offline", () => setNet(false));
  setInterval(() => sync(), 10000);
  updatePending();
  sync();
  cameraButton(submit);
  startCamera(submit);
})();
