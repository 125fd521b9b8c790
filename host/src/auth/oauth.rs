//! The redirecting sign-in providers: `oidc` (authorization code with PKCE against any
//! OpenID Connect issuer, through the `openidconnect` crate) and `github` (an OAuth app, on
//! github.com or a GitHub Enterprise instance). `start` sends the browser to the provider
//! with a fresh state, nonce and PKCE challenge bound to the browser by a cookie; `finish`
//! takes the code back (once: the attempt is removed as it is read), exchanges it, checks
//! the ID token (issuer, audience, signature, expiry, nonce) and answers what the provider
//! says about the person, for the sign-in resolvers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError,
    Scope, TokenResponse, TokenUrl,
};

use super::resolve::{Claimed, SignIn};
use crate::http::ApiError;

/// How long a started sign-in may take at the provider.
const ATTEMPT_LIFETIME: Duration = Duration::from_secs(600);
/// Sign-ins in progress at once; beyond, new ones are refused rather than remembered.
const MAX_ATTEMPTS: usize = 10_000;
/// How long discovered issuer metadata (and its signing keys) is trusted before re-reading.
const DISCOVERY_LIFETIME: Duration = Duration::from_secs(600);
/// Longest answer read from a provider.
const RESPONSE_LIMIT: u64 = 1 << 20;
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// A value that must not reach logs: its `Debug` hides it.
#[derive(Clone, PartialEq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone)]
pub enum Flavor {
    /// `issuer`: where `/.well-known/openid-configuration` is found.
    Oidc {
        issuer: String,
        prompt: Option<String>,
        /// `client_secret_post` rather than HTTP basic authentication.
        secret_in_body: bool,
    },
    /// `web`: `https://github.com` or the Enterprise instance; `api` its REST API.
    Github { web: String, api: String },
}

#[derive(Debug, Clone)]
pub struct RedirectSettings {
    pub flavor: Flavor,
    pub client_id: String,
    pub client_secret: Secret,
    /// Where the provider sends the browser back; by default this portal's
    /// `/api/auth/<provider>/handler/frame` under the host the browser used.
    pub callback_url: Option<String>,
    pub scopes: Vec<String>,
    /// The sign-in button's words.
    pub title: String,
    /// How long a sign-in lasts before the person signs in again.
    pub session: Duration,
    pub sign_in: SignIn,
}

impl RedirectSettings {
    pub fn id(&self) -> &'static str {
        match self.flavor {
            Flavor::Oidc { .. } => "oidc",
            Flavor::Github { .. } => "github",
        }
    }
}

/// A sign-in under way at a provider.
struct Attempt {
    provider: &'static str,
    /// The cookie value the browser that started it holds.
    binding: String,
    pkce: String,
    nonce: String,
    callback: String,
    return_to: String,
    started: Instant,
}

/// What a finished sign-in gives.
pub struct Finished {
    pub provider: &'static str,
    pub claimed: Claimed,
    pub return_to: String,
}

pub struct Redirecting {
    providers: Vec<RedirectSettings>,
    attempts: Mutex<HashMap<String, Attempt>>,
    discovered: Mutex<Option<(Instant, CoreProviderMetadata)>>,
    agent: ureq::Agent,
}

/// A failed sign-in: said to the person on the error page, and logged.
fn refused(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "AuthenticationError", message)
}

impl Redirecting {
    pub fn new(providers: Vec<RedirectSettings>) -> Self {
        Self {
            providers,
            attempts: Mutex::new(HashMap::new()),
            discovered: Mutex::new(None),
            agent: crate::support::outbound::agent(CALL_TIMEOUT),
        }
    }

    pub fn settings(&self) -> &[RedirectSettings] {
        &self.providers
    }

    pub fn get(&self, id: &str) -> Option<&RedirectSettings> {
        self.providers.iter().find(|p| p.id() == id)
    }

    fn provider(&self, id: &str) -> Result<&RedirectSettings, ApiError> {
        self.get(id)
            .ok_or_else(|| ApiError::not_found(format!("the {id} provider is not enabled")))
    }

