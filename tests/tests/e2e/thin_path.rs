//! The thin path end to end: catalog YAML -> SQLite -> REST API, and a real Wasm plugin
//! calling back into the catalog to render an entity tab.

use greenroom_api::{EntityTabs, PluginState, PluginSummary, RenderedTab, UiNode};
use greenroom_e2e::{Server, built_plugins, fixture_catalog, names, plugins_folder};

/// A server on the fixture catalog with only the named built plugins.
fn start(dir: &tempfile::TempDir, plugins: &[&str]) -> Server {
    let with_manifests: Vec<(&str, Option<String>)> = plugins.iter().map(|p| (*p, None)).collect();
    Server::start(
        &[fixture_catalog()],
        &plugins_folder(dir.path(), &with_manifests),
        &dir.path().join("data"),
    )
}

#[test]
fn catalog_api_answers_with_backstage_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, &[]);

    let checkout = server.get_ok("/api/catalog/entities/by-name/component/default/checkout");
    assert_eq!(checkout["metadata"]["title"], "Checkout Service");
    assert!(
        checkout["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| u.len() == 36)
    );
    assert!(
        checkout["relations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["type"] == "ownedBy" && r["targetRef"] == "group:default/payments")
    );

    let page = server.get_ok(
        "/api/catalog/entities/by-query?filter=kind=component,spec.lifecycle=production&limit=1",
    );
    assert_eq!(page["totalItems"], 2);
    assert_eq!(names(&page["items"]), ["checkout"]);
    let next = page["pageInfo"]["nextCursor"]
        .as_str()
        .expect("a second page");
    let page = server.get_ok(&format!(
        "/api/catalog/entities/by-query?cursor={next}&limit=1"
    ));
    assert_eq!(names(&page["items"]), ["web"]);
    assert!(page["pageInfo"]["nextCursor"].is_null());

    let either = server.get_ok("/api/catalog/entities/by-query?filter=kind=user&filter=metadata.name=ledger&fields=metadata.name");
    assert_eq!(
        names(&either["items"]),
        ["ledger", "ada"],
        "ordered by ref: component:... before user:..."
    );
    assert_eq!(
        either["items"][1],
        serde_json::json!({"metadata": {"name": "ada"}})
    );

    let (status, error) = server.get("/api/catalog/entities/by-name/component/default/missing");
    assert_eq!(status, 404);
    assert_eq!(error["error"]["name"], "NotFoundError");
    assert_eq!(error["response"]["statusCode"], 404);
    assert_eq!(error["request"]["method"], "GET");
}

#[test]
fn ownership_plugin_renders_the_owner_through_the_catalog_import() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(&dir, &["ownership"]);

    let plugins: Vec<PluginSummary> =
        serde_json::from_value(server.get_ok("/api/plugins")).unwrap();
    let ownership = plugins
        .iter()
        .find(|p| p.id == "ownership")
        .expect("ownership plugin listed");
    assert_eq!(ownership.state, PluginState::Loaded);
    assert_eq!(ownership.contributions, ["entity-tabs"]);

    let tabs: EntityTabs = serde_json::from_value(
        server.get_ok("/api/plugins/tabs?entity=component:default/checkout"),
    )
    .unwrap();
    assert!(tabs.errors.is_empty(), "{:?}", tabs.errors);
    assert!(
        tabs.tabs.iter().any(|t| t.plugin_id == "ownership"
            && t.tab_id == "ownership"
            && t.title == "Ownership")
    );
    let user_tabs: EntityTabs =
        serde_json::from_value(server.get_ok("/api/plugins/tabs?entity=user:default/ada")).unwrap();
    assert!(
        user_tabs.tabs.is_empty(),
        "a user has no owner, so no ownership tab"
    );

    let rendered: RenderedTab = serde_json::from_value(
        server.get_ok("/api/plugins/ownership/tabs/ownership?entity=component:default/checkout"),
    )
    .unwrap();
    let text = flatten(&rendered.tree);
    // Only the catalog import can supply these: they live on the owner group, not the component.
    assert!(text.contains("Owner: Payments Team"), "{text}");
    assert!(text.contains("Checkout and billing."), "{text}");
    assert!(
        text.contains("user:default/ada -> /catalog/default/user/ada"),
        "{text}"
    );
    assert!(
        text.contains("group:default/engineering -> /catalog/default/group/engineering"),
        "{text}"
    );

    let missing_owner: RenderedTab = serde_json::from_value(
        server.get_ok("/api/plugins/ownership/tabs/ownership?entity=component:default/ledger"),
    )
    .unwrap();
    assert!(flatten(&missing_owner.tree).contains("group:default/finance is not in the catalog"));

    // A tab its plugin did not offer for the entity is never rendered.
    let (status, error) =
        server.get("/api/plugins/ownership/tabs/nope?entity=component:default/checkout");
    assert_eq!(status, 404);
    assert_eq!(
        error["error"]["message"],
        "plugin 'ownership' offers no tab 'nope' for component:default/checkout",
        "{error}"
    );
    assert_eq!(
        server
            .get("/api/plugins/none/tabs/x?entity=component:default/checkout")
            .0,
        404
    );
    assert_eq!(
        server
            .get("/api/plugins/ownership/tabs/ownership?entity=component:default/ghost")
            .0,
        404
    );
}

