//! `/api/auth`: the keys user tokens are checked with, who a token belongs to, and each
//! provider's sign-in and session, in Backstage's paths and shapes: `<provider>/start` and
//! `<provider>/handler/frame` for the providers the browser visits (OIDC, GitHub),
//! `<provider>/refresh` and `<provider>/logout` for all.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{ATTEMPT_COOKIE, Auth, GUEST_REF, Identity, REFRESH_COOKIE, SESSION_COOKIE};
use crate::http::ApiError;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Auth>: axum::extract::FromRef<S>,
{
    Router::new()
        .route("/.well-known/jwks.json", get(jwks))
        .route("/v1/userinfo", get(userinfo))
        .route("/guest/refresh", get(guest_refresh).post(guest_refresh))
        .route("/proxy/refresh", get(proxy_refresh).post(proxy_refresh))
        .route("/{provider}/start", get(start))
        .route("/{provider}/handler/frame", get(handler_frame))
        .route("/{provider}/refresh", get(refresh).post(refresh))
        .route("/{provider}/logout", post(logout))
        .route("/providers", get(providers))
        .route("/audit", get(audit))
}

/// The newest state-changing requests (`?limit=`, 100 by default, 1000 at most). Needs an
/// identity when sign-in is configured, like any API route outside sign-in itself
/// (`require_identity` gates it), and `greenroom.audit.read`.
async fn audit(
    State(auth): State<Arc<Auth>>,
    access: crate::permissions::Access,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Json<Value>, ApiError> {
    access.require(crate::permissions::AUDIT_READ)?;
    let limit = serde_urlencoded::from_str::<Vec<(String, String)>>(query.as_deref().unwrap_or(""))
        .ok()
        .and_then(|q| q.into_iter().find(|(k, _)| k == "limit"))
        .and_then(|(_, v)| v.parse::<u32>().ok())
        .unwrap_or(100)
        .min(1000);
    let entries = crate::http::blocking(move || Ok(auth.audit.recent(limit)?)).await?;
    Ok(Json(json!({ "items": entries })))
}

/// Greenroom's: whether sign-in is on and with which providers, for the sign-in page.
/// `redirect` providers are signed in with by visiting `/api/auth/<id>/start`, the others
/// by asking `/api/auth/<id>/refresh`.
async fn providers(State(auth): State<Arc<Auth>>) -> Json<Value> {
    let mut providers = Vec::new();
    if auth.settings.guest {
        providers.push(json!({"id": "guest", "title": "Guest", "redirect": false}));
    }
    if auth.settings.proxy.is_some() {
        providers
            .push(json!({"id": "proxy", "title": "your company's sign-in", "redirect": false}));
    }
    for (id, title) in auth.redirecting() {
        providers.push(json!({"id": id, "title": title, "redirect": true}));
    }
    Json(json!({"enabled": auth.enabled(), "providers": providers}))
}

/// An HttpOnly, SameSite cookie (`max_age` 0 removes it).
fn cookie(name: &str, value: &str, path: &str, max_age: u64) -> (header::HeaderName, String) {
    (
        header::SET_COOKIE,
        format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}"),
    )
}

/// Ends the browser's session, and the provider's sign-in session behind it.
async fn logout(State(auth): State<Arc<Auth>>, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(secret) = super::cookie(&headers, REFRESH_COOKIE) {
        crate::http::blocking(move || auth.end_session(&secret)).await?;
    }
    Ok((
        AppendHeaders([
            cookie(SESSION_COOKIE, "", "/", 0),
            cookie(REFRESH_COOKIE, "", "/api/auth", 0),
        ]),
        Json(json!({})),
    )
        .into_response())
}

/// One query parameter.
fn param(query: Option<&str>, name: &str) -> Option<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(query.unwrap_or(""))
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// `GET <provider>/start?redirect=/path`: off to the provider to sign in.
async fn start(
    State(auth): State<Arc<Auth>>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let return_to = param(query.as_deref(), "redirect").unwrap_or_else(|| "/".into());
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let id = provider.clone();
    match crate::http::blocking(move || auth.start_sign_in(&id, &host, &return_to)).await {
        Ok((url, binding)) => (
            StatusCode::FOUND,
            AppendHeaders([
                (header::LOCATION, url),
                cookie(ATTEMPT_COOKIE, &binding, "/api/auth", 600),
            ]),
        )
            .into_response(),
        Err(error) => sign_in_failed(&provider, error),
    }
}

