//! An API entity's definition: OpenAPI as a readable list of operations (method, path,
//! summary) under the API's title, version and servers; any other type, or a definition
//! that does not parse, as highlighted source.

use leptos::prelude::*;
use serde_json::Value;

use crate::api::text;
use crate::highlight;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

pub fn view(kind: String, definition: String) -> impl IntoView {
    let parsed = (kind == "openapi")
        .then(|| serde_yaml::from_str::<Value>(&definition).ok())
        .flatten()
        .filter(|doc| doc["paths"].is_object());
    let body = match parsed {
        Some(doc) => openapi(&doc).into_any(),
        None => highlight::code_block(kind.clone(), definition).into_any(),
    };
    view! {
        <div class="card" id="api-definition">
            <h2>{format!("Definition ({kind})")}</h2>
            {body}
        </div>
    }
}

fn openapi(doc: &Value) -> impl IntoView {
    let info = &doc["info"];
    let servers: Vec<String> = doc["servers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| text(&s["url"]))
        .collect();
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            let operation = &item[method];
            if operation.is_null() {
                continue;
            }
            let summary = operation["summary"]
                .as_str()
                .or(operation["operationId"].as_str())
                .unwrap_or_default()
                .to_string();
            let deprecated = operation["deprecated"].as_bool() == Some(true);
            operations.push((method, path.clone(), summary, deprecated));
        }
    }
    view! {
        <p><strong>{text(&info["title"])}</strong>" "<span class="muted">{text(&info["version"])}</span></p>
        {(!servers.is_empty()).then(|| view! { <p class="muted">{format!("Servers: {}", servers.join(", "))}</p> })}
        <table class="operations">
            <thead><tr><th>"Method"</th><th>"Path"</th><th>"Summary"</th></tr></thead>
            <tbody>{operations.into_iter().map(|(method, path, summary, deprecated)| view! {
                <tr class:deprecated=deprecated>
                    <td><span class=format!("badge method {method}")>{method.to_uppercase()}</span></td>
                    <td><code>{path}</code></td>
                    <td>{summary}{deprecated.then_some(" (deprecated)")}</td>
                </tr>
            }).collect_view()}</tbody>
        </table>
    }
}
