// Search in a real browser against the real server: the header's box opens the search page
// (highlighted, typo-tolerant results, type and kind filters, paging by cursor, all in the
// URL); the command palette opens with Ctrl+K or `/`, is driven by the keyboard and leads to
// results or the search page; markup in a search term stays text.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, launchBrowser, artifactsDir, generatedCatalog } from "./harness.mjs";

const HOSTILE = "<img src=x onerror=alert(1)>";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

test("the header's search opens the search page: highlighted, typo-tolerant, filtered in the URL", async () => {
  const server = await startServer();
  try {
    const page = await browser.newPage();
    await page.goto(server.baseUrl);
    await page.locator("#global-search").fill("checkout");
    await page.locator("#global-search").press("Enter");
    await page.waitForURL(/\/search\?query=checkout$/);
    assert.equal(await page.locator("#search-input").inputValue(), "checkout");
    const results = page.locator("#search-results");
    const checkout = results.locator("li.search-result", { has: page.locator("a.result-title", { hasText: "Checkout" }) }).first();
    await checkout.waitFor();
    assert.equal(await checkout.getAttribute("data-type"), "software-catalog");
    const title = checkout.locator("a.result-title");
    assert.equal(await title.getAttribute("href"), "/catalog/default/component/checkout");
    assert.ok(await title.locator("mark").count() > 0, "the match is marked in the title");
    assert.match(await title.locator("mark").first().innerText(), /checkout/i);
    await checkout.locator("p.result-text").getByText("Takes payment for a basket.").waitFor();
    await checkout.locator(".result-meta").getByText("production").waitFor();
    await page.locator("#search-total").getByText(/^\d+ results?$/).waitFor();
    // The counts per type and per kind come from the facets endpoint.
    await page.locator('#search-types [data-type="software-catalog"] .count').waitFor();
    // The type tabs and badges carry the titles of the server's registry of document types.
    assert.match(await page.locator('#search-types [data-type="techdocs"]').innerText(), /^Documentation/);
    assert.equal(await checkout.locator(".badge").innerText(), "Software Catalog");
    await page.locator("#search-kind option[value=component]").waitFor({ state: "attached" });
    await page.screenshot({ path: join(artifactsDir, "search.png"), fullPage: true });

    // The result leads to the entity, client-side.
    await title.click();
    await page.waitForURL("**/catalog/default/component/checkout");
    await page.locator("h1").getByText("Checkout Service").waitFor();

    // A typo still finds it.
    await page.goto(`${server.baseUrl}/search?query=chekout`);
    await page.locator("#search-results li.search-result a.result-title", { hasText: "Checkout" }).first().waitFor();

    // Typing in the page's box updates the URL once the typing pauses.
    await page.locator("#search-input").fill("ledger");
    await page.waitForURL(/\/search\?query=ledger$/);
    await page.locator("#search-results a.result-title", { hasText: "ledger" }).first().waitFor();

    // The type tab and the kind filter are kept in the URL and sent to the server.
    await page.locator('#search-types [data-type="software-catalog"]').click();
    await page.waitForURL(/type=software-catalog/);
    await page.locator('#search-types [data-type="software-catalog"].active').waitFor();
    await page.locator("#search-kind option[value=component]").waitFor({ state: "attached" });
    await page.locator("#search-kind").selectOption("component");
    await page.waitForURL(/kind=component/);
    assert.match(page.url(), /query=ledger/);
    await page.locator("#search-results a.result-title", { hasText: "ledger" }).first().waitFor();
    const types = await page.locator("#search-results li.search-result").evaluateAll(
      (items) => items.map((item) => item.dataset.type));
    assert.ok(types.every((type) => type === "software-catalog"), types.join(", "));

    // Nothing found says so.
    await page.goto(`${server.baseUrl}/search?query=zzzqqqxxx`);
    await page.locator("#search-empty").getByText("No results for “zzzqqqxxx”").waitFor();

    // The server's refusal shows in an error box.
    await page.goto(`${server.baseUrl}/search?query=${"x".repeat(101)}`);
    await page.locator("#search-error.error").waitFor();
    await page.close();
  } finally {
    server.stop();
  }
});

