//! The first-party integration plugins through the real server, each built from source in its
//! own language by `cargo xtask build`: CI status (Python) against a CI API served on
//! loopback, TechDocs (JavaScript), API definition and ownership (Rust).

use std::path::Path;
use std::time::Duration;

use greenroom_e2e::{FakeApi, GITHUB_RUNS, Server, key_values, plugins_folder, start_with_config};
use serde_json::Value;

/// A catalog beside the fixture one: a service with CI and docs annotations, and an API with
/// an OpenAPI definition.
fn write_catalog(root: &Path) -> std::path::PathBuf {
    let dir = root.join("catalog");
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    std::fs::write(
        dir.join("catalog-info.yaml"),
        r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: billing
  annotations:
    github.com/project-slug: acme/billing
    backstage.io/techdocs-ref: dir:.
spec:
  type: service
  lifecycle: production
  owner: payments
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: plain
spec:
  type: library
  lifecycle: experimental
  owner: payments
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: billing-api
spec:
  type: openapi
  lifecycle: production
  owner: payments
  definition: |
    openapi: 3.0.3
    info: {title: Billing API, version: 2.1.0, description: "Invoices **and** refunds."}
    servers: [{url: "https://billing.example.com/v2"}]
    paths:
      /invoices:
        get: {summary: List invoices}
        post: {summary: Create an invoice}
      /invoices/{id}:
        delete: {operationId: deleteInvoice, deprecated: true}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: events
spec:
  type: graphql
  lifecycle: production
  owner: payments
  definition: "type Query { invoice(id: ID!): Invoice }"
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: invoicer
spec:
  type: service
  lifecycle: production
  owner: billing-team
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: billing-team
  title: Billing Team
spec:
  type: team
  parent: finance
  children: []
  members: [grace]
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: finance
spec:
  type: department
  parent: company
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: company
spec:
  type: organization
  children: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: grace
spec:
  memberOf: []
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("mkdocs.yml"),
        "site_name: Billing\nnav:\n  - Home: index.md\n  - Runbook: runbook.md\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("docs/index.md"),
        "# Billing\n\nIssues **invoices**.<script>alert(1)</script>\n",
    )
    .unwrap();
    std::fs::write(dir.join("docs/runbook.md"), "# Runbook\n\nRestart it.\n").unwrap();
    dir.join("catalog-info.yaml")
}

fn start(root: &Path, plugins: &[&str], config: &str) -> Server {
    let catalog = write_catalog(root);
    let folder = plugins_folder(
        root,
        &plugins.iter().map(|p| (*p, None)).collect::<Vec<_>>(),
    );
    start_with_config(root, &[catalog], &folder, config)
}

/// Every node of one type in a rendered tree, depth first.
fn nodes<'a>(node: &'a Value, kind: &str, found: &mut Vec<&'a Value>) {
    if node["type"] == kind {
        found.push(node);
    }
    for key in ["items", "children"] {
        for child in node[key].as_array().into_iter().flatten() {
            nodes(child, kind, found);
        }
    }
    for row in node["rows"].as_array().into_iter().flatten() {
        for cell in row.as_array().unwrap() {
            nodes(cell, kind, found);
        }
    }
}

fn all<'a>(tree: &'a Value, kind: &str) -> Vec<&'a Value> {
    let mut found = Vec::new();
    nodes(tree, kind, &mut found);
    found
}

