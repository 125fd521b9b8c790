//! Home: the catalog at a glance (entities per kind) and where to go next.

use leptos::prelude::*;
use serde_json::Value;

use crate::api::{encode, get_json, text};

#[component]
pub fn HomePage() -> impl IntoView {
    let kinds = LocalResource::new(|| get_json::<Value>("/api/catalog/entity-facets?facet=kind"));
    view! {
        <h1>"Welcome to Greenroom"</h1>
        <p class="subtitle">"Your organisation's software catalog, docs and integrations in one place."</p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || kinds.get().map(|result| match result {
                Err(message) => view! { <div class="error">{message}</div> }.into_any(),
                Ok(facets) => view! {
                    <div class="tiles" id="kind-counts">
                        {facets["facets"]["kind"].as_array().cloned().unwrap_or_default().into_iter().map(|f| {
                            let kind = text(&f["value"]);
                            let href = format!("/catalog?kind={}", encode(&kind));
                            view! {
                                <a class="tile card" href=href>
                                    <span class="count">{f["count"].as_u64().unwrap_or_default()}</span>
                                    <span class="label">{kind}</span>
                                </a>
                            }
                        }).collect_view()}
                    </div>
                }.into_any(),
            })}
        </Transition>
        <div class="card">
            <h2>"Get started"</h2>
            <ul>
                <li><a href="/catalog">"Browse the catalog"</a>" — components, APIs, systems, teams."</li>
                <li><a href="/apis">"Explore APIs"</a>" — every API with its definition."</li>
                <li><a href="/plugins">"Manage plugins"</a>" — upload, enable or remove integrations."</li>
            </ul>
        </div>
    }
}
