//! Who is signed in. When the server has sign-in configured (`/api/auth/providers`), the app
//! shows the sign-in page until a session exists; the session itself is an HttpOnly cookie
//! the server sets, so no script here ever holds a token. The provider last signed in with
//! is remembered (not a secret) so its session can be renewed before the token expires and
//! after a reload.

use leptos::prelude::*;
use serde_json::Value;

use crate::api::{get_json, post, text};

/// What the app knows about the visitor.
#[derive(Clone, Debug, PartialEq)]
pub enum Session {
    /// The server has no sign-in: everyone is anonymous.
    Open,
    SignedOut {
        providers: Vec<Provider>,
    },
    SignedIn {
        user_ref: String,
        ownership_refs: Vec<String>,
    },
}

/// A sign-in provider the server enables.
#[derive(Clone, Debug, PartialEq)]
pub struct Provider {
    id: String,
    title: String,
    /// Signed in with by visiting the provider (OIDC, GitHub), not by asking the server.
    redirect: bool,
}

/// Where the provider last signed in with is remembered.
const PROVIDER_KEY: &str = "greenroom.provider";
/// How often the session is renewed: well within the token's hour.
const RENEW_EVERY_MS: i32 = 20 * 60 * 1000;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn remembered_provider() -> Option<String> {
    storage()?.get_item(PROVIDER_KEY).ok()?
}

fn remember_provider(id: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(PROVIDER_KEY, id);
    }
}

fn refs(value: &Value) -> Vec<String> {
    value.as_array().into_iter().flatten().map(text).collect()
}

/// A new token for the session of `provider` (its cookie is set by the answer).
async fn renew(provider: &str) -> Result<Session, String> {
    let answer: Value = post(&format!("/api/auth/{provider}/refresh"), None).await?;
    let identity = &answer["backstageIdentity"]["identity"];
    Ok(Session::SignedIn {
        user_ref: text(&identity["userEntityRef"]),
        ownership_refs: refs(&identity["ownershipEntityRefs"]),
    })
}

pub async fn load() -> Result<Session, String> {
    let config: Value = get_json("/api/auth/providers").await?;
    if config["enabled"] != true {
        return Ok(Session::Open);
    }
    let providers: Vec<Provider> = config["providers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| Provider {
            id: text(&p["id"]),
            title: text(&p["title"]),
            redirect: p["redirect"] == true,
        })
        .collect();
    let remembered = remembered_provider().filter(|id| providers.iter().any(|p| &p.id == id));
    let session = match get_json::<Value>("/api/auth/v1/userinfo").await {
        Ok(info) => Session::SignedIn {
            user_ref: text(&info["claims"]["sub"]),
            ownership_refs: refs(&info["claims"]["ent"]),
        },
        // The token expired: a provider's sign-in session may still hold.
        Err(_) => match &remembered {
            Some(provider) => renew(provider)
                .await
                .unwrap_or(Session::SignedOut { providers }),
            None => Session::SignedOut { providers },
        },
    };
    if let (Session::SignedIn { .. }, Some(provider)) = (&session, remembered) {
        keep_renewing(provider);
    }
    Ok(session)
}

/// Renews the session now and then while the page is open, so the hour-long token never
/// runs out under the user.
fn keep_renewing(provider: String) {
    let tick = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
        let provider = provider.clone();
        leptos::task::spawn_local(async move {
            let _ = renew(&provider).await;
        });
    });
    if let Some(window) = web_sys::window() {
        let _ = window.set_interval_with_callback_and_timeout_and_arguments_0(
            wasm_bindgen::JsCast::unchecked_ref(tick.as_ref()),
            RENEW_EVERY_MS,
        );
    }
    // Lives as long as the page.
    tick.forget();
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
pub fn SignInPage(providers: Vec<Provider>) -> impl IntoView {
    let problem = RwSignal::new(None::<String>);
    let buttons = providers
        .into_iter()
        .map(|provider| {
            let label = match provider.id.as_str() {
                "guest" => "Sign in as guest".to_string(),
                _ => format!("Sign in with {}", provider.title),
            };
            let id = format!("sign-in-{}", provider.id);
            let start = move |_| {
                remember_provider(&provider.id);
                if provider.redirect {
                    // Off to the provider; it sends the browser back here, signed in.
                    if let Some(window) = web_sys::window() {
                        let location = window.location();
                        let here = format!(
                            "{}{}",
                            location.pathname().unwrap_or_default(),
                            location.search().unwrap_or_default()
                        );
                        let _ = location.assign(&format!(
                            "/api/auth/{}/start?redirect={}",
                            provider.id,
                            urlencoding::encode(&here)
                        ));
                    }
                    return;
                }
                let id = provider.id.clone();
                leptos::task::spawn_local(async move {
                    match renew(&id).await {
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
            let provider = remembered_provider().unwrap_or_else(|| "guest".into());
            let _ = post::<Value>(&format!("/api/auth/{provider}/logout"), None).await;
            if let Some(storage) = storage() {
                let _ = storage.remove_item(PROVIDER_KEY);
            }
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
