//! The catalog: a table of entities with columns for the chosen kind, filters with facet
//! counts, a text filter and sorting, paged on the server by cursor. Every bit of state
//! lives in the URL, so a filtered view can be shared and the back button works.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use serde_json::Value;

use crate::api::{
    display_name, encode, entity_path, entity_ref, field, get_json, reference_target, text,
};

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

/// The filters beside the kind: URL parameter, label, catalog field.
const FILTERS: &[(&str, &str, &str)] = &[
    ("type", "Type", "spec.type"),
    ("owner", "Owner", "spec.owner"),
    ("lifecycle", "Lifecycle", "spec.lifecycle"),
    ("tag", "Tag", "metadata.tags"),
    ("namespace", "Namespace", "metadata.namespace"),
];

/// A column: header and the catalog field it shows (and sorts by).
type Column = (&'static str, &'static str);

fn columns(kind: &str) -> &'static [Column] {
    const NAME: Column = ("Name", "metadata.name");
    const OWNER: Column = ("Owner", "spec.owner");
    const TYPE: Column = ("Type", "spec.type");
    const LIFECYCLE: Column = ("Lifecycle", "spec.lifecycle");
    const SYSTEM: Column = ("System", "spec.system");
    const DESCRIPTION: Column = ("Description", "metadata.description");
    const TAGS: Column = ("Tags", "metadata.tags");
    match kind {
        "Component" | "API" => &[NAME, SYSTEM, OWNER, TYPE, LIFECYCLE, DESCRIPTION, TAGS],
        "Resource" => &[NAME, SYSTEM, OWNER, TYPE, DESCRIPTION, TAGS],
        "System" => &[NAME, ("Domain", "spec.domain"), OWNER, DESCRIPTION, TAGS],
        "Domain" => &[NAME, OWNER, DESCRIPTION, TAGS],
        "Group" => &[NAME, TYPE, ("Parent", "spec.parent"), DESCRIPTION],
        "User" => &[NAME, ("Email", "spec.profile.email"), DESCRIPTION],
        _ => &[NAME, TYPE, DESCRIPTION, TAGS],
    }
}

/// The catalog view as the URL describes it.
#[derive(Clone, PartialEq)]
struct View {
    kind: String,
    filters: Vec<(&'static str, String)>,
    /// "Owned by me": only what the signed-in user's ownership refs own.
    mine: bool,
    text: String,
    sort: String,
    descending: bool,
    cursor: Option<String>,
}

impl View {
    fn from_query(query: &ParamsMap) -> Self {
        Self {
            kind: query.get("kind").unwrap_or_else(|| "Component".into()),
            filters: FILTERS
                .iter()
                .filter_map(|(param, _, _)| {
                    query
                        .get(param)
                        .filter(|v| !v.is_empty())
                        .map(|v| (*param, v))
                })
                .collect(),
            mine: query.get("owned").as_deref() == Some("me"),
            text: query.get("q").unwrap_or_default(),
            sort: query.get("sort").unwrap_or_else(|| "metadata.name".into()),
            descending: query.get("dir").as_deref() == Some("desc"),
            cursor: query.get("cursor"),
        }
    }

    fn url(&self) -> String {
        let mut params = vec![("kind", self.kind.clone())];
        params.extend(self.filters.iter().cloned());
        if self.mine {
            params.push(("owned", "me".into()));
        }
        if !self.text.is_empty() {
            params.push(("q", self.text.clone()));
        }
        if self.sort != "metadata.name" {
            params.push(("sort", self.sort.clone()));
        }
        if self.descending {
            params.push(("dir", "desc".into()));
        }
        if let Some(cursor) = &self.cursor {
            params.push(("cursor", cursor.clone()));
        }
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect();
        format!("/catalog?{}", query.join("&"))
    }

    /// `filter=kind=...,spec.type=...`: one filter, its conditions ANDed; owned by me, one
    /// per ownership ref (filters are ORed).
    fn filter_params(&self, owners: &[String]) -> String {
        let mut conditions = vec![format!("kind={}", self.kind)];
        for (param, value) in &self.filters {
            let field = FILTERS.iter().find(|(p, _, _)| p == param).map(|f| f.2);
            conditions.push(format!("{}={value}", field.unwrap_or(param)));
        }
        let base = conditions.join(",");
        let filters: Vec<String> = if self.mine && !owners.is_empty() {
            owners
                .iter()
                .map(|owner| format!("{base},relations.ownedBy={owner}"))
                .collect()
        } else {
            vec![base]
        };
        filters
            .iter()
            .map(|f| format!("&filter={}", encode(f)))
            .collect()
    }

