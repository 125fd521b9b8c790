//! The catalog: entities in a table, filtered by kind, paged on the server.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use serde_json::Value;

use crate::api::{display_name, encode, entity_path, entity_ref, get_json, text};

const PAGE_SIZE: u32 = 25;
const KINDS: &[&str] = &[
    "Component",
    "API",
    "System",
    "Domain",
    "Resource",
    "Group",
    "User",
    "Template",
    "Location",
];

#[component]
pub fn CatalogPage() -> impl IntoView {
    let query = use_query_map();
    let kind = move || {
        query
            .read()
            .get("kind")
            .unwrap_or_else(|| "Component".into())
    };
    let cursor = move || query.read().get("cursor");
    let page = LocalResource::new(move || {
        let url = match cursor() {
            Some(cursor) => format!(
                "/api/catalog/entities/by-query?limit={PAGE_SIZE}&cursor={}",
                encode(&cursor)
            ),
            None => format!(
                "/api/catalog/entities/by-query?limit={PAGE_SIZE}&filter={}",
                encode(&format!("kind={}", kind()))
            ),
        };
        async move { get_json::<Value>(&url).await }
    });
    let navigate = use_navigate();
    let go = move |kind: String, cursor: Option<String>| {
        let mut url = format!("/catalog?kind={}", encode(&kind));
        if let Some(cursor) = cursor {
            url.push_str(&format!("&cursor={}", encode(&cursor)));
        }
        navigate(&url, Default::default());
    };
    let on_kind = {
        let go = go.clone();
        move |ev| go(event_target_value(&ev), None)
    };
    view! {
        <h1>"Catalog"</h1>
        <p class="subtitle">"Everything your organisation builds and runs."</p>
        <div class="toolbar">
            <label>"Kind " <select id="kind-filter" on:change=on_kind prop:value=kind>
                {KINDS.iter().map(|k| view! { <option value=*k>{*k}</option> }).collect_view()}
            </select></label>
        </div>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || page.get().map(|result| match result {
                Err(message) => view! { <div class="error">{message}</div> }.into_any(),
                Ok(page) => {
                    let go = go.clone();
                    entity_table(&page, move |cursor| go(kind(), Some(cursor))).into_any()
                }
            })}
        </Transition>
    }
}

fn entity_table(page: &Value, go: impl Fn(String) + Clone + 'static) -> impl IntoView {
    let items = page["items"].as_array().cloned().unwrap_or_default();
    let total = page["totalItems"].as_u64().unwrap_or_default();
    let next = page["pageInfo"]["nextCursor"].as_str().map(str::to_string);
    let prev = page["pageInfo"]["prevCursor"].as_str().map(str::to_string);
    let rows = items
        .iter()
        .map(|e| {
            let tags = e["metadata"]["tags"].as_array().cloned().unwrap_or_default();
            view! {
                <tr>
                    <td><a href=entity_path(&entity_ref(e))>{display_name(e)}</a></td>
                    <td>{text(&e["spec"]["owner"])}</td>
                    <td>{text(&e["spec"]["type"])}</td>
                    <td>{text(&e["spec"]["lifecycle"])}</td>
                    <td>{text(&e["metadata"]["description"])}</td>
                    <td>{tags.iter().map(|t| view! { <span class="tag">{text(t)}</span> }).collect_view()}</td>
                </tr>
            }
        })
        .collect_view();
    let (go_prev, go_next) = (go.clone(), go);
    view! {
        <table id="catalog-table">
            <thead><tr><th>"Name"</th><th>"Owner"</th><th>"Type"</th><th>"Lifecycle"</th><th>"Description"</th><th>"Tags"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <div class="pager">
            <button disabled=prev.is_none() on:click=move |_| if let Some(c) = prev.clone() { go_prev(c) }>"Previous"</button>
            <button disabled=next.is_none() on:click=move |_| if let Some(c) = next.clone() { go_next(c) }>"Next"</button>
            <span>{format!("{total} entities")}</span>
        </div>
    }
}
