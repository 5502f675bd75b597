// Starts the release binary on a fresh data folder with the demo loaded, and opens Debian's
// Chromium on a phone-sized viewport. Every page opened here is watched: a console error, an
// uncaught exception or a request to another origin fails the test that made it.

import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createServer } from "node:net";
import { chromium } from "playwright-core";
import qrcode from "qrcode-generator";
import assert from "node:assert/strict";

const ROOT = resolve(import.meta.dirname, "../..");
export const BINARY = process.env.VAORA_BIN || join(ROOT, "target/release/vaora");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
export const OUTPUT = join(ROOT, "e2e/output");
export const PASSWORD = "cau-truong-tien-6-vai";
export const PHONE = { width: 360, height: 740 };

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
    s.on("error", fail);
  });
}

/** A running vaora with the demo loaded: `base`, `accounts` by role, `api()`, `stop()`. */
export async function startVaora() {
  const dir = mkdtempSync(join(tmpdir(), "vaora-e2e-"));
  const env = { ...process.env, VAORA_DATA_DIR: dir, VAORA_LOG: "warn" };
  const demo = JSON.parse(execFileSync(BINARY, ["demo", "--json"], { env, encoding: "utf8" }));
  const accounts = Object.fromEntries(demo.accounts.map((a) => [a.role, a]));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(BINARY, ["serve", "--listen", `127.0.0.1:${port}`], { env, stdio: ["ignore", "inherit", "inherit"] });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(base + "/healthz")).ok) break;
    } catch (_) {
      // not listening yet
    }
    if (i > 200) throw new Error("vaora did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  async function api(method, path, token, body) {
    const r = await fetch(base + path, {
      method,
      headers: {
        Accept: "application/json",
        ...(token ? { Authorization: "Bearer " + token } : {}),
        ...(body ? { "Content-Type": "application/json" } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    let json = null;
    try {
      json = JSON.parse(text);
    } catch (_) {
      json = null;
    }
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return json;
  }
  async function token(phone, password = PASSWORD) {
    return (await api("POST", "/api/v1/sessions", null, { phone, password, kind: "api" })).token;
  }
  async function stop() {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    rmSync(dir, { recursive: true, force: true });
  }
  return { base, accounts, api, token, stop, dir };
}

let people = 0;
/** Registers a new person through the API; returns `{ id, phone }`. */
export async function registerPerson(vaora, fullName) {
  people += 1;
  const n = String(people).padStart(4, "0");
  const phone = `091300${n}`;
  const r = await vaora.api("POST", "/api/v1/accounts", null, {
    phone,
    password: PASSWORD,
    full_name: fullName,
    birth_date: "1990-06-15",
    sex: "male",
    cccd: `046090${String(500000 + people)}`,
    address: { scheme: "current", unit_code: "19789", street: "12 Lê Lợi" },
  });
  return { id: r.id, phone };
}

/** Files a health declaration with nothing to report for the person with this API token (green). */
export async function declareWell(vaora, token) {
  return vaora.api("POST", "/api/v1/declarations", token, {});
}

/** A browser, optionally with a fake camera playing `y4m`. */
export async function launch(y4m) {
  const args = ["--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"];
  if (y4m) args.push(`--use-file-for-fake-video-capture=${y4m}`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/** A phone-sized page whose console errors and foreign requests are collected in `problems`. */
export async function phonePage(browser, base, options = {}) {
  const context = await browser.newContext({
    viewport: PHONE,
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: "vi-VN",
    permissions: ["camera"],
    ...options,
  });
  const page = await context.newPage();
  const problems = [];
  const origin = new URL(base).origin;
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`exception: ${e.message}`));
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (!["data:", "blob:"].includes(u.protocol) && u.origin !== origin) problems.push(`foreign request: ${r.url()}`);
  });
  return { context, page, problems };
}

/** Fails the test if the page saw a console error, an exception or a request to another origin. */
export function noProblems(problems) {
  assert.deepEqual(problems, [], "the browser saw errors or foreign requests");
}

/** Signs the demo checker in and returns their first checkpoint (the first their /check page offers). */
export async function checkerScreen(page, vaora) {
  await signIn(page, vaora.base, vaora.accounts.checker.phone, vaora.accounts.checker.password);
  await page.goto(vaora.base + "/check");
  const href = await page.getAttribute("a.row-link", "href");
  return Number(href.split("/").pop());
}

/** Saves a screenshot of the page (test output, not committed). */
export async function shot(page, name) {
  mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: join(OUTPUT, `${name}.png`), fullPage: true });
}

