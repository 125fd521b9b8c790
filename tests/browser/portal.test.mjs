// The portal's pages in a real browser against the real server: catalog filters and paging
// with state in the URL, entity page cards and graph, a hostile plugin's failure contained
// in its tab, and the plugins admin page uploading, disabling and removing a plugin.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import {
  startServer, launchBrowser, artifactsDir, pluginsFolder, builtPlugin, generatedCatalog, catalogFile,
} from "./harness.mjs";

const APIS = `apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: billing-api
spec:
  type: openapi
  lifecycle: production
  owner: payments
  definition: |
    openapi: 3.0.3
    info: {title: Billing API, version: 2.1.0}
    paths:
      /invoices:
        get: {summary: List invoices}
        post: {summary: Create an invoice}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: events
spec:
  type: graphql
  lifecycle: production
  owner: payments
  definition: |
    # Events of the payments domain
    type Query { invoice(id: ID!): Invoice }
    type Invoice { id: ID! note: String @deprecated(reason: "use memo") }
`;

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

test("catalog filters with facet counts and pages by cursor, all in the URL", async () => {
  const server = await startServer({ plugins: pluginsFolder([]), catalogs: [generatedCatalog(60)] });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.baseUrl}/catalog`);
    const table = page.locator("#catalog-table");
    await page.locator("#total").getByText("63 entities").waitFor();
    assert.equal(await table.locator("tbody tr").count(), 25);
    // Facet counts come from entity-facets: 20 of the generated components are libraries.
    const typeFilter = page.locator("#type-filter");
    await typeFilter.locator("option", { hasText: "library (20)" }).waitFor({ state: "attached" });
    await typeFilter.selectOption("library");
    await page.waitForURL(/type=library/);
    await page.locator("#total").getByText("20 entities").waitFor();
    await page.locator("#owner-filter").selectOption("platform");
    await page.waitForURL(/owner=platform/);
    // Every 12th generated component is a library owned by platform: 0, 12, 24, 36, 48.
    await page.locator("#total").getByText("5 entities").waitFor();
    const names = await table.locator("tbody tr td:first-child").allInnerTexts();
    assert.deepEqual(names, ["gen-000", "gen-012", "gen-024", "gen-036", "gen-048"]);
    await page.screenshot({ path: join(artifactsDir, "catalog-filtered.png"), fullPage: true });

    // Back to all components, then page through them.
    await page.goto(`${server.baseUrl}/catalog?kind=Component`);
    await page.locator("#total").getByText("63 entities").waitFor();
    const first = await table.locator("tbody tr td:first-child").first().innerText();
    await page.locator("#next-page").click();
    await page.waitForURL(/cursor=/);
    await table.locator("tbody tr td:first-child", { hasText: "gen-024" }).waitFor();
    assert.notEqual(await table.locator("tbody tr td:first-child").first().innerText(), first);
    await page.goBack();
    await table.locator("tbody tr td:first-child", { hasText: first }).first().waitFor();

    // Sorting by name descending, and the text filter.
    await table.getByRole("link", { name: /^Name/ }).click();
    await page.waitForURL(/dir=desc/);
    await table.locator("tbody tr td:first-child", { hasText: "gen-059" }).waitFor();
    const sorted = await table.locator("tbody tr td:first-child").allInnerTexts();
    assert.ok(sorted.indexOf("gen-059") < sorted.indexOf("gen-058"), sorted.join(", "));
    assert.ok(!sorted.includes("gen-000"), "the first page holds the end of the alphabet");
    await page.locator("#text-filter").fill("Checkout");
    await page.locator("#text-filter").press("Enter");
    await page.waitForURL(/q=Checkout/);
    await page.locator("#total").getByText("1 entities").waitFor();
    await table.getByRole("link", { name: "Checkout Service" }).click();
    await page.waitForURL("**/catalog/default/component/checkout");
    await page.close();
  } finally {
    server.stop();
  }
});

test("entity page shows about, relations by type, the dependency graph and API definitions", async () => {
  const server = await startServer({ plugins: pluginsFolder(["ownership"]), catalogs: [catalogFile(APIS)] });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.baseUrl}/catalog/default/component/checkout`);
    const about = page.locator("#about");
    await about.getByText("Takes payment for a basket.").waitFor();
    assert.equal(await about.getByRole("link", { name: "payments" }).getAttribute("href"), "/catalog/default/group/payments");
    await about.locator(".source").getByText("catalog-info.yaml").waitFor();
    const relations = page.locator("#relations");
    await relations.locator("dt", { hasText: "ownedBy" }).waitFor();
    const graph = page.locator("#graph svg");
    await graph.locator(".node.center").getByText("component:default/checkout").waitFor();
    await page.screenshot({ path: join(artifactsDir, "entity-page.png"), fullPage: true });
    await graph.locator(".node.neighbour[data-ref='group:default/payments']").click();
    await page.waitForURL("**/catalog/default/group/payments");
    await page.locator("h1").getByText("Payments Team").waitFor();

    // The theme switch sets and remembers the dark theme.
    await page.locator("#theme-toggle").getByText("Dark").click();
    await page.locator("#theme-toggle").getByText("Light").waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    await page.reload();
    // The app sets the saved theme as it starts; its header shows once it has.
    await page.locator("#theme-toggle").getByText("Light").waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    await page.screenshot({ path: join(artifactsDir, "entity-page-dark.png"), fullPage: true });

    // An OpenAPI definition reads as its operations; another type as its source.
    await page.goto(`${server.baseUrl}/catalog/default/api/billing-api`);
    const operations = page.locator("#api-definition table.operations tbody tr");
    await operations.first().waitFor();
    assert.deepEqual(await operations.allInnerTexts(), ["GET\t/invoices\tList invoices", "POST\t/invoices\tCreate an invoice"]);
    await page.locator("#api-definition").getByText("Billing API").waitFor();
    await page.screenshot({ path: join(artifactsDir, "api-definition.png"), fullPage: true });
    await page.goto(`${server.baseUrl}/catalog/default/api/events`);
    // Highlighted: keywords, comments and strings in their own spans, the text unchanged.
    const source = page.locator("#api-definition pre[data-language=graphql]");
    await source.getByText("type Query").waitFor();
    assert.equal(
      await source.textContent(),
      '# Events of the payments domain\ntype Query { invoice(id: ID!): Invoice }\ntype Invoice { id: ID! note: String @deprecated(reason: "use memo") }\n',
    );
    assert.deepEqual(await source.locator(".tok-keyword").allInnerTexts(), ["type", "type"]);
    assert.deepEqual(await source.locator(".tok-comment").allInnerTexts(), ["# Events of the payments domain"]);
    assert.deepEqual(await source.locator(".tok-string").allInnerTexts(), ['"use memo"']);
    await page.screenshot({ path: join(artifactsDir, "api-definition-graphql.png"), fullPage: true });
    await page.close();
  } finally {
    server.stop();
  }
});

