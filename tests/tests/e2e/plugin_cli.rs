//! `greenroom plugin new/build/inspect/test` run as a plugin author would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use greenroom_e2e::{
    Server, built_plugins, fixture_catalog, greenroom_binary, shared_plugin_cache, test_plugins,
};

fn greenroom(args: &[&str]) -> Output {
    Command::new(greenroom_binary())
        .args(args)
        .env("GREENROOM_PLUGIN_CACHE", shared_plugin_cache())
        .env("NO_COLOR", "1")
        .output()
        .expect("greenroom runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The language tools `cargo xtask build` installed, so builds here download nothing.
fn tools() -> PathBuf {
    std::env::var_os("GREENROOM_TOOLS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tools"),
        PathBuf::from,
    )
}

/// An author's first five minutes in one language: `plugin new`, `plugin build`, `plugin
/// test`, then the component dropped into a running server renders its tab there.
/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// `greenroom ARGS` as a plugin author runs it, with this machine's language tools; panics
/// with its output when it fails.
fn run(args: &[&str]) -> String {
    let output = Command::new(greenroom_binary())
        .args(args)
        .env("GREENROOM_TOOLS", tools())
        .env("GREENROOM_PLUGIN_CACHE", shared_plugin_cache())
        // Rust: share the wasm target folder, so std is not built again.
        .env(
            "CARGO_TARGET_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm"),
        )
        .env("NO_COLOR", "1")
        .output()
        .expect("greenroom runs");
    assert!(
        output.status.success(),
        "greenroom {args:?} failed:\n{}\n{}",
        stdout(&output),
        String::from_utf8_lossy(&output.stderr)
    );
    stdout(&output)
}

fn new_project_builds_tests_and_loads(language: &str, greeting: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join(format!("hello-{language}"));
    let dir = project.to_str().unwrap();
    run(&["plugin", "new", dir, "--lang", language]);
    // Nothing in the project points into this machine: it builds anywhere.
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for file in walk(&project) {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            !text.contains(checkout.to_str().unwrap()),
            "{} names the Greenroom checkout",
            file.display()
        );
    }
    let built = run(&["plugin", "build", dir]);
    let wasm = project
        .join("target")
        .join(format!("hello-{language}.wasm"));
    assert!(
        built.contains(&format!("built {}", wasm.display())),
        "{built}"
    );
    // Unchanged sources, the same component: a rebuild is not a new plugin.
    let first = std::fs::read(&wasm).unwrap();
    run(&["plugin", "build", dir]);
    assert!(
        std::fs::read(&wasm).unwrap() == first,
        "a rebuild changed the component"
    );
    // The build writes nothing into the author's sources (Python's bytecode cache included).
    let output = project.join("target");
    assert!(
        walk(&project)
            .iter()
            .all(|f| f.starts_with(&output) || !f.to_string_lossy().contains("__pycache__")),
        "the build wrote __pycache__ into the project"
    );

    let catalog = fixture_catalog();
    let text = run(&[
        "plugin",
        "test",
        wasm.to_str().unwrap(),
        "--catalog",
        catalog.to_str().unwrap(),
        "--entity",
        "component:default/checkout",
    ]);
    assert!(
        text.contains(&format!(
            "=== hello-{language}/overview for component:default/checkout ==="
        )),
        "{text}"
    );
    assert!(text.contains(&format!("## {greeting}")), "{text}");
    assert!(text.contains("Owner: payments"), "{text}");

    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(&wasm, plugins.join(format!("hello-{language}.wasm"))).unwrap();
    let server = Server::start(&[catalog], &plugins, &tmp.path().join("data"));
    let tab = server.get_ok(&format!(
        "/api/plugins/hello-{language}/tabs/overview?entity=component:default/checkout"
    ));
    assert_eq!(tab["tree"]["items"][0]["text"], greeting, "{tab:#}");
    // Only components get the tab.
    let tabs = server.get_ok("/api/plugins/tabs?entity=group:default/payments");
    assert_eq!(tabs["tabs"], serde_json::json!([]), "{tabs:#}");
}

