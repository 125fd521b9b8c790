// Sign-in through a real OpenID Connect issuer (npm `oidc-provider`, configured here, on
// loopback) and through GitHub's OAuth flow (a small stand-in for github.com on loopback),
// in real Chromium: the authorization code flow with PKCE, the session cookie and the
// provider's sign-in session that renews it, and the refusals — a replayed answer, a
// state that matches nothing, an attempt from another browser, a person the catalog
// does not know, a provider that says no.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { join } from "node:path";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import Provider from "oidc-provider";
import { startServer, launchBrowser, artifactsDir } from "./harness.mjs";

const CLIENT_SECRET = "oidc-client-secret-for-tests";
let browser;

before(async () => {
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
});

function configFile(yaml) {
  const file = join(mkdtempSync(join(tmpdir(), "greenroom-oidc-")), "greenroom.yaml");
  writeFileSync(file, yaml);
  return file;
}

/** A browser context that never waits on the internet (the issuer's page imports a font). */
async function offlineContext() {
  const context = await browser.newContext();
  await context.route(/^https:\/\//, (route) => route.abort());
  return context;
}

/** A loopback server for an OpenID Connect issuer, listening from the start on a port the
 * system picked (so nothing can take it in between); it answers 503 until `serveIssuer`. */
async function issuerServer() {
  const server = createServer((_req, res) => {
    res.statusCode = 503;
    res.end();
  });
  await new Promise((resolve) => server.listen(0, resolve));
  return { server, port: server.address().port };
}

/** Makes `idp` an issuer that knows one client, Greenroom at `portal`, and signs in whoever
 * types a login name, with `<login>@example.com` as verified email. */
function serveIssuer(idp, portal) {
  const issuer = new Provider(`http://localhost:${idp.port}`, {
    clients: [{
      client_id: "greenroom",
      client_secret: CLIENT_SECRET,
      redirect_uris: [`${portal}/api/auth/oidc/handler/frame`],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    }],
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: `${id}@example.com`, email_verified: true, preferred_username: id };
        },
      };
    },
    claims: { email: ["email", "email_verified"], profile: ["preferred_username"] },
    pkce: { required: () => true },
    cookies: { keys: ["a-cookie-signing-key-for-tests"] },
  });
  idp.server.removeAllListeners("request");
  idp.server.on("request", issuer.callback());
}

/** Signs in at the issuer's own pages as `login` (the login form, then the consent). */
async function signInAtIssuer(page, login) {
  await page.locator('input[name="login"]').fill(login);
  // The development login page asks for a password and takes any.
  await page.locator('input[name="password"]').fill("any");
  await page.locator('button[type="submit"]').click();
  await page.getByRole("button", { name: "Continue" }).click();
}

