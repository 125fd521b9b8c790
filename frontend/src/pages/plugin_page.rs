//! A page a plugin contributes (`/p/<plugin>/<page>`), with its sidebar entry.

use greenroom_api::{PageRef, RenderedPage, SurfaceRef};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::{encode, get_json};
use crate::ui_tree::{PluginTree, Surface};

/// The pages of the plugins the viewer may see; none when they cannot be listed.
pub async fn list() -> Vec<PageRef> {
    get_json("/api/plugins/pages").await.unwrap_or_default()
}

pub fn path(page: &PageRef) -> String {
    format!("/p/{}/{}", encode(&page.plugin_id), encode(&page.page_id))
}

#[component]
pub fn PluginPage() -> impl IntoView {
    let params = use_params_map();
    let param = move |key: &str| params.read().get(key).unwrap_or_default();
    let rendered = LocalResource::new(move || {
        let url = format!(
            "/api/plugins/{}/pages/{}",
            encode(&param("plugin")),
            encode(&param("page"))
        );
        async move { get_json::<RenderedPage>(&url).await }
    });
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || rendered.get().map(|result| match result {
                Err(message) => view! { <div class="error plugin-error">{message}</div> }.into_any(),
                Ok(page) => {
                    let surface = Surface {
                        plugin: page.plugin_id.clone(),
                        surface: SurfaceRef::Page(page.page_id),
                        entity: None,
                    };
                    view! {
                        <h1>{page.title}</h1>
                        <div class="card plugin-page" data-plugin=page.plugin_id>
                            <PluginTree surface=surface tree=page.tree/>
                        </div>
                    }.into_any()
                }
            })}
        </Transition>
    }
}
