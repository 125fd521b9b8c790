//! What a task (or a dry run) produced: Backstage's `output` with `links` and `text`. It is
//! written by the template, so it is untrusted: links only to web addresses or portal pages,
//! text shown as text.

use leptos::prelude::*;
use serde_json::Value;

use crate::api::{entity_path, is_safe_link, text};

pub fn output_view(id: &'static str, output: &Value) -> impl IntoView + use<> {
    let links = output["links"].as_array().cloned().unwrap_or_default();
    let texts = output["text"].as_array().cloned().unwrap_or_default();
    let empty = links.is_empty() && texts.is_empty();
    let links = links
        .iter()
        .map(|link| {
            let url = text(&link["url"]);
            let entity = text(&link["entityRef"]);
            let title = [text(&link["title"]), entity.clone(), url.clone()]
                .into_iter()
                .find(|t| !t.is_empty())
                .unwrap_or_default();
            let icon = text(&link["icon"]);
            let item = if !entity.is_empty() {
                view! { <a class="output-link" href=entity_path(&entity)>{title}</a> }.into_any()
            } else if is_safe_link(&url) {
                view! { <a class="output-link" href=url rel="noopener noreferrer" target="_blank">{title}</a> }
                    .into_any()
            } else {
                // Any other scheme (javascript:, data:) is shown, never followed.
                view! { <span class="output-link refused" title="Not a web or portal address">{title}</span> }
                    .into_any()
            };
            view! { <li data-icon=icon>{item}</li> }
        })
        .collect_view();
    let texts = texts
        .iter()
        .map(|block| {
            view! {
                <div class="output-text">
                    <h3>{text(&block["title"])}</h3>
                    <pre>{text(&block["content"])}</pre>
                </div>
            }
        })
        .collect_view();
    view! {
        <div class="output" id=id>
            {if empty {
                view! { <p class="empty">"No output."</p> }.into_any()
            } else {
                view! { <ul class="output-links">{links}</ul>{texts} }.into_any()
            }}
        </div>
    }
}