#[test]
fn broken_plugins_and_malformed_yaml_are_reported_and_the_rest_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(
        built_plugins().join("ownership.wasm"),
        plugins.join("ownership.wasm"),
    )
    .unwrap();
    std::fs::write(
        plugins.join("broken.wasm"),
        b"\0asm this is not a component",
    )
    .unwrap();
    let bad_yaml = dir.path().join("bad.yaml");
    std::fs::write(&bad_yaml, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: fine}\nspec: {type: service, lifecycle: production, owner: payments}\n---\nmetadata: [unclosed\n").unwrap();

    let server = Server::start(
        &[fixture_catalog(), bad_yaml],
        &plugins,
        &dir.path().join("data"),
    );

    let plugins: Vec<PluginSummary> =
        serde_json::from_value(server.get_ok("/api/plugins")).unwrap();
    let broken = plugins
        .iter()
        .find(|p| p.file.ends_with("broken.wasm"))
        .expect("broken plugin listed");
    assert_eq!(broken.state, PluginState::Failed);
    assert!(
        broken
            .last_error
            .as_deref()
            .unwrap()
            .contains("not a valid WebAssembly component"),
        "{broken:?}"
    );
    server.get_ok("/api/plugins/ownership/tabs/ownership?entity=component:default/checkout");

    // The bad file's good document is served; its broken one is reported with file and
    // document, by the errors endpoint and in the log. The fixture catalog itself is clean.
    server.get_ok("/api/catalog/entities/by-name/component/default/fine");
    let errors = server.get_ok("/api/catalog/errors")["items"].clone();
    assert_eq!(errors.as_array().unwrap().len(), 1, "{errors}");
    assert!(errors[0]["file"].as_str().unwrap().ends_with("bad.yaml"));
    assert_eq!(errors[0]["document"], 2);
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid YAML at line 6"),
        "{errors}"
    );
    let log = server.log();
    assert!(log.contains("bad.yaml: document 2: invalid YAML"), "{log}");
}

#[test]
fn a_restart_keeps_entity_identity() {
    let dir = tempfile::tempdir().unwrap();
    let uid = |server: &Server| {
        server.get_ok("/api/catalog/entities/by-name/group/default/payments")["metadata"]["uid"]
            .clone()
    };
    let first = uid(&start(&dir, &[]));
    let second = uid(&start(&dir, &[]));
    assert!(first.is_string());
    assert_eq!(first, second);
}

/// The tree as text lines, links as `label -> url`, for assertions.
fn flatten(node: &UiNode) -> String {
    match node {
        UiNode::Heading { text } | UiNode::Text { text } => text.clone(),
        UiNode::Markdown { html } => html.clone(),
        UiNode::Link { label, url } => format!("{label} -> {url}"),
        UiNode::Badge { label, .. } => label.clone(),
        UiNode::Table { columns, rows } => {
            let cells: Vec<String> = rows.iter().flatten().map(flatten).collect();
            format!("{}\n{}", columns.join(" | "), cells.join("\n"))
        }
        UiNode::KeyValues { pairs } => pairs
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n"),
        UiNode::Code { code, .. } => code.clone(),
        UiNode::List { items } => items.iter().map(flatten).collect::<Vec<_>>().join("\n"),
        UiNode::Section { title, children } => {
            format!(
                "{title}\n{}",
                children.iter().map(flatten).collect::<Vec<_>>().join("\n")
            )
        }
        UiNode::Empty { reason } => reason.clone(),
        UiNode::Button { label, .. } => format!("[{label}]"),
        UiNode::Form { submit_label, .. } => format!("[{submit_label}]"),
    }
}