test("the search page pages through results by cursor", async () => {
  const server = await startServer({ catalogs: [generatedCatalog(60)] });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.baseUrl}/search?query=generated`);
    const items = page.locator("#search-results li.search-result");
    await page.locator("#search-total").getByText(/^\d+ results$/).waitFor();
    const total = Number((await page.locator("#search-total").innerText()).split(" ")[0]);
    assert.ok(total >= 60, `${total} results`);
    await items.nth(24).waitFor();
    assert.equal(await items.count(), 25);
    assert.ok(await page.locator("#search-prev").isDisabled());
    const first = await items.locator("a.result-title").allInnerTexts();
    await page.locator("#search-next").click();
    await page.waitForURL(/cursor=/);
    await page.locator("#search-prev:not([disabled])").waitFor();
    await page.waitForFunction(
      (before) => document.querySelector("#search-results a.result-title")?.innerText !== before, first[0]);
    const second = await items.locator("a.result-title").allInnerTexts();
    assert.ok(!second.some((title) => first.includes(title)), "the second page holds other results");
    await page.goBack();
    await page.waitForURL(/\/search\?query=generated$/);
    await page.close();
  } finally {
    server.stop();
  }
});

test("the command palette: Ctrl+K and / open it, arrows and Enter open a result, Escape closes", async () => {
  const server = await startServer();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.baseUrl}/catalog`);
    await page.locator("#global-search").waitFor();
    assert.equal(await page.locator("#global-search").getAttribute("placeholder"), "Search (Ctrl+K)");

    await page.keyboard.press("Control+k");
    const palette = page.locator("#palette");
    await palette.waitFor();
    const input = page.locator("#palette-input");
    await page.waitForFunction(() => document.activeElement?.id === "palette-input");
    await input.pressSequentially("ledg");
    const ledger = palette.locator("li.palette-result", { hasText: "ledger" });
    await ledger.waitFor();
    assert.ok(await palette.locator("li.palette-result").count() <= 8);
    await input.press("ArrowDown");
    await palette.locator('li.palette-result.selected[aria-selected="true"]', { hasText: "ledger" }).waitFor();
    await input.press("Enter");
    await page.waitForURL("**/catalog/default/component/ledger");
    await palette.waitFor({ state: "detached" });

    // `/` opens it from the page (and is not typed into it), but not while typing elsewhere.
    await page.goto(server.baseUrl);
    await page.locator("#global-search").waitFor();
    await page.keyboard.press("/");
    await palette.waitFor();
    await page.waitForFunction(() => document.activeElement?.id === "palette-input");
    assert.equal(await input.inputValue(), "");
    await page.keyboard.press("Escape");
    await palette.waitFor({ state: "detached" });
    await page.locator("#global-search").click();
    await page.keyboard.type("a/b");
    assert.equal(await page.locator("#global-search").inputValue(), "a/b");
    assert.equal(await palette.count(), 0);

    // A click beside the box closes it.
    await page.locator("#global-search").fill("");
    await page.locator("h1").click();
    await page.keyboard.press("/");
    await palette.waitFor();
    await page.locator("#palette-backdrop").click({ position: { x: 5, y: 5 } });
    await palette.waitFor({ state: "detached" });

    // Its last item opens the search page for the text.
    await page.keyboard.press("Control+k");
    await input.fill("checkout");
    await palette.locator("li.palette-result", { hasText: "Checkout" }).first().waitFor();
    await page.locator("#palette-all").getByText("See all results for “checkout”").click();
    await page.waitForURL(/\/search\?query=checkout$/);
    await page.locator("#search-results li.search-result").first().waitFor();
    await palette.waitFor({ state: "detached" });
    await page.close();
  } finally {
    server.stop();
  }
});

test("markup in a search term is shown as text, on the page and in the palette", async () => {
  const server = await startServer();
  try {
    const page = await browser.newPage();
    const dialogs = [];
    page.on("dialog", (dialog) => { dialogs.push(dialog.message()); dialog.dismiss(); });
    await page.goto(`${server.baseUrl}/search?query=${encodeURIComponent(HOSTILE)}`);
    await page.locator("#search-total").waitFor();
    assert.equal(await page.locator("#search-input").inputValue(), HOSTILE);
    if (await page.locator("#search-results li.search-result").count() === 0) {
      await page.locator("#search-empty").getByText(HOSTILE).waitFor();
    }
    assert.equal(await page.locator("#search-results img").count(), 0);
    assert.equal(await page.locator("#search-page img").count(), 0);

    await page.locator("h1").click();
    await page.keyboard.press("Control+k");
    const palette = page.locator("#palette");
    await page.locator("#palette-input").fill(HOSTILE);
    await palette.locator(".palette-empty, li.palette-result").first().waitFor();
    await page.locator("#palette-all").getByText(`See all results for “${HOSTILE}”`).waitFor();
    assert.equal(await palette.locator("img").count(), 0);
    // Enter with nothing chosen opens the search page for the text.
    await page.locator("#palette-input").press("Enter");
    await page.waitForURL(/\/search\?query=/);
    assert.equal(await page.locator("#search-input").inputValue(), HOSTILE);
    await page.locator("#search-total").waitFor();
    assert.equal(await page.locator("#search-results img").count(), 0);
    assert.deepEqual(dialogs, [], "no script ran");
    await page.close();
  } finally {
    server.stop();
  }
});
