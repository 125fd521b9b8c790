//! The plugins admin page: what is loaded, from which file, and what failed.

use greenroom_api::{PluginState, PluginSummary};
use leptos::prelude::*;

use crate::api::get_json;

#[component]
pub fn PluginsPage() -> impl IntoView {
    let plugins = LocalResource::new(|| get_json::<Vec<PluginSummary>>("/api/plugins"));
    view! {
        <h1>"Plugins"</h1>
        <p class="subtitle">"WebAssembly components loaded from the plugins folder."</p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || plugins.get().map(|result| match result {
                Err(message) => view! { <div class="error">{message}</div> }.into_any(),
                Ok(plugins) => view! {
                    <table id="plugins-table">
                        <thead><tr><th>"Plugin"</th><th>"Version"</th><th>"State"</th><th>"Contributes"</th><th>"File"</th></tr></thead>
                        <tbody>{plugins.into_iter().map(|p| {
                            let (state, tone) = match p.state {
                                PluginState::Loaded => ("loaded", "success"),
                                PluginState::Disabled => ("disabled", "neutral"),
                                PluginState::Failed => ("failed", "danger"),
                            };
                            view! {
                                <tr>
                                    <td><strong>{p.name.clone()}</strong>" "<code>{p.id}</code><br/>{p.description}</td>
                                    <td>{p.version}</td>
                                    <td><span class=format!("badge {tone}")>{state}</span>
                                        {p.last_error.map(|e| view! { <div class="error">{e}</div> })}</td>
                                    <td>{p.contributions.join(", ")}</td>
                                    <td><code>{p.file}</code></td>
                                </tr>
                            }
                        }).collect_view()}</tbody>
                    </table>
                }.into_any(),
            })}
        </Transition>
    }
}
