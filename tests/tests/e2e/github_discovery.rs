//! The first-party `github-discovery` entity provider (Rust) through the real server, against a
//! loopback stand-in for GitHub's REST API (GitHub Enterprise style, under `/api/v3`): an
//! organisation of 104 repositories listed over two pages, whose catalog files become
//! entities; a signed push webhook has exactly the pushed repository read again; unsigned,
//! foreign and uninteresting deliveries read nothing; a broken file costs only itself.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use greenroom_e2e::{
    Received, Server, StandIn, eventually, percent_decoded, plugins_folder, start_with_config,
};
use serde_json::{Value, json};

const TOKEN: &str = "ghp-test-t0ken";
const SECRET: &str = "hook-s3cret";
const WEBHOOK: &str = "/api/plugins/github-discovery/http/webhook";
/// Where the stand-in says its repositories live (their `html_url`s).
const WEB: &str = "https://github.example.com";
/// What the plugin logs when a full scan of the organisation has ended.
const SCANNED: &str = "full scan of acme done";

/// Proxy sign-in, so that the webhook is reachable only because it is a public route.
const SIGN_IN: &str = greenroom_e2e::proxy_sign_in!();

/// A repository of the stand-in organisation.
struct Repo {
    default_branch: String,
    archived: bool,
    /// Files on the default branch by path.
    files: BTreeMap<String, String>,
    /// Bumped by every change, as a push bumps GitHub's `pushed_at`.
    pushes: u32,
}

/// A loopback stand-in for GitHub's REST API: the organisation `acme` (its repositories in
/// name order, `per_page` and `page` honoured) and the contents of each repository's default
/// branch (base64, in lines, as GitHub sends them). It answers only with the token, and
/// records every request.
struct GitHubStandIn {
    api: StandIn,
    repos: Arc<Mutex<BTreeMap<String, Repo>>>,
}

impl GitHubStandIn {
    fn start(repos: BTreeMap<String, Repo>) -> Self {
        let repos = Arc::new(Mutex::new(repos));
        let org = repos.clone();
        let api = StandIn::start(move |request| answer(request, &org.lock().unwrap()));
        Self { api, repos }
    }

    fn received(&self) -> Vec<Received> {
        self.api.received()
    }

    /// The targets of the requests after the first `since`.
    fn targets_since(&self, since: usize) -> Vec<String> {
        self.received()[since..]
            .iter()
            .map(|r| r.target.clone())
            .collect()
    }

    /// Changes a file of a repository, as a push to its default branch would.
    fn push_file(&self, repo: &str, path: &str, text: &str) {
        let mut repos = self.repos.lock().unwrap();
        let repo = repos.get_mut(repo).unwrap();
        repo.files.insert(path.into(), text.into());
        repo.pushes += 1;
    }
}

/// What GitHub answers (status and body) to a request.
fn answer(request: &Received, repos: &BTreeMap<String, Repo>) -> (u16, String) {
    let not_found = || {
        let body = json!({"message": "Not Found",
                          "documentation_url": "https://docs.github.com/rest"});
        (404, body.to_string())
    };
    if request.headers.get("authorization").map(String::as_str) != Some(&*format!("Bearer {TOKEN}"))
    {
        let body = json!({"message": "Bad credentials", "status": "401"});
        return (401, body.to_string());
    }
    let (path, query) = request
        .target
        .split_once('?')
        .unwrap_or((request.target.as_str(), ""));
    let query: HashMap<String, String> = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (percent_decoded(k), percent_decoded(v)))
        .collect();
    let number = |name: &str, default: usize| {
        query
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    if request.method != "GET" {
        return not_found();
    }
    if path == "/api/v3/orgs/acme/repos" {
        let per_page = number("per_page", 30).min(100);
        let page = number("page", 1).max(1);
        let listed: Vec<Value> = repos
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .enumerate()
            .map(|(i, (name, repo))| {
                json!({
                    "id": 1000 + i, "name": name, "full_name": format!("acme/{name}"),
                    "private": false, "owner": {"login": "acme", "type": "Organization"},
                    "html_url": format!("{WEB}/acme/{name}"),
                    "url": format!("{WEB}/api/v3/repos/acme/{name}"),
                    "fork": name.starts_with("fork-"), "archived": repo.archived,
                    "disabled": false, "default_branch": repo.default_branch,
                    "pushed_at": format!("2026-11-20T10:{:02}:00Z", repo.pushes),
                    "visibility": "public"
                })
            })
            .collect();
        return (200, Value::Array(listed).to_string());
    }
    let Some(rest) = path.strip_prefix("/api/v3/repos/acme/") else {
        return not_found();
    };
    let Some((name, file)) = rest.split_once("/contents/") else {
        return not_found();
    };
    let (name, file) = (percent_decoded(name), percent_decoded(file));
    let Some(repo) = repos.get(&name) else {
        return not_found();
    };
    let on_default = query.get("ref").is_none_or(|r| *r == repo.default_branch);
    let Some(text) = repo.files.get(&file).filter(|_| on_default) else {
        return not_found();
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    // GitHub breaks the base64 into lines of 60.
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(60)
        .map(|chunk| std::str::from_utf8(chunk).unwrap())
        .collect();
    let body = json!({
        "type": "file", "encoding": "base64", "size": text.len(), "name": file,
        "path": file, "content": format!("{}\n", lines.join("\n")), "sha": "3d21ec53a331a6f037a91c368710b99387d012c1",
        "html_url": format!("{WEB}/acme/{name}/blob/{}/{file}", repo.default_branch),
    });
    (200, body.to_string())
}

fn repo(default_branch: &str, archived: bool, files: &[(&str, &str)]) -> Repo {
    Repo {
        default_branch: default_branch.into(),
        archived,
        files: files
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect(),
        pushes: 0,
    }
}

fn component(name: &str, description: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  description: {description}\nspec:\n  type: service\n  lifecycle: production\n  owner: payments\n"
    )
}

