//! Contract versions side by side, and what 0.2.0 adds, through the real server: 0.1.0
//! components built before 0.2.0 existed (`tests/fixtures/plugins-v0.1.0/`) load, render,
//! run and provide exactly as their 0.2.0 rebuilds do, beside a 0.2.0 plugin; the `widgets`
//! test plugin's card, tab and page, their buttons and forms, its storage (quota, clearing,
//! kept across restarts), the viewer it is called for, and its hostile actions; its search
//! documents (collected in full, then incrementally when it asks; bad ones contained).

use std::path::{Path, PathBuf};
use std::time::Duration;

use greenroom_e2e::{FakeApi, Server, eventually, key_values, plugins_folder, start_with_config};
use serde_json::{Value, json};

const CHECKOUT: &str = "component:default/checkout";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/plugins-v0.1.0")
        .join(format!("{name}.wasm"))
}

/// A plugins folder with the 0.1.0 fixtures of `names` beside the built plugins `built`.
fn mixed_folder(root: &Path, names: &[&str], built: &[&str]) -> PathBuf {
    let built: Vec<(&str, Option<String>)> = built.iter().map(|n| (*n, None)).collect();
    let dir = plugins_folder(root, &built);
    for name in names {
        std::fs::copy(fixture(name), dir.join(format!("{name}-v0.1.0.wasm"))).unwrap();
    }
    dir
}

fn provider_config(port: u16) -> String {
    format!(
        "plugins:\n  json-entities:\n    allowedHosts: ['127.0.0.1:{port}']\n    config: {{url: 'http://127.0.0.1:{port}/entities', interval-seconds: '1'}}\n    catalogWrite: true\n"
    )
}

/// Every tab the probe and ownership plugins render for checkout, and what the action and
/// the provider did, as one server serves them.
fn observed(server: &Server) -> Value {
    let mut tabs = Vec::new();
    for (plugin, tab) in [
        ("probe", "build"),
        ("probe", "imports"),
        ("ownership", "ownership"),
    ] {
        let (status, body) = server.get(&format!(
            "/api/plugins/{plugin}/tabs/{tab}?entity={CHECKOUT}"
        ));
        assert_eq!(status, 200, "{plugin}/{tab}: {body}");
        tabs.push(body);
    }
    let listed = server.get_ok(&format!("/api/plugins/tabs?entity={CHECKOUT}"));
    let (status, action) = server.post(
        "/api/plugins/template-file/actions/write",
        &json!({"input": {"path": "a.txt", "template": "{{ n | upper }}", "values": {"n": "x"}}}),
    );
    assert_eq!(status, 200, "{action}");
    let provided = eventually("the provider's entity", Duration::from_secs(10), || {
        let (status, body) = server.get("/api/catalog/entities/by-name/component/default/alpha");
        (status == 200).then_some(body["spec"].clone())
    });
    json!({"tabs": tabs, "listed": listed, "action": action, "provided": provided})
}

#[test]
fn components_built_for_0_1_0_serve_exactly_as_their_0_2_0_rebuilds_beside_0_2_0_plugins() {
    let entities = r#"{"items":[{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"alpha"},"spec":{"type":"service","lifecycle":"production","owner":"payments"}}]}"#;
    let api = FakeApi::start(entities);
    let names = ["probe", "ownership", "template-file", "json-entities"];

    let old = tempfile::tempdir().unwrap();
    let folder = mixed_folder(old.path(), &names, &["widgets"]);
    let server = start_with_config(old.path(), &[], &folder, &provider_config(api.port));
    let plugins = server.get_ok("/api/plugins");
    for name in names {
        let summary = plugins
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == name)
            .unwrap_or_else(|| panic!("{name} not listed: {plugins:#}"));
        assert_eq!(summary["state"], "loaded", "{summary}");
        assert_eq!(summary["contract"], "greenroom:plugin@0.1.0", "{summary}");
    }
    let widgets = server.get_ok("/api/plugins/widgets");
    assert_eq!(widgets["contract"], "greenroom:plugin@0.2.0");
    assert_eq!(
        widgets["contributions"],
        json!([
            "entity-tabs",
            "entity-cards",
            "pages",
            "interactions",
            "search-documents"
        ])
    );
    let from_old = observed(&server);
    drop(server);

    let new = tempfile::tempdir().unwrap();
    let folder = plugins_folder(new.path(), &names.map(|n| (n, None)));
    let server = start_with_config(new.path(), &[], &folder, &provider_config(api.port));
    assert_eq!(
        server.get_ok("/api/plugins/probe")["contract"],
        "greenroom:plugin@0.2.0"
    );
    let from_new = observed(&server);
    // The tab list also has widgets' tab beside the old probe; compare the shared plugins.
    let shared = |observed: &Value| {
        let mut observed = observed.clone();
        let tabs = observed["listed"]["tabs"].as_array_mut().unwrap();
        tabs.retain(|t| t["pluginId"] != "widgets");
        observed
    };
    assert_eq!(shared(&from_old), shared(&from_new));
    // Not vacuous: the imports tab carries what every host import answered.
    let imports = key_values(&from_old["tabs"][1]);
    assert_eq!(imports["template"], "Hello CHECKOUT", "{imports:?}");
}

