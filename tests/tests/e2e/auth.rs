//! Sign-in through the real server: with a provider or static tokens configured, every API
//! route outside `/api/auth` needs an identity; the guest's Backstage-style ES256 token,
//! checked against the published keys; static tokens held to their plugins; forged tokens
//! refused with 401, never a 500.

use base64::Engine;
use greenroom_e2e::{Server, plugins_folder, start_with_config};
use serde_json::{Value, json};

const CONFIG: &str = "auth:\n  providers:\n    guest: {}\nbackend:\n  auth:\n    externalAccess:\n      - type: static\n        options: {token: ci-token-12345, subject: ci-bot}\n        accessRestrictions: [{plugin: catalog}]\n";

fn with_token(server: &Server, method: &str, path: &str, token: &str, body: &[u8]) -> (u16, Value) {
    let bearer = format!("Bearer {token}");
    server.raw(
        method,
        path,
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
        ],
        body,
    )
}

#[test]
fn with_sign_in_configured_every_api_call_needs_an_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugins_folder(tmp.path(), &[]);
    let server = start_with_config(tmp.path(), &[], &plugins, CONFIG);

    // Anonymous: refused, reads and writes alike, in Backstage's error body.
    for (method, path) in [
        ("GET", "/api/catalog/entities"),
        ("GET", "/api/plugins"),
        ("POST", "/api/catalog/locations"),
        ("GET", "/api/scaffolder/v2/tasks"),
    ] {
        let (status, body) =
            server.raw(method, path, &[("content-type", "application/json")], b"{}");
        assert_eq!(status, 401, "{method} {path}: {body}");
        assert_eq!(body["error"]["name"], "AuthenticationError", "{body}");
    }
    // The web UI's files and the sign-in routes stay reachable.
    let (status, _, _) = server.get_bytes("/catalog");
    assert_ne!(status, 401);

    // The guest signs in and gets a Backstage user token.
    let session = server.get_ok("/api/auth/guest/refresh");
    let identity = &session["backstageIdentity"];
    assert_eq!(
        identity["identity"]["userEntityRef"],
        "user:development/guest"
    );
    let token = identity["token"].as_str().unwrap().to_string();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = token.split('.').collect();
    let head: Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(
        (head["alg"].as_str(), head["typ"].as_str()),
        (Some("ES256"), Some("vnd.backstage.user"))
    );
    assert_eq!(
        (claims["sub"].as_str(), claims["aud"].as_str()),
        (Some("user:development/guest"), Some("backstage"))
    );
    assert!(claims["exp"].as_u64().unwrap() > claims["iat"].as_u64().unwrap());
    let jwks = server.get_ok("/api/auth/.well-known/jwks.json");
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == head["kid"] && k["crv"] == "P-256"),
        "{jwks}"
    );
    let (status, _) = with_token(&server, "GET", "/api/catalog/entities", &token, b"");
    assert_eq!(status, 200);
    let (status, info) = with_token(&server, "GET", "/api/auth/v1/userinfo", &token, b"");
    assert_eq!(status, 200);
    assert_eq!(info["claims"]["sub"], "user:development/guest");

    // Browsers hold the session as an HttpOnly, SameSite cookie; signing out clears it.
    let (_, headers, _) = server.get_bytes("/api/auth/guest/refresh");
    let cookie = &headers["set-cookie"];
    assert!(
        cookie.starts_with("greenroom_session=ey")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap();
    let (status, _) = server.raw("GET", "/api/catalog/entities", &[("cookie", session)], b"");
    assert_eq!(status, 200);
    let (status, info) = server.raw("GET", "/api/auth/v1/userinfo", &[("cookie", session)], b"");
    assert_eq!(
        (status, info["claims"]["sub"].as_str()),
        (200, Some("user:development/guest"))
    );
    let (status, _) = server.raw(
        "POST",
        "/api/auth/guest/logout",
        &[("content-type", "application/json")],
        b"{}",
    );
    assert_eq!(status, 200);

    // Static tokens: their own plugins only.
    let (status, _) = with_token(
        &server,
        "GET",
        "/api/catalog/entities",
        "ci-token-12345",
        b"",
    );
    assert_eq!(status, 200);
    let (status, body) = with_token(
        &server,
        "GET",
        "/api/scaffolder/v2/tasks",
        "ci-token-12345",
        b"",
    );
    assert_eq!(status, 403, "{body}");

    // Forgeries: no signature, an HMAC signature, a changed payload, garbage.
    let admin = b64.encode(
        json!({"sub": "user:default/admin", "aud": "backstage", "exp": 4102444800u64, "ent": []})
            .to_string(),
    );
    let forged = [
        format!(
            "{}.{admin}.",
            b64.encode(r#"{"alg":"none","typ":"vnd.backstage.user"}"#)
        ),
        format!(
            "{}.{admin}.c2lnbmF0dXJl",
            b64.encode(r#"{"alg":"HS256","typ":"vnd.backstage.user"}"#)
        ),
        format!("{}.{admin}.{}", parts[0], parts[2]),
        "not-a-token".to_string(),
    ];
    for bad in &forged {
        let (status, body) = with_token(&server, "GET", "/api/catalog/entities", bad, b"");
        assert_eq!(status, 401, "{bad}: {body}");
        assert_eq!(body["error"]["name"], "AuthenticationError");
    }
    assert!(!server.log().contains("panicked"));
}

/// Every state-changing endpoint × (anonymous, a signed-in user, an API token): anonymous
/// callers are always refused with 401; identified ones always get past sign-in (whatever
/// the endpoint then says of the request itself, such as a 403 for a location outside the
/// registration roots), never a 500.
#[test]
fn every_state_changing_endpoint_needs_an_identity() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugins_folder(tmp.path(), &[]);
    let config = format!(
        "{CONFIG}      - type: static\n        options: {{token: admin-token-67890, subject: admin-bot}}\n"
    );
    let server = start_with_config(tmp.path(), &[], &plugins, &config);
    let user = server.get_ok("/api/auth/guest/refresh")["backstageIdentity"]["token"]
        .as_str()
        .unwrap()
        .to_string();
    let json = "application/json";
    let endpoints: &[(&str, &str, &str, &[u8])] = &[
        ("POST", "/api/catalog/entities/by-query", json, b"{}"),
        ("DELETE", "/api/catalog/entities/by-uid/nope", json, b""),
        (
            "POST",
            "/api/catalog/entities/by-refs",
            json,
            br#"{"entityRefs": []}"#,
        ),
        ("POST", "/api/catalog/entity-facets", json, b"{}"),
        (
            "POST",
            "/api/catalog/refresh",
            json,
            br#"{"entityRef": "component:default/x"}"#,
        ),
        ("POST", "/api/catalog/validate-entity", json, b"{}"),
        (
            "POST",
            "/api/catalog/locations",
            json,
            br#"{"type": "file", "target": "/nonexistent/x.yaml"}"#,
        ),
        ("DELETE", "/api/catalog/locations/nope", json, b""),
        ("POST", "/api/plugins", "application/wasm", b"not wasm"),
        ("DELETE", "/api/plugins/nope", json, b""),
        ("POST", "/api/plugins/nope/enable", json, b"{}"),
        ("POST", "/api/plugins/nope/disable", json, b"{}"),
        ("POST", "/api/plugins/nope/actions/x", json, b"{}"),
        (
            "POST",
            "/api/scaffolder/v2/templates/default/template/nope/validate",
            json,
            b"{}",
        ),
        (
            "POST",
            "/api/scaffolder/v2/tasks",
            json,
            br#"{"templateRef": "template:default/nope"}"#,
        ),
        ("POST", "/api/scaffolder/v2/tasks/nope/cancel", json, b"{}"),
        ("POST", "/api/scaffolder/v2/tasks/nope/retry", json, b"{}"),
        ("POST", "/api/scaffolder/v2/dry-run", json, b"{}"),
    ];
    for &(method, path, content_type, body) in endpoints {
        let (status, answer) = server.raw(method, path, &[("content-type", content_type)], body);
        assert_eq!(status, 401, "anonymous {method} {path}: {answer}");
        for (who, token) in [("user", user.as_str()), ("api token", "admin-token-67890")] {
            let bearer = format!("Bearer {token}");
            let (status, answer) = server.raw(
                method,
                path,
                &[("content-type", content_type), ("authorization", &bearer)],
                body,
            );
            let refused_by_sign_in = status == 401
                || answer["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("may not call"));
            assert!(
                !refused_by_sign_in && status < 500,
                "{who} {method} {path}: {status} {answer}"
            );
        }
    }
    // Each of those requests is in the audit log: who, what, and the status it got.
    let (status, _) = server.raw("GET", "/api/auth/audit", &[], b"");
    assert_eq!(status, 401, "the audit log needs an identity too");
    let entries = greenroom_e2e::eventually(
        "the audit log to hold every request",
        std::time::Duration::from_secs(10),
        || {
            let (_, log) = with_token(
                &server,
                "GET",
                "/api/auth/audit?limit=1000",
                "admin-token-67890",
                b"",
            );
            let items = log["items"].as_array().cloned().unwrap_or_default();
            (items.len() >= endpoints.len() * 3).then_some(items)
        },
    );
    let has = |who: &str, method: &str, path: &str, status: Option<u64>| {
        entries.iter().any(|e| {
            e["who"] == who
                && e["method"] == method
                && e["path"] == path
                && status.is_none_or(|s| e["status"] == s)
        })
    };
    assert!(
        has("unauthenticated", "DELETE", "/api/plugins/nope", Some(401)),
        "{entries:#?}"
    );
    assert!(has(
        "user:development/guest",
        "POST",
        "/api/scaffolder/v2/tasks",
        Some(404)
    ));
    assert!(has(
        "service:admin-bot",
        "POST",
        "/api/catalog/locations",
        None
    ));
}

/// The proxy provider: a trusted proxy's header names the user, resolved to a catalog User
/// whose groups (through their parents) are its ownership refs; the same header from an
/// untrusted peer, or naming nobody in the catalog, gets no identity.
#[test]
fn a_trusted_proxy_signs_in_catalog_users() {
    let proxy = |peer: &str| {
        format!(
            "auth:\n  providers:\n    proxy:\n      trustedPeers: [{peer}]\n      signIn:\n        resolvers: [{{resolver: usernameMatchingUserEntityName}}]\n"
        )
    };
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugins_folder(tmp.path(), &[]);
    let server = start_with_config(tmp.path(), &[], &plugins, &proxy("127.0.0.1"));
    let as_ada = [("x-forwarded-user", "ada")];
    let (status, _) = server.raw("GET", "/api/catalog/entities", &as_ada, b"");
    assert_eq!(status, 200);
    let (status, session) = server.raw("GET", "/api/auth/proxy/refresh", &as_ada, b"");
    assert_eq!(status, 200, "{session}");
    let identity = &session["backstageIdentity"]["identity"];
    assert_eq!(identity["userEntityRef"], "user:default/ada");
    let mut owned: Vec<&str> = identity["ownershipEntityRefs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    owned.sort();
    assert_eq!(
        owned,
        [
            "group:default/engineering",
            "group:default/payments",
            "user:default/ada"
        ]
    );
    let (status, body) = server.raw(
        "GET",
        "/api/catalog/entities",
        &[("x-forwarded-user", "nobody")],
        b"",
    );
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no catalog User named user:default/nobody"),
        "{body}"
    );
    let (status, _) = server.raw("GET", "/api/catalog/entities", &[], b"");
    assert_eq!(status, 401);
    drop(server);

    // The same header from a peer the config does not trust is nobody's word.
    let elsewhere = tempfile::tempdir().unwrap();
    let plugins = plugins_folder(elsewhere.path(), &[]);
    let server = start_with_config(elsewhere.path(), &[], &plugins, &proxy("10.9.8.7"));
    let (status, _) = server.raw("GET", "/api/catalog/entities", &as_ada, b"");
    assert_eq!(status, 401);
    let (status, _) = server.raw("GET", "/api/auth/proxy/refresh", &as_ada, b"");
    assert_eq!(status, 401);
}

/// `emailMatchingUserEntityProfileEmail`: the proxy's email header finds the User whose
/// profile has it.
#[test]
fn a_proxy_email_resolves_to_the_user_with_that_profile_email() {
    let tmp = tempfile::tempdir().unwrap();
    let people = tmp.path().join("people/catalog-info.yaml");
    std::fs::create_dir_all(people.parent().unwrap()).unwrap();
    std::fs::write(
        &people,
        "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: grace-h\nspec:\n  profile:\n    email: grace@example.com\n  memberOf: [engineering]\n",
    )
    .unwrap();
    let plugins = plugins_folder(tmp.path(), &[]);
    let config = "auth:\n  providers:\n    proxy:\n      trustedPeers: [127.0.0.1]\n      signIn:\n        resolvers: [{resolver: emailMatchingUserEntityProfileEmail}]\n";
    let server = start_with_config(tmp.path(), &[people], &plugins, config);
    let (status, session) = server.raw(
        "GET",
        "/api/auth/proxy/refresh",
        &[("x-forwarded-email", "grace@example.com")],
        b"",
    );
    assert_eq!(status, 200, "{session}");
    assert_eq!(
        session["backstageIdentity"]["identity"]["userEntityRef"],
        "user:default/grace-h"
    );
    assert_eq!(
        session["backstageIdentity"]["identity"]["ownershipEntityRefs"],
        json!(["user:default/grace-h", "group:default/engineering"])
    );
    let (status, body) = server.raw(
        "GET",
        "/api/auth/proxy/refresh",
        &[("x-forwarded-email", "nobody@example.com")],
        b"",
    );
    assert_eq!(status, 401, "{body}");
}
