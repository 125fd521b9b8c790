//! The `proxy` sign-in provider: identity from headers a reverse proxy (oauth2-proxy or
//! similar) sets after signing the user in itself, believed only when the request comes
//! from one of the configured peers. A sign-in resolver with Backstage's name maps the
//! header to a catalog User; ownership refs are the user and its groups, through parents.

use std::collections::HashSet;
use std::net::IpAddr;

use axum::http::{HeaderMap, StatusCode};
use greenroom_api::EntityRef;

use super::{Identity, unauthenticated};
use crate::catalog::Catalog;
use crate::http::ApiError;

/// Backstage's resolvers this provider supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolver {
    UsernameMatchingUserEntityName,
    EmailLocalPartMatchingUserEntityName,
    EmailMatchingUserEntityProfileEmail,
}

impl Resolver {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "usernameMatchingUserEntityName" => Some(Self::UsernameMatchingUserEntityName),
            "emailLocalPartMatchingUserEntityName" => {
                Some(Self::EmailLocalPartMatchingUserEntityName)
            }
            "emailMatchingUserEntityProfileEmail" => {
                Some(Self::EmailMatchingUserEntityProfileEmail)
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProxySettings {
    pub trusted_peers: Vec<IpAddr>,
    pub user_header: String,
    pub email_header: String,
    pub resolver: Resolver,
    /// Sign in as `user:default/<name>` when the catalog has no such User.
    pub allow_without_catalog_user: bool,
}

impl ProxySettings {
    /// The identity the proxy vouches for; `None` when the request carries none, or does
    /// not come from a trusted peer (its headers could be anyone's).
    pub fn identity(
        &self,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
        catalog: &Catalog,
    ) -> Result<Option<Identity>, ApiError> {
        if !peer.is_some_and(|p| self.trusted_peers.contains(&p)) {
            return Ok(None);
        }
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let no_user = |what: String| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "AuthenticationError",
                format!("Failed to sign-in, unable to resolve user identity: {what}"),
            )
        };
        let (user, entity) = match self.resolver {
            Resolver::EmailMatchingUserEntityProfileEmail => {
                let Some(email) = header(&self.email_header) else {
                    return Ok(None);
                };
                match user_with_email(catalog, email)? {
                    Some(entity) => (EntityRef::of(&entity), Some(entity)),
                    None => (by_name(email.split('@').next().unwrap_or_default())?, None),
                }
            }
            resolver => {
                let name = if resolver == Resolver::UsernameMatchingUserEntityName {
                    header(&self.user_header)
                } else {
                    header(&self.email_header).and_then(|email| email.split('@').next())
                };
                let Some(name) = name else {
                    return Ok(None);
                };
                let user = by_name(name)?;
                let entity = catalog.get(&user).map_err(ApiError::from)?;
                (user, entity)
            }
        };
        let ownership_refs = match entity {
            Some(entity) => ownership(catalog, &entity),
            None if self.allow_without_catalog_user => vec![user.to_string()],
            None => return Err(no_user(format!("no catalog User named {user}"))),
        };
        Ok(Some(Identity::User {
            user_ref: user.to_string(),
            ownership_refs,
        }))
    }
}

/// `user:default/<name>` for a name a header gave.
fn by_name(name: &str) -> Result<EntityRef, ApiError> {
    EntityRef::parse(name, Some("user"), "default")
        .ok()
        .filter(|r| r.kind == "user" && !name.contains(['/', ':']))
        .ok_or_else(|| unauthenticated(format!("'{name}' is not a user name")))
}

/// The one catalog User whose `spec.profile.email` is `email`.
fn user_with_email(catalog: &Catalog, email: &str) -> Result<Option<serde_json::Value>, ApiError> {
    // The filter syntax separates with `,` and `=`: such an address cannot be asked for.
    if email.contains([',', '=']) {
        return Err(unauthenticated(format!(
            "'{email}' is not an email address"
        )));
    }
    let predicate = crate::catalog::Predicate::from_filter_params(&[format!(
        "kind=user,spec.profile.email={email}"
    )])
    .map_err(ApiError::input)?;
    let query = crate::catalog::Cursor::first(crate::catalog::EntityQuery {
        predicate,
        order: Vec::new(),
        full_text: None,
    });
    let page = catalog.query(&query, 2, 0).map_err(ApiError::from)?;
    match page.items.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.to_value().map_err(ApiError::from)?)),
        _ => Err(unauthenticated(format!(
            "Failed to sign-in, several catalog Users have the email {email}"
        ))),
    }
}

/// The user and every group it belongs to, directly or through the groups' parents.
pub fn ownership(catalog: &Catalog, user: &serde_json::Value) -> Vec<String> {
    let related = |entity: &serde_json::Value, kind: &str| -> Vec<String> {
        entity["relations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["type"] == kind)
            .filter_map(|r| r["targetRef"].as_str().map(str::to_string))
            .collect()
    };
    let mut refs = vec![EntityRef::of(user).to_string()];
    let mut seen: HashSet<String> = HashSet::new();
    let mut pending = related(user, "memberOf");
    while let Some(group) = pending.pop() {
        if !seen.insert(group.clone()) {
            continue;
        }
        refs.push(group.clone());
        if let Ok(Some(entity)) = EntityRef::parse(&group, Some("group"), "default")
            .map_err(anyhow::Error::msg)
            .and_then(|r| catalog.get(&r))
        {
            pending.extend(related(&entity, "childOf"));
        }
    }
    refs
}