#[test]
fn ci_status_python_plugin_shows_runs_from_the_granted_ci_server() {
    let tmp = tempfile::tempdir().unwrap();
    let ci = FakeApi::start(GITHUB_RUNS);
    // SAFETY: set before the server (a child process) starts; no other test reads it.
    unsafe { std::env::set_var("GREENROOM_TEST_CI_TOKEN", "s3cret-token") };
    let server = start(
        tmp.path(),
        &["ci-status"],
        &format!(
            "plugins:\n  ci-status:\n    allowedHosts: ['127.0.0.1:{port}']\n    config: {{api-url: 'http://127.0.0.1:{port}/api/v3'}}\n    secrets: {{token: GREENROOM_TEST_CI_TOKEN}}\n",
            port = ci.port
        ),
    );
    let summary = server.get_ok("/api/plugins/ci-status");
    assert_eq!(summary["state"], "loaded", "{summary:#}");
    assert_eq!(
        summary["grants"]["missing"],
        serde_json::json!([]),
        "{summary:#}"
    );

    // Only entities with the annotation get the tab.
    assert!(
        server
            .tab_ids("component:default/billing")
            .contains(&"ci-status/ci".into())
    );
    assert!(
        !server
            .tab_ids("component:default/plain")
            .iter()
            .any(|t| t.starts_with("ci-status"))
    );

    let (status, tab) =
        server.get("/api/plugins/ci-status/tabs/ci?entity=component:default/billing");
    assert_eq!(status, 200, "{tab:#}");
    let tree = &tab["tree"];
    // The plugin asked the granted server for the entity's repository, with the secret token.
    let requests = ci.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert!(
        requests[0].starts_with("GET /api/v3/repos/acme/billing/actions/runs?per_page=10 HTTP/1.1"),
        "{}",
        requests[0]
    );
    assert!(
        requests[0]
            .to_lowercase()
            .contains("authorization: bearer s3cret-token"),
        "{}",
        requests[0]
    );
    let table = all(tree, "table")[0];
    assert_eq!(
        table["columns"],
        serde_json::json!([
            "Run", "Workflow", "Branch", "Commit", "Status", "Started", ""
        ])
    );
    let rows = table["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0][0]["label"], "#42");
    assert_eq!(
        rows[0][0]["url"],
        "https://github.com/acme/billing/actions/runs/2"
    );
    assert_eq!(rows[0][3]["code"], "a1b2c3d");
    assert_eq!(
        (&rows[0][4]["label"], &rows[0][4]["tone"]),
        (&"failure".into(), &"danger".into())
    );
    assert_eq!(
        (&rows[1][4]["label"], &rows[1][4]["tone"]),
        (&"in_progress".into(), &"info".into())
    );
    assert_eq!(rows[1][2]["text"], "fix/rounding");
    let facts = all(tree, "key-values")[0]["pairs"].clone();
    assert_eq!(
        facts[2],
        serde_json::json!(["Result", "failure"]),
        "{facts}"
    );
    // A finished run has a button that asks the CI server to re-run it; a running one none.
    assert_eq!(
        (&rows[0][6]["type"], &rows[0][6]["actionId"]),
        (&"button".into(), &"rerun:2".into())
    );
    assert_eq!(rows[0][6]["confirm"], "Re-run #42?");
    assert_eq!(rows[1][6], serde_json::json!({"type": "text", "text": ""}));
    let (status, outcome) = server.post(
        "/api/plugins/ci-status/ui-actions",
        &serde_json::json!({"surface": {"kind": "tab", "id": "ci"}, "actionId": "rerun:2",
                            "entity": "component:default/billing"}),
    );
    assert_eq!(status, 200, "{outcome:#}");
    assert_eq!(
        outcome["notice"],
        serde_json::json!({"message": "Re-run of run 2 requested.", "tone": "success"})
    );
    assert_eq!(
        all(&outcome["tree"], "table").len(),
        1,
        "the tab re-rendered"
    );
    let rerun = &ci.requests()[1];
    assert!(
        rerun.starts_with("POST /api/v3/repos/acme/billing/actions/runs/2/rerun HTTP/1.1"),
        "{rerun}"
    );
    assert!(
        rerun
            .to_lowercase()
            .contains("authorization: bearer s3cret-token"),
        "{rerun}"
    );

    // A route other tools call: the latest run as JSON, through the Python SDK's `serve`.
    let (status, latest) = server.get("/api/plugins/ci-status/http/latest/acme/billing");
    assert_eq!(status, 200, "{latest}");
    assert_eq!(
        latest,
        serde_json::json!({"name": "CI", "number": 42, "result": "failure",
                           "url": "https://github.com/acme/billing/actions/runs/2", "askedBy": ""})
    );
    assert_eq!(server.get("/api/plugins/ci-status/http/nope").0, 404);

    // The secret never shows in the admin API.
    assert!(
        !server
            .get_ok("/api/plugins/ci-status")
            .to_string()
            .contains("s3cret-token")
    );

    // A CI server that answers garbage gives a contained error naming the plugin.
    ci.set_body("<html>maintenance</html>");
    let (status, body) =
        server.get("/api/plugins/ci-status/tabs/ci?entity=component:default/billing");
    assert_eq!(status, 502, "{body:#}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("ci-status") && message.contains("is not JSON"),
        "{message}"
    );
}

#[test]
fn ci_status_cannot_reach_a_host_the_operator_did_not_grant() {
    let tmp = tempfile::tempdir().unwrap();
    let ci = FakeApi::start(GITHUB_RUNS);
    let server = start(
        tmp.path(),
        &["ci-status"],
        &format!(
            "plugins:\n  ci-status:\n    config: {{api-url: 'http://127.0.0.1:{}'}}\n",
            ci.port
        ),
    );
    let (status, body) =
        server.get("/api/plugins/ci-status/tabs/ci?entity=component:default/billing");
    assert_eq!(status, 502, "{body:#}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            ": denied: host 127.0.0.1:{} is not granted to plugin ci-status",
            ci.port
        )),
        "{message}"
    );
    assert_eq!(ci.hits(), 0, "the ungranted server was contacted");
}

