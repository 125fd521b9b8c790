//! The first-party integration plugins through the real server, each built from source in its
//! own language by `cargo xtask build`: CI status (Python) against a CI API served on
//! loopback, TechDocs (JavaScript), API definition and ownership (Rust), and the PagerDuty
//! on-call card (Rust) against a stand-in for PagerDuty's REST API on loopback.

use std::path::Path;
use std::time::Duration;

use greenroom_e2e::{
    FakeApi, GITHUB_RUNS, Received, Server, StandIn, key_values, percent_decoded, plugins_folder,
    start_with_config,
};
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
            "http-routes",
            "search-documents"
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
    // Its search documents, collected again when a visit asks (`schedule.runSoon`).
    let found = greenroom_e2e::eventually("the visits searchable", Duration::from_secs(10), || {
        // Until the plugin's first collection, its type is not there (400).
        let (_, found) = server.get("/api/search/query?term=recorded%20visits&types[]=js-visits");
        (found["results"][0]["document"]["text"] == "2 recorded visits").then_some(found)
    });
    assert_eq!(
        found["results"][0]["document"]["entityRef"],
        "component:default/billing"
    );
    // Each call has a fresh instance: a module-level count of the calls it served is one
    // every time.
    for _ in 0..3 {
        let page = server.get_ok("/api/plugins/js-probe/pages/about");
        assert_eq!(
            page["tree"]["pairs"][0],
            serde_json::json!(["page", "about"])
        );
        assert_eq!(page["tree"]["pairs"][3], serde_json::json!(["calls", "1"]));
    }
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

// PagerDuty (Rust): an "On call" card for entities with `pagerduty.com/service-id`, against
// a stand-in for PagerDuty's REST API on loopback.

/// The token the operator hands the plugin as a secret, and the one the stand-in accepts.
const PAGERDUTY_TOKEN: &str = "pd-s3cret-token";
const PAGERDUTY_ACCEPT: &str = "application/vnd.pagerduty+json;version=2";
const CHECKOUT_API: &str = "component:default/checkout-api";

/// Entities for the PagerDuty card: annotated services (one PagerDuty knows with people on
/// call, one with nobody on call, one it does not know, one it fails on), one without the
/// annotation, and users with and without an email.
fn write_pagerduty_catalog(root: &Path) -> std::path::PathBuf {
    let dir = root.join("pagerduty-catalog");
    std::fs::create_dir_all(&dir).unwrap();
    let component = |name: &str, service: Option<&str>| {
        let annotations = service
            .map(|id| format!("  annotations:\n    pagerduty.com/service-id: {id}\n"))
            .unwrap_or_default();
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n{annotations}spec:\n  type: service\n  lifecycle: production\n  owner: payments\n"
        )
    };
    let user = |name: &str, email: Option<&str>| {
        let profile = email
            .map(|e| format!("  profile: {{displayName: {name}, email: {e}}}\n"))
            .unwrap_or_default();
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: {name}\nspec:\n{profile}  memberOf: [payments]\n"
        )
    };
    let documents = [
        component("checkout-api", Some("PCHECK1")),
        component("quiet-worker", Some("PQUIET1")),
        component("ghost", Some("PGHOST9")),
        component("broken", Some("PBROKEN")),
        component("no-pager", None),
        user("lin", Some("lin@acme.example")),
        user("sam", None),
        user("kim", Some("kim@elsewhere.example")),
    ];
    let file = dir.join("catalog-info.yaml");
    std::fs::write(&file, documents.join("---\n")).unwrap();
    file
}

/// A loopback stand-in for PagerDuty's REST API v2: checks the token and the API version
/// header, answers services, on-calls and new incidents like PagerDuty, and records every
/// request.
struct PagerDutyStandIn(StandIn);

impl PagerDutyStandIn {
    fn start() -> Self {
        let incidents = std::sync::atomic::AtomicU64::new(1234);
        Self(StandIn::start(move |request| {
            pagerduty_answer(request, &incidents)
        }))
    }