#[test]
fn a_new_rust_plugin_builds_tests_and_loads() {
    new_project_builds_tests_and_loads("rust", "Hello from Rust, Checkout Service");
}

#[test]
fn a_new_python_plugin_builds_tests_and_loads() {
    new_project_builds_tests_and_loads("python", "Hello from Python, Checkout Service");
}

#[test]
fn a_new_js_plugin_builds_tests_and_loads() {
    new_project_builds_tests_and_loads("js", "Hello from JavaScript, Checkout Service");
}

/// The interactive template in one language: built, dropped into a server, its card's
/// button counts in storage, its page lists the count and its route answers it.
fn interactive_project_counts_visits(language: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let id = format!("visits-{language}");
    let project = tmp.path().join(&id);
    let dir = project.to_str().unwrap();
    run(&[
        "plugin",
        "new",
        dir,
        "--lang",
        language,
        "--template",
        "interactive",
    ]);
    run(&["plugin", "build", dir]);
    let plugins = tmp.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let wasm = project.join("target").join(format!("{id}.wasm"));
    std::fs::copy(&wasm, plugins.join(format!("{id}.wasm"))).unwrap();
    let server = Server::start(&[fixture_catalog()], &plugins, &tmp.path().join("data"));
    let checkout = "component:default/checkout";
    let cards = server.get_ok(&format!("/api/plugins/cards?entity={checkout}"));
    assert_eq!(
        cards["cards"],
        serde_json::json!([{"pluginId": id, "cardId": "visits", "title": "Visits", "size": "small"}])
    );
    for visit in 1..=2 {
        let (status, outcome) = server.post(
            &format!("/api/plugins/{id}/ui-actions"),
            &serde_json::json!({"surface": {"kind": "card", "id": "visits"}, "actionId": "visit",
                                "entity": checkout}),
        );
        assert_eq!(status, 200, "{outcome}");
        assert_eq!(
            outcome["notice"],
            serde_json::json!({"message": format!("Visit {visit} counted."), "tone": "success"})
        );
        assert_eq!(
            outcome["tree"]["items"][0]["pairs"],
            serde_json::json!([["Visits", visit.to_string()]])
        );
    }
    let page = server.get_ok(&format!("/api/plugins/{id}/pages/visits"));
    assert_eq!(
        page["tree"]["children"][0]["rows"],
        serde_json::json!([[{"type": "text", "text": checkout}, {"type": "text", "text": "2"}]]),
        "{page:#}"
    );
    let count = server.get_ok(&format!("/api/plugins/{id}/http/count/{checkout}"));
    assert_eq!(
        count,
        serde_json::json!({"entityRef": checkout, "visits": 2})
    );
}

#[test]
fn a_new_interactive_rust_plugin_counts_visits() {
    interactive_project_counts_visits("rust");
}

#[test]
fn a_new_interactive_python_plugin_counts_visits() {
    interactive_project_counts_visits("python");
}

#[test]
fn a_new_interactive_js_plugin_counts_visits() {
    interactive_project_counts_visits("js");
}

