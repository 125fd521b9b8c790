// Starts the real greenroom server and a real headless Chromium for the browser tests.
// Built artefacts come from GREENROOM_BIN / GREENROOM_PLUGINS / GREENROOM_UI (set by
// `cargo xtask test`), or their default places after `cargo xtask build`.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { copyFileSync, mkdtempSync, mkdirSync, existsSync, openSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const root = resolve(import.meta.dirname, "../..");
export const artifactsDir = join(root, "tests/artifacts");
const START_DEADLINE_MS = 60_000;

function artefact(variable, fallback) {
  const path = process.env[variable] ?? join(root, fallback);
  if (!existsSync(path)) {
    throw new Error(`${path} is missing: run \`cargo xtask test\` (or \`cargo xtask build\` first)`);
  }
  return path;
}

/** A port nothing listens on now. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

/** Runs `greenroom serve` on the fixture catalog (plus `catalogs`) with the plugins folder
 * `plugins` (only the plugins a test needs: none by default); resolves once it answers HTTP. */
export async function startServer({
  plugins = pluginsFolder([]),
  catalogs = [],
  args = [],
} = {}) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "greenroom-browser-"));
  const log = join(dir, "server.log");
  const child = spawn(artefact("GREENROOM_BIN", "target/release/greenroom"), [
    "serve", "--listen", `127.0.0.1:${port}`, "--data", join(dir, "data"),
    "--catalog", join(root, "tests/fixtures/catalog"), "--plugins", plugins,
    "--ui", artefact("GREENROOM_UI", "frontend/dist"),
    ...catalogs.flatMap((c) => ["--catalog", c]),
    // One compiled-plugin cache for every server, as in the Rust end-to-end harness
    // (`cargo xtask test` compiles every plugin into it before the tests).
    "--plugin-cache", process.env.GREENROOM_PLUGIN_CACHE ?? join(root, "target/tmp/plugin-cache"),
    ...args,
  ], { stdio: ["ignore", "ignore", openSync(log, "w")], env: { ...process.env, NO_COLOR: "1" } });
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`greenroom exited early; see ${log}`);
    try {
      // Listening: answered (401 when sign-in is configured).
      const status = (await fetch(`${baseUrl}/api/plugins`)).status;
      if (status === 200 || status === 401) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      // A server left running would keep this test file from ever ending.
      child.kill();
      throw new Error(`greenroom did not serve within ${START_DEADLINE_MS} ms; see ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { baseUrl, dir, stop: () => child.kill() };
}

/** Debian's Chromium, headless, with the flags this machine's closed network needs. */
export async function launchBrowser() {
  mkdirSync(artifactsDir, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** A plugins folder holding copies of the named built plugins (first-party or test). */
export function pluginsFolder(names) {
  const dir = mkdtempSync(join(tmpdir(), "greenroom-plugins-"));
  for (const name of names) {
    const built = [artefact("GREENROOM_PLUGINS", "target/plugins"), artefact("GREENROOM_TEST_PLUGINS", "target/test-plugins")]
      .map((folder) => join(folder, `${name}.wasm`))
      .find((file) => existsSync(file));
    if (!built) throw new Error(`plugin ${name} is not built`);
    copyFileSync(built, join(dir, `${name}.wasm`));
  }
  return dir;
}

/** A built plugin's path, for uploading. */
export function builtPlugin(name) {
  return join(artefact("GREENROOM_TEST_PLUGINS", "target/test-plugins"), `${name}.wasm`);
}

/** A catalog file holding `yaml`. */
export function catalogFile(yaml) {
  const file = join(mkdtempSync(join(tmpdir(), "greenroom-catalog-")), "catalog-info.yaml");
  writeFileSync(file, yaml);
  return file;
}

/** A catalog file of `count` generated components (alternating types and owners). */
export function generatedCatalog(count) {
  const docs = [];
  for (let i = 0; i < count; i++) {
    const n = String(i).padStart(3, "0");
    docs.push(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: gen-${n}
  description: Generated component ${n}
  tags: [generated]
spec:
  type: ${i % 3 === 0 ? "library" : "service"}
  lifecycle: ${i % 2 === 0 ? "production" : "experimental"}
  owner: ${i % 4 === 0 ? "platform" : "payments"}
`);
  }
  return catalogFile(docs.join("---\n"));
}