    /// Where to send the browser to sign in with `id`, and the value of the cookie that
    /// binds the attempt to this browser. `host` is the `Host` the browser used;
    /// `return_to` where it goes once signed in (a path of this portal).
    pub fn start(
        &self,
        id: &str,
        host: &str,
        return_to: &str,
    ) -> Result<(String, String), ApiError> {
        let provider = self.provider(id)?;
        let callback = match &provider.callback_url {
            Some(url) => url.clone(),
            None => default_callback(host, provider.id())?,
        };
        let redirect = RedirectUrl::new(callback.clone())
            .map_err(|e| ApiError::internal(format!("{id} callback URL {callback}: {e}")))?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let extra_scopes = provider.scopes.iter().map(|s| Scope::new(s.clone()));
        let (url, state, nonce) = match &provider.flavor {
            Flavor::Oidc { prompt, .. } => {
                let client = self.oidc_client(provider)?.set_redirect_uri(redirect);
                let mut request = client
                    .authorize_url(
                        CoreAuthenticationFlow::AuthorizationCode,
                        CsrfToken::new_random,
                        Nonce::new_random,
                    )
                    .add_scope(Scope::new("email".into()))
                    .add_scope(Scope::new("profile".into()))
                    .add_scopes(extra_scopes)
                    .set_pkce_challenge(challenge);
                if let Some(prompt) = prompt {
                    request = request.add_extra_param("prompt", prompt.clone());
                }
                let (url, state, nonce) = request.url();
                (url, state, nonce.secret().clone())
            }
            Flavor::Github { web, .. } => {
                let (url, state) = github_client(provider, web)?
                    .set_redirect_uri(redirect)
                    .authorize_url(CsrfToken::new_random)
                    .add_scope(Scope::new("read:user".into()))
                    .add_scope(Scope::new("user:email".into()))
                    .add_scopes(extra_scopes)
                    .set_pkce_challenge(challenge)
                    .url();
                (url, state, String::new())
            }
        };
        let binding = super::sessions::random_secret();
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        attempts.retain(|_, a| a.started.elapsed() < ATTEMPT_LIFETIME);
        if attempts.len() >= MAX_ATTEMPTS {
            return Err(ApiError::unavailable(
                "too many sign-ins are in progress; try again in a minute",
                Duration::from_secs(60),
            ));
        }
        attempts.insert(
            state.secret().clone(),
            Attempt {
                provider: provider.id(),
                binding: binding.clone(),
                pkce: verifier.secret().clone(),
                nonce,
                callback,
                return_to: safe_return(return_to),
                started: Instant::now(),
            },
        );
        Ok((url.to_string(), binding))
    }

    /// The provider's answer at `/api/auth/<id>/handler/frame`: `state` and `code` from the
    /// query, `binding` the browser's cookie. Blocking: it calls the provider.
    pub fn finish(
        &self,
        id: &str,
        state: &str,
        code: &str,
        binding: Option<&str>,
    ) -> Result<Finished, ApiError> {
        let provider = self.provider(id)?;
        // Removed as it is read: a replayed answer finds nothing.
        let attempt = self
            .attempts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(state)
            .filter(|a| a.provider == id)
            .ok_or_else(|| {
                refused("this sign-in is unknown, expired or already finished (the state does not match); sign in again")
            })?;
        if !binding
            .is_some_and(|b| super::constant_time_eq(b.as_bytes(), attempt.binding.as_bytes()))
        {
            return Err(refused(
                "this sign-in was started in another browser; sign in again from this one",
            ));
        }
        if attempt.started.elapsed() >= ATTEMPT_LIFETIME {
            return Err(refused("this sign-in took too long; sign in again"));
        }
        let redirect = RedirectUrl::new(attempt.callback.clone()).map_err(ApiError::internal)?;
        let code = AuthorizationCode::new(code.to_string());
        let verifier = PkceCodeVerifier::new(attempt.pkce.clone());
        let http = |request| self.send(request);
        let claimed = match &provider.flavor {
            Flavor::Oidc { .. } => {
                let client = self.oidc_client(provider)?.set_redirect_uri(redirect);
                let token = client
                    .exchange_code(code)
                    .map_err(ApiError::internal)?
                    .set_pkce_verifier(verifier)
                    .request(&http)
                    .map_err(|e| token_error(id, e))?;
                let id_token = token
                    .id_token()
                    .ok_or_else(|| refused("the identity provider sent no ID token"))?;
                let nonce = Nonce::new(attempt.nonce.clone());
                let claims = id_token
                    .claims(&client.id_token_verifier(), &nonce)
                    .map_err(|e| refused(format!("the ID token is not valid: {e}")))?;
                // An address the provider says is unverified could be anyone's.
                let email = |email: Option<&openidconnect::EndUserEmail>,
                             verified: Option<bool>| {
                    email
                        .filter(|_| verified != Some(false))
                        .map(|e| e.to_string())
                };
                let mut claimed = Claimed {
                    username: claims.preferred_username().map(|u| u.to_string()),
                    email: email(claims.email(), claims.email_verified()),
                };
                // Many issuers put profile and email only in the UserInfo answer of the
                // code flow; it must be about the ID token's subject.
                if (claimed.username.is_none() || claimed.email.is_none())
                    && let Ok(request) = client
                        .user_info(token.access_token().clone(), Some(claims.subject().clone()))
                {
                    let info: openidconnect::core::CoreUserInfoClaims =
                        request.request(&http).map_err(|e| {
                            refused(format!("the identity provider's UserInfo: {}", chain(&e)))
                        })?;
                    claimed.username = claimed
                        .username
                        .or_else(|| info.preferred_username().map(|u| u.to_string()));
                    claimed.email = claimed
                        .email
                        .or_else(|| email(info.email(), info.email_verified()));
                }
                claimed
            }
            Flavor::Github { web, api } => {
                let token = github_client(provider, web)?
                    .set_redirect_uri(redirect)
                    .exchange_code(code)
                    .set_pkce_verifier(verifier)
                    .request(&http)
                    .map_err(|e| token_error(id, e))?;
                self.github_user(api, token.access_token().secret())?
            }
        };
        Ok(Finished {
            provider: provider.id(),
            claimed,
            return_to: attempt.return_to,
        })
    }

