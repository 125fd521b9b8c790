//! Sign-in resolvers with Backstage's names: what a provider says about a person (a user
//! name, an email address) becomes a catalog User and its ownership refs. Every provider
//! (proxy, OIDC, GitHub) resolves through here.

use std::collections::HashSet;

use axum::http::StatusCode;
use greenroom_api::EntityRef;

use super::{Identity, unauthenticated};
use crate::catalog::Catalog;
use crate::http::ApiError;

/// Backstage's resolvers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolver {
    UsernameMatchingUserEntityName,
    EmailLocalPartMatchingUserEntityName,
    EmailMatchingUserEntityProfileEmail,
}

impl Resolver {
    pub const NAMES: &str = "usernameMatchingUserEntityName, emailLocalPartMatchingUserEntityName, emailMatchingUserEntityProfileEmail";

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

/// One entry of a provider's `signIn.resolvers`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolverRule {
    pub resolver: Resolver,
    /// Backstage's `dangerouslyAllowSignInWithoutUserInCatalog`: sign in as
    /// `user:default/<name>` when the catalog has no such User.
    pub allow_without_catalog_user: bool,
}

/// A provider's `signIn`: its resolvers, tried in order until one finds the user.
#[derive(Debug, Clone, PartialEq)]
pub struct SignIn {
    pub resolvers: Vec<ResolverRule>,
}

/// What a provider says about who signed in.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Claimed {
    pub username: Option<String>,
    pub email: Option<String>,
}

/// One resolver's answer.
enum Found {
    /// The claims lack what the resolver reads.
    NotApplicable,
    User(EntityRef, serde_json::Value),
    /// No catalog User; the ref one would have.
    Missing(EntityRef),
}

impl SignIn {
    /// The identity `claimed` resolves to; `None` when the claims hold nothing any
    /// resolver reads (nobody is signed in).
    pub fn resolve(
        &self,
        claimed: &Claimed,
        catalog: &Catalog,
    ) -> Result<Option<Identity>, ApiError> {
        let mut fallback = None;
        let mut missing = Vec::new();
        for rule in &self.resolvers {
            match find(rule.resolver, claimed, catalog)? {
                Found::NotApplicable => {}
                Found::User(user, entity) => {
                    return Ok(Some(Identity::User {
                        user_ref: user.to_string(),
                        ownership_refs: ownership(catalog, &entity),
                    }));
                }
                Found::Missing(user) => {
                    if rule.allow_without_catalog_user && fallback.is_none() {
                        fallback = Some(user.to_string());
                    }
                    missing.push(user.to_string());
                }
            }
        }
        match (fallback, missing.is_empty()) {
            (Some(user_ref), _) => Ok(Some(Identity::User {
                ownership_refs: vec![user_ref.clone()],
                user_ref,
            })),
            (None, true) => Ok(None),
            (None, false) => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "AuthenticationError",
                format!(
                    "Failed to sign-in, unable to resolve user identity: no catalog User named {}",
                    missing.join(" or ")
                ),
            )),
        }
    }
}

fn find(resolver: Resolver, claimed: &Claimed, catalog: &Catalog) -> Result<Found, ApiError> {
    let present = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let local_part = |email: &str| email.split('@').next().unwrap_or_default().to_string();
    let name = match resolver {
        Resolver::UsernameMatchingUserEntityName => present(&claimed.username),
        Resolver::EmailLocalPartMatchingUserEntityName => {
            present(&claimed.email).map(|e| local_part(&e))
        }
        Resolver::EmailMatchingUserEntityProfileEmail => {
            let Some(email) = present(&claimed.email) else {
                return Ok(Found::NotApplicable);
            };
            return Ok(match user_with_email(catalog, &email)? {
                Some(entity) => Found::User(EntityRef::of(&entity), entity),
                None => Found::Missing(by_name(&local_part(&email))?),
            });
        }
    };
    let Some(name) = name else {
        return Ok(Found::NotApplicable);
    };
    let user = by_name(&name)?;
    Ok(match catalog.get(&user).map_err(ApiError::from)? {
        Some(entity) => Found::User(user, entity),
        None => Found::Missing(user),
    })
}

/// `user:default/<name>` for a name a provider gave.
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
    let page = catalog.query(&query, 2, 0, None).map_err(ApiError::from)?;
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
