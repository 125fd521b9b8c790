//! `/api/permission`: Backstage's `POST authorize` (a batch of permissions, each decided for
//! the caller; with a `resourceRef`, conditions are applied to that resource), and
//! Greenroom's `GET policy` (the policy in force, for those allowed to read it).

use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Access, Decision, POLICY_READ, permission};
use crate::http::{ApiError, JsonBody, blocking};

/// Most permissions one `authorize` call may ask about.
const MAX_ITEMS: usize = 1000;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/authorize", post(authorize))
        .route("/policy", get(policy))
}

#[derive(Deserialize)]
struct AuthorizeBody {
    items: Vec<Query>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Query {
    id: String,
    permission: AskedPermission,
    resource_ref: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AskedPermission {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    resource_type: Option<String>,
}

/// The plugin whose resources a resource type names, as Backstage answers `pluginId`.
fn plugin_of(resource_type: &str) -> &str {
    resource_type.split('-').next().unwrap_or(resource_type)
}

async fn authorize(
    access: Access,
    JsonBody(body): JsonBody<AuthorizeBody>,
) -> Result<Json<Value>, ApiError> {
    if body.items.len() > MAX_ITEMS {
        return Err(ApiError::input(format!(
            "at most {MAX_ITEMS} items may be authorized at once"
        )));
    }
    let items = blocking(move || {
        body.items
            .into_iter()
            .map(|query| decide(&access, query))
            .collect::<Result<Vec<_>, ApiError>>()
    })
    .await?;
    Ok(Json(json!({ "items": items })))
}

fn decide(access: &Access, query: Query) -> Result<Value, ApiError> {
    let result = |result: &str| Ok(json!({"id": query.id, "result": result}));
    // A permission Greenroom does not know, or one asked as the wrong type, is denied.
    let Some(known) = permission(&query.permission.name).filter(|p| {
        let kind = if p.resource_type.is_some() {
            "resource"
        } else {
            "basic"
        };
        kind == query.permission.kind
            && p.resource_type == query.permission.resource_type.as_deref()
    }) else {
        return result("DENY");
    };
    match access.verdict(known).decision {
        Decision::Allow => result("ALLOW"),
        Decision::Deny => result("DENY"),
        Decision::Conditional(conditions) => match &query.resource_ref {
            Some(resource_ref) => match access.meets(known, resource_ref, &conditions)? {
                Some(true) => result("ALLOW"),
                _ => result("DENY"),
            },
            None => {
                let resource_type = known.resource_type.unwrap_or_default();
                Ok(json!({
                    "id": query.id,
                    "result": "CONDITIONAL",
                    "pluginId": plugin_of(resource_type),
                    "resourceType": resource_type,
                    "conditions": conditions,
                }))
            }
        },
    }
}

/// The policy in force: roles, members, grants, the permissions there are, and why the
/// newest edit was refused if it was.
async fn policy(access: Access) -> Result<Json<Value>, ApiError> {
    access.require(POLICY_READ)?;
    Ok(Json(access.permissions.status()))
}