const WIDGETS_CONFIG: &str = concat!(
    greenroom_e2e::proxy_sign_in!(),
    "plugins:
  widgets:
    limits: {timeoutMs: 700, storageBytes: 300000}
"
);

/// Waits until no plugin is loading (the server's own wait cannot list plugins anonymously
/// once sign-in is on).
fn loaded(server: &Server, who: &str) {
    eventually("plugins loaded", Duration::from_secs(60), || {
        let (status, plugins) = server.call_as(who, "GET", "/api/plugins", None);
        (status == 200 && !plugins.to_string().contains("\"loading\"")).then_some(())
    });
}

fn act(server: &Server, who: &str, action: Value) -> (u16, Value) {
    server.call_as(
        who,
        "POST",
        "/api/plugins/widgets/ui-actions",
        Some(&action),
    )
}

/// The counter's facts from a rendered tree (a list whose first item is the key-values).
fn facts(tree: &Value) -> std::collections::HashMap<String, String> {
    key_values(&json!({"tree": tree["items"][0]}))
}

#[test]
fn a_0_2_0_plugin_shows_cards_tabs_and_pages_whose_buttons_and_forms_call_it_back() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = plugins_folder(tmp.path(), &[("widgets", None), ("probe", None)]);
    let server = start_with_config(tmp.path(), &[], &folder, WIDGETS_CONFIG);
    let ada = "ada";
    loaded(&server, ada);

    // Cards: offered for components only, with their size; rendered for the viewer.
    let (status, cards) = server.call_as(
        ada,
        "GET",
        &format!("/api/plugins/cards?entity={CHECKOUT}"),
        None,
    );
    assert_eq!(status, 200, "{cards}");
    assert_eq!(
        cards["cards"],
        json!([{"pluginId": "widgets", "cardId": "counter", "title": "Counter", "size": "small"}])
    );
    let (_, none) = server.call_as(
        ada,
        "GET",
        "/api/plugins/cards?entity=group:default/payments",
        None,
    );
    assert_eq!(none["cards"], json!([]), "{none}");
    let (status, card) = server.call_as(
        ada,
        "GET",
        &format!("/api/plugins/widgets/cards/counter?entity={CHECKOUT}"),
        None,
    );
    assert_eq!(status, 200, "{card}");
    let shown = facts(&card["tree"]);
    assert_eq!(shown["Count"], "0");
    assert_eq!(shown["Viewer"], "user:default/ada");
    assert!(
        shown["Owns through"].contains("group:default/payments"),
        "{shown:?}"
    );
    let buttons = card["tree"]["items"][1]["items"].clone();
    assert_eq!(buttons[0]["type"], "button", "{buttons}");
    assert_eq!(buttons[1]["confirm"], "Reset the counter?");
    let form = &card["tree"]["items"][2];
    assert_eq!(form["type"], "form");
    assert_eq!(
        form["fields"][1]["kind"]["options"][1],
        json!(["10", "ten"])
    );

    // A button on the card, then on the tab: the answer is the new tree and a notice.
    let press = |surface: Value| {
        act(
            &server,
            ada,
            json!({"surface": surface, "actionId": "increment", "entity": CHECKOUT}),
        )
    };
    let (status, outcome) = press(json!({"kind": "card", "id": "counter"}));
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(facts(&outcome["tree"])["Count"], "1");
    assert_eq!(
        outcome["notice"],
        json!({"message": "user:default/ada counted 1", "tone": "success"})
    );
    let (_, outcome) = press(json!({"kind": "tab", "id": "counter"}));
    assert_eq!(facts(&outcome["tree"])["Count"], "2");

    // The form's values reach the plugin typed.
    let (status, outcome) = act(
        &server,
        ada,
        json!({"surface": {"kind": "card", "id": "counter"}, "actionId": "set", "entity": CHECKOUT,
               "values": {"count": 3, "step": "10", "double": true, "note": "hello"}}),
    );
    assert_eq!(status, 200, "{outcome}");
    let shown = facts(&outcome["tree"]);
    assert_eq!(
        (shown["Count"].as_str(), shown["Note"].as_str()),
        ("60", "hello")
    );
    let (_, refused) = act(
        &server,
        ada,
        json!({"surface": {"kind": "card", "id": "counter"}, "actionId": "set", "entity": CHECKOUT,
               "values": {"count": "lots"}}),
    );
    assert_eq!(
        refused["tree"],
        Value::Null,
        "a refusal keeps the tree: {refused}"
    );
    assert_eq!(refused["notice"]["tone"], "danger");

    // Pages: listed for the sidebar, rendered with the stored counters.
    assert_eq!(
        server.call_as(ada, "GET", "/api/plugins/pages", None).1,
        json!([{"pluginId": "widgets", "pageId": "board", "title": "Counters"}])
    );
    let (status, page) = server.call_as(ada, "GET", "/api/plugins/widgets/pages/board", None);
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["title"], "Counters");
    let rows = page["tree"]["children"][1]["rows"].clone();
    assert_eq!(
        rows,
        json!([[{"type": "text", "text": CHECKOUT}, {"type": "text", "text": "60"}]])
    );
    let (_, pong) = act(
        &server,
        ada,
        json!({"surface": {"kind": "page", "id": "board"}, "actionId": "ping"}),
    );
    assert_eq!(
        pong,
        json!({"tree": null, "notice": {"message": "pong for user:default/ada", "tone": "info"}})
    );

    // What is not offered, not interactive or not JSON is refused before the plugin runs.
    let (status, body) = act(
        &server,
        ada,
        json!({"surface": {"kind": "card", "id": "counter"}, "actionId": "increment", "entity": "group:default/payments"}),
    );
    assert_eq!(status, 404, "{body}");
    let (status, _) = server.call_as(ada, "GET", "/api/plugins/widgets/pages/nope", None);
    assert_eq!(status, 404);
    let (status, body) = server.call_as(
        ada,
        "POST",
        "/api/plugins/probe/ui-actions",
        Some(&json!({"surface": {"kind": "tab", "id": "build"}, "actionId": "x", "entity": CHECKOUT})),
    );
    assert_eq!(status, 400, "{body}");
    let form_post = br#"{"surface":{"kind":"page","id":"board"},"actionId":"ping"}"#;
    let (status, _) = server.raw(
        "POST",
        "/api/plugins/widgets/ui-actions",
        &[("x-forwarded-user", ada), ("content-type", "text/plain")],
        form_post,
    );
    assert_eq!(
        status, 415,
        "a cross-site form's content type is refused (http::guard)"
    );

    // Hostile actions are contained: a loop times out, a trap fails the call, a storage bomb
    // stops at the quota; the plugin keeps serving.
    let hostile = |action: &str| {
        act(
            &server,
            ada,
            json!({"surface": {"kind": "page", "id": "board"}, "actionId": action}),
        )
    };
    for (action, failure) in [("loop", "timed out"), ("trap", "trapped")] {
        let (status, body) = hostile(action);
        assert_eq!(status, 502, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(failure), "{action}: {message}");
    }
    let (status, body) = hostile("fill");
    assert_eq!(status, 200, "{body}");
    let message = body["notice"]["message"].as_str().unwrap();
    assert!(message.contains("quota of 300000 bytes"), "{message}");
    let storage = server.call_as(ada, "GET", "/api/plugins/widgets", None).1["storage"].clone();
    assert!(storage["bytes"].as_u64().unwrap() <= 300_000, "{storage}");
    assert!(storage["bytes"].as_u64().unwrap() > 200_000, "{storage}");
    assert_eq!(storage["quotaBytes"], 300_000);
    let (_, pong) = hostile("ping");
    assert_eq!(pong["notice"]["tone"], "info", "{pong}");

    // Too many actions at once from one viewer are turned away with 429 and Retry-After.
    let mut limited = None;
    for _ in 0..40 {
        let (status, body) = hostile("ping");
        if status == 429 {
            limited = Some(body);
            break;
        }
    }
    let limited = limited.expect("40 quick actions hit the rate limit");
    assert!(
        limited["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too many actions")
    );

    // Storage outlives the server; the operator can clear it.
    let data = tmp.path().join("data");
    drop(server);
    let server = start_with_config(tmp.path(), &[], &folder, WIDGETS_CONFIG);
    loaded(&server, ada);
    let (_, card) = server.call_as(
        ada,
        "GET",
        &format!("/api/plugins/widgets/cards/counter?entity={CHECKOUT}"),
        None,
    );
    assert_eq!(
        facts(&card["tree"])["Count"],
        "60",
        "kept in {}",
        data.display()
    );
    let (status, summary) = server.call_as(ada, "DELETE", "/api/plugins/widgets/storage", None);
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["storage"]["bytes"], 0, "{summary}");
    let (_, card) = server.call_as(
        ada,
        "GET",
        &format!("/api/plugins/widgets/cards/counter?entity={CHECKOUT}"),
        None,
    );
    assert_eq!(facts(&card["tree"])["Count"], "0");
}

