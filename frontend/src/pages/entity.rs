//! An entity's page: the about card and relations, then one tab per plugin contribution.

use greenroom_api::{EntityTabs, RenderedTab};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde_json::Value;

use crate::api::{display_name, encode, entity_path, get_json, text};
use crate::ui_tree;

const OVERVIEW: &str = "overview";

#[component]
pub fn EntityPage() -> impl IntoView {
    let params = use_params_map();
    let param = move |key: &str| params.read().get(key).unwrap_or_default();
    let entity_ref = move || {
        format!("{}:{}/{}", param("kind"), param("namespace"), param("name")).to_lowercase()
    };
    let base_path = move || entity_path(&entity_ref());
    let active_tab = move || params.read().get("tab").unwrap_or_else(|| OVERVIEW.into());
    let entity = LocalResource::new(move || {
        let url = format!(
            "/api/catalog/entities/by-name/{}/{}/{}",
            encode(&param("kind")),
            encode(&param("namespace")),
            encode(&param("name"))
        );
        async move { get_json::<Value>(&url).await }
    });
    let tabs = LocalResource::new(move || {
        let url = format!("/api/plugins/tabs?entity={}", encode(&entity_ref()));
        async move { get_json::<EntityTabs>(&url).await }
    });
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || entity.get().map(|result| match result {
                Err(message) => view! { <div class="error">{message}</div> }.into_any(),
                Ok(entity) => view! {
                    <h1>{display_name(&entity)}</h1>
                    <p class="subtitle">{format!("{} · {}", text(&entity["kind"]), entity_ref())}</p>
                }.into_any(),
            })}
        </Transition>
        <nav class="tabs">
            <a href=base_path class:active=move || active_tab() == OVERVIEW>"Overview"</a>
            <Transition fallback=|| ()>
                {move || tabs.get().map(|result| match result {
                    Err(_) => ().into_any(),
                    Ok(tabs) => tabs.tabs.into_iter().map(|tab| {
                        let key = format!("{}.{}", tab.plugin_id, tab.tab_id);
                        let href = format!("{}/{key}", base_path());
                        view! { <a href=href class:active=move || active_tab() == key>{tab.title}</a> }
                    }).collect_view().into_any(),
                })}
            </Transition>
        </nav>
        {move || {
            let tab = active_tab();
            match tab.split_once('.') {
                Some((plugin, tab_id)) => view! { <PluginTab plugin=plugin.to_string() tab=tab_id.to_string() entity_ref=entity_ref()/> }.into_any(),
                None => view! {
                    <Transition fallback=|| ()>
                        {move || entity.get().map(|result| result.ok().map(overview))}
                    </Transition>
                }.into_any(),
            }
        }}
    }
}

/// About card and relations.
fn overview(entity: Value) -> impl IntoView {
    let spec = &entity["spec"];
    let metadata = &entity["metadata"];
    let facts: Vec<(&str, String)> = [
        ("Owner", &spec["owner"]),
        ("System", &spec["system"]),
        ("Type", &spec["type"]),
        ("Lifecycle", &spec["lifecycle"]),
    ]
    .into_iter()
    .map(|(label, value)| (label, text(value)))
    .filter(|(_, value)| !value.is_empty())
    .collect();
    let tags = metadata["tags"].as_array().cloned().unwrap_or_default();
    let relations = entity["relations"].as_array().cloned().unwrap_or_default();
    view! {
        <div class="card" id="about">
            <h2>"About"</h2>
            <p>{text(&metadata["description"])}</p>
            <dl class="kv">{facts.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}</dl>
            <p>{tags.iter().map(|t| view! { <span class="tag">{text(t)}</span> }).collect_view()}</p>
        </div>
        <div class="card" id="relations">
            <h2>"Relations"</h2>
            <table>
                <tbody>{relations.iter().map(|r| {
                    let target = text(&r["targetRef"]);
                    view! { <tr><td>{text(&r["type"])}</td><td><a href=entity_path(&target)>{target.clone()}</a></td></tr> }
                }).collect_view()}</tbody>
            </table>
        </div>
    }
}

/// One plugin tab. Its failure stays inside the tab.
#[component]
fn PluginTab(plugin: String, tab: String, entity_ref: String) -> impl IntoView {
    let url = format!(
        "/api/plugins/{}/tabs/{}?entity={}",
        encode(&plugin),
        encode(&tab),
        encode(&entity_ref)
    );
    let rendered = LocalResource::new(move || {
        let url = url.clone();
        async move { get_json::<RenderedTab>(&url).await }
    });
    view! {
        <div class="card plugin-tab" data-plugin=plugin>
            <Transition fallback=|| view! { <p class="loading">"Loading tab…"</p> }>
                {move || rendered.get().map(|result| match result {
                    Err(message) => view! { <div class="error plugin-error">{message}</div> }.into_any(),
                    Ok(tab) => ui_tree::render(tab.tree),
                })}
            </Transition>
        </div>
    }
}