#[test]
fn inspect_tells_the_contract_contributions_imports_and_manifest() {
    let probe = test_plugins().join("probe.wasm");
    let output = greenroom(&["plugin", "inspect", probe.to_str().unwrap()]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("contract:      greenroom:plugin@0.2.0"),
        "{text}"
    );
    assert!(text.contains("world:         entity-tabs-plugin"), "{text}");
    assert!(text.contains("contributes:   entity-tabs"), "{text}");
    assert!(text.contains("wasi:http/outgoing-handler@0.2.12"), "{text}");
    assert!(
        text.contains("config [greeting, echo-url, http-timeout-ms]"),
        "{text}"
    );

    // A component built for 0.1.0 says so; a plugin of several contributions names them.
    let old =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/plugins-v0.1.0/probe.wasm");
    let text = stdout(&greenroom(&["plugin", "inspect", old.to_str().unwrap()]));
    assert!(
        text.contains("contract:      greenroom:plugin@0.1.0"),
        "{text}"
    );
    let widgets = test_plugins().join("widgets.wasm");
    let text = stdout(&greenroom(&[
        "plugin",
        "inspect",
        widgets.to_str().unwrap(),
    ]));
    assert!(
        text.contains("contributes:   entity-tabs, entity-cards, pages, interactions"),
        "{text}"
    );
    assert!(
        text.contains(
            "including entity-tabs-plugin + entity-cards-plugin + pages-plugin + interactive"
        ),
        "{text}"
    );

    let template = built_plugins().join("template-file.wasm");
    let output = greenroom(&["plugin", "inspect", "--json", template.to_str().unwrap()]);
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["actions"][0]["id"], "write");
    // The file inspected, not the copy the command loaded it from.
    assert_eq!(summary["file"], template.to_str().unwrap());

    let broken = test_plugins().join("missing-import.wasm");
    let output = greenroom(&["plugin", "inspect", broken.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("test:backdoor/shell"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn test_exercises_an_action_and_an_http_route() {
    let catalog = fixture_catalog();
    let widgets = test_plugins().join("widgets.wasm");
    let trial = |extra: &[&str]| {
        let mut args = vec![
            "plugin",
            "test",
            widgets.to_str().unwrap(),
            "--catalog",
            catalog.to_str().unwrap(),
            "--entity",
            "component:default/checkout",
        ];
        args.extend_from_slice(extra);
        greenroom(&args)
    };
    let output = trial(&[
        "--action",
        "set",
        "--surface",
        "card:counter",
        "--values",
        r#"{"count": 2, "step": "10", "double": false, "note": "from the CLI"}"#,
    ]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("notice (Info): set to 20"), "{text}");
    assert!(
        text.contains("Count: 20") && text.contains("Note: from the CLI"),
        "{text}"
    );
    // The plugin's refusal is a failure of the command.
    let output = trial(&["--action", "nope", "--surface", "card:counter"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(stdout(&output).contains("unknown action 'nope'"));

    let webhooks = test_plugins().join("webhooks.wasm");
    let route = |route: &str, body: Option<&str>| {
        let mut args = vec![
            "plugin",
            "test",
            webhooks.to_str().unwrap(),
            "--catalog",
            catalog.to_str().unwrap(),
            "--route",
            route,
        ];
        if let Some(body) = body {
            args.extend(["--body", body]);
        }
        greenroom(&args)
    };
    let output = route("POST /echo", Some(r#"{"ping": 1}"#));
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.starts_with("HTTP 200 OK\n"), "{text}");
    assert!(text.contains("content-type: application/json"), "{text}");
    assert!(text.trim_end().ends_with(r#"{"ping": 1}"#), "{text}");
    let output = route("GET /nope", None);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("HTTP 404"), "{}", stdout(&output));
}

#[test]
fn test_renders_an_entitys_tabs_from_a_local_catalog() {
    let ownership = built_plugins().join("ownership.wasm");
    let catalog = fixture_catalog();
    let args = [
        "plugin",
        "test",
        ownership.to_str().unwrap(),
        "--catalog",
        catalog.to_str().unwrap(),
        "--entity",
        "component:default/checkout",
    ];
    let output = greenroom(&args);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("=== ownership/ownership for component:default/checkout ==="),
        "{text}"
    );
    assert!(text.contains("[Owner: Payments Team]"), "{text}");
    assert!(
        text.contains("user:default/ada </catalog/default/user/ada>"),
        "{text}"
    );

    let mut json_args = args.to_vec();
    json_args.extend(["--json", "--tab", "ownership"]);
    let output = greenroom(&json_args);
    let tabs: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(tabs[0]["tree"]["type"], "section", "{tabs:#}");

    // The same sandbox as the server: a hostile tab fails with the server's message.
    let hostile = test_plugins().join("hostile.wasm");
    let output = greenroom(&[
        "plugin",
        "test",
        hostile.to_str().unwrap(),
        "--catalog",
        catalog.to_str().unwrap(),
        "--entity",
        "component:default/checkout",
        "--tab",
        "panic",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(
        errors.contains("plugin 'hostile' failed in entity-tabs.render(panic)"),
        "{errors}"
    );
}