const ROUTES_CONFIG: &str = concat!(
    greenroom_e2e::proxy_sign_in!(),
    "plugins:
  webhooks:
    config: {secret: s3cr3t}
    publicRoutes: [/hook]
    limits: {timeoutMs: 700}
"
);

/// GitHub's `X-Hub-Signature-256` of a body.
fn signature(secret: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    format!(
        "sha256={}",
        hex::encode(ring::hmac::sign(&key, body).as_ref())
    )
}

#[test]
fn a_plugin_serves_http_routes_signed_in_or_public_within_limits() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = plugins_folder(tmp.path(), &[("webhooks", None), ("widgets", None)]);
    let server = start_with_config(tmp.path(), &[], &folder, ROUTES_CONFIG);
    loaded(&server, "ada");
    let route = |path: &str| format!("/api/plugins/webhooks/http{path}");
    let as_ada = [("x-forwarded-user", "ada")];

    // Signed in like the rest of the API; the viewer comes from the host, not the client.
    let (status, _) = server.get(&route("/hello"));
    assert_eq!(
        status, 401,
        "a route is not public unless the operator says so"
    );
    let spoofed = [
        ("x-forwarded-user", "ada"),
        ("x-greenroom-viewer", "user:default/root"),
    ];
    let (status, headers, body) = server.raw_text("GET", &route("/hello"), &spoofed, b"");
    assert_eq!((status, body.as_str()), (200, "hello user:default/ada"));
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(
        headers["content-security-policy"],
        "sandbox; default-src 'none'"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let json = [
        ("x-forwarded-user", "ada"),
        ("content-type", "application/json"),
    ];
    let (status, headers, body) =
        server.raw_text("POST", &route("/echo?x=1"), &json, br#"{"ping": 1}"#);
    assert_eq!(
        (status, body.as_str()),
        (200, r#"{"ping": 1}"#),
        "{headers:?}"
    );
    assert_eq!(headers["content-type"], "application/json");
    let (status, _, body) = server.raw_text("GET", &route("/nope"), &as_ada, b"");
    assert_eq!((status, body.as_str()), (404, "no route GET /nope"));
    assert_eq!(
        server
            .call_as("ada", "GET", "/api/plugins/widgets/http/x", None)
            .0,
        404
    );

    // A public webhook: no sign-in, the plugin checks the signature itself.
    let delivery = br#"{"ref": "refs/heads/main"}"#;
    let hook = |signature: &str, id: &str| {
        server.raw_text(
            "POST",
            &route("/hook"),
            &[
                ("content-type", "application/json"),
                ("x-hub-signature-256", signature),
                ("x-github-event", "push"),
                ("x-github-delivery", id),
            ],
            delivery,
        )
    };
    let (status, _, body) = hook(&signature("wrong", delivery), "d1");
    assert_eq!((status, body.as_str()), (401, "bad signature"));
    let (status, _, _) = hook(&signature("s3cr3t", delivery), "d2");
    assert_eq!(status, 204);
    let (status, deliveries) = server.call_as("ada", "GET", &route("/deliveries"), None);
    assert_eq!((status, deliveries), (200, json!([["d2", "push"]])));
    // Public means that path and below, nothing else.
    assert_eq!(server.get(&route("/hooks")).0, 401);
    assert_eq!(server.get(&route("/deliveries")).0, 401);
    let (status, _) = server.raw("POST", &route("/hook/../deliveries"), &[], b"");
    assert_eq!(status, 400, "dot segments are refused");

    // Limits: a body past 1 MiB is refused before the plugin runs; a route that never ends
    // its body, or never answers, ends at the deadline; the plugin keeps serving.
    let big = vec![b'x'; (1 << 20) + 1];
    let (status, _, _) = server.raw_text("POST", &route("/echo"), &json, &big);
    assert_eq!(status, 413);
    for hostile in ["/stream", "/loop"] {
        let (status, _, body) = server.raw_text("GET", &route(hostile), &as_ada, b"");
        assert_eq!(status, 502, "{hostile}: {body}");
        assert!(body.contains("webhooks"), "{body}");
    }
    let (status, _, body) = server.raw_text("GET", &route("/hello"), &as_ada, b"");
    assert_eq!((status, body.as_str()), (200, "hello user:default/ada"));
    let stats = server
        .call_as("ada", "GET", "/api/plugins/webhooks", None)
        .1;
    assert_eq!(stats["contributions"], json!(["http-routes"]));
    assert!(stats["stats"]["failures"].as_u64().unwrap() >= 2, "{stats}");
}

/// Writes `components` (name, description) as one catalog file.
fn write_components(file: &Path, components: &[(&str, &str)]) {
    let documents: Vec<String> = components.iter().map(|(n, d)| component(n, d)).collect();
    std::fs::write(file, documents.join("---\n")).unwrap();
}

fn component(name: &str, description: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  description: {description}\nspec:\n  type: service\n  lifecycle: production\n  owner: payments\n"
    )
}

/// A server with `plugin` and a catalog file of its own holding the component `first`;
/// answers the file with it, to change the catalog through.
fn following(tmp: &Path, plugin: &str, first: &str) -> (Server, PathBuf) {
    let extra = tmp.join("extra");
    std::fs::create_dir_all(&extra).unwrap();
    let file = extra.join("catalog-info.yaml");
    write_components(&file, &[(first, "first")]);
    let folder = plugins_folder(tmp, &[(plugin, None)]);
    let server = start_with_config(tmp, std::slice::from_ref(&extra), &folder, "");
    (server, file)
}

#[test]
fn a_plugin_follows_the_catalogs_changes_in_batches_and_a_trapping_handler_is_contained() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, file) = following(tmp.path(), "follower", "newcomer");
    assert_eq!(
        server.get_ok("/api/plugins/follower")["contributions"],
        json!(["pages", "catalog-events"])
    );
    let changes = || -> Vec<String> {
        let page = server.get_ok("/api/plugins/follower/pages/changes");
        page["tree"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["text"].as_str().unwrap().to_string())
            .collect()
    };
    let until = |what: &str, seen: &str| {
        eventually(what, Duration::from_secs(10), || {
            let all = changes();
            all.iter().any(|c| c == seen).then_some(all)
        })
    };
    // Changed, added, removed, each as the catalog commits it.
    write_components(&file, &[("newcomer", "second")]);
    until("the change", "changed component:default/newcomer");
    write_components(&file, &[("newcomer", "second"), ("arrival", "new")]);
    until("the addition", "added component:default/arrival");
    write_components(&file, &[("arrival", "new")]);
    let all = until("the removal", "removed component:default/newcomer");
    let at = |c: &str| all.iter().position(|x| x == c).unwrap();
    assert!(at("changed component:default/newcomer") < at("added component:default/arrival"));
    assert!(at("added component:default/arrival") < at("removed component:default/newcomer"));
    assert!(
        !all.iter()
            .any(|c| c.ends_with("component:default/checkout")),
        "untouched entities send nothing: {all:?}"
    );

    // A handler that traps loses its batch, is counted, and gets the next one.
    write_components(&file, &[("arrival", "new"), ("explode", "boom")]);
    eventually("the trap counted", Duration::from_secs(10), || {
        let stats = server.get_ok("/api/plugins/follower")["stats"].clone();
        (stats["traps"].as_u64() >= Some(1)).then_some(())
    });
    let log = server.log();
    assert!(
        log.lines()
            .any(|l| l.contains("catalog-events.on-changes failed: trapped")),
        "{log}"
    );
    write_components(&file, &[("arrival", "new"), ("after", "calm")]);
    let all = until("the batch after the trap", "added component:default/after");
    // The trapped batch (explode's addition) is lost; its removal came in the next one.
    let explode: Vec<_> = all.iter().filter(|c| c.contains("explode")).collect();
    assert_eq!(explode, ["removed component:default/explode"], "{all:?}");
}