    fn port(&self) -> u16 {
        self.0.port
    }

    fn received(&self) -> Vec<Received> {
        self.0.received()
    }

    /// The `POST /incidents` requests so far.
    fn incidents(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.method == "POST" && r.target == "/incidents")
            .collect()
    }
}

/// A PagerDuty user: the whole user with `include[]=users`, else a reference.
fn pagerduty_user(id: &str, name: &str, email: &str, whole: bool) -> Value {
    let html_url = format!("https://acme.pagerduty.com/users/{id}");
    let self_url = format!("https://api.pagerduty.com/users/{id}");
    if whole {
        serde_json::json!({"id": id, "type": "user", "summary": name, "name": name,
                           "email": email, "time_zone": "Europe/Berlin", "role": "user",
                           "self": self_url, "html_url": html_url})
    } else {
        serde_json::json!({"id": id, "type": "user_reference", "summary": name,
                           "self": self_url, "html_url": html_url})
    }
}

/// What PagerDuty answers (status and body) to a request.
fn pagerduty_answer(request: &Received, incidents: &std::sync::atomic::AtomicU64) -> (u16, String) {
    let error = |status: u16, message: &str, code: u32, errors: &[&str]| {
        let body =
            serde_json::json!({"error": {"message": message, "code": code, "errors": errors}});
        (status, body.to_string())
    };
    if request.headers.get("authorization").map(String::as_str)
        != Some(&*format!("Token token={PAGERDUTY_TOKEN}"))
    {
        return error(401, "Unauthorized", 2006, &[]);
    }
    if request.headers.get("accept").map(String::as_str) != Some(PAGERDUTY_ACCEPT) {
        return error(
            400,
            "Invalid Input Provided",
            2001,
            &["Unsupported API version"],
        );
    }
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((request.target.as_str(), ""));
    let query: Vec<(String, String)> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decoded(k), percent_decoded(v)))
        .collect();
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let service = |id: &str, name: &str, policy: &str| {
        serde_json::json!({"service": {
            "id": id, "type": "service", "summary": name, "name": name, "status": "active",
            "self": format!("https://api.pagerduty.com/services/{id}"),
            "html_url": format!("https://acme.pagerduty.com/service-directory/{id}"),
            "escalation_policy": {"id": policy, "type": "escalation_policy_reference",
                                  "summary": format!("{name} escalation")}
        }})
        .to_string()
    };
    match (request.method.as_str(), path) {
        ("GET", "/services/PCHECK1") => (200, service("PCHECK1", "Checkout API", "PPOLICY1")),
        ("GET", "/services/PQUIET1") => (200, service("PQUIET1", "Quiet Worker", "PPOLICY2")),
        ("GET", "/services/PBROKEN") => error(500, "Internal Server Error", 5000, &[]),
        ("GET", p) if p.starts_with("/services/") => error(404, "Not Found", 2100, &[]),
        ("GET", "/oncalls") => {
            let whole = param("include[]") == Some("users");
            let oncall = |level: u32, user: Value| {
                serde_json::json!({"escalation_level": level, "user": user,
                                   "escalation_policy": {"id": "PPOLICY1", "type": "escalation_policy_reference"},
                                   "schedule": {"id": format!("PSCHED{level}"), "type": "schedule_reference"},
                                   "start": "2026-11-20T09:00:00Z", "end": "2026-11-27T09:00:00Z"})
            };
            // Not in level order, as PagerDuty does not promise one.
            let oncalls = match (param("escalation_policy_ids[]"), param("earliest")) {
                (Some("PPOLICY1"), Some("true")) => vec![
                    oncall(
                        2,
                        pagerduty_user("PNORA01", "Nora Quinn", "nora@acme.example", whole),
                    ),
                    oncall(
                        3,
                        pagerduty_user("PERIN01", "Erin Wu", "erin@acme.example", whole),
                    ),
                    oncall(
                        1,
                        pagerduty_user("PLIN001", "Lin Park", "lin@acme.example", whole),
                    ),
                ],
                _ => Vec::new(),
            };
            let body =
                serde_json::json!({"oncalls": oncalls, "limit": 25, "offset": 0, "more": false});
            (200, body.to_string())
        }
        ("POST", "/incidents") => {
            let from = request.headers.get("from").map(String::as_str);
            if !matches!(from, Some("lin@acme.example" | "oncall-bot@acme.example")) {
                return error(
                    400,
                    "Invalid Input Provided",
                    2001,
                    &["Requester User Not Found"],
                );
            }
            let Ok(body) = serde_json::from_str::<Value>(&request.body) else {
                return error(400, "Invalid Input Provided", 2001, &["Body is not JSON"]);
            };
            let incident = &body["incident"];
            let service_id = incident["service"]["id"].as_str().unwrap_or_default();
            if !["PCHECK1", "PQUIET1"].contains(&service_id) {
                return error(400, "Invalid Input Provided", 2001, &["Service not found"]);
            }
            let number = incidents.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let id = format!("Q{number}ABC");
            let title = incident["title"].as_str().unwrap_or_default();
            let created = serde_json::json!({"incident": {
                "id": id, "type": "incident", "summary": format!("[#{number}] {title}"),
                "incident_number": number, "title": title, "status": "triggered",
                "urgency": "high", "created_at": "2026-11-20T10:02:00Z",
                "self": format!("https://api.pagerduty.com/incidents/{id}"),
                "html_url": format!("https://acme.pagerduty.com/incidents/{id}"),
                "service": {"id": service_id, "type": "service_reference"}
            }});
            (201, created.to_string())
        }
        _ => error(404, "Not Found", 2100, &[]),
    }
}