    fn oidc_client(
        &self,
        provider: &RedirectSettings,
    ) -> Result<
        CoreClient<
            openidconnect::EndpointSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointNotSet,
            openidconnect::EndpointMaybeSet,
            openidconnect::EndpointMaybeSet,
        >,
        ApiError,
    > {
        let Flavor::Oidc {
            issuer,
            secret_in_body,
            ..
        } = &provider.flavor
        else {
            unreachable!("only OIDC providers have an issuer");
        };
        let metadata = self.metadata(issuer)?;
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(provider.client_id.clone()),
            Some(ClientSecret::new(provider.client_secret.0.clone())),
        );
        Ok(if *secret_in_body {
            client.set_auth_type(AuthType::RequestBody)
        } else {
            client
        })
    }

    /// The issuer's metadata and signing keys, discovered when first needed (so a provider
    /// that is down does not keep the portal from starting) and re-read now and then (so
    /// rotated keys are found).
    fn metadata(&self, issuer: &str) -> Result<CoreProviderMetadata, ApiError> {
        let mut cached = self.discovered.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, metadata)) = cached.as_ref()
            && at.elapsed() < DISCOVERY_LIFETIME
        {
            return Ok(metadata.clone());
        }
        let url = IssuerUrl::new(issuer.to_string())
            .map_err(|e| ApiError::internal(format!("OIDC issuer {issuer}: {e}")))?;
        let metadata = CoreProviderMetadata::discover(&url, &|request| self.send(request))
            .map_err(|e| {
                ApiError::unavailable(
                    format!(
                        "cannot read the OIDC issuer {issuer}'s configuration: {}",
                        chain(&e)
                    ),
                    Duration::from_secs(10),
                )
            })?;
        *cached = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }

    /// GitHub's user, and their primary verified email when the profile shows none.
    fn github_user(&self, api: &str, token: &str) -> Result<Claimed, ApiError> {
        let get = |path: &str| -> Result<serde_json::Value, ApiError> {
            let url = format!("{}{path}", api.trim_end_matches('/'));
            let mut response = self
                .agent
                .get(&url)
                .header("Authorization", &format!("Bearer {token}"))
                .header("Accept", "application/vnd.github+json")
                .header("User-Agent", "greenroom")
                .call()
                .map_err(|e| refused(format!("cannot reach GitHub at {url}: {e}")))?;
            if response.status() != 200 {
                return Err(refused(format!(
                    "GitHub answered {} for {url}",
                    response.status()
                )));
            }
            let body = response
                .body_mut()
                .with_config()
                .limit(RESPONSE_LIMIT)
                .read_to_vec()
                .map_err(|e| refused(format!("GitHub's answer for {url}: {e}")))?;
            serde_json::from_slice(&body)
                .map_err(|e| refused(format!("GitHub's answer for {url} is not JSON: {e}")))
        };
        let user = get("/user")?;
        let email = match user["email"].as_str() {
            Some(email) => Some(email.to_string()),
            None => get("/user/emails")?
                .as_array()
                .into_iter()
                .flatten()
                .find(|e| e["primary"] == true && e["verified"] == true)
                .and_then(|e| e["email"].as_str().map(str::to_string)),
        };
        Ok(Claimed {
            username: user["login"].as_str().map(str::to_string),
            email,
        })
    }

    /// The HTTP client the OAuth crates call.
    fn send(
        &self,
        request: openidconnect::HttpRequest,
    ) -> Result<openidconnect::HttpResponse, ureq::Error> {
        let mut response = self.agent.run(request)?;
        let body = response
            .body_mut()
            .with_config()
            .limit(RESPONSE_LIMIT)
            .read_to_vec()?;
        let mut answer = openidconnect::HttpResponse::new(body);
        *answer.status_mut() = response.status();
        *answer.headers_mut() = response.headers().clone();
        Ok(answer)
    }
}

