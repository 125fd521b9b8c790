//! The command palette: Ctrl+K (Cmd+K) anywhere, or `/` outside a text field, opens a search
//! box whose first results show as the typing pauses. The arrow keys choose one, Enter opens
//! it, Escape (or a click beside the box) closes the palette; its last item opens the search
//! page for the text.

use std::time::Duration;

use leptos::ev::{KeyboardEvent, MouseEvent};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use serde_json::Value;
use wasm_bindgen::JsCast;

use crate::api::get_json;
use crate::pages::search::{
    Hit, hits, is_site_path, marked, page_url, query_url, type_label, type_titles,
};

const RESULTS: u32 = 8;
/// How long the typing pauses before the results are asked for.
const TYPING_PAUSE: Duration = Duration::from_millis(150);

/// Whether a key pressed here is meant as text: in a field, a select or editable content.
fn is_editable(target: Option<web_sys::EventTarget>) -> bool {
    let Some(element) = target.and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else {
        return false;
    };
    matches!(
        element.tag_name().to_ascii_uppercase().as_str(),
        "INPUT" | "TEXTAREA" | "SELECT"
    ) || element
        .dyn_ref::<web_sys::HtmlElement>()
        .is_some_and(|e| e.is_content_editable())
}

#[component]
pub fn Palette() -> impl IntoView {
    let open = RwSignal::new(false);
    let term = RwSignal::new(String::new());
    let found = RwSignal::new(None::<Result<Vec<Hit>, String>>);
    let titles = type_titles();
    // The chosen item: a result's index, or the number of results for "See all results".
    let selected = RwSignal::new(None::<usize>);
    let pause = StoredValue::new(None::<TimeoutHandle>);
    // Bumped with every change of the text: an answer to older text is dropped.
    let asked = StoredValue::new(0u64);
    let input = NodeRef::<leptos::html::Input>::new();

    let forget_typing = move || {
        if let Some(Some(handle)) = pause.try_get_value() {
            handle.clear();
        }
        asked.update_value(|n| *n += 1);
    };
    let close = move || {
        forget_typing();
        open.set(false);
        term.set(String::new());
        found.set(None);
        selected.set(None);
    };

    let keys = window_event_listener(leptos::ev::keydown, move |ev: KeyboardEvent| {
        let key = ev.key();
        let modified = ev.ctrl_key() || ev.meta_key() || ev.alt_key();
        if (ev.ctrl_key() || ev.meta_key()) && !ev.alt_key() && key.eq_ignore_ascii_case("k") {
            ev.prevent_default();
            if open.get_untracked() {
                close();
            } else {
                open.set(true);
            }
        } else if key == "/" && !modified && !open.get_untracked() && !is_editable(ev.target()) {
            // Not typed into the palette's box as it takes the focus.
            ev.prevent_default();
            open.set(true);
        } else if key == "Escape" && open.get_untracked() {
            ev.prevent_default();
            close();
        }
    });
    on_cleanup(move || keys.remove());

    // The box takes the focus as the palette opens.
    Effect::new(move || {
        if let Some(input) = input.get() {
            let _ = input.focus();
        }
    });

    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        forget_typing();
        term.set(text.clone());
        selected.set(None);
        if text.trim().is_empty() {
            found.set(None);
            return;
        }
        let generation = asked.get_value();
        let handle = set_timeout_with_handle(
            move || {
                let url = query_url(&text, &[], &[], RESULTS, None);
                leptos::task::spawn_local(async move {
                    let answer = get_json::<Value>(&url).await.map(|page| hits(&page));
                    if asked.try_get_value() == Some(generation) {
                        found.set(Some(answer));
                        selected.set(None);
                    }
                });
            },
            TYPING_PAUSE,
        )
        .ok();
        pause.set_value(handle);
    };

    let shown_hits = move || -> Vec<Hit> {
        match found.get() {
            Some(Ok(hits)) => hits.into_iter().take(RESULTS as usize).collect(),
            _ => vec![],
        }
    };
    let has_text = move || !term.get().trim().is_empty();
    // Results, then "See all results" when there is text.
    let item_count = move || shown_hits().len() + usize::from(has_text());

    let navigate = use_navigate();
    let open_item = Callback::new(move |index: Option<usize>| {
        let hits = untrack(shown_hits);
        let destination = match index.and_then(|i| hits.get(i)) {
            // A result whose location may not be linked opens nothing.
            Some(hit) => match &hit.href {
                Some(href) => href.clone(),
                None => return,
            },
            None => {
                let text = term.get_untracked();
                if text.trim().is_empty() {
                    return;
                }
                page_url(&text)
            }
        };
        close();
        if is_site_path(&destination) {
            navigate(&destination, Default::default());
        } else if let Some(window) = web_sys::window() {
            let _ = window.location().set_href(&destination);
        }
    });

    let on_key = move |ev: KeyboardEvent| match ev.key().as_str() {
        "ArrowDown" => {
            ev.prevent_default();
            let count = untrack(item_count);
            if count > 0 {
                selected.update(|s| *s = Some(s.map_or(0, |i| (i + 1).min(count - 1))));
            }
        }
        "ArrowUp" => {
            ev.prevent_default();
            selected.update(|s| *s = s.map(|i| i.saturating_sub(1)));
        }
        "Enter" => {
            ev.prevent_default();
            open_item.run(selected.get_untracked());
        }
        _ => {}
    };

    let on_backdrop = move |ev: MouseEvent| {
        if ev.target() == ev.current_target() {
            close();
        }
    };

    let item_state = move |index: usize| {
        let is_selected = move || selected.get() == Some(index);
        (is_selected, move || is_selected().to_string())
    };
    let results = move || {
        let hits = shown_hits();
        let empty = (has_text() && matches!(found.get(), Some(Ok(ref h)) if h.is_empty()))
            .then(|| view! { <li class="palette-empty muted">"No matches."</li> });
        let see_all_index = hits.len();
        let items = hits
            .into_iter()
            .enumerate()
            .map(|(i, hit)| {
                let (is_selected, aria) = item_state(i);
                let badge = if hit.result_type == "techdocs" { "badge info" } else { "badge" };
                let label = type_label(&titles.get().unwrap_or_default(), &hit.result_type);
                let linkable = hit.href.is_some();
                view! {
                    <li class="palette-result" class:selected=is_selected class:unlinked=!linkable
                        role="option" aria-selected=aria data-type=hit.result_type.clone()
                        on:mousemove=move |_| if selected.get_untracked() != Some(i) { selected.set(Some(i)) }
                        on:click=move |_| open_item.run(Some(i))>
                        <span class=badge>{label}</span>
                        <span class="palette-title">{marked(hit.title)}</span>
                        <span class="palette-details muted">{hit.details.join(" · ")}</span>
                    </li>
                }
            })
            .collect_view();
        let see_all = has_text().then(|| {
            let (is_selected, aria) = item_state(see_all_index);
            view! {
                <li id="palette-all" class="palette-all" class:selected=is_selected role="option" aria-selected=aria
                    on:mousemove=move |_| if selected.get_untracked() != Some(see_all_index) { selected.set(Some(see_all_index)) }
                    on:click=move |_| open_item.run(Some(see_all_index))>
                    {move || format!("See all results for “{}”", term.get())}
                </li>
            }
        });
        view! { {items}{empty}{see_all} }
    };

    view! {
        <Show when=move || open.get()>
            <div class="palette-backdrop" id="palette-backdrop" on:click=on_backdrop>
                <div class="palette" id="palette" role="dialog" aria-modal="true" aria-label="Search">
                    <input type="search" id="palette-input" node_ref=input autocomplete="off"
                        placeholder="Search the catalog and docs…" aria-label="Search"
                        aria-controls="palette-results" on:input=on_input on:keydown=on_key/>
                    {move || match found.get() {
                        Some(Err(message)) => Some(view! { <div class="error small" id="palette-error">{message}</div> }),
                        _ => None,
                    }}
                    <ul class="palette-results" id="palette-results" role="listbox">{results}</ul>
                    <p class="palette-hint muted">"↑ ↓ to choose · Enter to open · Esc to close"</p>
                </div>
            </div>
        </Show>
    }
}
