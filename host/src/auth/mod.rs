//! Identity: who calls the API. Backstage-compatible user tokens (ES256 JWTs, `typ`
//! `vnd.backstage.user`, audience `backstage`) signed with the server's keys, published at
//! `/api/auth/.well-known/jwks.json`; the `guest` sign-in provider; static tokens for
//! scripts and CI in Backstage's `backend.auth.externalAccess` shape. With any of them
//! configured, every API route outside `/api/auth` needs an identity ([`require_identity`]).

pub mod api;
mod audit;
mod keys;
mod oauth;
mod proxy;
mod resolve;
mod sessions;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::http::ApiError;

/// How long a user token lives; the UI refreshes it before.
const TOKEN_LIFETIME_SECS: u64 = 3600;
/// What a user token says it is.
const USER_TOKEN_TYPE: &str = "vnd.backstage.user";
const AUDIENCE: &str = "backstage";
/// Who the guest provider signs in.
pub const GUEST_REF: &str = "user:development/guest";
/// The browser's session: the user token in an HttpOnly, SameSite cookie, so page scripts
/// never hold it and other sites' requests do not carry it.
pub const SESSION_COOKIE: &str = "greenroom_session";
/// A redirecting provider's sign-in session (its secret), sent only to `/api/auth`.
pub const REFRESH_COOKIE: &str = "greenroom_refresh";
/// Binds a sign-in under way at a provider to the browser that started it.
pub const ATTEMPT_COOKIE: &str = "greenroom_sign_in";

/// A static token for scripts and CI.
#[derive(Debug, Clone)]
pub struct StaticToken {
    pub token: Secret,
    pub subject: String,
    /// API plugins it may call (`catalog`, `scaffolder`…); empty: all.
    pub plugins: Vec<String>,
}

pub use oauth::{Flavor, RedirectSettings, Secret};
pub use proxy::ProxySettings;
pub use resolve::{Resolver, ResolverRule, SignIn, ownership};

#[derive(Debug, Clone, Default)]
pub struct AuthSettings {
    /// The `guest` provider (development: anyone may sign in as the guest user).
    pub guest: bool,
    /// The `proxy` provider: identity from a trusted reverse proxy's headers.
    pub proxy: Option<ProxySettings>,
    /// `oidc` and `github`: the browser signs in at the provider and comes back.
    pub redirecting: Vec<RedirectSettings>,
    pub static_tokens: Vec<StaticToken>,
    /// API paths open to anonymous callers even with sign-in on, each with everything below
    /// it: plugin HTTP routes the operator made public.
    pub public_paths: Vec<String>,
}

impl AuthSettings {
    /// Whether `path` is, or is below, one of the public paths.
    fn is_public(&self, path: &str) -> bool {
        self.public_paths.iter().any(|public| {
            path.strip_prefix(public.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }

    /// Whether sign-in is configured, which closes the API to anonymous callers.
    pub fn enabled(&self) -> bool {
        self.guest
            || self.proxy.is_some()
            || !self.redirecting.is_empty()
            || !self.static_tokens.is_empty()
    }
}

pub use crate::permissions::Identity;

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    /// Ownership refs, as Backstage puts them in its tokens.
    ent: Vec<String>,
    aud: String,
    iat: u64,
    exp: u64,
}

pub struct Auth {
    settings: AuthSettings,
    keys: keys::Keys,
    audit: audit::Audit,
    redirecting: oauth::Redirecting,
    sessions: sessions::Sessions,
    /// Where users and their groups are looked up.
    catalog: Arc<crate::catalog::Catalog>,
}

/// A refused identity: every reason is a 401 with Backstage's `AuthenticationError`.
fn unauthenticated(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "AuthenticationError", message)
}

impl Auth {
    pub fn open(
        data_dir: &std::path::Path,
        settings: AuthSettings,
        catalog: Arc<crate::catalog::Catalog>,
    ) -> anyhow::Result<Arc<Self>> {
        let keys = keys::Keys::load(&data_dir.join("auth"), TOKEN_LIFETIME_SECS)?;
        let audit = audit::Audit::open(data_dir)?;
        let sessions = sessions::Sessions::open(&data_dir.join("auth"))?;
        Ok(Arc::new(Self {
            redirecting: oauth::Redirecting::new(settings.redirecting.clone()),
            settings,
            keys,
            audit,
            sessions,
            catalog,
        }))
    }

