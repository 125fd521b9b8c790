//! The plugins admin page: every plugin file with its state, contributions, grants, last
//! error and call statistics; upload a `.wasm`, enable, disable or remove a plugin. The list
//! is re-read after every change, so it always shows what the server holds. The upload form
//! and the buttons show only to those who may manage plugins (`greenroom.plugin.manage`).

use greenroom_api::{PluginState, PluginSummary};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;

use crate::api::{delete, encode, get_json, post};
use crate::permissions::{PLUGIN_MANAGE, may};

#[component]
pub fn PluginsPage() -> impl IntoView {
    let plugins = LocalResource::new(|| get_json::<Vec<PluginSummary>>("/api/plugins"));
    // Hidden until the server says yes.
    let decision = LocalResource::new(|| may(PLUGIN_MANAGE));
    let manage = Signal::derive(move || decision.get() == Some(true));
    // The outcome of the last change, shown above the table.
    let notice = RwSignal::new(None::<Result<String, String>>);
    let change = Callback::new(move |done: Result<String, String>| {
        notice.set(Some(done));
        plugins.refetch();
    });
    view! {
        <h1>"Plugins"</h1>
        <p class="subtitle">"WebAssembly components, sandboxed and hot-reloaded from the plugins folder."</p>
        {move || match decision.get() {
            Some(true) => view! { <Upload on_done=change/> }.into_any(),
            Some(false) => view! {
                <p class="muted" id="plugins-read-only">"You may see the plugins but not manage them (greenroom.plugin.manage)."</p>
            }.into_any(),
            None => ().into_any(),
        }}
        {move || notice.get().map(|outcome| match outcome {
            Ok(message) => view! { <div class="notice" id="plugin-notice">{message}</div> }.into_any(),
            Err(message) => view! { <div class="error" id="plugin-notice">{message}</div> }.into_any(),
        })}
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || plugins.get().map(|result| match result {
                Err(message) => view! { <div class="error">{message}</div> }.into_any(),
                Ok(list) if list.is_empty() => view! {
                    <p class="empty">"No plugins loaded. Drop a .wasm file into the plugins folder or upload one."</p>
                }.into_any(),
                Ok(list) => view! {
                    <table id="plugins-table">
                        <thead><tr>
                            <th>"Plugin"</th><th>"State"</th><th>"Contributes"</th>
                            <th>"Grants"</th><th>"Calls"</th><th></th>
                        </tr></thead>
                        <tbody>{list.into_iter().map(|p| view! { <PluginRow plugin=p manage=manage on_done=change/> }).collect_view()}</tbody>
                    </table>
                }.into_any(),
            })}
        </Transition>
    }
}

/// The upload form: the chosen file is POSTed as the request body.
#[component]
fn Upload(on_done: Callback<Result<String, String>>) -> impl IntoView {
    let input = NodeRef::<leptos::html::Input>::new();
    let busy = RwSignal::new(false);
    let upload = move |_| {
        let Some(file) = input
            .get()
            .and_then(|i| i.dyn_into::<HtmlInputElement>().ok())
            .and_then(|i| i.files())
            .and_then(|files| files.get(0))
        else {
            on_done.run(Err("Choose a .wasm file first.".into()));
            return;
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let name = file.name();
            let outcome = post::<PluginSummary>("/api/plugins", Some(file.into())).await;
            busy.set(false);
            on_done.run(outcome.map(|p| {
                format!(
                    "Uploaded {name}: {} {} is {}.",
                    p.name,
                    p.version,
                    state_label(p.state)
                )
            }));
        });
    };
    view! {
        <div class="card upload">
            <label>"Upload a plugin " <input type="file" accept=".wasm" id="plugin-file" node_ref=input/></label>
            <button id="plugin-upload" on:click=upload disabled=move || busy.get()>
                {move || if busy.get() { "Uploading…" } else { "Upload" }}
            </button>
        </div>
    }
}