test("a hostile plugin's failure stays in its tab while the page and other tabs work", async () => {
  const server = await startServer({ plugins: pluginsFolder(["ownership", "hostile"]) });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.baseUrl}/catalog/default/component/checkout`);
    await page.locator(".tabs").getByRole("link", { name: "panic" }).click();
    await page.waitForURL("**/checkout/hostile.panic");
    await page.locator(".plugin-tab .plugin-error").getByText("hostile").waitFor();
    await page.locator("h1").getByText("Checkout Service").waitFor();
    await page.screenshot({ path: join(artifactsDir, "hostile-tab.png"), fullPage: true });
    await page.locator(".tabs").getByRole("link", { name: "Ownership" }).click();
    await page.locator(".plugin-tab").getByRole("heading", { name: "Owner: Payments Team" }).waitFor();
    await page.close();
  } finally {
    server.stop();
  }
});

test("plugins page uploads a plugin whose tab then appears, and disables and removes it", async () => {
  const server = await startServer({ plugins: pluginsFolder(["ownership"]) });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.baseUrl}/catalog/default/component/checkout`);
    await page.locator(".tabs").getByRole("link", { name: "Ownership" }).waitFor();
    assert.equal(await page.locator(".tabs").getByRole("link", { name: "build" }).count(), 0);

    await page.goto(`${server.baseUrl}/plugins`);
    const table = page.locator("#plugins-table");
    await table.locator("tr[data-plugin=ownership]").getByText("loaded").waitFor();
    await page.locator("#plugin-file").setInputFiles(builtPlugin("probe"));
    await page.locator("#plugin-upload").click();
    await page.locator("#plugin-notice").getByText("Uploaded probe.wasm").waitFor();
    const probe = table.locator("tr[data-plugin=probe]");
    await probe.getByText("loaded").waitFor();
    await probe.getByText("Not granted: config greeting, config echo-url").waitFor();
    await page.screenshot({ path: join(artifactsDir, "plugins-uploaded.png"), fullPage: true });

    // The new tab is on the entity page, served by the same server without a restart.
    await page.goto(`${server.baseUrl}/catalog/default/component/checkout`);
    await page.locator(".tabs").getByRole("link", { name: "build" }).click();
    await page.locator(".plugin-tab[data-plugin=probe]").getByText("probe build-000000").waitFor();

    await page.goto(`${server.baseUrl}/plugins`);
    await probe.getByRole("button", { name: "Disable" }).click();
    await probe.getByText("disabled").waitFor();
    await page.locator("#plugin-notice").getByText("probe is disabled.").waitFor();
    await probe.getByRole("button", { name: "Remove" }).click();
    await probe.getByRole("button", { name: "Confirm remove" }).click();
    await page.locator("#plugin-notice").getByText("Removed probe.").waitFor();
    // The notice shows before the list is read again; wait for the row to go.
    await table.locator("tr[data-plugin=probe]").waitFor({ state: "detached" });
    assert.equal(await table.locator("tr[data-plugin=probe]").count(), 0);

    // A file that is not a component is refused with the reason.
    await page.locator("#plugin-file").setInputFiles({ name: "junk.wasm", mimeType: "application/wasm", buffer: Buffer.from("not wasm") });
    await page.locator("#plugin-upload").click();
    await page.locator(".error#plugin-notice").waitFor();
    await page.close();
  } finally {
    server.stop();
  }
});

