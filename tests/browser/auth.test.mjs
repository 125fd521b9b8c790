// Sign-in in a real browser: with the guest provider configured the portal shows the
// sign-in page, the session lives in an HttpOnly cookie (no script can read it), the API
// answers with it, the profile shows the identity, and signing out ends it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { startServer, launchBrowser, artifactsDir } from "./harness.mjs";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

test("the guest signs in, browses with a cookie session, sees the profile and signs out", async () => {
  const config = join(mkdtempSync(join(tmpdir(), "greenroom-auth-")), "greenroom.yaml");
  writeFileSync(config, "auth:\n  providers:\n    guest: {}\n");
  const server = await startServer({ args: ["--config", config] });
  try {
    assert.equal((await fetch(`${server.baseUrl}/api/catalog/entities`)).status, 401);
    const page = await browser.newPage();
    await page.goto(`${server.baseUrl}/catalog`);
    await page.locator("#sign-in").waitFor();
    await page.screenshot({ path: join(artifactsDir, "sign-in.png"), fullPage: true });
    await page.locator("#sign-in-guest").click();
    await page.locator("#user-ref").getByText("user:development/guest").waitFor();
    // The catalog loads through the session cookie, which scripts cannot read.
    await page.locator("#catalog-table tbody tr").first().waitFor();
    assert.equal(await page.evaluate(() => document.cookie), "");
    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === "greenroom_session");
    assert.ok(session?.httpOnly && session.sameSite === "Lax", JSON.stringify(cookies));
    await page.locator("#user-ref").click();
    await page.locator("#profile-user").getByText("user:development/guest").waitFor();
    await page.locator("#profile-ownership .ownership-ref").first().waitFor();
    await page.locator("#sign-out").click();
    await page.locator("#sign-in").waitFor();
    await page.close();
  } finally {
    server.stop();
  }
});

test("behind a trusted proxy a catalog user signs in and filters the catalog to what they own", async () => {
  const config = join(mkdtempSync(join(tmpdir(), "greenroom-auth-")), "greenroom.yaml");
  writeFileSync(
    config,
    "auth:\n  providers:\n    proxy:\n      trustedPeers: [127.0.0.1]\n      signIn:\n        resolvers: [{resolver: usernameMatchingUserEntityName}]\n",
  );
  const server = await startServer({ args: ["--config", config] });
  // The proxy's header, as oauth2-proxy would add it to every request.
  const context = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-user": "ada" } });
  try {
    const page = await context.newPage();
    await page.goto(`${server.baseUrl}/catalog`);
    await page.locator("#sign-in-proxy").click();
    await page.locator("#user-ref").getByText("user:default/ada").waitFor();
    const table = page.locator("#catalog-table");
    await table.getByRole("link", { name: "ledger" }).waitFor();
    await page.locator("#owned-filter").check();
    await page.waitForURL(/owned=me/);
    // ada owns through her group payments: checkout and web, not finance's ledger.
    await table.getByRole("link", { name: "checkout" }).waitFor();
    await table.getByRole("link", { name: "ledger" }).waitFor({ state: "detached" });
    await page.locator("#total").getByText("2 entities").waitFor();
    await page.locator("#user-ref").click();
    await page.locator("#profile-ownership").getByText("group:default/engineering").waitFor();
  } finally {
    await context.close();
    server.stop();
  }
});
