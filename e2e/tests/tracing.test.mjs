// A health official on a 360x740 phone in Vietnamese opens a case for a person who was at the
// demo agency's desk with another, sees that other person as an F1 with the timeline and the
// contact graph, and sends them a notice, which they then read on their own notices screen.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startVaora, registerPerson, launch, phonePage, shot, signIn, layoutProblems, noProblems, PASSWORD } from "../lib/harness.mjs";

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

test("an official opens a case and sees the contacts, the timeline and the graph", async () => {
  const office = await vaora.token(vaora.accounts.agency_admin.phone, vaora.accounts.agency_admin.password);
  const checker = await vaora.token(vaora.accounts.checker.phone, vaora.accounts.checker.password);
  const agency = (await vaora.api("GET", "/api/v1/agencies", office))[0].id;
  const desk = (await vaora.api("GET", `/api/v1/agencies/${agency}/checkpoints`, office)).find((c) => c.name.startsWith("Bộ phận")).id;
  // Two people at the one-stop desk together.
  const an = await registerPerson(vaora, "Ngô Văn Lâm");
  const binh = await registerPerson(vaora, "Tôn Nữ Mai");
  for (const [n, who] of [[1, an], [2, binh]]) {
    const token = await vaora.token(who.phone);
    const pass = await vaora.api("POST", "/api/v1/passes", token);
    await vaora.api("POST", "/api/v1/scans", checker, { client_id: `trace-${n}`, checkpoint_id: desk, code: pass.code });
  }

  const { page, problems, context } = await phonePage(browser, vaora.base);
  await signIn(page, vaora.base, vaora.accounts.health_official.phone, vaora.accounts.health_official.password);
  await page.click("#menu summary");
  await Promise.all([page.waitForNavigation(), page.click("#menu nav a[href='/cases']")]);
  assert.equal(await page.textContent("h1"), "Truy vết");
  await page.selectOption("#case-by", "phone");
  await page.fill("#case-find", an.phone);
  await page.selectOption("#case-basis", "test");
  await Promise.all([page.waitForNavigation(), page.click("#open-case button[type=submit]")]);
  assert.match(await page.textContent("h1"), /Ngô Văn Lâm/);
  assert.equal(await page.textContent("#f1"), "1");
  assert.match(await page.textContent("#contacts"), /Tôn Nữ Mai/);
  assert.ok((await page.locator("#timeline .tl-bar").count()) >= 2, "the case's stay and the contact's");
  // The graph is drawn: an SVG image with the case and the contact.
  await page.waitForFunction(() => document.querySelector("#graph-image").naturalWidth > 0);
  const svg = await page.request.get(new URL(await page.getAttribute("#graph-image", "src"), page.url()).toString());
  assert.equal(svg.status(), 200);
  assert.equal(((await svg.text()).match(/class="node"/g) || []).length, 2);
  assert.deepEqual(await layoutProblems(page), [], "the case fits the phone");
  await shot(page, "case");

  // A notice to the contact.
  await page.check("#contacts input[type=checkbox]");
  await Promise.all([page.waitForNavigation(), page.click("#notify button[type=submit]")]);
  assert.match(await page.textContent("#notices-sent"), /1/);
  await context.close();

  const contact = await phonePage(browser, vaora.base);
  await signIn(contact.page, vaora.base, binh.phone, PASSWORD);
  await contact.page.goto(`${vaora.base}/notices`);
  const text = await contact.page.textContent("#notices");
  assert.match(text, /F1/);
  assert.match(text, /Bộ phận Một cửa/);
  assert.doesNotMatch(text, /Ngô Văn Lâm/, "never who the case is");
  assert.deepEqual(await layoutProblems(contact.page), [], "the notices fit the phone");
  await shot(contact.page, "notices");
  await Promise.all([contact.page.waitForNavigation(), contact.page.click("#notices form button")]);
  assert.equal(await contact.page.locator("#notices .badge.warn").count(), 0, "read");
  noProblems(problems);
  noProblems(contact.problems);
  await contact.context.close();
});
