//! Docs: every documented entity, and the reader of one site (its nav tree, the page, the
//! page's contents, prev/next, how and when it was built, and a refresh). The reader's URLs
//! mirror the site's (`/docs/:namespace/:kind/:name/guides/setup/`), so the relative links
//! in a page lead to the right reader page.

use greenroom_api::docs::{DocsNavItem, DocsPage, DocsSite};
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_params_map};
use serde_json::Value;

use crate::api::{display_name, encode, entity_path, entity_ref, get_json, text};
use crate::pages::search::{self, Hit, marked, query_url};

/// `/docs`: the entities with docs, filtered by kind and text.
#[component]
pub fn DocsListPage() -> impl IntoView {
    let sites = LocalResource::new(|| {
        get_json::<Value>(
            "/api/catalog/entities/by-query?filter=metadata.annotations.backstage.io/techdocs-ref&filter=metadata.annotations.backstage.io/techdocs-entity&limit=1000",
        )
    });
    let query = RwSignal::new(String::new());
    let kind = RwSignal::new(String::new());
    view! {
        <h1>"Docs"</h1>
        <p class="subtitle">"Documentation of every entity that has a docs site."</p>
        <div class="toolbar">
            <input type="search" id="docs-filter" placeholder="Filter by name or owner…"
                on:input=move |ev| query.set(event_target_value(&ev).to_lowercase())/>
            <select id="docs-kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                <option value="">"All kinds"</option>
                <option value="Component">"Component"</option>
                <option value="API">"API"</option>
                <option value="System">"System"</option>
                <option value="Resource">"Resource"</option>
                <option value="Domain">"Domain"</option>
            </select>
        </div>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || sites.get().map(|result| match result {
                Err(message) => view! { <div class="error">{message}</div> }.into_any(),
                Ok(page) => {
                    let items = page["items"].as_array().cloned().unwrap_or_default();
                    let rows = items.into_iter().filter(|e| {
                        let q = query.get();
                        let k = kind.get();
                        let haystack = format!("{} {} {}", display_name(e), text(&e["metadata"]["name"]), text(&e["spec"]["owner"])).to_lowercase();
                        (k.is_empty() || text(&e["kind"]).eq_ignore_ascii_case(&k)) && haystack.contains(&q)
                    }).map(|e| {
                        let href = reader_path(&entity_ref(&e));
                        view! {
                            <tr>
                                <td><a class="docs-site" href=href>{display_name(&e).to_string()}</a></td>
                                <td>{text(&e["metadata"]["description"])}</td>
                                <td>{text(&e["spec"]["owner"])}</td>
                                <td>{text(&e["kind"])}</td>
                            </tr>
                        }
                    }).collect_view();
                    view! {
                        <table id="docs-table" class="card">
                            <thead><tr><th>"Site"</th><th>"Description"</th><th>"Owner"</th><th>"Kind"</th></tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    }.into_any()
                }
            })}
        </Transition>
    }
}

/// A docs search result's location (`/docs/ns/kind/name/page/#anchor`) in the reader at
/// `base`; none for a location that is not a docs page.
fn in_reader(location: &str, base: &str) -> Option<String> {
    let mut parts = location.splitn(6, '/');
    let prefix: Vec<&str> = parts.by_ref().take(5).collect();
    match (prefix.as_slice(), parts.next()) {
        (["", "docs", _, _, _], Some(rest)) => Some(format!("{base}{rest}")),
        _ => None,
    }
}

/// The reader's path for an entity's site: `/docs/<namespace>/<kind>/<name>/`.
pub fn reader_path(entity_ref: &str) -> String {
    let parsed = greenroom_api::EntityRef::parse(entity_ref, None, "default");
    match parsed {
        Ok(r) => format!(
            "/docs/{}/{}/{}/",
            encode(&r.namespace),
            encode(&r.kind),
            encode(&r.name)
        ),
        Err(_) => "/docs".into(),
    }
}

/// `/docs/:namespace/:kind/:name/<page path>`.
#[component]
pub fn DocsReaderPage() -> impl IntoView {
    view! { <DocsReader in_entity_page=false/> }
}

