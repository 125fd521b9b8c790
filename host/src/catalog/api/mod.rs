//! `/api/catalog`: Backstage's catalog REST API, as thin handlers over [`Catalog`]
//! (`super::Catalog`). Paths, parameters, JSON shapes and status codes follow Backstage's
//! catalog backend so its clients work unchanged.

mod entities;
mod locations;
mod params;

use axum::Router;
use axum::routing::{get, post};

use std::sync::Arc;

use axum::extract::FromRef;

use super::Catalog;

/// The catalog's routes, for any application state the catalog can be taken from.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Catalog>: FromRef<S>,
{
    Router::new()
        .route("/entities", get(entities::list))
        .route(
            "/entities/by-query",
            get(entities::by_query).post(entities::by_query_post),
        )
        .route(
            "/entities/by-uid/{uid}",
            get(entities::by_uid).delete(entities::delete_by_uid),
        )
        .route(
            "/entities/by-name/{kind}/{namespace}/{name}",
            get(entities::by_name),
        )
        .route(
            "/entities/by-name/{kind}/{namespace}/{name}/ancestry",
            get(entities::ancestry),
        )
        .route("/entities/by-refs", post(entities::by_refs))
        .route(
            "/entity-facets",
            get(entities::facets).post(entities::facets_post),
        )
        .route("/refresh", post(entities::refresh))
        .route("/validate-entity", post(entities::validate))
        .route("/errors", get(entities::errors))
        .route("/locations", get(locations::list).post(locations::add))
        .route(
            "/locations/{id}",
            get(locations::by_id).delete(locations::delete),
        )
        .route(
            "/locations/by-entity/{kind}/{namespace}/{name}",
            get(locations::by_entity),
        )
}
