// Declaring for a family (khai hộ) on a 360x740 phone in Vietnamese: a guardian adds their
// daughter, declares for her, shows the family QR code, and the checker's one scan lists both of
// them with their own colour.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startVaora, registerPerson, launch, phonePage, shot, signIn, layoutProblems, noProblems, checkerScreen, PASSWORD } from "../lib/harness.mjs";

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

test("a guardian adds a child, declares for her, and the family checks in with one scan", async () => {
  const guardian = await registerPerson(vaora, "Phan Văn Hùng");
  const { page, problems, context } = await phonePage(browser, vaora.base);
  await signIn(page, vaora.base, guardian.phone);
  await page.click("#menu summary");
  await Promise.all([page.waitForNavigation(), page.click("#menu nav a[href='/family']")]);
  assert.equal(await page.textContent("h1"), "Gia đình");

  await Promise.all([page.waitForNavigation(), page.click("#add-dependant")]);
  // The address starts as the guardian's own.
  assert.equal(await page.inputValue("#ward"), "19789");
  await page.fill("#full_name", "Phan Thị Na");
  await page.selectOption("#relation", "child");
  await page.fill("#cccd", "046316004321");
  await page.fill("#birth_date", "2016-05-04");
  await page.selectOption("#sex", "female");
  assert.deepEqual(await layoutProblems(page), [], "the form fits the phone");
  await shot(page, "family-add-filled");
  await Promise.all([page.waitForNavigation(), page.click("#add-submit")]);
  assert.match(await page.textContent("[role=status]"), /Đã thêm người phụ thuộc/);
  const row = page.locator("li.dependant", { hasText: "Phan Thị Na" });
  assert.equal(await row.locator(".status-line").getAttribute("data-colour"), "amber", "nobody has declared for her");

  // Declaring for her: the form says it is on her behalf, and a fever turns her red.
  await Promise.all([page.waitForNavigation(), row.locator("a[href^='/declare?for=']").click()]);
  assert.match(await page.textContent("#declare"), /Phan Thị Na/);
  assert.ok(await page.isVisible("#on-behalf"));
  await page.check("input[name=symptom][value=fever]");
  await page.check("input[name=pledge]");
  await Promise.all([page.waitForNavigation(), page.click("#declare form button[type=submit]")]);
  assert.equal(new URL(page.url()).pathname, "/family");
  assert.equal(await page.locator("li.dependant", { hasText: "Phan Thị Na" }).locator(".status-line").getAttribute("data-colour"), "red");
  assert.deepEqual(await layoutProblems(page), [], "the family screen fits the phone");
  await shot(page, "family");

  // The family QR code for both of them.
  await Promise.all([page.waitForNavigation(), page.click("#family-pass")]);
  await page.waitForFunction(() => document.querySelector("#pass-qr").dataset.code?.startsWith("VF1"));
  assert.equal(await page.locator("#family-members li").count(), 2);
  const code = await page.getAttribute("#pass-qr", "data-code");
  await shot(page, "family-pass");
  noProblems(problems);

  // One scan at the gate: both are checked in, the daughter red with her reason.
  const checker = await phonePage(browser, vaora.base);
  const checkpoint = await checkerScreen(checker.page, vaora);
  await checker.page.goto(`${vaora.base}/check/${checkpoint}`);
  await checker.page.fill("#code", code);
  await checker.page.press("#code", "Enter");
  await checker.page.waitForSelector("#answer[data-colour=red] .answer-members li");
  const lines = await checker.page.locator(".answer-members li").allTextContents();
  assert.equal(lines.length, 2, lines.join(" | "));
  assert.match(lines[0], /P\. Hùng · Vàng · Chưa khai báo/);
  assert.match(lines[1], /P\. Na · Đỏ · Khai báo sốt/);
  assert.deepEqual(await layoutProblems(checker.page), [], "the answer fits the phone");
  await shot(checker.page, "checker-family-answer");
  noProblems(checker.problems);
  await checker.context.close();
  await context.close();
});

test("a guardian deletes their account from the account page, and their child's with it", async () => {
  const guardian = await registerPerson(vaora, "Võ Thị Lan");
  const token = await vaora.token(guardian.phone);
  await vaora.api("POST", "/api/v1/dependants", token, {
    full_name: "Võ Minh Khôi", birth_date: "2018-02-03", sex: "male", relation: "child", cccd: "046218004322",
    address_unit: "19789", address_street: "12 Lê Lợi",
  });
  const { page, problems, context } = await phonePage(browser, vaora.base);
  await signIn(page, vaora.base, guardian.phone);
  await page.goto(vaora.base + "/me");
  await Promise.all([page.waitForNavigation(), page.click("a[href='/me/delete']")]);
  assert.equal(await page.textContent("h1"), "Xoá tài khoản");
  assert.match(await page.textContent("main"), /Tài khoản của 1 người thân/);
  await page.fill("#password", PASSWORD);
  await page.check("input[name=confirm]");
  assert.deepEqual(await layoutProblems(page), [], "the deletion form fits the phone");
  await shot(page, "account-delete");
  await Promise.all([page.waitForNavigation(), page.click("form button.danger")]);
  assert.equal(await page.textContent("#deleted"), "Tài khoản của bạn đã được xoá.");
  assert.match(await page.textContent("main"), /1 tài khoản người thân/);
  await shot(page, "account-deleted");
  noProblems(problems);

  // Signed out, and the number no longer signs in.
  await page.goto(vaora.base + "/me");
  assert.equal(new URL(page.url()).pathname, "/signin");
  await page.fill("#phone", guardian.phone);
  await page.fill("#password", PASSWORD);
  await Promise.all([page.waitForNavigation(), page.click("form button[type=submit]")]);
  assert.match(await page.textContent("[role=alert]"), /Sai số điện thoại hoặc mật khẩu/);
  await context.close();
});