/// The reader of the site of the entity in the route's parameters: on its own page
/// (`/docs/...`), or in the entity page's Docs tab (`/catalog/.../docs/...`). Either way the
/// reader's URLs below its base mirror the site's.
#[component]
pub fn DocsReader(in_entity_page: bool) -> impl IntoView {
    let params = use_params_map();
    let param = move |key: &str| params.read().get(key).unwrap_or_default();
    let base = move || {
        let (namespace, kind, name) = (param("namespace"), param("kind"), param("name"));
        if in_entity_page {
            format!("/catalog/{namespace}/{kind}/{name}/docs/")
        } else {
            format!("/docs/{namespace}/{kind}/{name}/")
        }
    };
    let location = use_location();
    // The page path is what follows the site's base in the address (the router's wildcard
    // would drop the trailing slash that relative links depend on).
    let page_path = move || {
        let path = location.pathname.get();
        path.strip_prefix(&base()).unwrap_or_default().to_string()
    };
    // Without the trailing slash, relative links would resolve one folder too high.
    let navigate = use_navigate();
    Effect::new(move || {
        let path = location.pathname.get();
        if format!("{path}/") == base() {
            navigate(
                &base(),
                leptos_router::NavigateOptions {
                    replace: true,
                    ..Default::default()
                },
            );
        }
    });
    let version = RwSignal::new(0u32);
    let api_triplet = move || {
        format!(
            "{}/{}/{}",
            encode(&param("namespace")),
            encode(&param("kind")),
            encode(&param("name"))
        )
    };
    let site = LocalResource::new(move || {
        version.get();
        let url = format!("/api/docs/site/{}", api_triplet());
        async move { get_json::<DocsSite>(&url).await }
    });
    let page = LocalResource::new(move || {
        version.get();
        let url = format!("/api/docs/page/{}/{}", api_triplet(), page_path());
        async move { get_json::<DocsPage>(&url).await }
    });
    let refreshing = RwSignal::new(false);
    let refresh = move |_| {
        refreshing.set(true);
        let url = format!("/api/techdocs/sync/{}", api_triplet());
        leptos::task::spawn_local(async move {
            let _ = gloo_net::http::Request::get(&url).send().await;
            refreshing.set(false);
            version.update(|v| *v += 1);
        });
    };
    // Search within the site: the portal's index narrowed to this entity's docs, each hit a
    // link into this reader (its own base: the docs page or the entity's tab).
    let hits = RwSignal::new(None::<Result<Vec<Hit>, String>>);
    let search = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() != "Enter" {
            return;
        }
        let text = event_target_value(&ev);
        if text.trim().is_empty() {
            hits.set(None);
            return;
        }
        let (namespace, kind, name) = (param("namespace"), param("kind"), param("name"));
        let filters = [
            ("namespace", namespace.as_str()),
            ("kind", kind.as_str()),
            ("name", name.as_str()),
        ];
        let url = query_url(&text, &["techdocs"], &filters, 20, None);
        let base = base();
        leptos::task::spawn_local(async move {
            let found = get_json::<Value>(&url).await.map(|page| {
                search::hits(&page)
                    .into_iter()
                    .map(|mut hit| {
                        hit.href = hit.href.and_then(|href| in_reader(&href, &base));
                        hit
                    })
                    .collect()
            });
            hits.set(Some(found));
        });
    };
    // Following a hit closes the list.
    Effect::new(move || {
        location.pathname.track();
        location.hash.track();
        hits.set(None);
    });
    view! {
        <div class="docs-reader">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || site.get().map(|result| match result {
                    Err(message) => view! { <div class="error" id="docs-error">{message}</div> }.into_any(),
                    Ok(site) => header(site, base(), refresh, refreshing).into_any(),
                })}
            </Transition>
            <input type="search" id="docs-search" placeholder="Search these docs…" on:keydown=search/>
            {move || hits.get().map(|result| match result {
                Err(message) => view! { <div class="error">{message}</div> }.into_any(),
                Ok(found) if found.is_empty() => view! { <p class="empty" id="docs-search-results">"Nothing found."</p> }.into_any(),
                Ok(found) => view! {
                    <ul class="card" id="docs-search-results">{found.into_iter().map(|hit| view! {
                        <li><a href=hit.href>{marked(hit.title)}</a><p class="muted">{marked(hit.text)}</p></li>
                    }).collect_view()}</ul>
                }.into_any(),
            })}
            <div class="docs-body">
                <nav class="docs-nav card" id="docs-nav">
                    <Transition fallback=|| ()>
                        {move || site.get().map(|result| result.ok().map(|site| nav_tree(&site.nav, &base(), &page_path())))}
                    </Transition>
                </nav>
                <Transition fallback=|| view! { <p class="loading">"Loading page…"</p> }>
                    {move || page.get().map(|result| match result {
                        Err(message) => view! { <article class="docs-page card"><div class="error" id="docs-page-error">{message}</div></article> }.into_any(),
                        Ok(page) => page_view(page, base()).into_any(),
                    })}
                </Transition>
            </div>
        </div>
    }
}