/// `billing`'s catalog file: a Component, and its API whose definition a placeholder reads
/// from the repository.
fn billing_file(description: &str) -> String {
    format!(
        "{}---\napiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: billing-api\nspec:\n  type: openapi\n  lifecycle: production\n  owner: payments\n  definition:\n    $text: ./openapi.yaml\n",
        component("billing", description)
    )
}

const OPENAPI: &str = "openapi: 3.0.3\ninfo: {title: Billing, version: 1.0.0}\npaths: {}\n";

/// The organisation: 100 repositories without a catalog file, `billing` (two entities, on
/// the first page), `web-shop` (default branch `trunk`, on the second page), `notes` (no
/// catalog file) and `legacy` (archived).
fn organisation() -> BTreeMap<String, Repo> {
    let mut repos: BTreeMap<String, Repo> = (0..100)
        .map(|i| (format!("filler-{i:03}"), repo("main", false, &[])))
        .collect();
    repos.insert(
        "billing".into(),
        repo(
            "main",
            false,
            &[
                ("catalog-info.yaml", &billing_file("Invoices")),
                ("openapi.yaml", OPENAPI),
            ],
        ),
    );
    repos.insert(
        "web-shop".into(),
        repo(
            "trunk",
            false,
            &[("catalog-info.yaml", &component("web-shop", "The shop"))],
        ),
    );
    repos.insert(
        "notes".into(),
        repo("main", false, &[("README.md", "# Notes\n")]),
    );
    repos.insert(
        "legacy".into(),
        repo(
            "main",
            true,
            &[("catalog-info.yaml", &component("legacy", "Old"))],
        ),
    );
    repos
}

/// The operator's grant of the stand-in, with the token and (when `webhook`) the webhook
/// secret as secrets.
fn grant(port: u16, webhook: bool) -> String {
    // SAFETY: set before the server (a child process) starts; every test sets the same values.
    unsafe {
        std::env::set_var("GREENROOM_TEST_GITHUB_TOKEN", TOKEN);
        std::env::set_var("GREENROOM_TEST_GITHUB_WEBHOOK_SECRET", SECRET);
    }
    let webhook_secret = if webhook {
        ", webhook-secret: GREENROOM_TEST_GITHUB_WEBHOOK_SECRET"
    } else {
        ""
    };
    format!(
        "plugins:
  github-discovery:
    allowedHosts: ['127.0.0.1:{port}']
    config: {{org: acme, api-url: 'http://127.0.0.1:{port}/api/v3/'}}
    secrets: {{token: GREENROOM_TEST_GITHUB_TOKEN{webhook_secret}}}
    catalogWrite: true
    publicRoutes: [/webhook]
"
    )
}

fn start(root: &Path, config: &str) -> Server {
    let folder = plugins_folder(root, &[("github-discovery", None)]);
    start_with_config(root, &[], &folder, config)
}

/// Waits until the plugin has ended its first full scan of the organisation and the catalog
/// holds what it offered then: `last`, the entity of the repository read last (repositories
/// are read in name order, and each answer holds all read before).
fn scanned(server: &Server, last: &str) {
    eventually("the first full scan", Duration::from_secs(60), || {
        let path = format!("/api/catalog/entities/by-name/component/default/{last}");
        let (status, _) = server.call_as("ada", "GET", &path, None);
        (server.log().contains(SCANNED) && status == 200).then_some(())
    });
}

