//! Greenroom's web UI: a Leptos client-side app. It reads only the host's REST API.

mod api;
mod pages;
mod ui_tree;

use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    view! {
        <Router>
            <div class="shell">
                <aside class="sidebar">
                    <a class="brand" href="/">"Greenroom"</a>
                    <nav>
                        <A href="/catalog">"Catalog"</A>
                        <A href="/plugins">"Plugins"</A>
                    </nav>
                </aside>
                <main>
                    <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                        <Route path=path!("/") view=pages::catalog::CatalogPage/>
                        <Route path=path!("/catalog") view=pages::catalog::CatalogPage/>
                        <Route path=path!("/catalog/:namespace/:kind/:name") view=pages::entity::EntityPage/>
                        <Route path=path!("/catalog/:namespace/:kind/:name/:tab") view=pages::entity::EntityPage/>
                        <Route path=path!("/plugins") view=pages::plugins::PluginsPage/>
                    </Routes>
                </main>
            </div>
        </Router>
    }
}
