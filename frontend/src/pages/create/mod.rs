//! The scaffolder (Backstage's "Create"): templates to choose from (`templates`), a
//! template's wizard drawn from its parameter schema (`form`, with `schema`, `fields` and the
//! catalog `pickers`), dry runs (`dry_run`), a task followed live (`task`) and the task list
//! (`tasks`). A task's and a dry run's output share `output`.

mod dry_run;
mod fields;
pub mod form;
mod output;
mod pickers;
mod schema;
pub mod task;
pub mod tasks;
pub mod templates;

use leptos::prelude::*;

use crate::api::encode;

/// A template, by its namespace and name as in its ref `template:<namespace>/<name>`.
#[derive(Clone)]
pub struct TemplateId {
    pub namespace: String,
    pub name: String,
}

impl TemplateId {
    pub fn parse(entity_ref: &str) -> Option<Self> {
        greenroom_api::EntityRef::parse(entity_ref, Some("template"), "default")
            .ok()
            .map(|r| Self {
                namespace: r.namespace,
                name: r.name,
            })
    }

    pub fn entity_ref(&self) -> String {
        greenroom_api::EntityRef::new("template", &self.namespace, &self.name).to_string()
    }

    /// The scaffolder API's path of the template.
    pub fn api(&self) -> String {
        format!(
            "/api/scaffolder/v2/templates/{}/template/{}",
            encode(&self.namespace),
            encode(&self.name)
        )
    }

    /// The template's wizard in the portal.
    pub fn form_path(&self) -> String {
        format!(
            "/create/templates/{}/{}",
            encode(&self.namespace),
            encode(&self.name)
        )
    }
}

/// The ref of a task's template and its title (the ref when it has none).
pub fn template_of(task: &serde_json::Value) -> (String, String) {
    let info = &task["spec"]["templateInfo"];
    let entity_ref = crate::api::text(&info["entityRef"]);
    let title = info["entity"]["metadata"]["title"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| entity_ref.clone());
    (entity_ref, title)
}

/// A task's or a step's status as a badge (`open`, `processing`, `completed`, `failed`,
/// `cancelled`, `skipped`).
pub fn status_badge(status: String) -> impl IntoView {
    let tone = match status.as_str() {
        "processing" => "info",
        "completed" => "success",
        "failed" => "danger",
        "cancelled" => "warning",
        _ => "neutral",
    };
    view! { <span class=format!("badge {tone}")>{status}</span> }
}

/// An ISO time in the reader's local time; as given when it is no time.
pub fn local_time(iso: &str) -> String {
    let date = js_sys::Date::new(&iso.into());
    if iso.is_empty() || date.get_time().is_nan() {
        return iso.to_string();
    }
    String::from(date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
}
