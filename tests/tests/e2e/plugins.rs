//! The plugin runtime through the real server: sandbox limits against hostile components,
//! grants, every host import, hot reload under load, and the admin API. The plugins are built
//! from source (`plugins/testing/`) by `cargo xtask build`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use greenroom_e2e::{
    FakeApi, Server, eventually, fixture_catalog, key_values, plugins_folder, start_with_config,
    test_plugins,
};
use serde_json::Value;

const ENTITY: &str = "entity=component:default/checkout";

fn summary<'a>(plugins: &'a Value, id: &str) -> &'a Value {
    plugins
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no plugin {id} in {plugins:#}"))
}

fn render(server: &Server, plugin: &str, tab: &str) -> (u16, Value) {
    server.get(&format!("/api/plugins/{plugin}/tabs/{tab}?{ENTITY}"))
}

#[test]
fn hostile_plugins_are_contained_and_the_rest_keeps_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let api = FakeApi::start("echo-body");
    let port = api.port;
    let manifest =
        format!("[capabilities]\nhosts = [\"127.0.0.1:{port}\"]\nconfig = [\"target\"]\n");
    let plugins = plugins_folder(
        tmp.path(),
        &[
            ("ownership", None),
            ("hostile", Some(manifest)),
            ("missing-import", None),
        ],
    );
    std::fs::write(plugins.join("malformed.wasm"), b"\0asm\x0d\0\x01\0garbage").unwrap();
    // The operator gives the target but not the host: the request must never leave.
    let mut server = start_with_config(
        tmp.path(),
        &[],
        &plugins,
        &format!(
            "plugins:\n  hostile:\n    config: {{target: 'http://127.0.0.1:{port}/steal'}}\n    limits: {{timeoutMs: 500, memoryMiB: 32}}\n"
        ),
    );

    let list = server.get_ok("/api/plugins");
    let missing = summary(&list, "missing-import");
    assert_eq!(missing["state"], "failed");
    let reason = missing["lastError"].as_str().unwrap();
    assert!(reason.contains("test:backdoor/shell"), "{reason}");
    let malformed = summary(&list, "malformed");
    assert_eq!(malformed["state"], "failed");
    assert!(
        malformed["lastError"]
            .as_str()
            .unwrap()
            .contains("not a valid WebAssembly component"),
        "{malformed:#}"
    );
    let hostile = summary(&list, "hostile");
    assert_eq!(hostile["state"], "loaded");
    assert_eq!(
        hostile["grants"]["missing"][0],
        format!("host 127.0.0.1:{port}")
    );
    assert_eq!(hostile["grants"]["timeoutMs"], 500);

    let denied = format!(
        "GET http://127.0.0.1:{port}/steal: denied: host 127.0.0.1:{port} is not granted to plugin hostile"
    );
    let cases = [
        ("loop", "timed out after 500ms"),
        ("bomb", "exceeded its memory limit of 32 MiB"),
        ("huge", "more than 1048576 bytes of text"),
        ("panic", "trapped"),
        ("exfiltrate", denied.as_str()),
    ];
    for (tab, expected) in cases {
        let (status, body) = render(&server, "hostile", tab);
        assert_eq!(status, 502, "{tab}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("plugin 'hostile'") && message.contains(expected),
            "{tab}: {message}"
        );
        // Every other plugin still answers after each attack.
        let (status, owner) = render(&server, "ownership", "ownership");
        assert_eq!(status, 200, "ownership after {tab}: {owner}");
    }
    // No files and no environment: WASI is linked with an empty context.
    let (status, snoop) = render(&server, "hostile", "snoop");
    assert_eq!(status, 200, "{snoop}");
    let found = key_values(&snoop);
    assert!(found["file"].starts_with("refused"), "{found:?}");
    assert_eq!(found["environment variables"], "0");
    assert_eq!(api.hits(), 0, "the ungranted host was contacted");
    assert!(server.is_running());
    assert!(
        server.log().contains("outgoing HTTP to http://127.0.0.1"),
        "the refusal is logged"
    );

    let stats = summary(&server.get_ok("/api/plugins"), "hostile")["stats"].clone();
    assert_eq!(stats["calls"], 6, "{stats}");
    assert_eq!(stats["failures"], 5, "{stats}");
    assert_eq!(stats["timeouts"], 1, "{stats}");
    assert_eq!(stats["traps"], 2, "{stats}");
    // Tab listing still works with the hostile plugin loaded.
    let tabs = server.get_ok(&format!("/api/plugins/tabs?{ENTITY}"));
    assert!(tabs["tabs"].as_array().unwrap().len() >= 6, "{tabs:#}");
}

