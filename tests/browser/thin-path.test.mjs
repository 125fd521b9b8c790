// The thin path in a real browser: catalog list -> entity page -> the ownership plugin's tab.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, launchBrowser, artifactsDir, pluginsFolder } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer({ plugins: pluginsFolder(["ownership"]) });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

test("catalog lists components and links to the entity page", async () => {
  const page = await browser.newPage();
  await page.goto(`${server.baseUrl}/catalog`);
  const table = page.locator("#catalog-table");
  await table.getByRole("link", { name: "Checkout Service" }).waitFor();
  assert.equal(await table.locator("tbody tr").count(), 3);
  await page.screenshot({ path: join(artifactsDir, "catalog.png"), fullPage: true });

  await table.getByRole("link", { name: "Checkout Service" }).click();
  await page.waitForURL("**/catalog/default/component/checkout");
  await page.locator("#about").getByText("Takes payment for a basket.").waitFor();
  await page.locator("#relations").getByRole("link", { name: "group:default/payments" }).waitFor();
  await page.close();
});

test("the ownership plugin tab renders natively on the entity page", async () => {
  const page = await browser.newPage();
  await page.goto(`${server.baseUrl}/catalog/default/component/checkout`);
  await page.locator(".tabs").getByRole("link", { name: "Ownership" }).click();
  await page.waitForURL("**/catalog/default/component/checkout/ownership.ownership");
  const tab = page.locator(".plugin-tab[data-plugin=ownership]");
  await tab.getByRole("heading", { name: "Owner: Payments Team" }).waitFor();
  await tab.getByText("Checkout and billing.").waitFor();
  const member = tab.getByRole("link", { name: "user:default/ada" });
  assert.equal(await member.getAttribute("href"), "/catalog/default/user/ada");
  await page.screenshot({ path: join(artifactsDir, "ownership-tab.png"), fullPage: true });

  // A shared link to the tab opens it directly (the host serves the app on every UI route).
  await page.goto(`${server.baseUrl}/catalog/default/component/ledger/ownership.ownership`);
  await page.locator(".plugin-tab").getByText("group:default/finance is not in the catalog").waitFor();
  await page.close();
});

test("a failing plugin call stays inside its tab", async () => {
  const page = await browser.newPage();
  await page.goto(`${server.baseUrl}/catalog/default/component/checkout/ownership.no-such-tab`);
  await page.locator(".plugin-error").getByText("plugin 'ownership' offers no tab 'no-such-tab' for component:default/checkout").waitFor();
  await page.locator("h1").getByText("Checkout Service").waitFor();
  await page.close();
});