/// A server with the PagerDuty plugin and its catalog; `config` is the YAML config.
fn start_pagerduty(root: &Path, config: &str) -> Server {
    let catalog = write_pagerduty_catalog(root);
    let folder = plugins_folder(root, &[("pagerduty", None)]);
    start_with_config(root, &[catalog], &folder, config)
}

/// The operator's grant of the stand-in, with the token as a secret when `token`, and any
/// `extra` config (`from-email: ...`).
fn pagerduty_grant(port: u16, token: bool, extra: &str) -> String {
    // SAFETY: set before the server (a child process) starts; every test sets the same value.
    unsafe { std::env::set_var("GREENROOM_TEST_PAGERDUTY_TOKEN", PAGERDUTY_TOKEN) };
    let secrets = if token {
        "    secrets: {token: GREENROOM_TEST_PAGERDUTY_TOKEN}\n"
    } else {
        ""
    };
    format!(
        "plugins:\n  pagerduty:\n    allowedHosts: ['127.0.0.1:{port}']\n    config: {{api-url: 'http://127.0.0.1:{port}/'{extra}}}\n{secrets}"
    )
}

/// The "Page on-call" form submitted on `entity`'s card.
fn page_form(entity: &str, values: Value) -> Value {
    serde_json::json!({"surface": {"kind": "card", "id": "on-call"}, "actionId": "page",
                       "entity": entity, "values": values})
}

/// The on-call table of a rendered card: (level, name, user link, email) per row.
fn on_call_rows(tree: &Value) -> Vec<(String, String, String, String)> {
    let tables = all(tree, "table");
    assert_eq!(tables.len(), 1, "{tree:#}");
    assert_eq!(
        tables[0]["columns"],
        serde_json::json!(["Level", "Name", "Email"])
    );
    tables[0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (
                text(&row[0]["text"]),
                text(&row[1]["label"]),
                text(&row[1]["url"]),
                text(&row[2]["text"]),
            )
        })
        .collect()
}

