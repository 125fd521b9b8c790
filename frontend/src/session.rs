//! Who is signed in. When the server has sign-in configured (`/api/auth/providers`), the app
//! shows the sign-in page until a session exists; the session itself is an HttpOnly cookie
//! the server sets, so no script here ever holds a token.

use leptos::prelude::*;
use serde_json::Value;

use crate::api::{get_json, post, text};

/// What the app knows about the visitor.
#[derive(Clone, Debug, PartialEq)]
pub enum Session {
    /// The server has no sign-in: everyone is anonymous.
    Open,
    SignedOut {
        providers: Vec<String>,
    },
    SignedIn {
        user_ref: String,
        ownership_refs: Vec<String>,
    },
}

pub async fn load() -> Result<Session, String> {
    let config: Value = get_json("/api/auth/providers").await?;
    if config["enabled"] != true {
        return Ok(Session::Open);
    }
    match get_json::<Value>("/api/auth/v1/userinfo").await {
        Ok(info) => Ok(Session::SignedIn {
            user_ref: text(&info["claims"]["sub"]),
            ownership_refs: info["claims"]["ent"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect(),
        }),
        Err(_) => Ok(Session::SignedOut {
            providers: config["providers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect(),
        }),
    }
}

/// The signed-in user's ref; without sign-in, Backstage's guest (who tasks are run as).
pub fn current_user() -> String {
    match use_context::<Session>() {
        Some(Session::SignedIn { user_ref, .. }) => user_ref,
        _ => "user:default/guest".to_string(),
    }
}

fn reload() {
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}

/// The sign-in page: one button per provider the server enables.
#[component]
pub fn SignInPage(providers: Vec<String>) -> impl IntoView {
    let problem = RwSignal::new(None::<String>);
    let buttons = providers
        .into_iter()
        .map(|provider| {
            let label = match provider.as_str() {
                "guest" => "Sign in as guest".to_string(),
                other => format!("Sign in with {other}"),
            };
            let id = format!("sign-in-{provider}");
            let start = move |_| {
                let url = format!("/api/auth/{provider}/refresh");
                leptos::task::spawn_local(async move {
                    match get_json::<Value>(&url).await {
                        Ok(_) => reload(),
                        Err(message) => problem.set(Some(message)),
                    }
                });
            };
            view! { <button class="primary" id=id on:click=start>{label}</button> }
        })
        .collect_view();
    view! {
        <div class="sign-in" id="sign-in">
            <h1>"Greenroom"</h1>
            <p class="subtitle">"Sign in to use the portal."</p>
            <div class="sign-in-providers">{buttons}</div>
            {move || problem.get().map(|m| view! { <div class="error">{m}</div> })}
        </div>
    }
}

/// The header's user menu: who is signed in, their profile, sign out.
#[component]
pub fn UserMenu(user_ref: String) -> impl IntoView {
    let sign_out = move |_| {
        leptos::task::spawn_local(async move {
            let _ = post::<Value>("/api/auth/guest/logout", None).await;
            reload();
        });
    };
    view! {
        <span class="user-menu" id="user-menu">
            <a href="/profile" id="user-ref">{user_ref}</a>
            <button id="sign-out" on:click=sign_out>"Sign out"</button>
        </span>
    }
}

/// `/profile`: the identity and the refs it owns through.
#[component]
pub fn ProfilePage() -> impl IntoView {
    let session = use_context::<Session>();
    let body = match session {
        Some(Session::SignedIn {
            user_ref,
            ownership_refs,
        }) => {
            let owned = ownership_refs
                .into_iter()
                .map(|r| view! { <li class="ownership-ref">{r}</li> })
                .collect_view();
            view! {
                <dl class="key-values">
                    <dt>"User"</dt><dd id="profile-user">{user_ref}</dd>
                </dl>
                <h2>"Owns through"</h2>
                <ul id="profile-ownership">{owned}</ul>
            }
            .into_any()
        }
        _ => view! { <p class="empty">"Nobody is signed in: this portal has no sign-in configured."</p> }
            .into_any(),
    };
    view! { <h1>"Profile"</h1>{body} }
}
