//! The "API" entity tab: an API entity's definition summarised. OpenAPI (3.x, or Swagger 2)
//! becomes its title, version, servers and a table of operations; other definition types
//! (AsyncAPI, GraphQL, gRPC, ...) are shown as highlighted source.

use greenroom_sdk::entity::ApiSpec;
use greenroom_sdk::types::{Entity, NodeId, Tone, Viewer};
use greenroom_sdk::ui::TreeBuilder;
use greenroom_sdk::{PluginInfo, Tab, TabPlugin, export_tab_plugin};
use serde_yaml::Value;

struct ApiDocs;

const TAB_ID: &str = "api";

/// The operations an OpenAPI path item may hold, in the order they are listed.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

impl TabPlugin for ApiDocs {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "api-docs".into(),
            name: "API definition".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Summarises an API's definition: OpenAPI operations, or the source."
                .into(),
        }
    }

    fn tabs(entity: &Entity, _viewer: &Viewer) -> Vec<Tab> {
        if entity.kind != "API" {
            return Vec::new();
        }
        vec![Tab {
            id: TAB_ID.into(),
            title: "API".into(),
        }]
    }

    fn render(
        tab: &str,
        entity: &Entity,
        _viewer: &Viewer,
        ui: &mut TreeBuilder,
    ) -> Result<NodeId, String> {
        if tab != TAB_ID {
            return Err(format!("unknown tab '{tab}'"));
        }
        let spec: ApiSpec = entity.spec()?;
        if spec.type_ != "openapi" {
            return Ok(source(ui, &spec));
        }
        let document: Value = serde_yaml::from_str(&spec.definition)
            .map_err(|e| format!("the OpenAPI definition does not parse: {e}"))?;
        Ok(openapi(ui, &document))
    }
}

/// A definition that is not OpenAPI, as source in its own language.
fn source(ui: &mut TreeBuilder, spec: &ApiSpec) -> NodeId {
    let language = match spec.type_.as_str() {
        "asyncapi" => "yaml",
        "graphql" => "graphql",
        "grpc" => "protobuf",
        _ => "text",
    };
    let badge = ui.badge(spec.type_.clone(), Tone::Info);
    let code = ui.code(Some(language), spec.definition.clone());
    ui.list(vec![badge, code])
}

fn openapi(ui: &mut TreeBuilder, document: &Value) -> NodeId {
    let info = &document["info"];
    let version = document["openapi"]
        .as_str()
        .map(|v| format!("OpenAPI {v}"))
        .or_else(|| document["swagger"].as_str().map(|v| format!("Swagger {v}")))
        .unwrap_or_else(|| "OpenAPI".into());
    let mut facts = vec![
        ("Title".to_string(), text(&info["title"])),
        ("Version".to_string(), text(&info["version"])),
        ("Format".to_string(), version),
    ];
    let servers: Vec<String> = document["servers"]
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|server| server["url"].as_str().map(str::to_string))
        .collect();
    if !servers.is_empty() {
        facts.push(("Servers".into(), servers.join(", ")));
    }
    let mut children = vec![ui.key_values(facts)];
    if let Some(description) = info["description"].as_str() {
        children.push(ui.markdown(description));
    }
    let rows = operations(ui, document);
    children.push(if rows.is_empty() {
        ui.empty("The definition lists no operations.")
    } else {
        let table = ui.table(&["Method", "Path", "Summary"], rows);
        ui.section("Operations", vec![table])
    });
    ui.list(children)
}

/// One table row per operation, in the definition's order of paths.
fn operations(ui: &mut TreeBuilder, document: &Value) -> Vec<Vec<NodeId>> {
    let Some(paths) = document["paths"].as_mapping() else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for (path, item) in paths {
        let path = text(path);
        for method in METHODS {
            let operation = &item[method];
            if operation.is_null() {
                continue;
            }
            let deprecated = operation["deprecated"].as_bool() == Some(true);
            let summary = operation["summary"]
                .as_str()
                .or_else(|| operation["operationId"].as_str())
                .unwrap_or("");
            let tone = if deprecated {
                Tone::Warning
            } else {
                method_tone(method)
            };
            let label = if deprecated {
                format!("{} (deprecated)", method.to_uppercase())
            } else {
                method.to_uppercase()
            };
            rows.push(vec![
                ui.badge(label, tone),
                ui.code(None, path.clone()),
                ui.text(summary),
            ]);
        }
    }
    rows
}

fn method_tone(method: &str) -> Tone {
    match method {
        "get" | "head" | "options" => Tone::Info,
        "post" | "put" | "patch" => Tone::Success,
        "delete" => Tone::Danger,
        _ => Tone::Neutral,
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

export_tab_plugin!(ApiDocs);