    pub fn enabled(&self) -> bool {
        self.settings.enabled()
    }

    /// A user token; answers it and how many seconds it lives.
    pub fn issue(
        &self,
        user_ref: &str,
        ownership_refs: &[String],
    ) -> anyhow::Result<(String, u64)> {
        let key = self.keys.signing();
        let mut head = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        head.kid = Some(key.kid.clone());
        head.typ = Some(USER_TOKEN_TYPE.into());
        let iat = keys::now();
        let claims = Claims {
            iss: "greenroom".into(),
            sub: user_ref.into(),
            ent: ownership_refs.to_vec(),
            aud: AUDIENCE.into(),
            iat,
            exp: iat + TOKEN_LIFETIME_SECS,
        };
        Ok((
            jsonwebtoken::encode(&head, &claims, &key.encoding)?,
            TOKEN_LIFETIME_SECS,
        ))
    }

    /// A user token's identity. Only ES256 tokens of our own keys, typed as user tokens,
    /// for audience `backstage` and not expired pass: `alg: none`, HMAC with a public key,
    /// other keys and other types are refused.
    pub fn verify_user(&self, token: &str) -> Result<Identity, ApiError> {
        let head = jsonwebtoken::decode_header(token)
            .map_err(|_| unauthenticated("the token is malformed"))?;
        if head.alg != jsonwebtoken::Algorithm::ES256 {
            return Err(unauthenticated("the token is not signed with ES256"));
        }
        if head.typ.as_deref() != Some(USER_TOKEN_TYPE) {
            return Err(unauthenticated("the token is not a user token"));
        }
        let key = head
            .kid
            .as_deref()
            .and_then(|kid| self.keys.find(kid))
            .ok_or_else(|| unauthenticated("the token is signed with an unknown key"))?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)
            .map_err(|e| unauthenticated(format!("the token is not valid: {e}")))?;
        Ok(Identity::User {
            user_ref: data.claims.sub,
            ownership_refs: data.claims.ent,
        })
    }

    /// The identity behind `Authorization: Bearer <token>` for a request to `path`.
    pub fn authenticate(&self, token: &str, path: &str) -> Result<Identity, ApiError> {
        if let Some(known) = self
            .settings
            .static_tokens
            .iter()
            .find(|t| constant_time_eq(t.token.0.as_bytes(), token.as_bytes()))
        {
            let plugin = path
                .strip_prefix("/api/")
                .and_then(|rest| rest.split('/').next())
                .unwrap_or_default();
            if !known.plugins.is_empty() && !known.plugins.iter().any(|p| p == plugin) {
                return Err(ApiError::not_allowed(format!(
                    "the token of {} may not call the {plugin} API",
                    known.subject
                )));
            }
            return Ok(Identity::Service {
                subject: known.subject.clone(),
            });
        }
        self.verify_user(token)
    }

    /// The identity a trusted proxy vouches for in `headers`, when the proxy provider is on.
    pub fn proxied(
        &self,
        headers: &axum::http::HeaderMap,
        peer: Option<std::net::IpAddr>,
    ) -> Result<Option<Identity>, ApiError> {
        match &self.settings.proxy {
            Some(proxy) => proxy.identity(headers, peer, &self.catalog),
            None => Ok(None),
        }
    }

    pub fn jwks(&self) -> serde_json::Value {
        self.keys.jwks()
    }

    /// Where to send the browser to sign in with the redirecting provider `id`, and the
    /// value of the cookie binding the attempt to it.
    pub fn start_sign_in(
        &self,
        id: &str,
        host: &str,
        return_to: &str,
    ) -> Result<(String, String), ApiError> {
        self.redirecting.start(id, host, return_to)
    }