/// An entity as `ada` reads it; none when it is not in the catalog.
fn entity(server: &Server, kind: &str, name: &str) -> Option<Value> {
    let path = format!("/api/catalog/entities/by-name/{kind}/default/{name}");
    let (status, body) = server.call_as("ada", "GET", &path, None);
    match status {
        200 => Some(body),
        404 => None,
        _ => panic!("GET {path} answered {status}: {body}"),
    }
}

fn description(server: &Server, name: &str) -> Option<String> {
    entity(server, "component", name)
        .and_then(|e| e["metadata"]["description"].as_str().map(String::from))
}

/// GitHub's `X-Hub-Signature-256` of a body.
fn signature(secret: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    format!(
        "sha256={}",
        hex::encode(ring::hmac::sign(&key, body).as_ref())
    )
}

/// Delivers a webhook event as GitHub does (anonymously), signed with `secret` unless none;
/// returns the status and the body.
fn deliver(server: &Server, event: &str, payload: &Value, secret: Option<&str>) -> (u16, String) {
    let body = payload.to_string();
    let signed = secret.map(|s| signature(s, body.as_bytes()));
    let mut headers = vec![
        ("content-type", "application/json"),
        ("x-github-event", event),
        ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ("user-agent", "GitHub-Hookshot/044aadd"),
    ];
    if let Some(signed) = &signed {
        headers.push(("x-hub-signature-256", signed));
    }
    let (status, _, body) = server.raw_text("POST", WEBHOOK, &headers, body.as_bytes());
    (status, body)
}

/// The parts of a push event the plugin reads, and some it does not.
fn push(owner: &str, repo: &str, default_branch: &str, git_ref: &str) -> Value {
    json!({
        "ref": git_ref, "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "after": "0000000000000000000000000000000000000001", "created": false, "deleted": false,
        "repository": {
            "id": 1296269, "name": repo, "full_name": format!("{owner}/{repo}"),
            "owner": {"name": owner, "login": owner}, "html_url": format!("{WEB}/{owner}/{repo}"),
            "fork": false, "archived": false, "default_branch": default_branch,
            "master_branch": default_branch, "pushed_at": 1_795_000_000, "organization": owner
        },
        "pusher": {"name": "ada", "email": "ada@example.com"},
        "commits": [{"id": "0000000000000000000000000000000000000001", "message": "Describe",
                     "modified": ["catalog-info.yaml"], "added": [], "removed": []}]
    })
}