fn header(
    site: DocsSite,
    base: String,
    refresh: impl Fn(leptos::ev::MouseEvent) + 'static,
    refreshing: RwSignal<bool>,
) -> impl IntoView {
    let built = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(site.build.built_at as f64));
    let built_at: String = built
        .to_locale_string("en-GB", &wasm_bindgen::JsValue::UNDEFINED)
        .into();
    let warnings = site.build.warnings.clone();
    view! {
        <header class="docs-header">
            <h1><a href=base>{site.site_name.clone()}</a></h1>
            {site.site_description.clone().map(|d| view! { <p class="subtitle">{d}</p> })}
            <p class="muted docs-build" id="docs-build">
                <a href=entity_path(&site.entity_ref)>{site.entity_ref.clone()}</a>
                {site.owner.clone().map(|o| format!(" · owner {o}"))}
                {site.lifecycle.clone().map(|l| format!(" · {l}"))}
                {format!(" · built {built_at} in {:.0} ms from {}", site.build.took_ms, site.build.source)}
                " · "
                <button id="docs-refresh" class="small" on:click=refresh disabled=move || refreshing.get()>
                    {move || if refreshing.get() { "Refreshing…" } else { "Refresh" }}
                </button>
            </p>
            {site.build.failed.clone().map(|f| view! { <div class="warning" id="docs-failed">{format!("The latest build failed; the last good one is shown. {f}")}</div> })}
            {(!warnings.is_empty()).then(|| view! {
                <details class="docs-warnings"><summary>{format!("{} build warnings", warnings.len())}</summary>
                    <ul>{warnings.into_iter().map(|w| view! { <li>{w}</li> }).collect_view()}</ul>
                </details>
            })}
        </header>
    }
}

fn nav_tree(items: &[DocsNavItem], base: &str, current: &str) -> impl IntoView + use<> {
    let items: Vec<_> = items
        .iter()
        .map(|item| match item {
            DocsNavItem::Page { title, path } => {
                let active = path == current;
                view! { <li><a href=format!("{base}{path}") class:active=active>{title.clone()}</a></li> }.into_any()
            }
            DocsNavItem::Section { title, children } => view! {
                <li class="section"><span class="section-title">{title.clone()}</span>{nav_tree(children, base, current)}</li>
            }
            .into_any(),
            DocsNavItem::Link { title, url } => {
                let safe = crate::api::is_safe_link(url);
                view! { <li>{if safe {
                    view! { <a class="external" href=url.clone() rel="noopener noreferrer" target="_blank">{title.clone()}" ↗"</a> }.into_any()
                } else {
                    view! { <span>{title.clone()}</span> }.into_any()
                }}</li> }.into_any()
            }
        })
        .collect();
    view! { <ul>{items}</ul> }
}

fn page_view(page: DocsPage, base: String) -> impl IntoView {
    // Once the page is in the document: code coloured and copyable, diagrams drawn.
    Effect::new(|| crate::docs_page::enhance("#docs-page"));
    let title = page.title.clone();
    let toc = page.toc.clone();
    let link = |l: Option<greenroom_api::docs::DocsLink>,
                class: &'static str,
                arrow: &'static str| {
        l.map(|l| view! { <a class=class href=format!("{base}{}", l.path)>{format!("{arrow} {}", l.title)}</a> })
    };
    let prev = link(page.prev.clone(), "prev", "←");
    let next = link(page.next.clone(), "next", "→");
    view! {
        <article class="docs-page card md-typeset" id="docs-page">
            <div class="docs-page-tools">
                {page.edit_url.clone().filter(|u| crate::api::is_safe_link(u)).map(|u| view! {
                    <a class="muted" id="docs-edit" href=u rel="noopener noreferrer" target="_blank">"Edit this page"</a>
                })}
            </div>
            <div class="docs-content" inner_html=page.html.clone()></div>
            <footer class="docs-pager" id="docs-pager">{prev}<span class="spacer"></span>{next}</footer>
        </article>
        <aside class="docs-toc card" id="docs-toc">
            <strong>{title}</strong>
            <ul>{toc.into_iter().filter(|h| h.level > 1).map(|h| view! {
                <li class=format!("level-{}", h.level)><a href=format!("#{}", h.id)>{h.text}</a></li>
            }).collect_view()}</ul>
        </aside>
    }
}

#[cfg(test)]
mod tests {
    use super::in_reader;

    #[test]
    fn docs_locations_open_in_the_reader_they_were_found_from() {
        let tab = "/catalog/default/component/shop/docs/";
        assert_eq!(
            in_reader("/docs/default/component/shop/setup/install/#steps", tab).as_deref(),
            Some("/catalog/default/component/shop/docs/setup/install/#steps")
        );
        assert_eq!(
            in_reader("/docs/default/component/shop/", tab).as_deref(),
            Some(tab)
        );
        assert_eq!(in_reader("/catalog/default/component/shop", tab), None);
        assert_eq!(in_reader("https://elsewhere/docs/a/b/c/d", tab), None);
    }
}