/// `GET <provider>/handler/frame?code&state`: the provider sends the browser back; the
/// session starts and the browser goes where it was.
async fn handler_frame(
    State(auth): State<Arc<Auth>>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.as_deref();
    if let Some(error) = param(query, "error") {
        let description = param(query, "error_description").unwrap_or_default();
        return sign_in_failed(
            &provider,
            super::unauthenticated(format!(
                "the {provider} provider did not sign you in: {error} {description}"
            )),
        );
    }
    let (Some(state), Some(code)) = (param(query, "state"), param(query, "code")) else {
        return sign_in_failed(
            &provider,
            ApiError::input("the provider's answer has no code or state"),
        );
    };
    let binding = super::cookie(&headers, ATTEMPT_COOKIE);
    let (who, id) = (auth.clone(), provider.clone());
    let finished =
        crate::http::blocking(move || who.finish_sign_in(&id, &state, &code, binding.as_deref()))
            .await;
    let (identity, secret, lifetime, return_to) = match finished {
        Ok(finished) => finished,
        Err(error) => return sign_in_failed(&provider, error),
    };
    let Identity::User {
        user_ref,
        ownership_refs,
    } = identity
    else {
        unreachable!("sign-in resolves users");
    };
    tracing::info!(provider, user_ref, "signed in");
    let token = match auth.issue(&user_ref, &ownership_refs) {
        Ok((token, expires)) => cookie(SESSION_COOKIE, &token, "/", expires),
        Err(error) => return sign_in_failed(&provider, ApiError::internal(error)),
    };
    (
        StatusCode::SEE_OTHER,
        AppendHeaders([
            (header::LOCATION, return_to),
            token,
            cookie(REFRESH_COOKIE, &secret, "/api/auth", lifetime),
            cookie(ATTEMPT_COOKIE, "", "/api/auth", 0),
        ]),
    )
        .into_response()
}

/// The page a browser sees when signing in fails: what went wrong, logged too.
fn sign_in_failed(provider: &str, error: ApiError) -> Response {
    tracing::warn!(provider, "sign-in failed: {}", error.message);
    let mut message = String::new();
    pulldown_cmark_escape::escape_html(&mut message, &error.message)
        .expect("writing to a String cannot fail");
    let page = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sign-in failed</title></head>\n<body><main><h1>Sign-in failed</h1><p id=\"sign-in-error\">{message}</p><p><a href=\"/\">Back to Greenroom</a></p></main></body></html>\n"
    );
    (
        error.status,
        AppendHeaders([
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            cookie(ATTEMPT_COOKIE, "", "/api/auth", 0),
        ]),
        page,
    )
        .into_response()
}

/// A redirecting provider's session, renewed from its sign-in session cookie.
async fn refresh(
    State(auth): State<Arc<Auth>>,
    Path(provider): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let secret = super::cookie(&headers, REFRESH_COOKIE).ok_or_else(|| {
        super::unauthenticated(format!("no {provider} sign-in session: sign in first"))
    })?;
    let who = auth.clone();
    let identity = crate::http::blocking(move || who.refresh_session(&provider, &secret)).await?;
    match identity {
        Identity::User {
            user_ref,
            ownership_refs,
        } => session(&auth, &user_ref, &ownership_refs),
        Identity::Service { .. } => Err(super::unauthenticated("a user is needed")),
    }
}

async fn jwks(State(auth): State<Arc<Auth>>) -> Json<Value> {
    Json(auth.jwks())
}

/// `{claims: {sub, ent}}` of the user token sent as `Authorization: Bearer` or the
/// session cookie.
async fn userinfo(
    State(auth): State<Arc<Auth>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let token = super::presented_token(&headers)
        .ok_or_else(|| super::unauthenticated("a user token is needed"))?;
    match auth.verify_user(&token)? {
        Identity::User {
            user_ref,
            ownership_refs,
        } => Ok(Json(
            json!({"claims": {"sub": user_ref, "ent": ownership_refs}}),
        )),
        Identity::Service { .. } => Err(super::unauthenticated("a user token is needed")),
    }
}

/// The guest's session, as Backstage's guest provider answers `refresh`.
async fn guest_refresh(State(auth): State<Arc<Auth>>) -> Result<Response, ApiError> {
    if !auth.settings.guest {
        return Err(ApiError::not_found("the guest provider is not enabled"));
    }
    session(&auth, GUEST_REF, &[GUEST_REF.to_string()])
}

/// The session of the user a trusted proxy signed in.
async fn proxy_refresh(
    State(auth): State<Arc<Auth>>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    if auth.settings.proxy.is_none() {
        return Err(ApiError::not_found("the proxy provider is not enabled"));
    }
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    let headers = request.headers().clone();
    let who = auth.clone();
    let identity = crate::http::blocking(move || who.proxied(&headers, peer))
        .await?
        .ok_or_else(|| super::unauthenticated("the proxy did not say who is signed in"))?;
    match identity {
        Identity::User {
            user_ref,
            ownership_refs,
        } => session(&auth, &user_ref, &ownership_refs),
        Identity::Service { .. } => Err(super::unauthenticated("a user is needed")),
    }
}

/// A signed-in session as Backstage's providers answer `refresh`; the browser keeps it as
/// an HttpOnly cookie, scripts and CLIs use the token.
fn session(auth: &Auth, user_ref: &str, ownership: &[String]) -> Result<Response, ApiError> {
    let (token, expires) = auth.issue(user_ref, ownership)?;
    let body = Json(json!({
        "profile": {},
        "providerInfo": {},
        "backstageIdentity": {
            "token": token,
            "expiresInSeconds": expires,
            "identity": {
                "type": "user",
                "userEntityRef": user_ref,
                "ownershipEntityRefs": ownership,
            },
        },
    }));
    Ok((
        AppendHeaders([cookie(SESSION_COOKIE, &token, "/", expires)]),
        body,
    )
        .into_response())
}
