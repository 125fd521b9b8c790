//! The catalog's side of permissions: Backstage's catalog rules (`IS_ENTITY_OWNER`,
//! `IS_ENTITY_KIND`, `HAS_ANNOTATION`, `HAS_LABEL`, `HAS_METADATA`, `HAS_SPEC`) turned into the
//! index's own predicates, so a conditional decision filters a query before it is paged and
//! counted, at about the cost of any other filter.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::{Catalog, EntityRef, Predicate};
use crate::http::ApiError;
use crate::permissions::{Access, CATALOG_ENTITY, Criteria, Decision, ENTITY_READ, Resources};

/// The entities `access` may read: `None` for all of them.
pub fn readable(access: &Access) -> Result<Option<Predicate>, ApiError> {
    predicate_of(access.decide(ENTITY_READ))
}

/// A decision as a restriction: `None` when everything is allowed.
fn predicate_of(decision: Decision) -> Result<Option<Predicate>, ApiError> {
    match decision {
        Decision::Allow => Ok(None),
        Decision::Deny => Ok(Some(Predicate::nothing())),
        Decision::Conditional(criteria) => Ok(Some(predicate(&criteria)?)),
    }
}

/// Criteria over catalog entities as an index predicate.
pub fn predicate(criteria: &Criteria) -> Result<Predicate, ApiError> {
    Ok(match criteria {
        Criteria::AllOf { all_of } => {
            Predicate::All(all_of.iter().map(predicate).collect::<Result<_, _>>()?)
        }
        Criteria::AnyOf { any_of } => {
            Predicate::Any(any_of.iter().map(predicate).collect::<Result<_, _>>()?)
        }
        Criteria::Not { not } => Predicate::Not(Box::new(predicate(not)?)),
        Criteria::Rule(call) => {
            let text = |name: &str| {
                call.params
                    .get(name)
                    .and_then(Value::as_str)
                    .map(str::to_lowercase)
            };
            let texts = |name: &str| -> Vec<String> {
                call.params
                    .get(name)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_lowercase)
                    .collect()
            };
            let keyed = |prefix: &str, key: &str| {
                let field = format!("{prefix}{}", text(key).unwrap_or_default());
                match text("value") {
                    Some(value) => Predicate::In(field, vec![value]),
                    None => Predicate::Exists(field),
                }
            };
            match call.rule.as_str() {
                "IS_ENTITY_OWNER" => Predicate::In("relations.ownedby".into(), texts("claims")),
                "IS_ENTITY_KIND" => Predicate::In("kind".into(), texts("kinds")),
                "HAS_ANNOTATION" => keyed("metadata.annotations.", "annotation"),
                "HAS_LABEL" => Predicate::Exists(format!(
                    "metadata.labels.{}",
                    text("label").unwrap_or_default()
                )),
                "HAS_METADATA" => keyed("metadata.", "key"),
                "HAS_SPEC" => keyed("spec.", "key"),
                other => {
                    return Err(ApiError::internal(format!(
                        "the catalog has no rule {other}"
                    )));
                }
            }
        }
    })
}

/// What the permission framework asks the catalog about its entities.
pub struct EntityResources(pub Arc<Catalog>);

impl Resources for EntityResources {
    fn resource_type(&self) -> &'static str {
        CATALOG_ENTITY
    }

    fn meets(&self, resource_ref: &str, criteria: &Criteria) -> Result<Option<bool>, ApiError> {
        let entity_ref =
            EntityRef::parse(resource_ref, None, "default").map_err(ApiError::input)?;
        let refs = [entity_ref.to_string()];
        if self
            .0
            .refs_matching(&refs, Predicate::everything())
            .is_empty()
        {
            return Ok(None);
        }
        Ok(Some(
            !self.0.refs_matching(&refs, predicate(criteria)?).is_empty(),
        ))
    }
}

impl Catalog {
    /// Whether `access` may read the entity `entity_ref` (which may not exist).
    pub fn readable_by(&self, access: &Access, entity_ref: &EntityRef) -> Result<bool, ApiError> {
        Ok(match readable(access)? {
            None => true,
            Some(visible) => !self
                .refs_matching(&[entity_ref.to_string()], visible)
                .is_empty(),
        })
    }
}

/// A route layer for routes about one entity (`{namespace}/{kind}/{name}` in the path, as
/// the docs routes are): an entity the caller may not read is answered as one that does
/// not exist, before the route runs.
pub async fn readable_entity_only(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    Path(params): Path<HashMap<String, String>>,
    request: Request,
    next: Next,
) -> Response {
    let (Some(namespace), Some(kind), Some(name)) = (
        params.get("namespace"),
        params.get("kind"),
        params.get("name"),
    ) else {
        return next.run(request).await;
    };
    let entity_ref = EntityRef::new(kind, namespace, name);
    let checked = entity_ref.clone();
    match crate::http::blocking(move || catalog.readable_by(&access, &checked)).await {
        Ok(true) => next.run(request).await,
        Ok(false) => ApiError::not_found(format!("No entity {entity_ref}")).into_response(),
        Err(error) => error.into_response(),
    }
}
