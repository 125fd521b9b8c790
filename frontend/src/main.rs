//! Greenroom's web UI: a Leptos client-side app. It reads only the host's REST API.

mod api;
mod api_definition;
mod diagrams;
mod docs_page;
mod graph;
mod highlight;
mod pages;
mod palette;
mod permissions;
mod session;
mod theme;
mod ui_tree;

use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::hooks::use_navigate;
use leptos_router::path;

fn main() {
    console_error_panic_hook::set_once();
    theme::apply_saved();
    leptos::mount::mount_to_body(App);
}

/// The session first: the sign-in page while signed out, else the portal.
#[component]
fn App() -> impl IntoView {
    let session = LocalResource::new(session::load);
    // Not a Suspense: it would also wait for every resource the pages read.
    move || match session.get() {
        None => view! { <p class="loading">"Loading…"</p> }.into_any(),
        Some(Ok(session::Session::SignedOut { providers })) => {
            view! { <session::SignInPage providers=providers/> }.into_any()
        }
        Some(Ok(session)) => {
            provide_context(session);
            view! { <Portal/> }.into_any()
        }
        Some(Err(message)) => view! { <div class="error">{message}</div> }.into_any(),
    }
}

#[component]
fn Portal() -> impl IntoView {
    // Asked once as the portal loads: only those who may read the policy see its page linked.
    let policy_readable = LocalResource::new(|| permissions::may(permissions::POLICY_READ));
    let plugin_pages = LocalResource::new(pages::plugin_page::list);
    pages::search::provide_type_titles();
    view! {
        <Router>
            <div class="shell">
                <aside class="sidebar">
                    <a class="brand" href="/">"Greenroom"</a>
                    // `data-permissions`: "decided" once the server answered what the viewer may see.
                    <nav data-permissions=move || if policy_readable.get().is_some() { "decided" } else { "pending" }>
                        <A href="/" exact=true>"Home"</A>
                        <A href="/catalog">"Catalog"</A>
                        <A href="/apis">"APIs"</A>
                        <A href="/docs">"Docs"</A>
                        <A href="/create">"Create"</A>
                        <A href="/plugins">"Plugins"</A>
                        {move || (policy_readable.get() == Some(true)).then(|| view! {
                            <A href="/settings/permissions" attr:id="nav-permissions">"Permissions"</A>
                        })}
                    </nav>
                    <nav class="plugin-pages" aria-label="Plugin pages">
                        {move || plugin_pages.get().unwrap_or_default().into_iter().map(|page| view! {
                            <A href=pages::plugin_page::path(&page)>{page.title}</A>
                        }).collect_view()}
                    </nav>
                </aside>
                <div class="content">
                    <Header/>
                    <main>
                        <Routes fallback=|| view! { <p class="empty">"Page not found."</p> }>
                            <Route path=path!("/") view=pages::home::HomePage/>
                            <Route path=path!("/catalog") view=pages::catalog::CatalogPage/>
                            <Route path=path!("/apis") view=pages::catalog::ApisPage/>
                            <Route path=path!("/catalog/:namespace/:kind/:name") view=pages::entity::EntityPage/>
                            <Route path=path!("/catalog/:namespace/:kind/:name/:tab") view=pages::entity::EntityPage/>
                            <Route path=path!("/catalog/:namespace/:kind/:name/docs/*page") view=pages::entity::EntityPage/>
                            <Route path=path!("/plugins") view=pages::plugins::PluginsPage/>
                            <Route path=path!("/docs") view=pages::docs::DocsListPage/>
                            <Route path=path!("/docs/:namespace/:kind/:name") view=pages::docs::DocsReaderPage/>
                            <Route path=path!("/docs/:namespace/:kind/:name/*page") view=pages::docs::DocsReaderPage/>
                            <Route path=path!("/create") view=pages::create::templates::TemplatesPage/>
                            <Route path=path!("/create/templates/:namespace/:name") view=pages::create::form::TemplateFormPage/>
                            <Route path=path!("/create/tasks") view=pages::create::tasks::TaskListPage/>
                            <Route path=path!("/create/tasks/:id") view=pages::create::task::TaskPage/>
                            <Route path=path!("/profile") view=session::ProfilePage/>
                            <Route path=path!("/settings/permissions") view=pages::permissions::PermissionsPage/>
                            <Route path=path!("/search") view=pages::search::SearchPage/>
                            <Route path=path!("/p/:plugin/:page") view=pages::plugin_page::PluginPage/>
                        </Routes>
                    </main>
                </div>
            </div>
            // Once for the whole portal: Ctrl+K (or `/`) opens it on every page.
            <palette::Palette/>
        </Router>
    }
}

/// The header: a search box that opens the search page for the text (the command palette
/// is a keystroke away), and the theme switch.
#[component]
fn Header() -> impl IntoView {
    let navigate = use_navigate();
    let search = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Enter" {
            let text = event_target_value(&ev);
            navigate(&pages::search::page_url(&text), Default::default());
        }
    };
    let dark = RwSignal::new(theme::is_dark());
    let user = match use_context::<session::Session>() {
        Some(session::Session::SignedIn { user_ref, .. }) => {
            Some(view! { <session::UserMenu user_ref=user_ref/> })
        }
        _ => None,
    };
    view! {
        <header class="topbar">
            <input type="search" id="global-search" placeholder="Search (Ctrl+K)"
                aria-label="Search" title="Search the catalog and docs: Enter for the search page, Ctrl+K or / for quick results" on:keydown=search/>
            {user}
            <button id="theme-toggle" title="Switch light/dark theme"
                on:click=move |_| dark.set(theme::toggle())>
                {move || if dark.get() { "☀ Light" } else { "☾ Dark" }}
            </button>
        </header>
    }
}