    /// Ends a sign-in at provider `id`: the person resolved through the catalog, the secret
    /// of their new session and where the browser goes. Blocking: it calls the provider.
    pub fn finish_sign_in(
        &self,
        id: &str,
        state: &str,
        code: &str,
        binding: Option<&str>,
    ) -> Result<(Identity, String, u64, String), ApiError> {
        let finished = self.redirecting.finish(id, state, code, binding)?;
        let identity = self.resolve_claims(finished.provider, &finished.claimed)?;
        let lifetime = self.session_lifetime(finished.provider);
        let secret = self
            .sessions
            .create(finished.provider, &finished.claimed, lifetime)
            .map_err(ApiError::internal)?;
        Ok((identity, secret, lifetime, finished.return_to))
    }

    /// The identity of a redirecting provider's session, resolved again so it carries the
    /// catalog's current ownership.
    pub fn refresh_session(&self, id: &str, secret: &str) -> Result<Identity, ApiError> {
        match self.sessions.find(secret).map_err(ApiError::internal)? {
            Some((provider, claimed)) if provider == id => self.resolve_claims(id, &claimed),
            _ => Err(unauthenticated(format!(
                "no {id} sign-in session: sign in again"
            ))),
        }
    }

    pub fn end_session(&self, secret: &str) -> Result<(), ApiError> {
        self.sessions.remove(secret).map_err(ApiError::internal)
    }

    fn session_lifetime(&self, id: &str) -> u64 {
        self.redirecting
            .get(id)
            .map_or(0, |p| p.session.as_secs().max(TOKEN_LIFETIME_SECS))
    }

    fn resolve_claims(&self, id: &str, claimed: &resolve::Claimed) -> Result<Identity, ApiError> {
        let provider = self
            .redirecting
            .get(id)
            .ok_or_else(|| ApiError::not_found(format!("the {id} provider is not enabled")))?;
        provider
            .sign_in
            .resolve(claimed, &self.catalog)?
            .ok_or_else(|| {
                unauthenticated(format!(
                    "Failed to sign-in, unable to resolve user identity: the {id} provider gave no email or user name"
                ))
            })
    }

    /// The redirecting providers' ids and button words.
    pub fn redirecting(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.redirecting
            .settings()
            .iter()
            .map(|p| (p.id(), p.title.as_str()))
    }
}

/// The token a request presents: `Authorization: Bearer`, else the session cookie.
pub fn presented_token(headers: &axum::http::HeaderMap) -> Option<String> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    bearer.or_else(|| cookie(headers, SESSION_COOKIE))
}

/// The value of the cookie `name` the request carries.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_string())
}

