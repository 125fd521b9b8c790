//! The catalog-backed pickers: entity refs (`EntityPicker`, `OwnerPicker`,
//! `MultiEntityPicker`) suggested from the catalog as the user types, and lists of strings
//! as chips (`MultiEntityPicker`, `EntityTagsPicker`, free lists). Suggestions come from
//! small queries, never the whole catalog.

use leptos::prelude::*;
use serde_json::Value;

use super::fields::{Form, text_of};
use super::schema::EntityQuery;
use crate::api::{display_name, encode, entity_ref, get_json, text};

/// How many suggestions a picker shows.
const SUGGESTIONS: u32 = 20;

/// A picker's suggestions (ref, label) for the text being typed, which the returned signal
/// takes.
pub fn entity_suggestions(query: EntityQuery) -> (Signal<Vec<(String, String)>>, RwSignal<String>) {
    let typed = RwSignal::new(String::new());
    let found = LocalResource::new(move || {
        let url = suggestions_url(&query, &typed.get());
        async move { get_json::<Value>(&url).await }
    });
    let suggestions = Signal::derive(move || {
        found
            .get()
            .and_then(Result::ok)
            .map(|page| {
                page["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| (entity_ref(e), display_name(e).to_string()))
                    .collect()
            })
            .unwrap_or_default()
    });
    (suggestions, typed)
}

fn suggestions_url(query: &EntityQuery, typed: &str) -> String {
    let mut url = format!(
        "/api/catalog/entities/by-query?limit={SUGGESTIONS}&fields=kind,metadata.name,metadata.namespace,metadata.title"
    );
    for filter in &query.filters {
        url.push_str(&format!("&filter={}", encode(filter)));
    }
    // A ref being typed is searched by its name part.
    let term = typed.rsplit(['/', ':']).next().unwrap_or_default().trim();
    if !term.is_empty() {
        url.push_str(&format!("&fullTextFilterTerm={}", encode(term)));
    }
    url
}

/// Typed text as the ref Backstage's `stringifyEntityRef` gives (`kind:namespace/name`,
/// lowercase): a suggestion's title stands for its ref; a name alone takes the picker's
/// default kind and namespace. Text that is no ref is kept as typed, for the server to judge.
pub fn to_ref(text: &str, query: &EntityQuery, known: &[(String, String)]) -> String {
    let text = text.trim();
    if let Some((entity_ref, _)) = known
        .iter()
        .find(|(r, label)| label.eq_ignore_ascii_case(text) || r.eq_ignore_ascii_case(text))
    {
        return entity_ref.clone();
    }
    greenroom_api::EntityRef::parse(
        text,
        query.default_kind.as_deref(),
        &query.default_namespace,
    )
    .map(|r| r.to_string())
    .unwrap_or_else(|_| text.to_string())
}

/// One entity ref: a text input with the catalog's suggestions. The typed text is the value
/// while typing; leaving the field turns it into a ref.
#[component]
pub fn EntityInput(
    id: String,
    name: String,
    query: EntityQuery,
    placeholder: String,
    readonly: bool,
    autofocus: bool,
    form: Form,
) -> impl IntoView {
    let (suggestions, typed) = entity_suggestions(query.clone());
    let list_id = format!("{id}-options");
    let key = name.clone();
    let typing = name.clone();
    view! {
        <input id=id type="text" list=list_id.clone() placeholder=placeholder readonly=readonly
            data-autofocus=autofocus.then_some("") autocomplete="off" spellcheck="false"
            prop:value=move || text_of(&form.value(&key))
            on:input=move |ev| {
                let text = event_target_value(&ev);
                typed.set(text.clone());
                form.set(&typing, if text.is_empty() { Value::Null } else { Value::String(text) });
            }
            on:change=move |ev| {
                let text = event_target_value(&ev);
                let value = if text.trim().is_empty() {
                    Value::Null
                } else {
                    Value::String(suggestions.with_untracked(|known| to_ref(&text, &query, known)))
                };
                form.set(&name, value);
            }/>
        <Options id=list_id suggestions=suggestions/>
    }
}

#[component]
fn Options(id: String, suggestions: Signal<Vec<(String, String)>>) -> impl IntoView {
    view! {
        <datalist id=id>
            {move || suggestions.get().into_iter().map(|(value, label)| view! {
                <option value=value>{label}</option>
            }).collect_view()}
        </datalist>
    }
}

/// The tags in use in the catalog (of entities of `kinds`, all when empty), most used first.
pub fn tag_suggestions(kinds: Vec<String>) -> Signal<Vec<(String, String)>> {
    let mut url = "/api/catalog/entity-facets?facet=metadata.tags".to_string();
    if !kinds.is_empty() {
        let filter: Vec<String> = kinds.iter().map(|k| format!("kind={k}")).collect();
        url.push_str(&format!("&filter={}", encode(&filter.join(","))));
    }
    let facets = LocalResource::new(move || {
        let url = url.clone();
        async move { get_json::<Value>(&url).await }
    });
    Signal::derive(move || {
        facets
            .get()
            .and_then(Result::ok)
            .map(|facets| {
                facets["facets"]["metadata.tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|f| {
                        (
                            text(&f["value"]),
                            format!("{} ({})", text(&f["value"]), f["count"]),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// A list of strings as chips, each removable, and an input (with suggestions) that adds
/// one on Enter, on leaving it or with the Add button, once `check` accepts it.
#[component]
pub fn ChipList(
    id: String,
    items: Signal<Vec<String>>,
    on_change: Callback<Vec<String>>,
    suggestions: Signal<Vec<(String, String)>>,
    /// Set to the text being typed, when the suggestions follow it.
    typed: Option<RwSignal<String>>,
    check: Callback<String, Result<String, String>>,
    readonly: bool,
) -> impl IntoView {
    let entry = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let add = move || {
        let text = entry.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        match check.run(text) {
            Ok(item) => {
                let mut list = items.get_untracked();
                if !list.contains(&item) {
                    list.push(item);
                    on_change.run(list);
                }
                entry.set(String::new());
                problem.set(None);
            }
            Err(message) => problem.set(Some(message)),
        }
    };
    let remove = move |item: String| {
        let list: Vec<String> = items
            .get_untracked()
            .into_iter()
            .filter(|i| *i != item)
            .collect();
        on_change.run(list);
    };
    let list_id = format!("{id}-options");
    let chips = move || {
        items
            .get()
            .into_iter()
            .map(|item| {
                let label = item.clone();
                let button = (!readonly).then(|| {
                    let item = item.clone();
                    view! {
                        <button type="button" class="chip-remove" aria-label=format!("Remove {item}")
                            on:click=move |_| remove(item.clone())>"×"</button>
                    }
                });
                view! { <li class="tag chip" data-value=item>{label}{button}</li> }
            })
            .collect_view()
    };
    view! {
        <div class="chip-list">
            <ul class="chips">{chips}</ul>
            {(!readonly).then(|| view! {
                <div class="chip-entry">
                    <input id=id type="text" list=list_id.clone() autocomplete="off" spellcheck="false"
                        prop:value=move || entry.get()
                        on:input=move |ev| {
                            let text = event_target_value(&ev);
                            if let Some(typed) = typed { typed.set(text.clone()); }
                            entry.set(text);
                            problem.set(None);
                        }
                        on:keydown=move |ev: leptos::ev::KeyboardEvent| {
                            if ev.key() == "Enter" {
                                ev.prevent_default();
                                add();
                            }
                        }
                        on:change=move |_| add()/>
                    <button type="button" class="chip-add" on:click=move |_| add()>"Add"</button>
                    <Options id=list_id suggestions=suggestions/>
                </div>
            })}
            {move || problem.get().map(|message| view! { <div class="field-error" role="alert">{message}</div> })}
        </div>
    }
}