test("a catalog user signs in through an OIDC issuer; the session renews; replays and strangers are refused", async () => {
  const idp = await issuerServer();
  const issuerPort = idp.port;
  const config = configFile(`auth:
  providers:
    oidc:
      development:
        metadataUrl: http://localhost:${issuerPort}/.well-known/openid-configuration
        clientId: greenroom
        clientSecret: \${GREENROOM_TEST_OIDC_SECRET}
        # The issuer asks every time, so the second sign-in below is someone else's.
        prompt: login
        signIn:
          resolvers:
            - resolver: emailMatchingUserEntityProfileEmail
            - resolver: emailLocalPartMatchingUserEntityName
`);
  process.env.GREENROOM_TEST_OIDC_SECRET = CLIENT_SECRET;
  const server = await startServer({ args: ["--config", config] });
  serveIssuer(idp, server.baseUrl);
  const context = await offlineContext();
  try {
    const page = await context.newPage();
    const answers = [];
    page.on("request", (r) => {
      if (r.url().includes("/api/auth/oidc/handler/frame")) answers.push(r.url());
    });
    await page.goto(`${server.baseUrl}/catalog?kind=component`);
    await page.locator("#sign-in-oidc").getByText("Sign in with OpenID Connect").click();
    await page.waitForURL(new RegExp(`^http://localhost:${issuerPort}/interaction/`));
    await signInAtIssuer(page, "ada");
    // Back where the sign-in started, as the catalog's ada (through the second resolver).
    await page.waitForURL(`${server.baseUrl}/catalog?kind=component`);
    await page.locator("#user-ref").getByText("user:default/ada").waitFor();
    await page.locator("#catalog-table tbody tr").first().waitFor();
    await page.screenshot({ path: join(artifactsDir, "oidc-signed-in.png"), fullPage: true });
    // Every cookie of the portal's host, whatever its path.
    const cookies = (await context.cookies()).filter((c) => c.domain === "127.0.0.1");
    const session = cookies.find((c) => c.name === "greenroom_session");
    const refresh = cookies.find((c) => c.name === "greenroom_refresh");
    assert.ok(session?.httpOnly && session.sameSite === "Lax", JSON.stringify(cookies));
    assert.ok(refresh?.httpOnly && refresh.path === "/api/auth", JSON.stringify(cookies));
    assert.equal(cookies.some((c) => c.name === "greenroom_sign_in"), false, "the attempt's cookie is gone");
    // The token is Backstage's user token for ada.
    const claims = JSON.parse(Buffer.from(session.value.split(".")[1], "base64url"));
    assert.equal(claims.sub, "user:default/ada");
    assert.equal(claims.aud, "backstage");
    assert.ok(claims.ent.includes("group:default/payments"), JSON.stringify(claims));

    // The provider's answer works once: replayed, it is refused with a page saying why.
    assert.equal(answers.length, 1);
    const replay = await page.goto(answers[0]);
    assert.equal(replay.status(), 401);
    await page.locator("#sign-in-error").getByText("already finished").waitFor();

    // The hour-long token gone, the sign-in session renews it without the issuer.
    await context.clearCookies({ name: "greenroom_session" });
    await page.goto(`${server.baseUrl}/profile`);
    await page.locator("#profile-user").getByText("user:default/ada").waitFor();
    assert.ok((await context.cookies(server.baseUrl)).some((c) => c.name === "greenroom_session"));

    // Signing out ends the sign-in session on the server: its cookie renews nothing more.
    await page.locator("#sign-out").click();
    await page.locator("#sign-in").waitFor();
    const renewed = await fetch(`${server.baseUrl}/api/auth/oidc/refresh`, {
      headers: { cookie: `greenroom_refresh=${refresh.value}` },
    });
    assert.equal(renewed.status, 401);

    // Someone the issuer knows but the catalog does not: a clear page, no session.
    await page.locator("#sign-in-oidc").click();
    await page.waitForURL(new RegExp(`^http://localhost:${issuerPort}/interaction/`));
    await signInAtIssuer(page, "mallory");
    await page.locator("#sign-in-error").getByText("no catalog User").waitFor();
    assert.equal((await context.cookies(server.baseUrl)).some((c) => c.name === "greenroom_session"), false);
  } finally {
    await context.close();
    idp.server.close();
    server.stop();
  }
});

