// Used by `cargo xtask bench ui`: how long the catalog page takes to show its first page of
// entities in headless Chromium, from navigation to the first table row visible. Each run
// uses a fresh browser context, so the app's wasm and JS are fetched and compiled anew.
// Usage: node bench/first-page.mjs BASE_URL RUNS; prints {"runs_ms": [...]} as JSON.
import { launchBrowser } from "../harness.mjs";

const [baseUrl, runs = "10"] = process.argv.slice(2);
const browser = await launchBrowser();
const times = [];
try {
  for (let i = 0; i < Number(runs); i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const started = performance.now();
    await page.goto(`${baseUrl}/catalog`);
    await page.locator("#catalog-table tbody tr").first().waitFor({ timeout: 30_000 });
    times.push(performance.now() - started);
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ runs_ms: times }));