#[test]
fn github_discovery_offers_each_repositorys_catalog_file_and_reads_a_pushed_one_again() {
    let github = GitHubStandIn::start(organisation());
    let tmp = tempfile::tempdir().unwrap();
    let server = start(
        tmp.path(),
        &format!("{SIGN_IN}{}", grant(github.api.port, true)),
    );
    scanned(&server, "web-shop");

    // Both repositories' entities, with Backstage's annotations for entities found on GitHub;
    // the archived one's are not there.
    let billing = entity(&server, "component", "billing").expect("billing is discovered");
    let annotations = &billing["metadata"]["annotations"];
    assert_eq!(annotations["github.com/project-slug"], "acme/billing");
    assert_eq!(
        annotations["backstage.io/view-url"],
        format!("{WEB}/acme/billing/blob/main/catalog-info.yaml")
    );
    assert_eq!(
        annotations["backstage.io/edit-url"],
        format!("{WEB}/acme/billing/edit/main/catalog-info.yaml")
    );
    assert_eq!(
        annotations["backstage.io/source-location"],
        format!("url:{WEB}/acme/billing/tree/main/")
    );
    // The portal keeps a provider's entities as a file of its own and says so itself.
    let managed_by = annotations["backstage.io/managed-by-location"]
        .as_str()
        .unwrap();
    assert!(
        managed_by.starts_with("file:") && managed_by.ends_with("github-discovery.yaml"),
        "{managed_by}"
    );
    assert_eq!(billing["metadata"]["description"], "Invoices");
    let api = entity(&server, "api", "billing-api").expect("the second document");
    assert_eq!(
        api["spec"]["definition"], OPENAPI,
        "the placeholder is read from the repository"
    );
    assert!(api["metadata"]["annotations"]["github.com/project-slug"].is_null());
    let shop = entity(&server, "component", "web-shop").expect("web-shop, on the second page");
    assert_eq!(
        shop["metadata"]["annotations"]["backstage.io/view-url"],
        format!("{WEB}/acme/web-shop/blob/trunk/catalog-info.yaml")
    );
    assert!(entity(&server, "component", "legacy").is_none());

    // Every request with the token and GitHub's headers; the listing read in pages of 100 up
    // to the short one; the archived repository never read.
    let received = github.received();
    for request in &received {
        assert_eq!(request.method, "GET");
        assert_eq!(request.headers["authorization"], format!("Bearer {TOKEN}"));
        assert_eq!(request.headers["accept"], "application/vnd.github+json");
        assert_eq!(request.headers["x-github-api-version"], "2022-11-28");
        assert!(!request.headers["user-agent"].is_empty());
    }
    let listings: Vec<&str> = received
        .iter()
        .map(|r| r.target.as_str())
        .filter(|t| t.starts_with("/api/v3/orgs/acme/repos"))
        .collect();
    assert_eq!(listings.len(), 2, "{listings:?}");
    assert!(listings[0].contains("per_page=100") && listings[0].ends_with("&page=1"));
    assert!(listings[1].ends_with("page=2"), "{listings:?}");
    let targets: Vec<&str> = received.iter().map(|r| r.target.as_str()).collect();
    assert!(
        targets.contains(&"/api/v3/repos/acme/web-shop/contents/catalog-info.yaml?ref=trunk"),
        "{targets:?}"
    );
    assert!(
        targets.contains(&"/api/v3/repos/acme/notes/contents/catalog-info.yaml?ref=main"),
        "{targets:?}"
    );
    assert!(
        !targets.iter().any(|t| t.contains("/acme/legacy/")),
        "{targets:?}"
    );

    // A signed push to billing's default branch: 202, and the catalog shows the change soon,
    // with only billing's files read again (no listing, no other repository).
    let since = github.received().len();
    github.push_file(
        "billing",
        "catalog-info.yaml",
        &billing_file("Invoices and refunds"),
    );
    let (status, body) = deliver(
        &server,
        "push",
        &push("acme", "billing", "main", "refs/heads/main"),
        Some(SECRET),
    );
    assert_eq!(status, 202, "{body}");
    eventually("the pushed change", Duration::from_secs(5), || {
        (description(&server, "billing").as_deref() == Some("Invoices and refunds")).then_some(())
    });
    let after = github.targets_since(since);
    assert!(
        after.contains(&"/api/v3/repos/acme/billing/contents/catalog-info.yaml?ref=main".into()),
        "{after:?}"
    );
    assert!(
        after
            .iter()
            .all(|t| t.starts_with("/api/v3/repos/acme/billing/contents/")),
        "only billing is read again: {after:?}"
    );

    // Deliveries that ask for nothing read nothing: unsigned or badly signed (401), a push
    // to another branch or from another organisation, another event (204); ping (200).
    let since = github.received().len();
    let shop_push = push("acme", "web-shop", "trunk", "refs/heads/trunk");
    assert_eq!(
        deliver(&server, "push", &shop_push, Some("wrong")),
        (401, "bad signature".to_string())
    );
    assert_eq!(
        deliver(&server, "push", &shop_push, None),
        (401, "missing signature".to_string())
    );
    let branch = push("acme", "web-shop", "trunk", "refs/heads/feature/cart");
    assert_eq!(deliver(&server, "push", &branch, Some(SECRET)).0, 204);
    let foreign = push("umbrella", "web-shop", "trunk", "refs/heads/trunk");
    assert_eq!(deliver(&server, "push", &foreign, Some(SECRET)).0, 204);
    let issue = json!({"action": "opened", "repository": shop_push["repository"]});
    assert_eq!(deliver(&server, "issues", &issue, Some(SECRET)).0, 204);
    let ping = json!({"zen": "Keep it logically awesome.", "hook_id": 1});
    assert_eq!(
        deliver(&server, "ping", &ping, Some(SECRET)),
        (200, "pong".to_string())
    );
    // Only the webhook is public.
    let (status, _) = server.raw("GET", "/api/plugins/github-discovery/http/other", &[], b"");
    assert_eq!(status, 401);
    // Then a push that counts: the only request since is web-shop's file, once the catalog
    // shows what it read.
    github.push_file(
        "web-shop",
        "catalog-info.yaml",
        &component("web-shop", "The shop, with a cart"),
    );
    assert_eq!(deliver(&server, "push", &shop_push, Some(SECRET)).0, 202);
    eventually("web-shop read again", Duration::from_secs(5), || {
        (description(&server, "web-shop").as_deref() == Some("The shop, with a cart")).then_some(())
    });
    assert_eq!(
        github.targets_since(since),
        ["/api/v3/repos/acme/web-shop/contents/catalog-info.yaml?ref=trunk"]
    );

    // A repository archived on GitHub loses its entities without anything being read.
    github
        .repos
        .lock()
        .unwrap()
        .get_mut("web-shop")
        .unwrap()
        .archived = true;
    let since = github.received().len();
    let archived = json!({"action": "archived", "repository": {
        "name": "web-shop", "full_name": "acme/web-shop", "owner": {"login": "acme"},
        "html_url": format!("{WEB}/acme/web-shop"), "default_branch": "trunk", "archived": true}});
    assert_eq!(
        deliver(&server, "repository", &archived, Some(SECRET)).0,
        202
    );
    eventually("web-shop removed", Duration::from_secs(5), || {
        entity(&server, "component", "web-shop")
            .is_none()
            .then_some(())
    });
    assert!(github.targets_since(since).is_empty());
    assert!(entity(&server, "component", "billing").is_some());

    // A repository renamed asks for a full scan: the listing again, and only repositories
    // pushed to since they were read (billing, read for a webhook, whose push time the
    // plugin did not learn) or new under their name; the hundred untouched ones are not.
    let since = github.received().len();
    {
        let mut repos = github.repos.lock().unwrap();
        let mut notes = repos.remove("notes").unwrap();
        notes.files.insert(
            "catalog-info.yaml".into(),
            component("notebook", "Renamed from notes"),
        );
        notes.pushes += 1;
        repos.insert("notebook".into(), notes);
    }
    let renamed = json!({"action": "renamed", "repository": {
        "name": "notebook", "full_name": "acme/notebook", "owner": {"login": "acme"},
        "html_url": format!("{WEB}/acme/notebook"), "default_branch": "main"},
        "changes": {"repository": {"name": {"from": "notes"}}}});
    assert_eq!(
        deliver(&server, "repository", &renamed, Some(SECRET)).0,
        202
    );
    eventually(
        "the renamed repository read",
        Duration::from_secs(10),
        || entity(&server, "component", "notebook").map(|_| ()),
    );
    let read: std::collections::BTreeSet<String> = github
        .targets_since(since)
        .iter()
        .filter_map(|t| t.strip_prefix("/api/v3/repos/acme/"))
        .map(|t| t.split('/').next().unwrap().to_string())
        .collect();
    assert_eq!(
        read.into_iter().collect::<Vec<_>>(),
        ["billing", "notebook"]
    );
    let listings = github
        .targets_since(since)
        .iter()
        .filter(|t| t.starts_with("/api/v3/orgs/acme/repos"))
        .count();
    assert_eq!(listings, 2);
    assert!(entity(&server, "component", "billing").is_some());
}