#[test]
fn pagerduty_card_shows_who_is_on_call_and_pages_them_as_the_signed_in_user() {
    let tmp = tempfile::tempdir().unwrap();
    let pagerduty = PagerDutyStandIn::start();
    let sign_in = greenroom_e2e::proxy_sign_in!();
    let config = format!("{sign_in}{}", pagerduty_grant(pagerduty.port(), true, ""));
    let server = start_pagerduty(tmp.path(), &config);
    let lin = "lin";
    // The harness's own wait cannot list plugins anonymously once sign-in is on.
    greenroom_e2e::eventually("plugins loaded", Duration::from_secs(60), || {
        let (status, plugins) = server.call_as(lin, "GET", "/api/plugins", None);
        (status == 200 && !plugins.to_string().contains("\"loading\"")).then_some(())
    });
    let (_, summary) = server.call_as(lin, "GET", "/api/plugins/pagerduty", None);
    assert_eq!(summary["state"], "loaded", "{summary:#}");
    assert_eq!(summary["name"], "PagerDuty");
    assert_eq!(
        summary["contributions"],
        serde_json::json!(["entity-cards", "interactions"])
    );
    // from-email is asked for but not granted here: this test pages as people.
    assert_eq!(
        summary["grants"]["missing"],
        serde_json::json!(["config from-email"]),
        "{summary:#}"
    );
    let get = |path: &str| {
        let (status, body) = server.call_as(lin, "GET", path, None);
        assert_eq!(status, 200, "GET {path}: {body:#}");
        body
    };
    let page = |who: &str, entity: &str, values: Value| {
        let (status, outcome) = server.call_as(
            who,
            "POST",
            "/api/plugins/pagerduty/ui-actions",
            Some(&page_form(entity, values)),
        );
        assert_eq!(status, 200, "{outcome:#}");
        outcome
    };

    // Offered only for entities with the annotation, as a medium card; nothing is asked of
    // PagerDuty to offer it.
    assert_eq!(
        get(&format!("/api/plugins/cards?entity={CHECKOUT_API}"))["cards"],
        serde_json::json!([{"pluginId": "pagerduty", "cardId": "on-call", "title": "On call",
                            "size": "medium"}])
    );
    assert_eq!(
        get("/api/plugins/cards?entity=component:default/no-pager")["cards"],
        serde_json::json!([])
    );
    assert!(pagerduty.received().is_empty());

    // The service, its link and who is on call, level 1 first, with names and emails.
    let card = get(&format!(
        "/api/plugins/pagerduty/cards/on-call?entity={CHECKOUT_API}"
    ));
    let tree = &card["tree"];
    assert_eq!(all(tree, "heading")[0]["text"], "Checkout API", "{tree:#}");
    assert_eq!(
        all(tree, "link")[0],
        &serde_json::json!({"type": "link", "label": "Open in PagerDuty",
                            "url": "https://acme.pagerduty.com/service-directory/PCHECK1"})
    );
    let person = |level: &str, name: &str, id: &str, email: &str| {
        (
            level.to_string(),
            name.to_string(),
            format!("https://acme.pagerduty.com/users/{id}"),
            email.to_string(),
        )
    };
    assert_eq!(
        on_call_rows(tree),
        [
            person("1", "Lin Park", "PLIN001", "lin@acme.example"),
            person("2", "Nora Quinn", "PNORA01", "nora@acme.example"),
            person("3", "Erin Wu", "PERIN01", "erin@acme.example"),
        ]
    );
    let form = all(tree, "form")[0];
    assert_eq!(form["actionId"], "page");
    assert_eq!(form["submitLabel"], "Page on-call");
    assert_eq!(
        (
            &form["fields"][0]["name"],
            &form["fields"][0]["label"],
            &form["fields"][0]["required"]
        ),
        (&"title".into(), &"What is wrong?".into(), &true.into())
    );
    assert_eq!(
        (&form["fields"][1]["name"], &form["fields"][1]["required"]),
        (&"details".into(), &false.into())
    );
    // Two calls, each with the operator's token and PagerDuty's API version.
    let calls = pagerduty.received();
    let targets: Vec<(&str, &str)> = calls
        .iter()
        .map(|r| (r.method.as_str(), r.target.as_str()))
        .collect();
    assert_eq!(
        targets,
        [
            ("GET", "/services/PCHECK1"),
            (
                "GET",
                "/oncalls?include%5B%5D=users&escalation_policy_ids%5B%5D=PPOLICY1&earliest=true"
            ),
        ]
    );
    for call in &calls {
        assert_eq!(
            call.headers["authorization"],
            format!("Token token={PAGERDUTY_TOKEN}")
        );
        assert_eq!(call.headers["accept"], PAGERDUTY_ACCEPT);
    }

    // A service with nobody on call says so, and can still be paged.
    let quiet = get("/api/plugins/pagerduty/cards/on-call?entity=component:default/quiet-worker");
    assert_eq!(
        all(&quiet["tree"], "empty")[0]["reason"],
        "Nobody is on call for Quiet Worker right now."
    );
    assert_eq!(all(&quiet["tree"], "form").len(), 1, "{quiet:#}");

    // A service PagerDuty does not know is a message in the card, not a failure.
    let ghost = get("/api/plugins/pagerduty/cards/on-call?entity=component:default/ghost");
    assert_eq!(
        ghost["tree"],
        serde_json::json!({"type": "empty", "reason":
            "PagerDuty has no service 'PGHOST9' (GET /services/PGHOST9 answered 404). \
             Check the entity's pagerduty.com/service-id annotation."})
    );

    // Paging: an incident on the entity's service, as the viewer's email, and the card again.
    let outcome = page(
        lin,
        CHECKOUT_API,
        serde_json::json!({"title": "Checkout answers 502", "details": "Since 10:02 UTC, about a third of requests."}),
    );
    assert_eq!(
        outcome["notice"],
        serde_json::json!({"message": "Paged on-call for Checkout API: incident #1234 opened: \
                                       https://acme.pagerduty.com/incidents/Q1234ABC",
                           "tone": "success"})
    );
    assert_eq!(
        on_call_rows(&outcome["tree"]).len(),
        3,
        "the card re-rendered"
    );
    let incidents = pagerduty.incidents();
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    assert_eq!(incidents[0].headers["from"], "lin@acme.example");
    assert_eq!(incidents[0].headers["content-type"], "application/json");
    assert_eq!(
        incidents[0].headers["authorization"],
        format!("Token token={PAGERDUTY_TOKEN}")
    );
    assert_eq!(incidents[0].headers["accept"], PAGERDUTY_ACCEPT);
    assert_eq!(
        serde_json::from_str::<Value>(&incidents[0].body).unwrap(),
        serde_json::json!({"incident": {
            "type": "incident",
            "title": "Checkout answers 502",
            "service": {"id": "PCHECK1", "type": "service_reference"},
            "urgency": "high",
            "body": {"type": "incident_body", "details": "Since 10:02 UTC, about a third of requests."}
        }})
    );

    // A form without a title is refused before PagerDuty is asked; the card stays.
    let refused = page(
        lin,
        CHECKOUT_API,
        serde_json::json!({"title": "  ", "details": "x"}),
    );
    assert_eq!(
        refused,
        serde_json::json!({"tree": null, "notice": {
            "message": "Say what is wrong: the title is required to page on-call.",
            "tone": "danger"}})
    );
    let refused = page(lin, CHECKOUT_API, serde_json::json!({}));
    assert_eq!(refused["notice"]["tone"], "danger", "{refused:#}");

    // A viewer without an email, with no from-email configured, is told why.
    let refused = page("sam", CHECKOUT_API, serde_json::json!({"title": "Down"}));
    assert_eq!(refused["tree"], Value::Null);
    assert_eq!(refused["notice"]["tone"], "danger");
    let message = refused["notice"]["message"].as_str().unwrap();
    assert!(
        message.contains("user:default/sam has no spec.profile.email")
            && message.contains("from-email"),
        "{message}"
    );
    assert_eq!(
        pagerduty.incidents().len(),
        1,
        "nothing was sent for refusals"
    );

    // PagerDuty's own refusal (an email it does not know) names the call and the status.
    let refused = page("kim", CHECKOUT_API, serde_json::json!({"title": "Down"}));
    assert_eq!(
        refused["notice"],
        serde_json::json!({"message": "PagerDuty POST /incidents answered 400: \
                                       Invalid Input Provided (Requester User Not Found)",
                           "tone": "danger"})
    );
    assert_eq!(
        pagerduty.incidents().last().unwrap().headers["from"],
        "kim@elsewhere.example"
    );
    // The token never shows in the admin API.
    let (_, summary) = server.call_as(lin, "GET", "/api/plugins/pagerduty", None);
    assert!(!summary.to_string().contains(PAGERDUTY_TOKEN));
}

