// Health declarations on a 360x740 phone in Vietnamese: a citizen fills the form, My pass turns
// from amber to green, a declared fever turns it red and the checker sees red with the reason,
// and the province admin changes the status rules.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startVaora, registerPerson, launch, phonePage, shot, signIn, layoutProblems, noProblems, checkerScreen } from "../lib/harness.mjs";

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

test("a citizen fills the health declaration in Vietnamese and My pass shows the status", async () => {
  const citizen = await registerPerson(vaora, "Nguyễn Thị Hạnh");
  const { page, problems, context } = await phonePage(browser, vaora.base);
  await signIn(page, vaora.base, citizen.phone);
  await page.goto(vaora.base + "/pass");
  assert.equal(await page.getAttribute("#health-status", "data-colour"), "amber", "no declaration yet");
  assert.match(await page.textContent("#health-status"), /Chưa khai báo y tế/);
  await shot(page, "my-pass-amber");

  await Promise.all([page.waitForNavigation(), page.click("#pass a[href='/declare']")]);
  assert.equal(await page.textContent("h1"), "Khai báo y tế");
  // Nothing to report, two doses, a recent negative rapid test, a trip to Đà Nẵng.
  await page.selectOption("#travel", { label: "Thành phố Đà Nẵng" });
  await page.check("input[name=condition][value=hypertension]");
  await page.fill("#dose_date_1", "2021-09-10");
  await page.fill("#dose_vaccine_1", "AstraZeneca");
  await page.fill("#dose_date_2", "2021-12-03");
  await page.fill("#dose_vaccine_2", "Pfizer-BioNTech");
  await page.selectOption("#test_kind", "rapid_antigen");
  const yesterday = new Date(Date.now() - 86_400_000 + 7 * 3_600_000).toISOString().slice(0, 10);
  await page.fill("#test_date", yesterday);
  await page.selectOption("#test_result", "negative");
  await page.check("input[name=pledge]");
  assert.deepEqual(await layoutProblems(page), [], "the form fits the phone");
  await shot(page, "declare-filled");
  await Promise.all([page.waitForNavigation(), page.click("#declare form button[type=submit]")]);
  assert.equal(new URL(page.url()).pathname, "/pass");
  assert.equal(await page.getAttribute("#health-status", "data-colour"), "green");
  assert.match(await page.textContent("#health-status"), /Đã khai báo, không có dấu hiệu nguy cơ · còn hiệu lực đến/);
  await shot(page, "my-pass-green");

  // The history shows the person's own answers.
  await page.goto(vaora.base + "/declarations");
  const history = await page.textContent("#declarations");
  assert.match(history, /Không có triệu chứng/);
  assert.match(history, /Thành phố Đà Nẵng/);
  assert.match(history, /Số mũi vắc xin: 2/);
  await shot(page, "declarations");

  // Next day a fever: the next form keeps the vaccination, and My pass turns red.
  await page.goto(vaora.base + "/declare");
  assert.equal(await page.inputValue("#dose_vaccine_2"), "Pfizer-BioNTech");
  await page.check("input[name=symptom][value=fever]");
  await page.check("input[name=pledge]");
  await Promise.all([page.waitForNavigation(), page.click("#declare form button[type=submit]")]);
  assert.equal(await page.getAttribute("#health-status", "data-colour"), "red");
  assert.match(await page.textContent("#health-status"), /Khai báo sốt/);
  await shot(page, "my-pass-red");
  const pass = await page.evaluate(async () => (await fetch("/api/v1/passes", { method: "POST" })).json());
  noProblems(problems);
  await context.close();

  // At the gate, the checker's screen says red and why, and nothing of the answers.
  const checker = await phonePage(browser, vaora.base);
  const checkpoint = await checkerScreen(checker.page, vaora);
  await checker.page.goto(`${vaora.base}/check/${checkpoint}`);
  await checker.page.fill("#code", pass.code);
  await checker.page.press("#code", "Enter");
  await checker.page.waitForSelector("#answer[data-colour=red]");
  assert.equal(await checker.page.getAttribute("#answer", "data-rule"), "fever");
  assert.equal(await checker.page.textContent("#answer .answer-reason"), "Khai báo sốt");
  assert.match(await checker.page.textContent("#answer .answer-until"), /Khai báo y tế còn hiệu lực đến \d\d:\d\d/);
  assert.doesNotMatch(await checker.page.textContent("#answer"), /Đà Nẵng|huyết áp|vắc xin/i);
  await shot(checker.page, "checker-red-fever");
  noProblems(checker.problems);
  await checker.context.close();
});

test("the province admin reads and changes the status rules", async () => {
  const { page, problems, context } = await phonePage(browser, vaora.base);
  const admin = vaora.accounts.province_admin;
  await signIn(page, vaora.base, admin.phone, admin.password);
  await page.click("#menu summary");
  await Promise.all([page.waitForNavigation(), page.click("#menu a[href='/admin/rules']")]);
  assert.match(await page.textContent("#rules"), /Bảng quy tắc mặc định/);
  assert.equal(await page.locator(".rules-table li").count(), 12);
  await shot(page, "status-rules");
  const table = await page.inputValue("#text");
  await page.fill("#text", "cough: symptom.cough => red\n" + table);
  await page.fill("#note", "Đợt dịch mới: ho cũng phải ở nhà");
  await Promise.all([page.waitForNavigation(), page.click("#rules-edit button[type=submit]")]);
  assert.match(await page.textContent("#rules"), /Phiên bản 1/);
  assert.equal(await page.getAttribute(".rules-table li >> nth=0", "data-rule"), "cough");
  assert.match(await page.textContent("#rules-history"), /Đợt dịch mới/);
  // A table without a final `always` rule is refused and kept for correcting.
  await page.fill("#text", "fever: symptom.fever => red");
  await page.fill("#note", "thử");
  await Promise.all([page.waitForNavigation(), page.click("#rules-edit button[type=submit]")]);
  assert.match(await page.textContent("#form-error"), /Quy tắc cuối cùng phải là always/);
  assert.equal(await page.inputValue("#text"), "fever: symptom.fever => red");
  await shot(page, "status-rules-refused");
  noProblems(problems);
  await context.close();
});
