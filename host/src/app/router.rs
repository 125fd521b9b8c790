//! The HTTP surface: one router joining each capability's API with the web UI.

use axum::Router;

use super::state::AppState;
use super::ui;
use crate::http::{ApiError, error_body};

pub fn router(state: AppState, ui_dir: &std::path::Path) -> Router {
    let api = Router::new()
        .nest("/api/catalog", crate::catalog::api::routes())
        .nest("/api/plugins", crate::plugins::api::routes())
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async { ApiError::not_found("no such API endpoint") }),
        )
        .layer(axum::middleware::from_fn(error_body))
        .with_state(state);
    api.merge(ui::routes(ui_dir))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}