    fn page_url(&self, owners: &[String]) -> String {
        if let Some(cursor) = &self.cursor {
            // A cursor carries the query it pages through.
            return format!(
                "/api/catalog/entities/by-query?limit={PAGE_SIZE}&cursor={}",
                encode(cursor)
            );
        }
        let mut url = format!(
            "/api/catalog/entities/by-query?limit={PAGE_SIZE}{}",
            self.filter_params(owners)
        );
        // Name ascending is the catalog's own order (by ref: namespace, then name), which
        // needs no sorting on the server.
        if self.sort != "metadata.name" || self.descending {
            let direction = if self.descending { "desc" } else { "asc" };
            url.push_str(&format!(
                "&orderField={}",
                encode(&format!("{},{direction}", self.sort))
            ));
        }
        if !self.text.is_empty() {
            url.push_str(&format!("&fullTextFilterTerm={}", encode(&self.text)));
        }
        url
    }

    fn facets_url(&self) -> String {
        let facets: String = FILTERS
            .iter()
            .map(|(_, _, field)| format!("&facet={field}"))
            .collect();
        format!(
            "/api/catalog/entity-facets?filter={}{facets}",
            encode(&format!("kind={}", self.kind))
        )
    }

    /// Another kind keeps only the text: the other filters and the sort are per kind.
    fn of_kind(&self, kind: String) -> View {
        let mut next = View::from_query(&ParamsMap::new());
        next.kind = kind;
        next.text = self.text.clone();
        next.mine = self.mine;
        next
    }

    /// The same view with one setting changed and paging restarted.
    fn with(&self, change: impl FnOnce(&mut View)) -> View {
        let mut next = self.clone();
        next.cursor = None;
        change(&mut next);
        next
    }
}

/// `/apis`: the catalog opened on APIs.
#[component]
pub fn ApisPage() -> impl IntoView {
    let navigate = use_navigate();
    Effect::new(move |_| navigate("/catalog?kind=API", Default::default()));
}

#[component]
pub fn CatalogPage() -> impl IntoView {
    let query = use_query_map();
    let view_state = Memo::new(move |_| View::from_query(&query.read()));
    // Who "me" is, when someone is signed in.
    let owners = match use_context::<crate::session::Session>() {
        Some(crate::session::Session::SignedIn { ownership_refs, .. }) => Some(ownership_refs),
        _ => None,
    };
    let page_owners = owners.clone().unwrap_or_default();
    let page = LocalResource::new(move || {
        let url = view_state.get().page_url(&page_owners);
        async move { get_json::<Value>(&url).await }
    });
    let facets = LocalResource::new(move || {
        let url = view_state.with(|v| v.facets_url());
        async move { get_json::<Value>(&url).await }
    });
    let navigate = use_navigate();
    let go = Callback::new(move |next: View| navigate(&next.url(), Default::default()));
    let current = move || view_state.get();
    view! {
        <h1>"Catalog"</h1>
        <p class="subtitle">"Everything your organisation builds and runs."</p>
        <div class="catalog-layout">
            <aside class="filters card" id="catalog-filters">
                <label>"Kind"
                    <select id="kind-filter" prop:value=move || current().kind
                        on:change=move |ev| { let kind = event_target_value(&ev); go.run(current().of_kind(kind)) }>
                        {KINDS.iter().map(|k| view! { <option value=*k>{*k}</option> }).collect_view()}
                    </select>
                </label>
                {owners.is_some().then(|| view! {
                    <label class="checkbox">
                        <input type="checkbox" id="owned-filter" prop:checked=move || current().mine
                            on:change=move |ev| { let mine = event_target_checked(&ev); go.run(current().with(|v| v.mine = mine)) }/>
                        " Owned by me"
                    </label>
                })}
                <label>"Search"
                    <input type="search" id="text-filter" placeholder="Name, title or description" prop:value=move || current().text
                        on:change=move |ev| { let text = event_target_value(&ev); go.run(current().with(|v| v.text = text)) }/>
                </label>
                <Transition fallback=|| ()>
                    {move || facets.get().map(|result| match result {
                        Err(message) => view! { <div class="error small">{message}</div> }.into_any(),
                        Ok(facets) => FILTERS.iter().map(|(param, label, field)| {
                            let values = facets["facets"][*field].as_array().cloned().unwrap_or_default();
                            let selected = move || current().filters.iter().find(|(p, _)| p == param).map(|(_, v)| v.clone()).unwrap_or_default();
                            view! {
                                <label>{*label}
                                    <select id=format!("{param}-filter") prop:value=selected
                                        on:change=move |ev| {
                                            let value = event_target_value(&ev);
                                            go.run(current().with(|v| {
                                                v.filters.retain(|(p, _)| p != param);
                                                if !value.is_empty() { v.filters.push((param, value)); }
                                            }))
                                        }>
                                        <option value="">"All"</option>
                                        {values.iter().map(|f| {
                                            let value = text(&f["value"]);
                                            view! { <option value=value.clone()>{format!("{value} ({})", f["count"])}</option> }
                                        }).collect_view()}
                                    </select>
                                </label>
                            }
                        }).collect_view().into_any(),
                    })}
                </Transition>
            </aside>
            <section class="catalog-results">
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || page.get().map(|result| match result {
                        Err(message) => view! { <div class="error">{message}</div> }.into_any(),
                        Ok(page) => entity_table(&page, current(), go).into_any(),
                    })}
                </Transition>
            </section>
        </div>
    }
}