/// The Python SDK's catalog events, storage, schedule and search documents: `py-follower`
/// keeps each entity's latest change and offers it to search, asking to be collected again
/// after every batch.
#[test]
fn a_python_plugin_follows_the_catalog_and_feeds_search() {
    let tmp = tempfile::tempdir().unwrap();
    let (server, file) = following(tmp.path(), "py-follower", "pioneer");
    assert_eq!(
        server.get_ok("/api/plugins/py-follower")["contributions"],
        json!(["entity-tabs", "catalog-events", "search-documents"])
    );
    let found = |what: &str, term: &str, title: &str| {
        eventually(what, Duration::from_secs(15), || {
            let (_, answer) =
                server.get(&format!("/api/search/query?types[]=py-changes&term={term}"));
            titles(&answer)
                .contains(&title.to_string())
                .then_some(answer)
        })
    };
    write_components(&file, &[("pioneer", "second")]);
    let answer = found("the change", "pioneer", "changed component:default/pioneer");
    assert_eq!(
        answer["results"][0]["document"]["entityRef"],
        "component:default/pioneer"
    );
    assert_eq!(answer["results"][0]["document"]["change"], "changed");
    write_components(&file, &[("settler", "new")]);
    found("the addition", "settler", "added component:default/settler");
    found(
        "the removal",
        "pioneer",
        "removed component:default/pioneer",
    );
}