#[test]
fn pagerduty_pages_as_the_configured_address_for_anonymous_viewers_and_names_failed_calls() {
    let tmp = tempfile::tempdir().unwrap();
    let pagerduty = PagerDutyStandIn::start();
    let server = start_pagerduty(
        tmp.path(),
        &pagerduty_grant(
            pagerduty.port(),
            true,
            ", from-email: oncall-bot@acme.example",
        ),
    );
    assert_eq!(
        server.get_ok("/api/plugins/pagerduty")["grants"]["missing"],
        serde_json::json!([])
    );

    // Without sign-in there is no viewer email: the operator's from-email pages.
    let (status, outcome) = server.post(
        "/api/plugins/pagerduty/ui-actions",
        &page_form(
            "component:default/quiet-worker",
            serde_json::json!({"title": "Queue is stuck", "details": ""}),
        ),
    );
    assert_eq!(status, 200, "{outcome:#}");
    assert_eq!(outcome["notice"]["tone"], "success", "{outcome:#}");
    assert!(
        outcome["notice"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Paged on-call for Quiet Worker: incident #1234 opened"),
        "{outcome:#}"
    );
    let incidents = pagerduty.incidents();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].headers["from"], "oncall-bot@acme.example");
    // No details, no body.
    assert_eq!(
        serde_json::from_str::<Value>(&incidents[0].body).unwrap(),
        serde_json::json!({"incident": {
            "type": "incident",
            "title": "Queue is stuck",
            "service": {"id": "PQUIET1", "type": "service_reference"},
            "urgency": "high"
        }})
    );

    // PagerDuty failing is an error naming the plugin, the call and the status.
    let (status, body) =
        server.get("/api/plugins/pagerduty/cards/on-call?entity=component:default/broken");
    assert_eq!(status, 502, "{body:#}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("pagerduty")
            && message
                .contains("PagerDuty GET /services/PBROKEN answered 500: Internal Server Error"),
        "{message}"
    );
    assert!(!message.to_lowercase().contains("panicked"), "{message}");
}

