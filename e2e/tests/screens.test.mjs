// Every screen on a 360x740 phone, in Vietnamese and in English: a screenshot of each, nothing
// cut off or wider than the screen, the language switch, and the citizen's venue scanner with a
// camera.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { writeFileSync } from "node:fs";
import { startVaora, registerPerson, launch, phonePage, shot, signIn, qrVideo, layoutProblems, noProblems } from "../lib/harness.mjs";

let vaora;
let browser;

before(async () => {
  vaora = await startVaora();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await vaora?.stop();
});

/** Ids the screens need: the demo agency and its first checkpoint. */
async function demoIds() {
  const admin = await vaora.token(vaora.accounts.agency_admin.phone, vaora.accounts.agency_admin.password);
  const agency = (await vaora.api("GET", "/api/v1/agencies", admin))[0].id;
  const checkpoint = (await vaora.api("GET", `/api/v1/agencies/${agency}/checkpoints`, admin))[0].id;
  return { agency, checkpoint };
}

/** Switches the language with the header's link and checks the page came back in it. */
async function switchTo(page, code) {
  await Promise.all([page.waitForNavigation(), page.click(`header a[hreflang=${code}]`)]);
  assert.equal(await page.getAttribute("html", "lang"), code);
}

test("the language switch turns the screens English and back, and stays on the same screen", async () => {
  const citizen = await registerPerson(vaora, "Lý Thị Mai");
  const { page, problems, context } = await phonePage(browser, vaora.base);
  await signIn(page, vaora.base, citizen.phone);
  await page.goto(vaora.base + "/visits");
  assert.equal(await page.getAttribute("html", "lang"), "vi", "Vietnamese first");
  assert.equal(await page.textContent("header .bar-link[href='/pass']"), "Mã QR");
  await switchTo(page, "en");
  assert.equal(new URL(page.url()).pathname, "/visits", "the switch returns to the same screen");
  assert.equal(await page.textContent("header .bar-link[href='/pass']"), "My pass");
  // The choice is kept for the next screens.
  await page.goto(vaora.base + "/pass");
  assert.equal(await page.getAttribute("html", "lang"), "en");
  await page.waitForFunction(() => document.querySelector("#pass-qr").dataset.code?.startsWith("VP1"));
  assert.match(await page.textContent("#pass-status"), /Refreshes in \d+ s/);
  await switchTo(page, "vi");
  assert.equal(await page.textContent("header .bar-link[href='/pass']"), "Mã QR");
  noProblems(problems);
  await context.close();
});

