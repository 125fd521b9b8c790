//! `/api/plugins`: loaded plugins and their entity tabs, as thin handlers over [`PluginHost`].

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use greenroom_api::{EntityTabs, PluginSummary, RenderedTab};
use serde::Deserialize;

use super::PluginError;
use crate::catalog::EntityRef;
use crate::web::{ApiError, AppState, blocking};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(list))
        .route("/tabs", get(tabs))
        .route("/{plugin}/tabs/{tab}", get(render_tab))
}

#[derive(Deserialize)]
struct EntityParam {
    entity: String,
}

impl EntityParam {
    fn entity_ref(&self) -> Result<EntityRef, ApiError> {
        EntityRef::parse(&self.entity, None, "default").map_err(ApiError::input)
    }
}

impl From<PluginError> for ApiError {
    fn from(error: PluginError) -> Self {
        match error {
            PluginError::EntityNotFound(_) | PluginError::UnknownPlugin(_) => {
                ApiError::not_found(error.to_string())
            }
            PluginError::CallFailed { .. } => ApiError {
                status: StatusCode::BAD_GATEWAY,
                name: "PluginError",
                message: error.to_string(),
            },
            PluginError::Internal(e) => ApiError::from(e),
        }
    }
}

async fn list(State(state): State<AppState>) -> Json<Vec<PluginSummary>> {
    Json(state.plugins.summaries())
}

async fn tabs(
    State(state): State<AppState>,
    Query(param): Query<EntityParam>,
) -> Result<Json<EntityTabs>, ApiError> {
    let entity_ref = param.entity_ref()?;
    blocking(move || Ok(Json(state.plugins.tabs_for(&entity_ref)?))).await
}

async fn render_tab(
    State(state): State<AppState>,
    Path((plugin, tab)): Path<(String, String)>,
    Query(param): Query<EntityParam>,
) -> Result<Json<RenderedTab>, ApiError> {
    let entity_ref = param.entity_ref()?;
    blocking(move || {
        Ok(Json(state.plugins.render_tab(
            &plugin,
            &tab,
            &entity_ref,
        )?))
    })
    .await
}