#[test]
fn granted_imports_work_and_ungranted_ones_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let api = FakeApi::start("echo-body");
    let port = api.port;
    let catalog = tmp.path().join("svc");
    std::fs::create_dir_all(catalog.join("docs")).unwrap();
    std::fs::write(
        catalog.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec:\n  type: service\n  lifecycle: production\n  owner: payments\n",
    )
    .unwrap();
    std::fs::write(
        catalog.join("mkdocs.yml"),
        "site_name: svc\nnav:\n  - Start: index.md\n",
    )
    .unwrap();
    std::fs::write(
        catalog.join("docs/index.md"),
        "# Start\nRead *this*.<script>alert(1)</script>",
    )
    .unwrap();
    let manifest = format!(
        "[capabilities]\nhosts = [\"127.0.0.1:{port}\"]\nconfig = [\"greeting\", \"echo-url\"]\n"
    );
    let plugins = plugins_folder(tmp.path(), &[("probe", Some(manifest))]);
    // SAFETY: set before any other thread of this test binary reads the environment for it.
    unsafe { std::env::set_var("PROBE_GREETING", "hello from env") };
    let server = start_with_config(
        tmp.path(),
        &[catalog.join("catalog-info.yaml")],
        &plugins,
        &format!(
            "plugins:\n  probe:\n    allowedHosts: ['127.0.0.1:{port}']\n    config: {{echo-url: 'http://127.0.0.1:{port}/echo'}}\n    secrets: {{greeting: PROBE_GREETING}}\n"
        ),
    );
    let (status, tab) = server.get("/api/plugins/probe/tabs/imports?entity=component:default/svc");
    assert_eq!(status, 200, "{tab}");
    let values = key_values(&tab);
    assert_eq!(values["groups"], "2", "{values:#?}");
    assert_eq!(values["relations"], "1", "{values:#?}");
    assert_eq!(values["template"], "Hello SVC");
    assert_eq!(values["docs"], "Start");
    assert!(
        values["first page"].contains("<em>this</em>") && !values["first page"].contains("<script"),
        "{}",
        values["first page"]
    );
    assert_eq!(values["config greeting"], "Some(\"hello from env\")");
    assert!(
        values["config undeclared"].contains("not granted"),
        "{}",
        values["config undeclared"]
    );
    assert_eq!(values["http"], "200 echo-body");
    assert_eq!(api.hits(), 1);

    let probe = summary(&server.get_ok("/api/plugins"), "probe").clone();
    assert_eq!(probe["grants"]["hosts"][0], format!("127.0.0.1:{port}"));
    assert_eq!(probe["grants"]["config"], serde_json::json!(["echo-url"]));
    assert_eq!(probe["grants"]["secrets"], serde_json::json!(["greeting"]));
    assert_eq!(probe["contract"], "greenroom:plugin@0.2.0");
    assert_eq!(probe["contributions"], serde_json::json!(["entity-tabs"]));
    assert!(
        !probe.to_string().contains("hello from env"),
        "secret values never appear in the admin API"
    );
}

/// The probe component with its build marker replaced: a distinct, valid version.
fn probe_version(original: &[u8], version: u32) -> Vec<u8> {
    let marker = b"build-000000";
    let at = original
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("marker in probe.wasm");
    let mut bytes = original.to_vec();
    bytes[at..at + marker.len()].copy_from_slice(format!("build-{version:06}").as_bytes());
    bytes
}

