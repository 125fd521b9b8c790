//! Location endpoints: list, register (with `dryRun`), look up and remove locations; each
//! needs its `catalog.location.*` permission.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::params::Params;
use std::sync::Arc;

use crate::catalog::{Catalog, EntityRef, LocationError, LocationRow};
use crate::http::{ApiError, JsonBody, blocking};
use crate::permissions::{Access, LOCATION_CREATE, LOCATION_DELETE, LOCATION_READ};

impl From<LocationError> for ApiError {
    fn from(error: LocationError) -> Self {
        match error {
            LocationError::Input(m) => ApiError::input(m),
            LocationError::NotAllowed(m) => ApiError::not_allowed(m),
            LocationError::Conflict(m) => ApiError::conflict(m),
            LocationError::NotFound(m) => ApiError::not_found(m),
            LocationError::Store(e) => e.into(),
        }
    }
}

/// A location as Backstage's API shows it.
fn location_json(location: &LocationRow) -> Value {
    let entity_ref = crate::catalog::location_entity_ref(&location.kind, &location.target);
    json!({"id": location.id, "type": location.kind, "target": location.target, "entityRef": entity_ref})
}

/// `GET locations`: `[{"data": location}]`.
pub async fn list(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
) -> Result<Json<Value>, ApiError> {
    access.require(LOCATION_READ)?;
    blocking(move || {
        let items: Vec<Value> = catalog
            .locations()?
            .iter()
            .map(|l| json!({ "data": location_json(l) }))
            .collect();
        Ok(Json(Value::Array(items)))
    })
    .await
}

pub async fn by_id(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    access.require(LOCATION_READ)?;
    blocking(move || {
        catalog
            .location(&id)?
            .map(|l| Json(location_json(&l)))
            .ok_or_else(|| ApiError::not_found(format!("Found no location with ID {id}")))
    })
    .await
}

pub async fn by_entity(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    access.require(LOCATION_READ)?;
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    blocking(move || {
        catalog
            .location_of(&entity_ref)?
            .map(|l| Json(location_json(&l)))
            .ok_or_else(|| ApiError::not_found(format!("found no entity for ref {entity_ref}")))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddBody {
    #[serde(rename = "type")]
    kind: String,
    target: String,
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "accepted for Backstage compatibility; file locations are always required"
    )]
    presence: Option<String>,
}

/// `POST locations[?dryRun=true]`: 201 with the location and, in a dry run, the entities it
/// holds.
pub async fn add(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    RawQuery(query): RawQuery,
    JsonBody(body): JsonBody<AddBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    access.require(LOCATION_CREATE)?;
    let params = Params::parse(query.as_deref())?;
    let dry_run = matches!(params.one("dryRun"), Some("true" | "yes" | "1" | "y"));
    blocking(move || {
        let added = catalog.add_location(&body.kind, &body.target, dry_run)?;
        let mut location = location_json(&added.location);
        let mut response = json!({"location": location.clone(), "entities": added.entities});
        if dry_run {
            location["id"] = json!(format!("{}:{}", added.location.kind, added.location.target));
            response["location"] = location;
            response["exists"] = json!(added.exists);
        }
        Ok((StatusCode::CREATED, Json(response)))
    })
    .await
}

/// `DELETE locations/:id`: 204; what only this location defined is orphaned.
pub async fn delete(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    access.require(LOCATION_DELETE)?;
    blocking(move || {
        catalog.delete_location(&id)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}
