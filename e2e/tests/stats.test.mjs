// The agency office's statistics on a 360x740 phone in Vietnamese: the day's figures, the scans
// per hour drawn as a chart by the library vaora serves, and who is missing, after a few scans at
// the demo agency's gate.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startVaora, registerPerson, launch, phonePage, shot, signIn, layoutProblems, noProblems } from "../lib/harness.mjs";

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

test("the office sees its day with a chart of scans per hour on a phone", async () => {
  const office = await vaora.token(vaora.accounts.agency_admin.phone, vaora.accounts.agency_admin.password);
  const checker = await vaora.token(vaora.accounts.checker.phone, vaora.accounts.checker.password);
  const agency = (await vaora.api("GET", "/api/v1/agencies", office))[0].id;
  const checkpoint = (await vaora.api("GET", `/api/v1/agencies/${agency}/checkpoints`, office))[0].id;
  const before = await vaora.api("GET", `/api/v1/agencies/${agency}/stats/day`, office);
  // The office admin (on the roster) and a visitor arrive at the gate.
  const visitor = await registerPerson(vaora, "Đặng Văn Khoa");
  const visitorToken = await vaora.token(visitor.phone);
  for (const [n, token] of [[1, office], [2, visitorToken]]) {
    const pass = await vaora.api("POST", "/api/v1/passes", token);
    await vaora.api("POST", "/api/v1/scans", checker, { client_id: `stats-${n}`, checkpoint_id: checkpoint, code: pass.code });
  }
  const day = await vaora.api("GET", `/api/v1/agencies/${agency}/stats/day`, office);
  assert.equal(day.present, before.present + 1);
  assert.equal(day.visitors, before.visitors + 1);

  const { page, problems, context } = await phonePage(browser, vaora.base);
  await signIn(page, vaora.base, vaora.accounts.agency_admin.phone, vaora.accounts.agency_admin.password);
  await page.goto(`${vaora.base}/agencies/${agency}`);
  await Promise.all([page.waitForNavigation(), page.click("#stats-link")]);
  assert.equal(await page.textContent("h1"), "Thống kê");
  assert.equal(Number(await page.textContent("#present")), day.present);
  assert.equal(Number(await page.textContent("#visitors")), day.visitors);
  // The charts are drawn, on canvases that fit the card.
  await page.waitForSelector("#hours-chart[data-drawn='1'] canvas");
  await page.waitForSelector("#trend-chart[data-drawn='1'] canvas");
  await page.waitForSelector("#unit-trend-chart[data-drawn='1'] canvas");
  const units = await page.$eval("#unit-trend-data", (e) => JSON.parse(e.textContent).series.length);
  assert.ok(units > 0, "one line per unit");
  // The daily report prints: a PDF, named after the agency and the day.
  const report = new URL(await page.getAttribute("#downloads a[href*='day.pdf']", "href"), page.url());
  const pdf = await page.request.get(report.toString());
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()["content-type"], "application/pdf");
  assert.ok((await pdf.body()).subarray(0, 5).toString() === "%PDF-", "a PDF");
  const box = await page.locator("#hours-chart canvas").boundingBox();
  assert.ok(box.width > 200 && box.width <= 360, `chart width ${box.width}`);
  assert.deepEqual(await layoutProblems(page), [], "the statistics fit the phone");
  await shot(page, "agency-stats");
  // Who is missing, per unit.
  await page.click("#units details summary");
  assert.ok((await page.locator("#units details li").count()) > 0, "the demo has staff who have not come");
  noProblems(problems);
  await context.close();
});

test("the province sees every agency ranked, with the scans per hour, on a phone", async () => {
  const { page, problems, context } = await phonePage(browser, vaora.base);
  await signIn(page, vaora.base, vaora.accounts.province_admin.phone, vaora.accounts.province_admin.password);
  await page.click("#menu summary");
  await Promise.all([page.waitForNavigation(), page.click("#menu nav a[href='/admin/stats']")]);
  assert.equal(await page.textContent("h1"), "Thống kê toàn tỉnh");
  assert.ok((await page.locator("#ranking li").count()) >= 1);
  await page.waitForSelector("#province-hours-chart[data-drawn='1'] canvas");
  assert.deepEqual(await layoutProblems(page), [], "the province statistics fit the phone");
  await shot(page, "province-stats");
  noProblems(problems);
  await context.close();
});