fn github_client(
    provider: &RedirectSettings,
    web: &str,
) -> Result<
    oauth2::basic::BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    ApiError,
> {
    let web = web.trim_end_matches('/');
    let url = |path: &str| format!("{web}{path}");
    Ok(
        oauth2::basic::BasicClient::new(oauth2::ClientId::new(provider.client_id.clone()))
            .set_client_secret(oauth2::ClientSecret::new(provider.client_secret.0.clone()))
            .set_auth_uri(AuthUrl::new(url("/login/oauth/authorize")).map_err(ApiError::internal)?)
            .set_token_uri(
                TokenUrl::new(url("/login/oauth/access_token")).map_err(ApiError::internal)?,
            )
            // GitHub reads the client's credentials from the form.
            .set_auth_type(AuthType::RequestBody),
    )
}

/// A failed code exchange, in words: the provider's refusal (a replayed or foreign code,
/// a PKCE mismatch) or why it could not be asked.
fn token_error<RE, T>(id: &str, error: RequestTokenError<RE, T>) -> ApiError
where
    RE: std::error::Error + 'static,
    T: openidconnect::ErrorResponse + 'static,
{
    match error {
        RequestTokenError::ServerResponse(response) => refused(format!(
            "the {id} provider refused the sign-in code: {response}"
        )),
        other => refused(format!(
            "the {id} provider's token endpoint: {}",
            chain(&other)
        )),
    }
}

/// An error with its causes.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// This portal's callback under the host the browser used: plain http on loopback names,
/// https elsewhere (behind anything else, set `callbackUrl`).
fn default_callback(host: &str, id: &str) -> Result<String, ApiError> {
    let name = host.rsplit_once(':').map_or(host, |(name, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            name
        } else {
            host
        }
    });
    let loopback = name == "localhost"
        || name
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if host.is_empty() || host.contains(['/', '\\', '@', '?', '#']) {
        return Err(ApiError::input("the request names no usable Host"));
    }
    let scheme = if loopback { "http" } else { "https" };
    Ok(format!("{scheme}://{host}/api/auth/{id}/handler/frame"))
}

/// `return_to` if it is a path of this portal; else the home page (never another site).
fn safe_return(return_to: &str) -> String {
    let local = return_to.starts_with('/')
        && !return_to.starts_with("//")
        && !return_to.contains(['\\', '\r', '\n']);
    if local {
        return_to.to_string()
    } else {
        "/".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_returned_to() {
        assert_eq!(safe_return("/catalog?kind=api"), "/catalog?kind=api");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil.example",
            "",
            "catalog",
        ] {
            assert_eq!(safe_return(bad), "/", "{bad}");
        }
    }

    #[test]
    fn the_default_callback_is_https_beyond_loopback() {
        for (host, id, callback) in [
            (
                "127.0.0.1:7007",
                "oidc",
                "http://127.0.0.1:7007/api/auth/oidc/handler/frame",
            ),
            (
                "localhost",
                "github",
                "http://localhost/api/auth/github/handler/frame",
            ),
            (
                "[::1]:80",
                "oidc",
                "http://[::1]:80/api/auth/oidc/handler/frame",
            ),
            (
                "portal.example.com",
                "oidc",
                "https://portal.example.com/api/auth/oidc/handler/frame",
            ),
        ] {
            assert_eq!(default_callback(host, id).unwrap(), callback);
        }
        assert!(default_callback("evil.example/x?", "oidc").is_err());
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let secret = Secret("hunter22".into());
        assert!(!format!("{secret:?}").contains("hunter22"));
    }
}
