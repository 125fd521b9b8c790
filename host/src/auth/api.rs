//! `/api/auth`: the keys user tokens are checked with, who a token belongs to, and the
//! `guest` provider's session, in Backstage's paths and shapes.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{Auth, GUEST_REF, Identity, SESSION_COOKIE};
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
        .route("/proxy/logout", post(logout))
        .route("/guest/logout", post(logout))
        .route("/providers", get(providers))
        .route("/audit", get(audit))
}

/// The newest state-changing requests (`?limit=`, 100 by default, 1000 at most). Needs an
/// identity when sign-in is configured, like any API route outside sign-in itself
/// (`require_identity` gates it); who may read it is the permissions' to say.
async fn audit(
    State(auth): State<Arc<Auth>>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Json<Value>, ApiError> {
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
async fn providers(State(auth): State<Arc<Auth>>) -> Json<Value> {
    let providers: Vec<&str> = [
        auth.settings.guest.then_some("guest"),
        auth.settings.proxy.is_some().then_some("proxy"),
    ]
    .into_iter()
    .flatten()
    .collect();
    Json(json!({"enabled": auth.enabled(), "providers": providers}))
}

/// Ends the browser's session.
async fn logout() -> impl IntoResponse {
    (
        [(
            header::SET_COOKIE,
            format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        )],
        Json(json!({})),
    )
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
    let cookie =
        format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={expires}");
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
    Ok(([(header::SET_COOKIE, cookie)], body).into_response())
}