#[test]
fn hot_reload_under_load_fails_no_request() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugins_folder(tmp.path(), &[("ownership", None), ("probe", None)]);
    let original = std::fs::read(plugins.join("probe.wasm")).unwrap();
    // The slow tab below runs for a few seconds; give it room.
    let server = Arc::new(start_with_config(
        tmp.path(),
        &[],
        &plugins,
        "plugins:\n  probe:\n    limits: {timeoutMs: 10000}\n",
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..3)
        .map(|_| {
            let (server, stop) = (server.clone(), stop.clone());
            std::thread::spawn(move || {
                let (mut ok, mut failed) = (0usize, Vec::new());
                while !stop.load(Ordering::SeqCst) {
                    let (status, body) = render(&server, "probe", "build");
                    if status == 200
                        && body["tree"]["text"]
                            .as_str()
                            .is_some_and(|t| t.starts_with("probe build-"))
                    {
                        ok += 1;
                    } else {
                        failed.push(format!("{status} {body}"));
                    }
                }
                (ok, failed)
            })
        })
        .collect();

    let versions = 12;
    for version in 1..=versions {
        std::fs::write(
            plugins.join("probe.wasm"),
            probe_version(&original, version),
        )
        .unwrap();
        let expected = format!("probe build-{version:06}");
        eventually(
            &format!("version {version} served"),
            Duration::from_secs(1),
            || {
                let (_, body) = render(&server, "probe", "build");
                (body["tree"]["text"] == expected.as_str()).then_some(())
            },
        );
    }
    stop.store(true, Ordering::SeqCst);

    // A call in flight finishes on the version it started on.
    let slow = {
        let server = server.clone();
        std::thread::spawn(move || render(&server, "probe", "slow"))
    };
    eventually("the slow call is running", Duration::from_secs(5), || {
        server.log().contains("slow render started").then_some(())
    });
    std::fs::write(plugins.join("probe.wasm"), probe_version(&original, 999)).unwrap();
    eventually("version 999 served", Duration::from_secs(1), || {
        let (_, body) = render(&server, "probe", "build");
        (body["tree"]["text"] == "probe build-000999").then_some(())
    });
    assert!(
        !slow.is_finished(),
        "the slow call should still be running when the new version serves"
    );
    let (status, body) = slow.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tree"]["text"], format!("probe build-{versions:06}"));

    // A broken version never replaces a working one: the old keeps serving, the error shows.
    std::fs::write(plugins.join("probe.wasm"), b"\0asm broken on purpose").unwrap();
    let refused = eventually("broken version refused", Duration::from_secs(5), || {
        let probe = summary(&server.get_ok("/api/plugins"), "probe").clone();
        probe["lastError"].is_string().then_some(probe)
    });
    assert_eq!(refused["state"], "loaded");
    assert_eq!(refused["version"], "build-000999");
    let (status, body) = render(&server, "probe", "build");
    assert_eq!(
        (status, body["tree"]["text"].as_str()),
        (200, Some("probe build-000999"))
    );

    let mut served = 0;
    for client in clients {
        let (ok, failed) = client.join().unwrap();
        assert!(
            failed.is_empty(),
            "failed requests during reload: {failed:?}"
        );
        served += ok;
    }
    assert!(served > 0);
    assert_eq!(refused["stats"]["failures"], 0);
}