/** Signs in through the sign-in form. */
export async function signIn(page, base, phone, password = PASSWORD) {
  await page.goto(base + "/signin");
  await page.fill("#phone", phone);
  await page.fill("#password", password);
  await Promise.all([page.waitForNavigation(), page.click("form button[type=submit]")]);
}

/**
 * A Y4M video (what Chromium's fake camera plays) of `text` as a QR code, centred on a 1280x720
 * frame: the checker's camera sees a phone showing its pass, or a citizen's camera a poster.
 * `blank` grey frames come first, so that the code enters the picture at a known frame.
 */
export function qrVideo(text, path, { blank = 0, frames = 10 } = {}) {
  const W = 1280;
  const H = 720;
  const qr = qrcode(0, "M");
  qr.addData(text, /^[0-9A-Z $%*+\-./:]*$/.test(text) ? "Alphanumeric" : "Byte");
  qr.make();
  const modules = qr.getModuleCount();
  const cell = Math.floor((H * 0.8) / (modules + 8));
  const size = cell * (modules + 8);
  const x0 = Math.floor((W - size) / 2);
  const y0 = Math.floor((H - size) / 2);
  const grey = Buffer.alloc(W * H, 96); // a grey background
  const y = Buffer.from(grey);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const mr = Math.floor(r / cell) - 4;
      const mc = Math.floor(c / cell) - 4;
      const dark = mr >= 0 && mc >= 0 && mr < modules && mc < modules && qr.isDark(mr, mc);
      y[(y0 + r) * W + x0 + c] = dark ? 16 : 235;
    }
  }
  const chroma = Buffer.alloc((W / 2) * (H / 2) * 2, 128);
  const frame = (luma) => Buffer.concat([Buffer.from("FRAME\n"), luma, chroma]);
  const all = [...Array.from({ length: blank }, () => frame(grey)), ...Array.from({ length: frames }, () => frame(y))];
  writeFileSync(path, Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F30:1 Ip A1:1 C420jpeg\n`), ...all]));
  return path;
}

/**
 * What stops a screen from reading well on a phone: a page wider than the screen, text that
 * reaches past its edge, text clipped by its box, text whose contrast with its background is
 * below WCAG AA (4.5:1, or 3:1 for large text), or a control too small to touch. Returns one line
 * per problem.
 */
export async function layoutProblems(page) {
  return page.evaluate(() => {
    const problems = [];
    const rgba = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const luminance = ([r, g, b]) => {
      const lin = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgba(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > width + 1) {
      problems.push(`the page is ${document.documentElement.scrollWidth} px wide on a ${width} px screen`);
    }
    // Touch targets: tick boxes at least 20 px (they sit in a 44 px row), buttons and fields 40 px.
    for (const el of document.querySelectorAll("input, select, button, textarea")) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0 || el.type === "hidden") continue;
      const tick = el.type === "checkbox" || el.type === "radio";
      const min = tick ? 20 : 40;
      if (box.width < min || box.height < min) {
        problems.push(`<${el.tagName.toLowerCase()} ${el.name || el.id}> is ${Math.round(box.width)}x${Math.round(box.height)} px, too small to touch`);
      }
    }
    const skip = new Set(["SCRIPT", "STYLE", "OPTION", "TEMPLATE", "VIDEO", "CANVAS", "SVG"]);
    for (const el of document.querySelectorAll("body *")) {
      if (skip.has(el.tagName) || el.closest(".sr-only, svg")) continue;
      const text = [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join(" ").trim();
      if (!text) continue;
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0) continue;
      const style = getComputedStyle(el);
      if (style.visibility === "hidden") continue;
      const what = `<${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}> "${text.slice(0, 40)}"`;
      if (box.right > width + 1 || box.left < -1) problems.push(`${what} reaches past the screen's edge`);
      if (style.overflowX !== "visible" && el.scrollWidth > el.clientWidth + 1) problems.push(`${what} is cut off at the side`);
      if (style.overflowY !== "visible" && el.tagName !== "TEXTAREA" && el.scrollHeight > el.clientHeight + 1) {
        problems.push(`${what} is cut off at the bottom`);
      }
      const [l1, l2] = [luminance(rgba(style.color).slice(0, 3)), luminance(background(el))].sort((a, b) => b - a);
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      const large = parseFloat(style.fontSize) >= 24 || (parseFloat(style.fontSize) >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) problems.push(`${what} has a contrast of ${ratio.toFixed(2)}:1`);
    }
    return problems;
  });
}
