//! An entity's page: the about card, relations and plugins' cards, then one tab per plugin
//! contribution.

use greenroom_api::{CardSize, EntityCards, EntityTabs, RenderedCard, RenderedTab, SurfaceRef};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use serde_json::Value;

use crate::api::{
    display_name, encode, entity_path, entity_ref, field, get_json, is_safe_link, reference_target,
    text,
};
use crate::ui_tree::{PluginTree, Surface};
use crate::{api_definition, graph};

const OVERVIEW: &str = "overview";
const DOCS: &str = "docs";

#[component]
pub fn EntityPage() -> impl IntoView {
    let params = use_params_map();
    let param = move |key: &str| params.read().get(key).unwrap_or_default();
    let entity_ref = move || {
        format!("{}:{}/{}", param("kind"), param("namespace"), param("name")).to_lowercase()
    };
    let base_path = move || entity_path(&entity_ref());
    let location = leptos_router::hooks::use_location();
    // The Docs tab holds the reader, whose pages are below `<entity>/docs/`.
    let active_tab = move || {
        if location
            .pathname
            .get()
            .starts_with(&format!("{}/docs/", base_path()))
        {
            return DOCS.to_string();
        }
        params.read().get("tab").unwrap_or_else(|| OVERVIEW.into())
    };
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
                    <h1>{display_name(&entity).to_string()}</h1>
                    <p class="subtitle">{format!("{} · {}", text(&entity["kind"]), entity_ref())}</p>
                }.into_any(),
            })}
        </Transition>
        <nav class="tabs">
            <a href=base_path class:active=move || active_tab() == OVERVIEW>"Overview"</a>
            <Transition fallback=|| ()>
                {move || entity.get().and_then(|result| result.ok()).filter(has_docs).map(|e| view! {
                    <a id="docs-tab" href=format!("{}/docs/", entity_path(&crate::api::entity_ref(&e))) class:active=move || active_tab() == DOCS>"Docs"</a>
                })}
            </Transition>
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
            if tab == DOCS {
                return view! { <crate::pages::docs::DocsReader in_entity_page=true/> }.into_any();
            }
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

/// Whether an entity has a docs site, its own or borrowed.
fn has_docs(entity: &Value) -> bool {
    let annotations = &entity["metadata"]["annotations"];
    annotations["backstage.io/techdocs-ref"].is_string()
        || annotations["backstage.io/techdocs-entity"].is_string()
}