#[test]
fn a_broken_catalog_file_costs_only_its_own_documents_and_the_webhook_needs_a_secret() {
    let mut repos = BTreeMap::new();
    repos.insert(
        "good".to_string(),
        repo(
            "main",
            false,
            &[("catalog-info.yaml", &component("good", "Fine"))],
        ),
    );
    repos.insert(
        "broken".to_string(),
        repo(
            "main",
            false,
            &[(
                "catalog-info.yaml",
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: broken\n  tags: [unclosed\nspec: {}\n",
            )],
        ),
    );
    repos.insert(
        "mixed".to_string(),
        repo(
            "main",
            false,
            &[(
                "catalog-info.yaml",
                &format!(
                    "{}---\nkind: Component\nmetadata: {{name: mixed-bad\n",
                    component("mixed-ok", "Fine too")
                ),
            )],
        ),
    );
    let github = GitHubStandIn::start(repos);
    let tmp = tempfile::tempdir().unwrap();
    let server = start(tmp.path(), &grant(github.api.port, false));
    scanned(&server, "mixed-ok");

    let found = |name: &str| {
        let (status, _) = server.get(&format!(
            "/api/catalog/entities/by-name/component/default/{name}"
        ));
        status == 200
    };
    assert!(found("good") && found("mixed-ok"));
    assert!(!found("broken") && !found("mixed-bad"));
    let log = server.log();
    for expected in [
        "acme/broken: catalog-info.yaml document 1 skipped: not valid YAML",
        "acme/mixed: catalog-info.yaml document 2 skipped: not valid YAML",
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains(expected) && l.contains("github-discovery")),
            "{expected}\nnot in\n{log}"
        );
    }

    // Without a webhook secret no delivery is believed, however it is signed.
    let (status, body) = deliver(
        &server,
        "push",
        &push("acme", "good", "main", "refs/heads/main"),
        Some(SECRET),
    );
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("webhook-secret"), "{body}");
}
