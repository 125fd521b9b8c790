//! The HTTP surface: one router joining each capability's API with the web UI.

mod error;
mod json_text;
mod ui;

use std::sync::Arc;

use axum::Router;

pub use error::{ApiError, JsonBody, blocking};
pub use json_text::{JsonText, array as json_array};

use crate::catalog::Catalog;
use crate::plugins::PluginHost;

/// What every handler can reach: the capability services.
#[derive(Clone)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
    pub plugins: Arc<PluginHost>,
}

pub fn router(state: AppState, ui_dir: &std::path::Path) -> Router {
    let api = Router::new()
        .nest("/api/catalog", crate::catalog::api::routes())
        .nest("/api/plugins", crate::plugins::api::routes())
        .route(
            "/api/{*rest}",
            axum::routing::any(|| async { ApiError::not_found("no such API endpoint") }),
        )
        .layer(axum::middleware::from_fn(error::error_body))
        .with_state(state);
    api.merge(ui::routes(ui_dir))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}
