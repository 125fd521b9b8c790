//! The HTTP surface: one router joining each capability's API with the web UI.

use axum::Router;

use super::state::AppState;
use super::ui;
use crate::http::{AllowedHosts, ApiError, SecurityHeaders, error_body, guard, security_headers};

pub fn router(
    state: AppState,
    ui_dir: &std::path::Path,
    hosts: AllowedHosts,
    headers: SecurityHeaders,
) -> Router {
    // Docs are read only by who may read their entity.
    let entity_scoped = axum::middleware::from_fn_with_state(
        state.catalog.clone(),
        crate::catalog::permissions::readable_entity_only,
    );
    let api = Router::new()
        .nest("/api/catalog", crate::catalog::api::routes())
        .nest("/api/plugins", crate::plugins::api::routes())
        .nest(
            "/api/techdocs",
            crate::techdocs::api::techdocs_routes().route_layer(entity_scoped.clone()),
        )
        .nest(
            "/api/docs",
            crate::techdocs::api::docs_routes().route_layer(entity_scoped),
        )
        .nest("/api/scaffolder", crate::scaffolder::api::routes())
        .nest("/api/auth", crate::auth::api::routes())
        .nest("/api/permission", crate::permissions::api::routes())
        .nest("/api/search", crate::search::api::routes())
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async { ApiError::not_found("no such API endpoint") }),
        )
        // Inside sign-in's layer: the access it decides is for the identity found there.
        .layer(axum::middleware::from_fn_with_state(
            state.permissions.clone(),
            crate::permissions::attach,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.auth.clone(),
            crate::auth::require_identity,
        ))
        .with_state(state);
    // The guard refuses before any route runs, and its refusals get the error body too.
    api.merge(ui::routes(ui_dir))
        .layer(axum::middleware::from_fn_with_state(hosts, guard))
        .layer(axum::middleware::from_fn(error_body))
        .layer(axum::middleware::from_fn_with_state(
            headers,
            security_headers,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}