/// Compares secrets in time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The layer over every API route. With sign-in configured, a request outside `/api/auth`
/// (and to the audit log) needs a valid identity, which handlers then find in the request's extensions. Every
/// state-changing request, refused or not, goes into the audit log.
pub async fn require_identity(
    State(auth): State<Arc<Auth>>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    let changes_state = !matches!(
        method,
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    // Sign-in's own routes are open, except the audit log.
    let sign_in_route = path.starts_with("/api/auth/") && path != "/api/auth/audit";
    let gated = auth.enabled()
        && path.starts_with("/api/")
        && !sign_in_route
        && !auth.settings.is_public(&path);
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    let identity = match presented_token(request.headers()) {
        Some(token) if gated => auth.authenticate(&token, &path).map(Some),
        None if gated => {
            // The proxy's user is looked up in the catalog: SQLite, off the async workers.
            let (who, headers) = (auth.clone(), request.headers().clone());
            match crate::http::blocking(move || who.proxied(&headers, peer)).await {
                Ok(Some(identity)) => Ok(Some(identity)),
                Ok(None) => Err(unauthenticated("sign in first: this API needs an identity")),
                Err(error) => Err(error),
            }
        }
        _ => Ok(None),
    };
    let who = match &identity {
        Ok(Some(identity)) => identity.name(),
        Ok(None) => "anonymous".to_string(),
        Err(_) => "unauthenticated".to_string(),
    };
    let response = match identity {
        Ok(identity) => {
            if let Some(identity) = identity {
                request.extensions_mut().insert(identity);
            }
            next.run(request).await
        }
        Err(error) => {
            tracing::info!(path, "refused: {}", error.message);
            error.into_response()
        }
    };
    if changes_state && path.starts_with("/api/") {
        auth.audit.record(audit::Entry {
            who,
            method: method.to_string(),
            path,
            status: response.status().as_u16(),
        });
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn catalog(dir: &std::path::Path) -> Arc<crate::catalog::Catalog> {
        let settings = crate::catalog::CatalogSettings {
            locations: Vec::new(),
            file_name: "catalog-info.yaml".into(),
            orphan_strategy: crate::catalog::OrphanStrategy::Delete,
            registration_roots: Vec::new(),
            read_limit: crate::catalog::DEFAULT_READ_LIMIT,
        };
        Arc::new(crate::catalog::Catalog::open(dir, settings).unwrap())
    }

    fn auth() -> (tempfile::TempDir, Arc<Auth>) {
        let dir = tempfile::tempdir().unwrap();
        let settings = AuthSettings {
            public_paths: Vec::new(),
            guest: true,
            proxy: None,
            redirecting: Vec::new(),
            static_tokens: vec![StaticToken {
                token: Secret("ci-secret".into()),
                subject: "ci".into(),
                plugins: vec!["catalog".into()],
            }],
        };
        let auth = Auth::open(dir.path(), settings, catalog(dir.path())).unwrap();
        (dir, auth)
    }

    #[test]
    fn user_tokens_round_trip_and_forgeries_are_refused() {
        let (dir, auth) = auth();
        let (token, lifetime) = auth
            .issue("user:default/ada", &["group:default/team".into()])
            .unwrap();
        assert_eq!(lifetime, TOKEN_LIFETIME_SECS);
        assert_eq!(
            auth.verify_user(&token).unwrap(),
            Identity::User {
                user_ref: "user:default/ada".into(),
                ownership_refs: vec!["group:default/team".into()]
            }
        );
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = token.split('.').nth(1).unwrap();
        let none = format!(
            "{}.{payload}.",
            b64.encode(r#"{"alg":"none","typ":"vnd.backstage.user"}"#)
        );
        let hs256 = format!(
            "{}.{payload}.c2ln",
            b64.encode(r#"{"alg":"HS256","typ":"vnd.backstage.user"}"#)
        );
        let mut tampered: Vec<&str> = token.split('.').collect();
        let other = b64.encode(r#"{"sub":"user:default/admin","aud":"backstage","exp":4102444800,"ent":[],"iss":"x","iat":0}"#);
        tampered[1] = &other;
        for bad in [
            none,
            hs256,
            tampered.join("."),
            "garbage".into(),
            String::new(),
        ] {
            let error = auth.verify_user(&bad).unwrap_err();
            assert_eq!(error.status, StatusCode::UNAUTHORIZED, "{bad}");
        }
        // Another server's key (same format, unknown kid) is refused.
        let elsewhere = tempfile::tempdir().unwrap();
        let (foreign, _) = Auth::open(
            elsewhere.path(),
            AuthSettings::default(),
            catalog(elsewhere.path()),
        )
        .unwrap()
        .issue("user:default/ada", &[])
        .unwrap();
        assert!(
            auth.verify_user(&foreign)
                .unwrap_err()
                .message
                .contains("unknown key")
        );
        // Keys survive a restart, so tokens do.
        let again = Auth::open(dir.path(), AuthSettings::default(), catalog(dir.path())).unwrap();
        assert!(again.verify_user(&token).is_ok());
        assert_eq!(
            again.jwks()["keys"][0]["kid"],
            auth.jwks()["keys"][0]["kid"]
        );
    }

    #[test]
    fn static_tokens_are_held_to_their_plugins() {
        let (_dir, auth) = auth();
        assert_eq!(
            auth.authenticate("ci-secret", "/api/catalog/entities")
                .unwrap(),
            Identity::Service {
                subject: "ci".into()
            }
        );
        let refused = auth
            .authenticate("ci-secret", "/api/scaffolder/v2/tasks")
            .unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert!(
            auth.authenticate("ci-secreT", "/api/catalog/entities")
                .is_err()
        );
    }
}
