// Backstage's own catalog client (`@backstage/catalog-client`, from npm) against Greenroom
// with sign-in configured: with a static API token it reads the catalog; without one it is
// refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { CatalogClient } from "@backstage/catalog-client";
import { startServer } from "./harness.mjs";

const TOKEN = "client-token-2468";

test("@backstage/catalog-client reads the catalog with an API token", async () => {
  const config = join(mkdtempSync(join(tmpdir(), "greenroom-client-")), "greenroom.yaml");
  writeFileSync(
    config,
    `backend:\n  auth:\n    externalAccess:\n      - type: static\n        options: {token: ${TOKEN}, subject: backstage-client}\n        accessRestrictions: [{plugin: catalog}]\n`,
  );
  const server = await startServer({ args: ["--config", config] });
  try {
    const client = new CatalogClient({
      discoveryApi: { getBaseUrl: async (plugin) => `${server.baseUrl}/api/${plugin}` },
    });
    const { items } = await client.getEntities(
      { filter: { kind: "Component" }, fields: ["metadata.name"] },
      { token: TOKEN },
    );
    assert.deepEqual(items.map((e) => e.metadata.name).sort(), ["checkout", "ledger", "web"]);
    const ada = await client.getEntityByRef("user:default/ada", { token: TOKEN });
    assert.equal(ada?.metadata.name, "ada");
    await assert.rejects(client.getEntities({}, {}), /401|Unauthorized|AuthenticationError/);
  } finally {
    server.stop();
  }
});