#[test]
fn pagerduty_without_a_token_says_it_is_not_configured() {
    let tmp = tempfile::tempdir().unwrap();
    let pagerduty = PagerDutyStandIn::start();
    let server = start_pagerduty(tmp.path(), &pagerduty_grant(pagerduty.port(), false, ""));
    // Still offered: the card tells people why it is empty.
    assert_eq!(
        server.get_ok(&format!("/api/plugins/cards?entity={CHECKOUT_API}"))["cards"][0]["cardId"],
        "on-call"
    );
    let card = server.get_ok(&format!(
        "/api/plugins/pagerduty/cards/on-call?entity={CHECKOUT_API}"
    ));
    assert_eq!(
        card["tree"],
        serde_json::json!({"type": "empty", "reason":
            "PagerDuty is not configured: the operator has not given this plugin a PagerDuty \
             API token (plugins.pagerduty.secrets.token)."})
    );
    let (status, outcome) = server.post(
        "/api/plugins/pagerduty/ui-actions",
        &page_form(CHECKOUT_API, serde_json::json!({"title": "Down"})),
    );
    assert_eq!(status, 200, "{outcome:#}");
    assert_eq!(outcome["notice"]["tone"], "danger");
    assert!(
        outcome["notice"]["message"]
            .as_str()
            .unwrap()
            .starts_with("PagerDuty is not configured"),
        "{outcome:#}"
    );
    assert!(
        pagerduty.received().is_empty(),
        "PagerDuty was asked without a token"
    );
}
