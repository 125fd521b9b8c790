//! What the viewer may do, as the server decides it (`POST /api/permission/authorize`,
//! Backstage's). The UI only hides what would be refused anyway: the server checks every
//! request itself. Without a policy on the server everything is allowed.

use std::future::Future;

use serde_json::{Value, json};

use crate::api::post_json;

pub const POLICY_READ: &str = "greenroom.policy.read";
pub const PLUGIN_MANAGE: &str = "greenroom.plugin.manage";
pub const TASK_CREATE: &str = "scaffolder.task.create";

/// The resource type permissions about catalog entities are asked with.
const CATALOG_ENTITY: &str = "catalog-entity";

/// A permission as `authorize` is asked about it: its type, resource type and action.
fn permission(name: &str) -> Value {
    let (resource_type, action) = match name {
        "catalog.entity.read" => (Some(CATALOG_ENTITY), "read"),
        "catalog.entity.refresh" => (Some(CATALOG_ENTITY), "update"),
        "catalog.entity.delete" => (Some(CATALOG_ENTITY), "delete"),
        "greenroom.plugin.manage" => (None, "update"),
        _ => match name.rsplit('.').next() {
            Some(action @ ("create" | "delete")) => (None, action),
            _ => (None, "read"),
        },
    };
    match resource_type {
        Some(resource_type) => json!({
            "type": "resource",
            "name": name,
            "attributes": {"action": action},
            "resourceType": resource_type,
        }),
        None => json!({"type": "basic", "name": name, "attributes": {"action": action}}),
    }
}

/// Whether the viewer may do each of `items` (a permission, and for a resource permission
/// the resource's ref), asked in one request. A failed request, and any answer but ALLOW
/// (a CONDITIONAL one included: it needs the resource), count as not allowed.
pub fn allowed(items: &[(&str, Option<&str>)]) -> impl Future<Output = Vec<bool>> + use<> {
    let count = items.len();
    let asked: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, (name, resource_ref))| {
            let mut item = json!({"id": i.to_string(), "permission": permission(name)});
            if let Some(resource_ref) = resource_ref {
                item["resourceRef"] = json!(resource_ref);
            }
            item
        })
        .collect();
    let body = json!({ "items": asked });
    async move {
        let mut allowed = vec![false; count];
        let Ok(answer) = post_json::<Value>("/api/permission/authorize", &body).await else {
            return allowed;
        };
        for item in answer["items"].as_array().into_iter().flatten() {
            if item["result"] == "ALLOW"
                && let Some(slot) = item["id"]
                    .as_str()
                    .and_then(|id| id.parse::<usize>().ok())
                    .and_then(|i| allowed.get_mut(i))
            {
                *slot = true;
            }
        }
        allowed
    }
}

/// Whether the viewer may do one basic permission.
pub async fn may(permission: &'static str) -> bool {
    allowed(&[(permission, None)]).await.first() == Some(&true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_are_asked_with_their_type_and_action() {
        assert_eq!(
            permission("catalog.entity.delete"),
            json!({"type": "resource", "name": "catalog.entity.delete",
                   "attributes": {"action": "delete"}, "resourceType": "catalog-entity"})
        );
        assert_eq!(
            permission("catalog.location.create"),
            json!({"type": "basic", "name": "catalog.location.create", "attributes": {"action": "create"}})
        );
        assert_eq!(permission(PLUGIN_MANAGE)["attributes"]["action"], "update");
        assert_eq!(permission(POLICY_READ)["attributes"]["action"], "read");
        assert_eq!(permission(TASK_CREATE)["type"], "basic");
    }
}