test("sign-in answers that match no attempt of this browser are refused, never a 500", async () => {
  const idp = await issuerServer();
  const issuerPort = idp.port;
  const config = configFile(`auth:
  providers:
    oidc:
      metadataUrl: http://localhost:${issuerPort}
      clientId: greenroom
      clientSecret: ${CLIENT_SECRET}
`);
  const server = await startServer({ args: ["--config", config] });
  // The issuer is not up yet: signing in says so (and the portal itself started fine).
  const down = await fetch(`${server.baseUrl}/api/auth/oidc/start`);
  assert.equal(down.status, 503);
  assert.match(await down.text(), /cannot read the OIDC issuer/);
  serveIssuer(idp, server.baseUrl);
  try {
    const frame = `${server.baseUrl}/api/auth/oidc/handler/frame`;
    const unknown = await fetch(`${frame}?code=made-up&state=made-up`);
    assert.equal(unknown.status, 401);
    assert.match(await unknown.text(), /state does not match/);
    const refused = await fetch(`${frame}?error=access_denied&error_description=the+user+said+no`);
    assert.equal(refused.status, 401);
    assert.match(await refused.text(), /access_denied the user said no/);
    const escaped = await fetch(`${frame}?error=%3Cscript%3Ealert(1)%3C/script%3E`);
    assert.doesNotMatch(await escaped.text(), /<script>/);

    // An attempt started in one browser, answered in another (login CSRF): refused.
    const start = await fetch(`${server.baseUrl}/api/auth/oidc/start?redirect=//evil.example`, { redirect: "manual" });
    assert.equal(start.status, 302);
    const authorize = new URL(start.headers.get("location"));
    assert.equal(authorize.origin, `http://localhost:${issuerPort}`);
    assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
    assert.ok(authorize.searchParams.get("nonce"));
    assert.match(start.headers.get("set-cookie"), /greenroom_sign_in=[^;]+; Path=\/api\/auth; HttpOnly; SameSite=Lax/);
    const state = authorize.searchParams.get("state");
    const elsewhere = await fetch(`${frame}?code=x&state=${encodeURIComponent(state)}`, {
      headers: { cookie: "greenroom_sign_in=another-browsers-value" },
    });
    assert.equal(elsewhere.status, 401);
    assert.match(await elsewhere.text(), /another browser/);

    // A provider that is not configured is a clear 404.
    assert.equal((await fetch(`${server.baseUrl}/api/auth/github/start`, { redirect: "manual" })).status, 404);
  } finally {
    idp.server.close();
    server.stop();
  }
});

/** A stand-in for github.com's OAuth app flow and REST API on loopback, on a port the system
 * picks. It approves every authorization at once, and checks the client secret and the PKCE
 * verifier. */
async function startGithub() {
  const seen = { challenges: new Map(), exchanges: [] };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    const json = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/login/oauth/authorize") {
      const code = `code-${seen.challenges.size + 1}`;
      seen.challenges.set(code, url.searchParams.get("code_challenge"));
      const back = new URL(url.searchParams.get("redirect_uri"));
      back.searchParams.set("code", code);
      back.searchParams.set("state", url.searchParams.get("state"));
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === "/login/oauth/access_token" && req.method === "POST") {
      let body = "";
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      seen.exchanges.push(Object.fromEntries(form));
      const challenge = seen.challenges.get(form.get("code"));
      const verified = challenge
        && createHash("sha256").update(form.get("code_verifier") ?? "").digest("base64url") === challenge;
      if (form.get("client_secret") !== "gh-secret" || !verified) {
        return json(200, { error: "bad_verification_code" });
      }
      seen.challenges.delete(form.get("code"));
      return json(200, { access_token: "gho_test", token_type: "bearer", scope: "read:user,user:email" });
    }
    if (req.headers.authorization !== "Bearer gho_test") return json(401, { message: "Bad credentials" });
    if (url.pathname === "/api/v3/user") return json(200, { login: "ada", email: null });
    if (url.pathname === "/api/v3/user/emails") {
      return json(200, [{ email: "ada@old.example", primary: false, verified: true },
        { email: "ada@example.com", primary: true, verified: true }]);
    }
    json(404, { message: "Not Found" });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, seen, port: server.address().port };
}

test("a GitHub user signs in through the OAuth app flow with PKCE", async () => {
  const github = await startGithub();
  const port = github.port;
  const config = configFile(`auth:
  providers:
    github:
      clientId: gh-client
      clientSecret: gh-secret
      enterpriseInstanceUrl: http://127.0.0.1:${port}
`);
  const server = await startServer({ args: ["--config", config] });
  const context = await offlineContext();
  try {
    const page = await context.newPage();
    await page.goto(`${server.baseUrl}/profile`);
    await page.locator("#sign-in-github").getByText("Sign in with GitHub").click();
    await page.locator("#profile-user").getByText("user:default/ada").waitFor();
    assert.equal(page.url(), `${server.baseUrl}/profile`);
    await page.locator("#profile-ownership").getByText("group:default/payments").waitFor();
    assert.equal(github.seen.exchanges.length, 1);
    assert.equal(github.seen.exchanges[0].client_id, "gh-client");
  } finally {
    await context.close();
    github.server.close();
    server.stop();
  }
});