fn entity_table(page: &Value, current: View, go: Callback<View>) -> impl IntoView {
    let items = page["items"].as_array().cloned().unwrap_or_default();
    let total = page["totalItems"].as_u64().unwrap_or_default();
    let next = page["pageInfo"]["nextCursor"].as_str().map(str::to_string);
    let prev = page["pageInfo"]["prevCursor"].as_str().map(str::to_string);
    let columns = columns(&current.kind);
    let headers = columns
        .iter()
        .map(|(label, path)| {
            let sorted = current.sort == *path;
            let arrow = match (sorted, current.descending) {
                (false, _) => "",
                (true, false) => " ▲",
                (true, true) => " ▼",
            };
            let next_view = current.with(|v| {
                v.descending = sorted && !v.descending;
                v.sort = path.to_string();
            });
            let sortable = *path != "metadata.tags";
            view! {
                <th>{if sortable {
                    view! { <a class="sort" href=next_view.url() on:click=move |ev| { ev.prevent_default(); go.run(next_view.clone()) }>{format!("{label}{arrow}")}</a> }.into_any()
                } else {
                    view! { <span>{*label}</span> }.into_any()
                }}</th>
            }
        })
        .collect_view();
    let rows = items
        .iter()
        .map(|e| {
            let cells = columns
                .iter()
                .map(|(_, path)| match *path {
                    "metadata.name" => view! { <td><a href=entity_path(&entity_ref(e))>{display_name(e).to_string()}</a></td> }.into_any(),
                    "metadata.tags" => {
                        let tags = e["metadata"]["tags"].as_array().cloned().unwrap_or_default();
                        view! { <td>{tags.iter().map(|t| view! { <span class="tag">{text(t)}</span> }).collect_view()}</td> }.into_any()
                    }
                    "spec.owner" | "spec.system" | "spec.domain" | "spec.parent" => {
                        // The written value, linked through the relation the catalog resolved
                        // it to (which knows the default kind and namespace).
                        let written = text(field(e, path));
                        let target = reference_target(e, path);
                        view! { <td>{match target {
                            Some(target) => view! { <a href=entity_path(&target)>{written}</a> }.into_any(),
                            None => written.into_any(),
                        }}</td> }.into_any()
                    }
                    _ => view! { <td>{text(field(e, path))}</td> }.into_any(),
                })
                .collect_view();
            view! { <tr>{cells}</tr> }
        })
        .collect_view();
    let page_to = move |cursor: Option<String>| {
        let view = current.with(|v| v.cursor = cursor.clone());
        move |_| go.run(view.clone())
    };
    view! {
        <table id="catalog-table">
            <thead><tr>{headers}</tr></thead>
            <tbody>{rows}</tbody>
        </table>
        {items.is_empty().then(|| view! { <p class="empty">"No entities match these filters."</p> })}
        <div class="pager">
            <button id="prev-page" disabled=prev.is_none() on:click=page_to(prev.clone())>"Previous"</button>
            <button id="next-page" disabled=next.is_none() on:click=page_to(next.clone())>"Next"</button>
            <span id="total">{format!("{total} entities")}</span>
        </div>
    }
}
