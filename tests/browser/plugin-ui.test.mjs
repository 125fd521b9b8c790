// Plugin UI of contract 0.2.0 in a real browser against the real server: the `widgets` test
// plugin's card on an entity's overview, its tab and its sidebar page, whose buttons (one
// asking to confirm first) and form call the plugin back and re-render in place; what it
// feeds search, under its own type tab; and its storage shown and cleared on the plugins
// page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { startServer, launchBrowser, artifactsDir, pluginsFolder } from "./harness.mjs";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

/** The value shown for `key` in a plugin tree's key-values. */
async function fact(tree, key) {
  return (await tree.locator("dt", { hasText: key }).locator("xpath=following-sibling::dd[1]").textContent()).trim();
}

test("a plugin's card, tab and page call it back from buttons and a form and re-render in place", async () => {
  const server = await startServer({ plugins: pluginsFolder(["widgets", "ownership"]) });
  try {
    const page = await browser.newPage();
    await page.goto(`${server.baseUrl}/catalog/default/component/checkout`);
    const card = page.locator(".plugin-card[data-card=counter]");
    await card.getByRole("heading", { name: "Counter" }).waitFor();
    assert.match(await card.getAttribute("class"), /\bsmall\b/);
    await card.locator("dt", { hasText: "Count" }).waitFor();
    assert.equal(await fact(card, "Count"), "0");

    // A button: the plugin's answer replaces the card's tree and shows its notice.
    await card.getByRole("button", { name: "Add one" }).click();
    await card.locator(".notice.success").getByText("counted 1").waitFor();
    assert.equal(await fact(card, "Count"), "1");

    // A button that asks first: declining sends nothing, accepting resets.
    page.once("dialog", (dialog) => dialog.dismiss());
    await card.getByRole("button", { name: "Reset" }).click();
    assert.equal(await fact(card, "Count"), "1");
    page.once("dialog", (dialog) => {
      assert.equal(dialog.message(), "Reset the counter?");
      dialog.accept();
    });
    await card.getByRole("button", { name: "Reset" }).click();
    await card.locator(".notice.warning").getByText("reset").waitFor();
    assert.equal(await fact(card, "Count"), "0");

    // A form: every kind of field reaches the plugin with its type.
    const form = card.locator("form.plugin-form");
    await form.locator("input[name=count]").fill("4");
    await form.locator("select[name=step]").selectOption({ label: "ten" });
    await form.locator("input[name=double]").check();
    await form.locator("input[name=note]").fill("<b>not markup</b>");
    await form.getByRole("button", { name: "Set" }).click();
    await card.locator(".notice.info").getByText("set to 80").waitFor();
    assert.equal(await fact(card, "Count"), "80");
    assert.equal(await fact(card, "Note"), "<b>not markup</b>");
    assert.equal(await card.locator("b").count(), 0, "values come back as text");
    await page.screenshot({ path: join(artifactsDir, "plugin-card.png"), fullPage: true });

    // The same counter as a tab.
    await page.locator(".tabs").getByRole("link", { name: "Counter" }).click();
    const tab = page.locator(".plugin-tab[data-plugin=widgets]");
    await tab.locator("dt", { hasText: "Count" }).waitFor();
    assert.equal(await fact(tab, "Count"), "80");
    await tab.getByRole("button", { name: "Add one" }).click();
    await tab.locator(".notice").getByText("counted 81").waitFor();

    // The plugin's page, from its sidebar entry.
    await page.locator("nav.plugin-pages").getByRole("link", { name: "Counters" }).click();
    await page.waitForURL("**/p/widgets/board");
    const board = page.locator(".plugin-page[data-plugin=widgets]");
    await board.locator("td", { hasText: "component:default/checkout" }).waitFor();
    await board.locator("td", { hasText: "81" }).waitFor();
    await board.getByRole("button", { name: "Ping" }).click();
    await board.locator(".notice.info").getByText("pong for").waitFor();
    assert.equal(await board.locator("td", { hasText: "81" }).count(), 1, "a notice alone keeps the tree");
    await page.screenshot({ path: join(artifactsDir, "plugin-page.png"), fullPage: true });

    // A failing action shows the plugin's message and leaves the tree as it was.
    await page.goto(`${server.baseUrl}/catalog/default/component/checkout`);
    await card.locator("input[name=count]").fill("-3");
    await card.getByRole("button", { name: "Set", exact: true }).click();
    await card.locator(".notice.danger").getByText("count must be a number").waitFor();
    assert.equal(await fact(card, "Count"), "81");

    // What it feeds search shows there, under its own type tab: the note (markup as text)
    // and the board, each linking into the portal.
    await page.goto(`${server.baseUrl}/search?query=${encodeURIComponent("not markup")}`);
    const note = page.locator('#search-results li.search-result[data-type="widget-note"]');
    await note.locator("a.result-title", { hasText: "Note on component:default/checkout" }).waitFor();
    assert.equal(await note.locator(".result-text b").count(), 0, "a plugin's text is never markup");
    assert.match(await note.locator(".result-text").innerText(), /<b>not markup<\/b>/);
    await page.goto(`${server.baseUrl}/search?query=counters`);
    const boards = page.locator('#search-types [data-type="widget-board"]');
    await boards.getByText("Widget boards").waitFor();
    await boards.click();
    await page.waitForURL(/type=widget-board/);
    const boardResult = page.locator('#search-results li.search-result[data-type="widget-board"] a.result-title', { hasText: "Counters board" });
    await boardResult.waitFor();
    assert.equal(await boardResult.getAttribute("href"), "/p/widgets/board");

    // The plugins page shows what the plugin stored, and clears it.
    await page.goto(`${server.baseUrl}/plugins`);
    const row = page.locator("#plugins-table tr[data-plugin=widgets]");
    await row.locator(".contract").getByText("greenroom:plugin@0.2.0").waitFor();
    // The counter and its note, and the note's change for the plugin's search collection.
    await row.locator(".storage").getByText(/storage 4 keys/).waitFor();
    await row.getByRole("button", { name: "Clear storage" }).click();
    await page.locator("#plugin-notice").getByText("Cleared the storage of widgets.").waitFor();
    await row.locator(".storage").getByText(/storage 0 keys, 0 of 1048576 bytes/).waitFor();
    await page.close();
  } finally {
    server.stop();
  }
});
