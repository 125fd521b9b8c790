// Permissions in a real browser: behind a trusted proxy, ada (role admin) sees the
// Permissions page linked and reads the policy's roles, and may upload plugins; bob (only the
// default role viewer) sees neither, and opening the page anyway shows the server's reason.
// A broken edit of the policy file is refused and shown on the page, the last good policy
// still serving.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { mkdtempSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { startServer, launchBrowser, artifactsDir, pluginsFolder } from "./harness.mjs";

const POLICY = `defaultRole: viewer
roles:
  admin:
    members: [user:default/ada]
    allow: ["*"]
  viewer:
    allow: [{resourceType: catalog-entity, actions: [read]}]
`;
const BROKEN_POLICY = "roles:\n  viewer:\n    allow: [catalog.entity.reed]\n";
const RELOAD_DEADLINE_MS = 10_000;

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

test("the permissions page and the plugin controls follow the policy, and a broken edit shows", async () => {
  const dir = mkdtempSync(join(tmpdir(), "greenroom-permissions-"));
  const policy = join(dir, "policy.yaml");
  writeFileSync(policy, POLICY);
  const config = join(dir, "greenroom.yaml");
  writeFileSync(
    config,
    "auth:\n  providers:\n    proxy:\n      trustedPeers: [127.0.0.1]\n      signIn:\n"
      + "        resolvers: [{resolver: usernameMatchingUserEntityName, dangerouslyAllowSignInWithoutUserInCatalog: true}]\n"
      + `permission:\n  enabled: true\n  policyFile: ${JSON.stringify(policy)}\n`,
  );
  const server = await startServer({ plugins: pluginsFolder([]), args: ["--config", config] });
  // The proxy's header, as oauth2-proxy would add it to every request. bob is not in the
  // catalog; the resolver signs him in anyway.
  const ada = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-user": "ada" } });
  const bob = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-user": "bob" } });
  const signIn = async (context, path, userRef) => {
    const page = await context.newPage();
    await page.goto(`${server.baseUrl}${path}`);
    await page.locator("#sign-in-proxy").click();
    await page.locator("#user-ref").getByText(userRef).waitFor();
    return page;
  };
  try {
    // ada: the link, the page with both roles, the upload control.
    const adaPage = await signIn(ada, "/", "user:default/ada");
    await adaPage.locator("#nav-permissions").click();
    await adaPage.waitForURL(/\/settings\/permissions$/);
    const admin = adaPage.locator('#roles tr.role[data-role="admin"]');
    await admin.waitFor();
    await admin.locator("li.member").getByText("user:default/ada").waitFor();
    await admin.locator("td.allow li.grant").getByText("*", { exact: true }).waitFor();
    const viewer = adaPage.locator('#roles tr.role[data-role="viewer"]');
    await viewer.waitFor();
    await viewer.locator("td.allow li.grant").getByText("catalog-entity (read)").waitFor();
    await adaPage.locator("#default-role").getByText("viewer").waitFor();
    await adaPage.locator('#permission-list tr.permission[data-permission="greenroom.policy.read"]').waitFor();
    await adaPage.locator('#rules li.rule[data-rule="IS_ENTITY_OWNER"]').waitFor();
    assert.equal(await adaPage.locator("#policy-problem").count(), 0);
    assert.equal(await adaPage.locator("#permission-denied").count(), 0);
    await adaPage.screenshot({ path: join(artifactsDir, "permissions.png"), fullPage: true });

    await adaPage.goto(`${server.baseUrl}/plugins`);
    await adaPage.locator("#plugin-upload").waitFor();
    await adaPage.locator("#plugin-file").waitFor();
    assert.equal(await adaPage.locator("#plugins-read-only").count(), 0);

    // bob: no link (once the sidebar's question is answered), the server's reason on the
    // page itself, no upload control.
    const bobPage = await signIn(bob, "/settings/permissions", "user:default/bob");
    await bobPage.locator('.sidebar nav[data-permissions="decided"]').waitFor();
    assert.equal(await bobPage.locator("#nav-permissions").count(), 0);
    assert.equal(await bobPage.locator(".sidebar nav").getByText("Permissions", { exact: true }).count(), 0);
    const denied = bobPage.locator("#permission-denied");
    await denied.waitFor();
    assert.match(await denied.innerText(), /greenroom\.policy\.read/);
    assert.equal(await bobPage.locator("#roles").count(), 0);

    await bobPage.goto(`${server.baseUrl}/plugins`);
    await bobPage.locator("#plugins-read-only").waitFor();
    assert.equal(await bobPage.locator("#plugin-upload").count(), 0);
    assert.equal(await bobPage.locator("#plugin-file").count(), 0);

    // A broken edit, written whole (temp file renamed over the policy): refused, shown on
    // ada's page, while the last good policy keeps her admin.
    const temp = join(dir, "policy.yaml.tmp");
    writeFileSync(temp, BROKEN_POLICY);
    renameSync(temp, policy);
    await adaPage.goto(`${server.baseUrl}/settings/permissions`);
    const deadline = Date.now() + RELOAD_DEADLINE_MS;
    for (;;) {
      // The roles and the problem render together: once the roles show, so would it.
      await adaPage.locator("#roles").waitFor();
      if (await adaPage.locator("#policy-problem").count() > 0) break;
      if (Date.now() > deadline) {
        assert.fail(`the policy page showed no problem within ${RELOAD_DEADLINE_MS} ms of the broken edit`);
      }
      await adaPage.reload();
    }
    assert.match(await adaPage.locator("#policy-problem").innerText(), /catalog\.entity\.reed/);
    await adaPage.locator('#roles tr.role[data-role="admin"]').waitFor();
  } finally {
    await ada.close();
    await bob.close();
    server.stop();
  }
});