/// A search for `query` as `who`: (status, answer).
fn search(server: &Server, who: &str, query: &str) -> (u16, Value) {
    server.call_as(who, "GET", &format!("/api/search/query?{query}"), None)
}

fn titles(answer: &Value) -> Vec<String> {
    answer["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            r["document"]["title"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[test]
fn a_plugin_feeds_search_with_its_own_types_incrementally_and_bad_collections_are_contained() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = plugins_folder(tmp.path(), &[("widgets", None)]);
    let server = start_with_config(tmp.path(), &[], &folder, WIDGETS_CONFIG);
    let ada = "ada";
    loaded(&server, ada);

    // Its types join search's, with their titles and source; the board (about no entity)
    // is collected when the plugin loads.
    let types = eventually("the plugin's types", Duration::from_secs(10), || {
        let (_, types) = server.call_as(ada, "GET", "/api/search/types", None);
        types.to_string().contains("widget-board").then_some(types)
    });
    assert!(
        types.as_array().unwrap().contains(
            &json!({"type": "widget-note", "title": "Widget notes", "source": "widgets"})
        ),
        "{types}"
    );
    let board = eventually("the board searchable", Duration::from_secs(10), || {
        let (_, found) = search(&server, ada, "term=counters%20board&types[]=widget-board");
        (found["numberOfResults"] == 1).then_some(found)
    });
    assert_eq!(
        board["results"][0]["document"],
        json!({"title": "Counters board", "text": "Every counter of the widgets plugin, on one page.",
               "location": "/p/widgets/board", "plugin": "widgets"})
    );
    assert_eq!(board["results"][0]["type"], "widget-board");

    // A note set through the card: the plugin asks to be collected, and the note is found
    // within a second or so, from an incremental collection, about its entity.
    let set_note = |note: &str| {
        let (status, body) = act(
            &server,
            ada,
            json!({"surface": {"kind": "card", "id": "counter"}, "actionId": "set", "entity": CHECKOUT,
                   "values": {"count": 7, "note": note}}),
        );
        assert_eq!(status, 200, "{body}");
    };
    set_note("the flux capacitor needs a recalibration");
    let found = eventually("the note searchable", Duration::from_secs(5), || {
        let (_, found) = search(&server, ada, "term=capacitor");
        (found["numberOfResults"] == 1).then_some(found)
    });
    let note = &found["results"][0];
    assert_eq!(note["type"], "widget-note");
    assert_eq!(
        note["document"],
        json!({"title": format!("Note on {CHECKOUT}"), "text": "the flux capacitor needs a recalibration",
               "location": "/p/widgets/board", "entityRef": CHECKOUT, "plugin": "widgets",
               "count": "7", "collection": "changes"})
    );
    // It matches its entity's filters, and counts in the facets.
    let (_, by_kind) = search(&server, ada, "term=capacitor&filters[kind]=component");
    assert_eq!(by_kind["numberOfResults"], 1, "{by_kind}");
    let (_, by_other) = search(&server, ada, "term=capacitor&filters[kind]=group");
    assert_eq!(by_other["numberOfResults"], 0, "{by_other}");
    let (_, facets) = server.call_as(ada, "GET", "/api/search/facets?term=capacitor", None);
    assert_eq!(facets["types"]["widget-note"], 1, "{facets}");
    assert_eq!(facets["types"]["software-catalog"], 0, "{facets}");

    // An emptied note is removed by the next incremental collection.
    set_note("");
    eventually("the note gone", Duration::from_secs(5), || {
        let (_, found) = search(&server, ada, "term=capacitor");
        (found["numberOfResults"] == 0).then_some(())
    });
    set_note("the warp core is stable");
    eventually("the new note", Duration::from_secs(5), || {
        let (_, found) = search(&server, ada, "term=warp");
        (titles(&found) == [format!("Note on {CHECKOUT}")]).then_some(())
    });

    // Bad collections are contained: a document over the contract's limits is left out
    // (logged with its type, id and field) and the rest is kept; a collection that loops or
    // never ends its pages fails, and the documents there were stay.
    let mode = |mode: &str| {
        let (status, body) = act(
            &server,
            ada,
            json!({"surface": {"kind": "page", "id": "board"}, "actionId": "search-mode",
                   "values": {"mode": mode}}),
        );
        assert_eq!(status, 200, "{body}");
    };
    mode("bad");
    eventually("the bad document left out", Duration::from_secs(5), || {
        server
            .log()
            .contains("search document type 'widget-note', document 'spoiled': location:")
            .then_some(())
    });
    let (_, spoiled) = search(&server, ada, "term=spoiled");
    assert_eq!(spoiled["numberOfResults"], 0, "{spoiled}");
    for (hostile, failure) in [
        ("loop", "search-documents.collect failed"),
        ("pages", "more than 100 pages"),
    ] {
        mode(hostile);
        eventually(hostile, Duration::from_secs(10), || {
            server.log().contains(failure).then_some(())
        });
        let (_, kept) = search(&server, ada, "term=warp");
        assert_eq!(kept["numberOfResults"], 1, "{hostile}: {kept}");
        let (_, board) = search(&server, ada, "types[]=widget-board");
        assert_eq!(board["numberOfResults"], 1, "{hostile}: {board}");
    }
    mode("");
    let (_, pong) = act(
        &server,
        ada,
        json!({"surface": {"kind": "page", "id": "board"}, "actionId": "ping"}),
    );
    assert_eq!(
        pong["notice"]["tone"], "info",
        "the plugin keeps serving: {pong}"
    );

    // Removed, the plugin's types and documents leave search.
    std::fs::remove_file(folder.join("widgets.wasm")).unwrap();
    eventually("the types gone", Duration::from_secs(10), || {
        let (_, types) = server.call_as(ada, "GET", "/api/search/types", None);
        (!types.to_string().contains("widget")).then_some(())
    });
    let (status, body) = search(&server, ada, "types[]=widget-note");
    assert_eq!(status, 400, "{body}");
    let (_, found) = search(&server, ada, "term=warp");
    assert_eq!(found["numberOfResults"], 0, "{found}");
}