#[test]
fn the_admin_api_uploads_switches_and_removes_plugins() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugins_folder(tmp.path(), &[("ownership", None)]);
    // A cache of its own, so the compiled upload can only have come from this server.
    let cache = tmp.path().join("plugin-cache");
    let server = Server::start_with_args(
        &[fixture_catalog()],
        &plugins,
        &tmp.path().join("data"),
        &["--plugin-cache", cache.to_str().unwrap()],
    );
    let probe = std::fs::read(test_plugins().join("probe.wasm")).unwrap();

    let (status, body) = server.post_bytes("/api/plugins", b"\0asm not really");
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a valid WebAssembly component"),
        "{body}"
    );
    let (status, body) = server.post_bytes("/api/plugins", &probe);
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["id"], "probe");
    assert_eq!(body["state"], "loaded");
    // The manifest embedded in the component (plugins/testing/probe/greenroom.toml); the
    // operator granted none of it.
    assert_eq!(
        body["requested"]["config"],
        serde_json::json!(["greeting", "echo-url", "http-timeout-ms"])
    );
    assert_eq!(
        body["grants"]["missing"],
        serde_json::json!([
            "config greeting",
            "config echo-url",
            "config http-timeout-ms"
        ])
    );
    assert!(plugins.join("probe.wasm").is_file());
    let hash = body["contentHash"].as_str().unwrap();
    let cached = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with(hash));
    assert!(cached, "the compiled component is cached by content hash");
    // Editing the manifest beside the file reloads the plugin with it.
    std::fs::write(
        plugins.join("probe.toml"),
        "[capabilities]\nconfig = [\"greeting\"]\n",
    )
    .unwrap();
    eventually("manifest change applied", Duration::from_secs(5), || {
        let probe = server.get_ok("/api/plugins/probe");
        (probe["requested"]["config"] == serde_json::json!(["greeting"])).then_some(())
    });
    assert!(
        server
            .tab_ids("component:default/checkout")
            .contains(&"probe/build".to_string())
    );

    let (status, body) = server.post("/api/plugins/probe/disable", &Value::Null);
    assert_eq!(
        (status, body["state"].as_str()),
        (200, Some("disabled")),
        "{body}"
    );
    assert_eq!(render(&server, "probe", "build").0, 409);
    assert!(
        !server
            .tab_ids("component:default/checkout")
            .contains(&"probe/build".to_string())
    );
    let (status, _) = server.post("/api/plugins/probe/enable", &Value::Null);
    assert_eq!(status, 200);
    assert_eq!(render(&server, "probe", "build").0, 200);

    let (status, _) = server.delete("/api/plugins/probe");
    assert_eq!(status, 204);
    assert!(!plugins.join("probe.wasm").exists());
    assert_eq!(server.get("/api/plugins/probe").0, 404);
    assert_eq!(server.delete("/api/plugins/probe").0, 404);

    // Files dropped into or removed from the folder are picked up without any API call.
    std::fs::copy(
        test_plugins().join("hostile.wasm"),
        plugins.join("hostile.wasm"),
    )
    .unwrap();
    eventually("dropped plugin loaded", Duration::from_secs(5), || {
        (server.get("/api/plugins/hostile").0 == 200).then_some(())
    });
    std::fs::remove_file(plugins.join("hostile.wasm")).unwrap();
    eventually("removed plugin unloaded", Duration::from_secs(5), || {
        (server.get("/api/plugins/hostile").0 == 404).then_some(())
    });
    assert_eq!(render(&server, "ownership", "ownership").0, 200);
}