test("every screen fits a 360 px phone in Vietnamese and in English, with nothing cut off", async () => {
  const { agency, checkpoint } = await demoIds();
  const citizen = await registerPerson(vaora, "Tôn Nữ Thị Phương Thảo");
  const csv = join(tmpdir(), `vaora-roster-${process.pid}.csv`);
  // One good row and one with a bad phone: the import report lists the error and imports nothing.
  writeFileSync(csv, "Họ và tên,Số điện thoại,Đơn vị\nNguyễn Văn Tâm,0912777001,Văn phòng Sở\nTrần Thị Bé,12345,Văn phòng Sở\n");

  const who = {
    nobody: null,
    citizen: { phone: citizen.phone },
    checker: vaora.accounts.checker,
    office: vaora.accounts.agency_admin,
    province: vaora.accounts.province_admin,
    guardian: vaora.accounts.citizen,
    health: vaora.accounts.health_official,
  };
  // A case for the citizen, opened by the health official; a notice for the guardian.
  const official = await vaora.token(vaora.accounts.health_official.phone, vaora.accounts.health_official.password);
  const today = new Date(Date.now() + 7 * 3600 * 1000).toISOString().slice(0, 10);
  const opened = await vaora.api("POST", "/api/v1/cases", official, {
    phone: citizen.phone, status: "confirmed", basis: "test", basis_date: today,
  });
  // The demo citizen declares for a child and an elderly parent.
  const guardianToken = await vaora.token(vaora.accounts.citizen.phone, vaora.accounts.citizen.password);
  const me = (await vaora.api("GET", "/api/v1/me", guardianToken)).id;
  const dependants = (await vaora.api("GET", "/api/v1/dependants", guardianToken)).map((d) => d.id);
  assert.equal(dependants.length, 2, "the demo has a family");
  const family = [me, ...dependants];
  // [name, account, path or action]
  const screens = [
    ["home", "nobody", "/"],
    ["signin", "nobody", "/signin"],
    ["signup", "nobody", "/signup"],
    ["home-signed-in", "citizen", "/"],
    ["my-pass", "citizen", "/pass"],
    ["menu", "citizen", async (page) => {
      await page.goto(vaora.base + "/pass");
      await page.click("#menu summary");
      await page.waitForSelector("#menu nav a[href='/me']", { state: "visible" });
    }],
    ["venue-scanner", "citizen", "/scan"],
    ["visits", "citizen", "/visits"],
    ["declare", "citizen", "/declare"],
    ["declarations", "citizen", "/declarations"],
    ["profile", "citizen", "/me"],
    ["account-delete", "citizen", "/me/delete"],
    ["account-delete-roles", "checker", "/me/delete"],
    ["checker-pick", "checker", "/check"],
    ["checker", "checker", `/check/${checkpoint}`],
    ["walk-in", "checker", `/check/${checkpoint}/walk-in`],
    ["checker-family-answer", "checker", async (page) => {
      const pass = await vaora.api("POST", `/api/v1/passes?members=${family.join(",")}`, guardianToken);
      await page.goto(`${vaora.base}/check/${checkpoint}`);
      await page.fill("#code", pass.code);
      await page.press("#code", "Enter");
      await page.waitForSelector(".answer-members li");
    }],
    ["family", "guardian", "/family"],
    ["family-add", "guardian", "/family/add"],
    ["dependant-pass", "guardian", `/pass?for=${dependants[0]}`],
    ["family-pass", "guardian", `/pass?${family.map((id) => `member=${id}`).join("&")}`],
    ["declare-for", "guardian", `/declare?for=${dependants[1]}`],
    ["agencies", "office", "/agencies"],
    ["agency", "office", `/agencies/${agency}`],
    ["roster", "office", `/agencies/${agency}/roster`],
    ["roster-import-report", "office", async (page) => {
      await page.goto(`${vaora.base}/agencies/${agency}/roster`);
      await page.setInputFiles("#imp-file", csv);
      await Promise.all([page.waitForNavigation(), page.click("form[action$='/roster/import'] button[type=submit]")]);
      await page.waitForSelector("[role=alert]");
    }],
    ["checkpoint-edit", "office", `/checkpoints/${checkpoint}/edit`],
    ["recent-scans", "office", `/agencies/${agency}/scans`],
    ["agency-stats", "office", `/agencies/${agency}/stats`],
    ["audit-log", "province", "/admin/audit"],
    ["people-and-roles", "province", `/admin/people?q=${vaora.accounts.checker.phone}`],
    ["status-rules", "province", "/admin/rules"],
    ["province-stats", "province", "/admin/stats"],
    ["cases", "health", "/cases"],
    ["case", "health", `/cases/${opened.id}`],
    ["notices", "guardian", "/notices"],
  ];

  const found = [];
  for (const lang of ["vi", "en"]) {
    for (const [account, credentials] of Object.entries(who)) {
      const mine = screens.filter(([, a]) => a === account);
      if (!mine.length) continue;
      const { page, problems, context } = await phonePage(browser, vaora.base, { locale: lang === "en" ? "en-GB" : "vi-VN" });
      if (credentials) await signIn(page, vaora.base, credentials.phone, credentials.password);
      for (const [name, , open] of mine) {
        if (typeof open === "string") await page.goto(vaora.base + open);
        else await open(page);
        await page.waitForLoadState("load");
        assert.equal(await page.getAttribute("html", "lang"), lang, `${name} is in ${lang}`);
        for (const p of await layoutProblems(page)) found.push(`${name} (${lang}): ${p}`);
        await shot(page, `${name}-${lang}`);
      }
      noProblems(problems);
      await context.close();
    }
  }
  assert.deepEqual(found, [], "every screen fits the phone");
});

test("a citizen scans a venue poster with the camera and is checked in", async () => {
  const { checkpoint } = await demoIds();
  const office = await vaora.token(vaora.accounts.agency_admin.phone, vaora.accounts.agency_admin.password);
  const venue = await vaora.api("GET", `/api/v1/checkpoints/${checkpoint}/venue-code`, office);
  const camera = await launch(qrVideo(venue.url, join(tmpdir(), `vaora-venue-${process.pid}.y4m`), { blank: 15, frames: 15 }));
  try {
    const citizen = await registerPerson(vaora, "Hoàng Văn Sơn");
    const { page, problems, context } = await phonePage(camera, vaora.base);
    await signIn(page, vaora.base, citizen.phone);
    await page.goto(vaora.base + "/pass");
    await Promise.all([page.waitForURL(/\/scan$/), page.click("a[href='/scan'] >> nth=-1")]);
    // The camera sees the poster: the scanner opens its check-in page, which checks in.
    await page.waitForURL(/\/v\/VV1/, { timeout: 15000 });
    await page.waitForSelector(".result.ok");
    await shot(page, "venue-scanned-checked-in");
    const visits = await vaora.api("GET", "/api/v1/visits", await vaora.token(citizen.phone));
    assert.equal(visits.length, 1);
    assert.equal(visits[0].checkpoint_id, checkpoint);
    noProblems(problems);
    await context.close();
  } finally {
    await camera.close();
  }
});
