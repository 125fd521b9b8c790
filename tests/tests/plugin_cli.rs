//! `greenroom plugin inspect` and `greenroom plugin test` run as a plugin author would.

use std::process::{Command, Output};

use greenroom_e2e::{built_plugins, fixture_catalog, greenroom_binary, test_plugins};

fn greenroom(args: &[&str]) -> Output {
    Command::new(greenroom_binary())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("greenroom runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn inspect_tells_the_contract_contributions_imports_and_manifest() {
    let probe = test_plugins().join("probe.wasm");
    let output = greenroom(&["plugin", "inspect", probe.to_str().unwrap()]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("contract:      greenroom:plugin@0.1.0"),
        "{text}"
    );
    assert!(text.contains("contributes:   entity-tabs"), "{text}");
    assert!(text.contains("wasi:http/outgoing-handler@0.2.12"), "{text}");
    assert!(text.contains("config [greeting, echo-url]"), "{text}");

    let template = built_plugins().join("template-file.wasm");
    let output = greenroom(&["plugin", "inspect", "--json", template.to_str().unwrap()]);
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["actions"][0]["id"], "write");

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