/// Warnings, the about card, relations grouped by type, and the dependency graph.
fn overview(entity: Value) -> impl IntoView {
    let spec = &entity["spec"];
    let metadata = &entity["metadata"];
    let annotation = |key: &str| text(&metadata["annotations"][key]);
    let orphan = annotation("backstage.io/orphan") == "true";
    let problems: Vec<String> = entity["status"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            let message = item["error"]["message"]
                .as_str()
                .or(item["message"].as_str())
                .unwrap_or("processing failed");
            format!("{}: {message}", text(&item["type"]))
        })
        .collect();
    let reference = |label: &'static str, path: &str| {
        let written = text(field(&entity, path));
        (!written.is_empty()).then(|| {
            let target = reference_target(&entity, path);
            (label, written, target)
        })
    };
    let linked: Vec<(&str, String, Option<String>)> = [
        reference("Owner", "spec.owner"),
        reference("System", "spec.system"),
        reference("Domain", "spec.domain"),
        reference("Parent", "spec.parent"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let plain: Vec<(&str, String)> = [
        ("Type", text(&spec["type"])),
        ("Lifecycle", text(&spec["lifecycle"])),
        ("Namespace", text(&metadata["namespace"])),
        ("Email", text(&spec["profile"]["email"])),
    ]
    .into_iter()
    .filter(|(_, value)| !value.is_empty())
    .collect();
    let source = annotation("backstage.io/managed-by-location");
    let tags = metadata["tags"].as_array().cloned().unwrap_or_default();
    let links = metadata["links"].as_array().cloned().unwrap_or_default();
    let relations = entity["relations"].as_array().cloned().unwrap_or_default();
    let mut by_type: Vec<(String, Vec<String>)> = Vec::new();
    for relation in &relations {
        let (kind, target) = (text(&relation["type"]), text(&relation["targetRef"]));
        match by_type.iter_mut().find(|(t, _)| *t == kind) {
            Some((_, targets)) => targets.push(target),
            None => by_type.push((kind, vec![target])),
        }
    }
    let graph = graph::DependencyGraph::of(&entity_ref(&entity), &by_type);
    view! {
        {orphan.then(|| view! {
            <div class="warning" id="orphan-warning">"This entity is orphaned: the location that defined it no longer does. It stays until it is deleted or claimed again."</div>
        })}
        {(!problems.is_empty()).then(|| view! {
            <div class="error" id="processing-errors">
                <strong>"Processing errors: the last good version is shown."</strong>
                <ul>{problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
            </div>
        })}
        <div class="cards">
            <div class="card" id="about">
                <h2>"About"</h2>
                <p class="description">{text(&metadata["description"])}</p>
                <dl class="kv">
                    {linked.into_iter().map(|(label, written, target)| view! {
                        <dt>{label}</dt>
                        <dd>{match target {
                            Some(target) => view! { <a href=entity_path(&target)>{written}</a> }.into_any(),
                            None => written.into_any(),
                        }}</dd>
                    }).collect_view()}
                    {plain.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                    {(!source.is_empty()).then(|| view! { <dt>"Source"</dt><dd class="source"><code>{source}</code></dd> })}
                </dl>
                {(!tags.is_empty()).then(|| view! {
                    <p class="tags">{tags.iter().map(|t| view! { <span class="tag">{text(t)}</span> }).collect_view()}</p>
                })}
                {(!links.is_empty()).then(|| view! {
                    <ul class="links">{links.iter().map(|l| {
                        let url = text(&l["url"]);
                        let title = text(&l["title"]);
                        let label = if title.is_empty() { url.clone() } else { title };
                        // Validation refuses other schemes; a body stored before that shows as text.
                        if is_safe_link(&url) {
                            view! { <li><a href=url rel="noopener noreferrer" target="_blank">{label}</a></li> }.into_any()
                        } else {
                            view! { <li>{label}</li> }.into_any()
                        }
                    }).collect_view()}</ul>
                })}
            </div>
            <div class="card" id="relations">
                <h2>"Relations"</h2>
                {if by_type.is_empty() {
                    view! { <p class="empty">"No relations."</p> }.into_any()
                } else {
                    view! {
                        <dl class="relations">{by_type.into_iter().map(|(kind, targets)| view! {
                            <dt>{kind}</dt>
                            <dd>{targets.into_iter().map(|t| view! { <a class="ref" href=entity_path(&t)>{t.clone()}</a> }).collect_view()}</dd>
                        }).collect_view()}</dl>
                    }.into_any()
                }}
            </div>
            <PluginCards entity_ref=entity_ref(&entity)/>
        </div>
        {(text(&entity["kind"]) == "API").then(|| api_definition::view(text(&spec["type"]), text(&spec["definition"])))}
        <div class="card" id="graph">
            <h2>"Dependency graph"</h2>
            {graph.render()}
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
                    Ok(tab) => {
                        let surface = Surface {
                            plugin: tab.plugin_id,
                            surface: SurfaceRef::Tab(tab.tab_id),
                            entity: Some(tab.entity_ref),
                        };
                        view! { <PluginTree surface=surface tree=tab.tree/> }.into_any()
                    }
                })}
            </Transition>
        </div>
    }
}

/// The cards plugins offer for the entity's overview, in its grid after relations; a
/// failing plugin's error shows in place of its cards.
#[component]
fn PluginCards(entity_ref: String) -> impl IntoView {
    let url = format!("/api/plugins/cards?entity={}", encode(&entity_ref));
    let offered = LocalResource::new(move || {
        let url = url.clone();
        async move { get_json::<EntityCards>(&url).await }
    });
    view! {
        <Transition fallback=|| ()>
            {move || offered.get().and_then(|result| result.ok()).map(|offered| {
                let entity_ref = entity_ref.clone();
                view! {
                    <div class="cards plugin-cards">
                        {offered.errors.into_iter().map(|failure| view! {
                            <div class="card error plugin-error" data-plugin=failure.plugin_id>{failure.message}</div>
                        }).collect_view()}
                        {offered.cards.into_iter().map(|card| {
                            let size = match card.size {
                                CardSize::Small => "small",
                                CardSize::Medium => "medium",
                                CardSize::Large => "large",
                            };
                            view! {
                                <PluginCard plugin=card.plugin_id card=card.card_id title=card.title size=size entity_ref=entity_ref.clone()/>
                            }
                        }).collect_view()}
                    </div>
                }
            })}
        </Transition>
    }
}

/// One plugin card. Its failure stays inside the card.
#[component]
fn PluginCard(
    plugin: String,
    card: String,
    title: String,
    size: &'static str,
    entity_ref: String,
) -> impl IntoView {
    let url = format!(
        "/api/plugins/{}/cards/{}?entity={}",
        encode(&plugin),
        encode(&card),
        encode(&entity_ref)
    );
    let rendered = LocalResource::new(move || {
        let url = url.clone();
        async move { get_json::<RenderedCard>(&url).await }
    });
    view! {
        <div class=format!("card plugin-card {size}") data-plugin=plugin data-card=card.clone()>
            <h2>{title}</h2>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || rendered.get().map(|result| match result {
                    Err(message) => view! { <div class="error plugin-error">{message}</div> }.into_any(),
                    Ok(card) => {
                        let surface = Surface {
                            plugin: card.plugin_id,
                            surface: SurfaceRef::Card(card.card_id),
                            entity: Some(card.entity_ref),
                        };
                        view! { <PluginTree surface=surface tree=card.tree/> }.into_any()
                    }
                })}
            </Transition>
        </div>
    }
}