test("entity page warns of processing errors and orphans while showing the last good version", async () => {
  const component = (extra) => `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: fragile
  description: Still served.
spec:
  type: service
  lifecycle: production
${extra}`;
  const file = catalogFile(component("  owner: payments\n"));
  const server = await startServer({ plugins: pluginsFolder([]), catalogs: [file], args: ["--orphan-strategy", "keep"] });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.baseUrl}/catalog/default/component/fragile`);
    await page.locator("#about").getByText("Still served.").waitFor();
    assert.equal(await page.locator("#processing-errors").count(), 0);

    // The owner goes missing: the document fails validation, the last good version stays.
    writeFileSync(file, component(""));
    await reloadUntil(page, "#processing-errors");
    await page.locator("#processing-errors").getByText("spec.owner").waitFor();
    await page.locator("#about").getByText("Still served.").waitFor();
    await page.screenshot({ path: join(artifactsDir, "processing-errors.png"), fullPage: true });

    // The document goes away: the entity is kept as an orphan, and says so.
    writeFileSync(file, "");
    await reloadUntil(page, "#orphan-warning");
    await page.close();
  } finally {
    server.stop();
  }
});

test("docs reader: list, nav, pages by relative links, anchors, images, tabs, diagrams, no script", async () => {
  const file = catalogFile(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: docs-demo
  title: Docs Demo
  annotations:
    backstage.io/techdocs-ref: dir:.
spec:
  type: service
  lifecycle: production
  owner: payments
`);
  const site = dirname(file);
  const write = (path, text) => {
    mkdirSync(dirname(join(site, path)), { recursive: true });
    writeFileSync(join(site, path), text);
  };
  write("mkdocs.yml", "site_name: Demo docs\nnav:\n  - Home: index.md\n  - Guides:\n      - Setting up: guides/setup.md\n");
  write("docs/index.md", [
    "# Welcome", "",
    "Read [the setup](guides/setup.md#install).", "",
    "![logo](img/logo.png)", "",
    "<script>window.__pwned = 1</script>", "",
    "<img src=\"x\" onerror=\"window.__pwned = 2\">", "",
    "=== \"Rust\"", "    Rust text", "",
    "=== \"Python\"", "    Python text", "",
    "```rust", "fn main() { let answer = 42; }", "```", "",
  ].join("\n"));
  write("docs/guides/setup.md", "# Setting up\n\nIntro.\n\n## Install\n\nSteps.\n\n```mermaid\ngraph TD; Plan-->Ship\n```\n");
  // A 1×1 PNG.
  mkdirSync(join(site, "docs/img"), { recursive: true });
  writeFileSync(join(site, "docs/img/logo.png"), Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64"));
  const server = await startServer({ catalogs: [file] });
  try {
    const page = await browser.newPage();
    // The portal's Content Security Policy blocks nothing the reader needs (Mermaid included).
    const violations = [];
    page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
    await page.goto(`${server.baseUrl}/docs`);
    await page.locator("#docs-table").getByRole("link", { name: "Docs Demo" }).click();
    await page.waitForURL("**/docs/default/component/docs-demo/");
    const article = page.locator("#docs-page");
    await article.getByRole("heading", { name: "Welcome" }).waitFor();
    await page.locator("#docs-build").getByText("built").waitFor();
    // Sanitized: nothing ran, no script element, no handler.
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    assert.equal(await article.locator("script").count(), 0);
    assert.equal(await article.locator("[onerror]").count(), 0);
    // The image is served from the site.
    const logo = article.locator("img[alt=logo]");
    await logo.waitFor();
    await page.waitForFunction(() => document.querySelector("img[alt=logo]")?.naturalWidth === 1);
    // Code is coloured (as text, never HTML) and has a copy button.
    await article.locator("pre code.language-rust span.tok-number").getByText("42").waitFor();
    await article.locator("pre button.copy").first().waitFor();
    // Tabs switch without script.
    await article.getByText("Rust text").waitFor({ state: "visible" });
    assert.equal(await article.getByText("Python text").isVisible(), false);
    await article.locator(".tabbed-labels label").filter({ hasText: "Python" }).click();
    await article.getByText("Python text").waitFor({ state: "visible" });
    assert.equal(await article.getByText("Rust text").isVisible(), false);
    await page.screenshot({ path: join(artifactsDir, "docs-reader.png"), fullPage: true });
    // A relative link leads to the other page, anchor kept; the nav marks it.
    await article.getByRole("link", { name: "the setup" }).click();
    await page.waitForURL("**/docs/default/component/docs-demo/guides/setup/#install");
    await article.getByRole("heading", { name: "Setting up" }).waitFor();
    assert.equal(await article.locator("h2#install").count(), 1);
    await page.locator("#docs-nav a.active").getByText("Setting up").waitFor();
    await page.locator("#docs-toc").getByRole("link", { name: "Install" }).waitFor();
    // The diagram is drawn (Mermaid, loaded for this page).
    await article.locator("pre.mermaid svg").getByText("Ship").waitFor();
    // Back by the pager.
    await page.locator("#docs-pager").getByRole("link", { name: "← Home" }).click();
    await article.getByRole("heading", { name: "Welcome" }).waitFor();
    // Search within the site leads to the section.
    await page.locator("#docs-search").fill("steps");
    await page.locator("#docs-search").press("Enter");
    await page.locator("#docs-search-results").getByRole("link", { name: "Setting up › Install" }).click();
    await page.waitForURL("**/docs/default/component/docs-demo/guides/setup/#install");
    await article.getByRole("heading", { name: "Setting up" }).waitFor();
    // The entity page's Docs tab holds the same reader, its links staying in the tab.
    await page.goto(`${server.baseUrl}/catalog/default/component/docs-demo`);
    await page.locator("#docs-tab").click();
    await page.waitForURL("**/catalog/default/component/docs-demo/docs/");
    await article.getByRole("heading", { name: "Welcome" }).waitFor();
    await page.locator("h1").getByText("Docs Demo").waitFor();
    await article.getByRole("link", { name: "the setup" }).click();
    await page.waitForURL("**/catalog/default/component/docs-demo/docs/guides/setup/#install");
    await article.getByRole("heading", { name: "Setting up" }).waitFor();
    await page.locator("#docs-nav a.active").getByText("Setting up").waitFor();
    // Its search (the portal's index, narrowed to this entity's docs) stays in the tab too,
    // the matched word marked.
    await page.locator("#docs-search").fill("steps");
    await page.locator("#docs-search").press("Enter");
    const results = page.locator("#docs-search-results");
    await results.getByRole("link", { name: "Setting up › Install" }).waitFor();
    assert.equal(
      await results.getByRole("link", { name: "Setting up › Install" }).getAttribute("href"),
      "/catalog/default/component/docs-demo/docs/guides/setup/#install",
    );
    assert.equal((await results.locator("mark").first().textContent()).toLowerCase(), "steps");
    assert.deepEqual(violations, [], "no CSP violations");
    await page.close();
  } finally {
    server.stop();
  }
});

/** Reloads the page until `selector` shows (the catalog applies file changes within a
 * second); fails after 10 s. */
async function reloadUntil(page, selector) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await page.reload();
    await page.locator("#about").waitFor();
    if (await page.locator(selector).count() > 0) return;
    if (Date.now() > deadline) throw new Error(`${selector} never appeared`);
  }
}