#[test]
fn techdocs_javascript_plugin_shows_contents_and_first_page() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path(), &["techdocs"], "");
    assert!(
        server
            .tab_ids("component:default/billing")
            .contains(&"techdocs/docs".into())
    );
    assert!(
        !server
            .tab_ids("component:default/plain")
            .iter()
            .any(|t| t.starts_with("techdocs"))
    );
    let tab = server.get_ok("/api/plugins/techdocs/tabs/docs?entity=component:default/billing");
    let tree = &tab["tree"];
    let sections = all(tree, "section");
    assert_eq!(sections[0]["title"], "Contents");
    let contents: Vec<&str> = all(sections[0], "text")
        .iter()
        .map(|t| t["text"].as_str().unwrap())
        .collect();
    assert_eq!(contents, ["Home (index.md)", "Runbook (runbook.md)"]);
    // The nav names the page.
    assert_eq!(sections[1]["title"], "Home");
    let html = all(tree, "markdown")[0]["html"].as_str().unwrap();
    assert!(html.contains("<strong>invoices</strong>"), "{html}");
    assert!(!html.contains("<script"), "markdown is sanitized: {html}");
}

#[test]
fn api_docs_rust_plugin_summarises_openapi_and_shows_other_definitions() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path(), &["api-docs"], "");
    assert!(
        server
            .tab_ids("api:default/billing-api")
            .contains(&"api-docs/api".into())
    );
    assert!(
        !server
            .tab_ids("component:default/billing")
            .iter()
            .any(|t| t.starts_with("api-docs"))
    );
    let tab = server.get_ok("/api/plugins/api-docs/tabs/api?entity=api:default/billing-api");
    let tree = &tab["tree"];
    assert_eq!(
        all(tree, "key-values")[0]["pairs"],
        serde_json::json!([
            ["Title", "Billing API"],
            ["Version", "2.1.0"],
            ["Format", "OpenAPI 3.0.3"],
            ["Servers", "https://billing.example.com/v2"]
        ])
    );
    let rows = all(tree, "table")[0]["rows"].as_array().unwrap().clone();
    let operations: Vec<(String, String, String)> = rows
        .iter()
        .map(|row| {
            (
                row[0]["label"].as_str().unwrap().to_string(),
                row[1]["code"].as_str().unwrap().to_string(),
                row[2]["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("GET", "/invoices", "List invoices"),
        ("POST", "/invoices", "Create an invoice"),
        ("DELETE (deprecated)", "/invoices/{id}", "deleteInvoice"),
    ];
    assert_eq!(
        operations,
        expected.map(|(m, p, s)| (m.to_string(), p.to_string(), s.to_string()))
    );
    assert_eq!(rows[2][0]["tone"], "warning");
    assert!(
        all(tree, "markdown")[0]["html"]
            .as_str()
            .unwrap()
            .contains("<strong>and</strong>")
    );

    let graphql = server.get_ok("/api/plugins/api-docs/tabs/api?entity=api:default/events");
    let code = all(&graphql["tree"], "code")[0];
    assert_eq!(code["language"], "graphql");
    assert!(code["code"].as_str().unwrap().contains("type Query"));
}

#[test]
fn ownership_rust_plugin_shows_members_and_the_whole_parent_chain() {
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path(), &["ownership"], "");
    let tab =
        server.get_ok("/api/plugins/ownership/tabs/ownership?entity=component:default/invoicer");
    let tree = &tab["tree"];
    assert_eq!(tree["title"], "Owner: Billing Team");
    let sections = all(tree, "section");
    let parents = sections
        .iter()
        .find(|s| s["title"] == "Parent groups")
        .expect("parents");
    let chain: Vec<(&str, &str)> = all(parents, "link")
        .iter()
        .map(|l| (l["label"].as_str().unwrap(), l["url"].as_str().unwrap()))
        .collect();
    assert_eq!(
        chain,
        [
            ("group:default/finance", "/catalog/default/group/finance"),
            ("group:default/company", "/catalog/default/group/company"),
        ]
    );
    let members = sections
        .iter()
        .find(|s| s["title"] == "Members")
        .expect("members");
    assert_eq!(all(members, "link")[0]["label"], "user:default/grace");
}

#[test]
fn javascript_sdk_reaches_granted_hosts_and_the_catalog() {
    let tmp = tempfile::tempdir().unwrap();
    let api = FakeApi::start(r#"{"hello": "from the loopback API"}"#);
    let server = start(
        tmp.path(),
        &["js-probe"],
        &format!(
            "plugins:\n  js-probe:\n    allowedHosts: ['127.0.0.1:{port}']\n    config: {{url: 'http://127.0.0.1:{port}/probe?q=1'}}\n",
            port = api.port
        ),
    );
    let tab = server.get_ok("/api/plugins/js-probe/tabs/fetch?entity=component:default/billing");
    assert_eq!(
        tab["tree"]["pairs"],
        serde_json::json!([
            ["status", "200"],
            ["body", r#"{"hello": "from the loopback API"}"#]
        ])
    );
    let request = &api.requests()[0];
    assert!(request.starts_with("GET /probe?q=1 HTTP/1.1"), "{request}");
    assert!(request.to_lowercase().contains("x-probe: js"), "{request}");
    let tab = server.get_ok("/api/plugins/js-probe/tabs/owner?entity=component:default/billing");
    assert_eq!(tab["tree"]["text"], "Payments Team");

    // Contract 0.2.0 from JavaScript: a card whose button counts in the plugin's storage and
    // whose form's values arrive typed, and a page.
    let summary = server.get_ok("/api/plugins/js-probe");
    assert_eq!(
        summary["contributions"],
        serde_json::json!([
            "entity-tabs",
            "entity-cards",
            "pages",
            "interactions",
            "http-routes"
        ])
    );
    let cards = server.get_ok("/api/plugins/cards?entity=component:default/billing");
    assert_eq!(cards["cards"][0]["size"], "medium", "{cards}");
    let card = server.get_ok("/api/plugins/js-probe/cards/visits?entity=component:default/billing");
    assert_eq!(
        card["tree"]["items"][0]["pairs"][0],
        serde_json::json!(["visits", "0"])
    );
    assert_eq!(card["tree"]["items"][2]["fields"][0]["required"], true);
    let act = |action: &str, values: serde_json::Value| {
        server.post(
            "/api/plugins/js-probe/ui-actions",
            &serde_json::json!({"surface": {"kind": "card", "id": "visits"}, "actionId": action,
                                "entity": "component:default/billing", "values": values}),
        )
    };
    for visits in 1..=2 {
        let (status, outcome) = act("visit", serde_json::json!({}));
        assert_eq!(status, 200, "{outcome}");
        assert_eq!(outcome["notice"]["message"], format!("visit {visits}"));
        assert_eq!(
            outcome["tree"]["items"][0]["pairs"][0],
            serde_json::json!(["visits", visits.to_string()])
        );
    }
    let (_, greeted) = act("greet", serde_json::json!({"name": "Ada", "loud": true}));
    assert_eq!(
        greeted,
        serde_json::json!({"tree": null, "notice": {"message": "HELLO, ADA", "tone": "info"}})
    );
    assert_eq!(server.get_ok("/api/plugins/js-probe")["storage"]["keys"], 1);
    let page = server.get_ok("/api/plugins/js-probe/pages/about");
    assert_eq!(
        page["tree"]["pairs"][0],
        serde_json::json!(["page", "about"])
    );
    // Its HTTP routes, through the JavaScript SDK's `serve`.
    let visits = server.get_ok("/api/plugins/js-probe/http/visits/component:default%2Fbilling");
    assert_eq!(
        visits,
        serde_json::json!({"entityRef": "component:default/billing", "visits": 2, "viewer": null})
    );
    let (status, echoed) = server.post(
        "/api/plugins/js-probe/http/echo",
        &serde_json::json!({"a": [1, 2]}),
    );
    assert_eq!((status, echoed), (200, serde_json::json!({"a": [1, 2]})));
}

#[test]
fn javascript_sdk_is_refused_an_ungranted_host() {
    let tmp = tempfile::tempdir().unwrap();
    let api = FakeApi::start("{}");
    let server = start(
        tmp.path(),
        &["js-probe"],
        &format!(
            "plugins:\n  js-probe:\n    config: {{url: 'http://127.0.0.1:{}/'}}\n",
            api.port
        ),
    );
    let (status, body) =
        server.get("/api/plugins/js-probe/tabs/fetch?entity=component:default/billing");
    assert_eq!(status, 502, "{body:#}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "GET http://127.0.0.1:{}/: denied: host 127.0.0.1:{} is not granted to plugin js-probe",
            api.port, api.port
        )),
        "{message}"
    );
    assert_eq!(api.hits(), 0);
}

/// Each SDK's HTTP helper gives up after its own timeout, inside the call's deadline: a slow
/// API ends in the plugin's own message (Rust, Python, JavaScript), never in a host timeout.
#[test]
fn a_slow_api_ends_in_the_plugins_own_message_in_every_sdk() {
    let tmp = tempfile::tempdir().unwrap();
    let api = FakeApi::start_slow(GITHUB_RUNS, Duration::from_secs(5));
    let port = api.port;
    let catalog = write_catalog(tmp.path());
    let probe_manifest = format!(
        "[capabilities]\nhosts = [\"127.0.0.1:{port}\"]\nconfig = [\"echo-url\", \"http-timeout-ms\"]\n"
    );
    let folder = plugins_folder(
        tmp.path(),
        &[
            ("ci-status", None),
            ("js-probe", None),
            ("probe", Some(probe_manifest)),
        ],
    );
    let server = start_with_config(
        tmp.path(),
        &[catalog],
        &folder,
        &format!(
            "plugins:
  ci-status:
    allowedHosts: ['127.0.0.1:{port}']
    config: {{api-url: 'http://127.0.0.1:{port}'}}
  js-probe:
    allowedHosts: ['127.0.0.1:{port}']
    config: {{url: 'http://127.0.0.1:{port}/', timeout-ms: '300'}}
  probe:
    allowedHosts: ['127.0.0.1:{port}']
    config: {{echo-url: 'http://127.0.0.1:{port}/echo', http-timeout-ms: '300'}}
"
        ),
    );
    let entity = "entity=component:default/billing";

    let (status, tab) = server.get(&format!("/api/plugins/probe/tabs/imports?{entity}"));
    assert_eq!(status, 200, "{tab:#}");
    assert_eq!(
        key_values(&tab)["http"],
        format!("error: GET http://127.0.0.1:{port}/echo: no response within 300ms"),
        "{tab:#}"
    );

    let (status, body) = server.get(&format!("/api/plugins/ci-status/tabs/ci?{entity}"));
    assert_eq!(status, 502, "{body:#}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "cannot reach the CI server: GET http://127.0.0.1:{port}/repos/"
        )) && message.ends_with(": no response within 1.5 s"),
        "{message}"
    );

    let (status, body) = server.get(&format!("/api/plugins/js-probe/tabs/fetch?{entity}"));
    assert_eq!(status, 502, "{body:#}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "GET http://127.0.0.1:{port}/: no response within 300 ms"
        )),
        "{message}"
    );

    for plugin in ["probe", "ci-status", "js-probe"] {
        let stats = &server.get_ok(&format!("/api/plugins/{plugin}"))["stats"];
        assert_eq!(stats["timeouts"], 0, "{plugin}: {stats}");
    }
}