#[component]
fn PluginRow(
    plugin: PluginSummary,
    /// Whether the viewer may enable, disable and remove it.
    manage: Signal<bool>,
    on_done: Callback<Result<String, String>>,
) -> impl IntoView {
    let id = plugin.id.clone();
    let confirming = RwSignal::new(false);
    let act = Callback::new(move |action: &'static str| {
        let id = id.clone();
        leptos::task::spawn_local(async move {
            let url = format!("/api/plugins/{}", encode(&id));
            let outcome = match action {
                "remove" => delete(&url).await.map(|()| format!("Removed {id}.")),
                "clear-storage" => delete(&format!("{url}/storage"))
                    .await
                    .map(|()| format!("Cleared the storage of {id}.")),
                _ => post::<PluginSummary>(&format!("{url}/{action}"), None)
                    .await
                    .map(|p| format!("{} is {}.", p.id, state_label(p.state))),
            };
            on_done.run(outcome);
        });
    });
    let (state, tone) = (state_label(plugin.state), state_tone(plugin.state));
    let grants = &plugin.grants;
    let granted: Vec<String> = grants
        .hosts
        .iter()
        .map(|h| format!("host {h}"))
        .chain(grants.config.iter().map(|k| format!("config {k}")))
        .chain(grants.secrets.iter().map(|k| format!("secret {k}")))
        .chain(grants.catalog_write.then(|| "catalog write".to_string()))
        .collect();
    let limits = format!(
        "{} ms, {} MiB, {} at once, {} actions/s per viewer",
        grants.timeout_ms, grants.memory_mib, grants.concurrency, grants.actions_per_second
    );
    let missing = grants.missing.join(", ");
    let storage = format!(
        "storage {} keys, {} of {} bytes",
        plugin.storage.keys, plugin.storage.bytes, plugin.storage.quota_bytes
    );
    let stored = plugin.storage.keys > 0;
    let stats = &plugin.stats;
    let calls = format!(
        "{} calls, {} failed ({} traps, {} timeouts), {} refused busy, {} running",
        stats.calls, stats.failures, stats.traps, stats.timeouts, stats.refused, stats.running
    );
    let mut latency = format!(
        "p50 {:.2} ms · p99 {:.2} ms · queue p99 {:.2} ms",
        stats.p50_ms, stats.p99_ms, stats.queue_p99_ms
    );
    if stats.prepared > 0 {
        latency.push_str(&format!(
            " · {} on instances made ahead (p50 {:.2} ms to make)",
            stats.prepared, stats.prepare_p50_ms
        ));
    }
    let toggleable = matches!(plugin.state, PluginState::Loaded | PluginState::Disabled);
    let toggle = if plugin.state == PluginState::Disabled {
        "enable"
    } else {
        "disable"
    };
    view! {
        <tr data-plugin=plugin.id.clone()>
            <td>
                <strong>{plugin.name.clone()}</strong>" "<span class="muted">{plugin.version.clone()}</span><br/>
                <code>{plugin.id.clone()}</code>" · "<span class="muted">{plugin.file.clone()}</span>
                " · "<span class="muted contract">{plugin.contract.clone()}</span>
                <div class="muted">{plugin.description.clone()}</div>
            </td>
            <td>
                <span class=format!("badge {tone}")>{state}</span>
                {plugin.last_error.clone().map(|e| view! { <div class="error small last-error">{e}</div> })}
            </td>
            <td>{plugin.contributions.join(", ")}
                {(!plugin.actions.is_empty()).then(|| view! {
                    <div class="muted">{plugin.actions.iter().map(|a| a.id.clone()).collect::<Vec<_>>().join(", ")}</div>
                })}
            </td>
            <td>
                <div>{if granted.is_empty() { "catalog read only".to_string() } else { granted.join(", ") }}</div>
                <div class="muted">{limits}</div>
                <div class="muted storage">{storage}</div>
                {(!missing.is_empty()).then(|| view! { <div class="warning-text">"Not granted: "{missing}</div> })}
            </td>
            <td>{calls}<div class="muted">{latency}</div></td>
            <td class="actions">
                <Show when=move || manage.get()>
                    {toggleable.then(|| view! {
                        <button class="toggle" on:click=move |_| act.run(toggle)>{if toggle == "enable" { "Enable" } else { "Disable" }}</button>
                    })}
                    {stored.then(|| view! {
                        <button class="clear-storage" on:click=move |_| act.run("clear-storage")>"Clear storage"</button>
                    })}
                    <Show when=move || confirming.get() fallback=move || view! {
                        <button class="remove" on:click=move |_| confirming.set(true)>"Remove"</button>
                    }>
                        <button class="remove danger" on:click=move |_| act.run("remove")>"Confirm remove"</button>
                    </Show>
                </Show>
            </td>
        </tr>
    }
}

fn state_label(state: PluginState) -> &'static str {
    match state {
        PluginState::Loading => "loading",
        PluginState::Loaded => "loaded",
        PluginState::Disabled => "disabled",
        PluginState::Failed => "failed",
    }
}

fn state_tone(state: PluginState) -> &'static str {
    match state {
        PluginState::Loading => "neutral",
        PluginState::Loaded => "success",
        PluginState::Disabled => "neutral",
        PluginState::Failed => "danger",
    }
}
