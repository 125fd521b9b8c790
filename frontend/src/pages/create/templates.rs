//! `/create`: the catalog's templates as cards, filtered by tag, type and text. The filters
//! live in the URL (`?tag=&type=&q=`), as the catalog page's do.

use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use serde_json::Value;

use super::TemplateId;
use crate::api::{display_name, encode, entity_path, get_json, reference_target, text};

/// The filters as the URL gives them.
#[derive(Clone, PartialEq, Default)]
struct Filters {
    tag: String,
    kind: String,
    text: String,
}

impl Filters {
    fn from_query(query: &ParamsMap) -> Self {
        Self {
            tag: query.get("tag").unwrap_or_default(),
            kind: query.get("type").unwrap_or_default(),
            text: query.get("q").unwrap_or_default(),
        }
    }

    fn url(&self) -> String {
        let params: Vec<String> = [("tag", &self.tag), ("type", &self.kind), ("q", &self.text)]
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        if params.is_empty() {
            "/create".into()
        } else {
            format!("/create?{}", params.join("&"))
        }
    }

    fn admits(&self, template: &Value) -> bool {
        let metadata = &template["metadata"];
        let tags = tags_of(template);
        let needle = self.text.to_lowercase();
        (self.tag.is_empty() || tags.iter().any(|t| t.eq_ignore_ascii_case(&self.tag)))
            && (self.kind.is_empty()
                || text(&template["spec"]["type"]).eq_ignore_ascii_case(&self.kind))
            && (needle.is_empty()
                || [
                    &metadata["title"],
                    &metadata["description"],
                    &metadata["name"],
                ]
                .iter()
                .any(|v| text(v).to_lowercase().contains(&needle)))
    }
}

fn tags_of(template: &Value) -> Vec<String> {
    template["metadata"]["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text)
        .collect()
}

#[component]
pub fn TemplatesPage() -> impl IntoView {
    let templates = LocalResource::new(|| {
        get_json::<Value>("/api/catalog/entities/by-query?filter=kind=template&limit=500")
    });
    let query = use_query_map();
    let filters = Memo::new(move |_| Filters::from_query(&query.read()));
    let navigate = use_navigate();
    // Typing replaces the history entry; a choice in a select adds one.
    let go = Callback::new(move |(next, replace): (Filters, bool)| {
        navigate(
            &next.url(),
            NavigateOptions {
                replace,
                scroll: false,
                ..Default::default()
            },
        )
    });
    let change = move |edit: fn(&mut Filters, String), replace: bool| {
        move |ev: leptos::ev::Event| {
            let mut next = filters.get_untracked();
            edit(&mut next, event_target_value(&ev));
            go.run((next, replace));
        }
    };
    view! {
        <h1>"Create"</h1>
        <p class="subtitle">"Start something new from one of your organisation's templates."
            " "<a href="/create/tasks" id="task-list-link">"Task list"</a></p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || templates.get().map(|result| match result {
                Err(message) => view! { <div class="error">{message}</div> }.into_any(),
                Ok(page) => {
                    let items = page["items"].as_array().cloned().unwrap_or_default();
                    let mut tags: Vec<String> = items.iter().flat_map(tags_of).collect();
                    tags.sort();
                    tags.dedup();
                    let mut types: Vec<String> = items.iter().map(|t| text(&t["spec"]["type"])).filter(|t| !t.is_empty()).collect();
                    types.sort();
                    types.dedup();
                    let options = |values: Vec<String>, selected: fn(&Filters) -> String| {
                        values.into_iter().map(|value| {
                            let is_selected = {
                                let value = value.clone();
                                move || selected(&filters.get()) == value
                            };
                            view! { <option value=value.clone() prop:selected=is_selected>{value.clone()}</option> }
                        }).collect_view()
                    };
                    view! {
                        <div class="toolbar" id="template-filters">
                            <input type="search" id="template-search" placeholder="Search templates…"
                                prop:value=move || filters.get().text
                                on:input=change(|f, v| f.text = v, true)/>
                            <select id="template-tag-filter" on:change=change(|f, v| f.tag = v, false)>
                                <option value="" prop:selected=move || filters.get().tag.is_empty()>"All tags"</option>
                                {options(tags, |f| f.tag.clone())}
                            </select>
                            <select id="template-type-filter" on:change=change(|f, v| f.kind = v, false)>
                                <option value="" prop:selected=move || filters.get().kind.is_empty()>"All types"</option>
                                {options(types, |f| f.kind.clone())}
                            </select>
                        </div>
                        {move || {
                            let current = filters.get();
                            let shown: Vec<&Value> = items.iter().filter(|t| current.admits(t)).collect();
                            if shown.is_empty() {
                                let message = if items.is_empty() { "No templates in the catalog." } else { "No templates match these filters." };
                                view! { <p class="empty">{message}</p> }.into_any()
                            } else {
                                view! { <div class="cards" id="template-cards">{shown.into_iter().map(card).collect_view()}</div> }.into_any()
                            }
                        }}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

fn card(template: &Value) -> impl IntoView + use<> {
    let metadata = &template["metadata"];
    let id = TemplateId {
        namespace: metadata["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string(),
        name: text(&metadata["name"]),
    };
    let owner = text(&template["spec"]["owner"]);
    let owner_link = reference_target(template, "spec.owner");
    let kind = text(&template["spec"]["type"]);
    view! {
        <div class="card template-card" data-template=format!("{}/{}", id.namespace, id.name)>
            <h2>{display_name(template).to_string()}</h2>
            <p class="description">{text(&metadata["description"])}</p>
            <p class="tags">
                {(!kind.is_empty()).then(|| view! { <span class="badge info template-type">{kind}</span>" " })}
                {tags_of(template).into_iter().map(|t| view! { <span class="tag">{t}</span> }).collect_view()}
            </p>
            <div class="template-footer">
                <span class="muted">"Owner: "
                    {match owner_link {
                        Some(target) => view! { <a href=entity_path(&target)>{owner}</a> }.into_any(),
                        None => owner.into_any(),
                    }}
                </span>
                <a class="button primary choose" href=id.form_path()>"Choose"</a>
            </div>
        </div>
    }
}