#[test]
fn an_entity_provider_feeds_the_catalog_and_later_answers_replace_earlier_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let entity = |kind: &str, name: &str, spec: &str| {
        format!(
            r#"{{"apiVersion":"backstage.io/v1alpha1","kind":"{kind}","metadata":{{"name":"{name}"}},"spec":{spec}}}"#
        )
    };
    let alpha = entity(
        "Component",
        "alpha",
        r#"{"type":"service","lifecycle":"production","owner":"payments"}"#,
    );
    let beta = entity("System", "beta", r#"{"owner":"payments"}"#);
    let bad = entity("Component", "Not Valid!", r#"{"type":"service"}"#);
    let api = FakeApi::start(format!(r#"{{"items":[{alpha},{beta},{bad}]}}"#));
    let port = api.port;
    let plugins = plugins_folder(tmp.path(), &[("json-entities", None)]);
    let server = start_with_config(
        tmp.path(),
        &[],
        &plugins,
        &format!(
            "plugins:\n  json-entities:\n    allowedHosts: ['127.0.0.1:{port}']\n    config: {{url: 'http://127.0.0.1:{port}/entities', interval-seconds: '1'}}\n    catalogWrite: true\n"
        ),
    );
    let summary = server.get_ok("/api/plugins/json-entities");
    assert_eq!(
        summary["contributions"],
        serde_json::json!(["entity-provider"])
    );
    assert_eq!(summary["grants"]["catalogWrite"], true);
    assert_eq!(summary["grants"]["hosts"][0], format!("127.0.0.1:{port}"));

    let alpha = eventually("provided entity served", Duration::from_secs(10), || {
        let (status, alpha) = server.get("/api/catalog/entities/by-name/component/default/alpha");
        (status == 200).then_some(alpha)
    });
    let relations = alpha["relations"].to_string();
    assert!(relations.contains("group:default/payments"), "{relations}");
    assert_eq!(
        server
            .get("/api/catalog/entities/by-name/system/default/beta")
            .0,
        200
    );
    let errors = server.get_ok("/api/catalog/errors")["items"].clone();
    let bad = errors
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["file"]
                .as_str()
                .unwrap_or_default()
                .ends_with("providers/json-entities.yaml")
        })
        .unwrap_or_else(|| panic!("no error for the invalid provided entity: {errors:#}"));
    // Documents are numbered from 1, as in catalog files: the third entity offered.
    assert_eq!(bad["document"], 3, "{bad}");
    assert_eq!(bad["field"], "metadata.name", "{bad}");

    // The next run no longer offers beta: it leaves the catalog, alpha stays.
    api.set_body(format!(
        r#"[{}]"#,
        entity(
            "Component",
            "alpha",
            r#"{"type":"service","lifecycle":"experimental","owner":"payments"}"#,
        )
    ));
    eventually("dropped entity removed", Duration::from_secs(10), || {
        (server
            .get("/api/catalog/entities/by-name/system/default/beta")
            .0
            == 404)
            .then_some(())
    });
    let alpha = server.get_ok("/api/catalog/entities/by-name/component/default/alpha");
    assert_eq!(alpha["spec"]["lifecycle"], "experimental");
    assert!(api.hits() >= 2);
    let stats = &server.get_ok("/api/plugins/json-entities")["stats"];
    assert_eq!(stats["failures"], 0, "{stats}");
}

#[test]
fn a_scaffolder_action_renders_a_template_into_a_confined_workspace() {
    let tmp = tempfile::tempdir().unwrap();
    let plugins = plugins_folder(tmp.path(), &[("template-file", None)]);
    let server = start_with_config(tmp.path(), &[], &plugins, "");
    let summary = server.get_ok("/api/plugins/template-file");
    assert_eq!(
        summary["contributions"],
        serde_json::json!(["scaffolder-actions"])
    );
    assert_eq!(summary["actions"][0]["id"], "write");
    assert_eq!(
        summary["actions"][0]["inputSchema"]["required"],
        serde_json::json!(["path", "template"])
    );

    let (status, outcome) = server.post(
        "/api/plugins/template-file/actions/write",
        &serde_json::json!({
            "input": {
                "path": "docs/README.md",
                "template": "# {{ name | title }}\n{% for t in tags %}- {{ t }}\n{% endfor %}",
                "values": {"name": "checkout", "tags": ["payments", "go"]}
            },
            "files": {"catalog-info.yaml": "kept"}
        }),
    );
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome["output"]["path"], "docs/README.md");
    assert_eq!(
        outcome["files"],
        serde_json::json!({
            "catalog-info.yaml": "kept",
            "docs/README.md": "# Checkout\n- payments\n- go\n"
        })
    );

    // The host checks the input against the action's schema before the plugin runs.
    let (status, body) = server.post(
        "/api/plugins/template-file/actions/write",
        &serde_json::json!({"input": {"path": "x"}}),
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("template"),
        "{body}"
    );
    // The workspace confines the plugin's writes.
    let (status, body) = server.post(
        "/api/plugins/template-file/actions/write",
        &serde_json::json!({"input": {"path": "../../escaped.txt", "template": "x"}}),
    );
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("inside the workspace"),
        "{body}"
    );
    assert!(!tmp.path().join("data/escaped.txt").exists());
    assert!(!tmp.path().join("escaped.txt").exists());
    assert_eq!(
        server
            .post(
                "/api/plugins/template-file/actions/nope",
                &serde_json::json!({})
            )
            .0,
        404
    );
    let leftovers = std::fs::read_dir(tmp.path().join("data/workspaces"))
        .unwrap()
        .count();
    assert_eq!(
        leftovers, 0,
        "scratch workspaces are removed after each run"
    );
}
