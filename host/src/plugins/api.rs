//! `/api/plugins`: the plugin admin API (list, inspect, upload, delete, enable, disable) and
//! entity tabs, as thin handlers over [`PluginHost`].

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use greenroom_api::{ActionOutcome, ActionRun, EntityTabs, PluginSummary, RenderedTab};
use serde::Deserialize;

use super::PluginError;
use crate::catalog::EntityRef;
use crate::web::{ApiError, AppState, JsonBody, blocking};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(list)
                .post(upload)
                .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/tabs", get(tabs))
        .route("/{plugin}", get(one).delete(remove))
        .route("/{plugin}/enable", post(enable))
        .route("/{plugin}/disable", post(disable))
        .route("/{plugin}/tabs/{tab}", get(render_tab))
        .route("/{plugin}/actions/{action}", post(run_action))
}

/// Largest `.wasm` accepted by upload (Python and JS components run to tens of MiB).
const MAX_UPLOAD_BYTES: usize = 64 << 20;

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
            PluginError::EntityNotFound(_)
            | PluginError::UnknownPlugin(_)
            | PluginError::UnknownAction { .. } => ApiError::not_found(error.to_string()),
            PluginError::Disabled(_) => ApiError::conflict(error.to_string()),
            PluginError::Invalid(_) => ApiError::input(error.to_string()),
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

async fn one(
    State(state): State<AppState>,
    Path(plugin): Path<String>,
) -> Result<Json<PluginSummary>, ApiError> {
    state
        .plugins
        .summary(&plugin)
        .map(Json)
        .ok_or_else(|| PluginError::UnknownPlugin(plugin).into())
}

/// `POST /api/plugins` with the `.wasm` as the body: 201 with the loaded plugin, or 400 with
/// the reason it cannot be loaded (nothing is written then).
async fn upload(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<PluginSummary>), ApiError> {
    blocking(move || Ok((StatusCode::CREATED, Json(state.plugins.install(&body)?)))).await
}

async fn remove(
    State(state): State<AppState>,
    Path(plugin): Path<String>,
) -> Result<StatusCode, ApiError> {
    blocking(move || {
        state.plugins.remove(&plugin)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

async fn enable(
    State(state): State<AppState>,
    Path(plugin): Path<String>,
) -> Result<Json<PluginSummary>, ApiError> {
    blocking(move || Ok(Json(state.plugins.set_enabled(&plugin, true)?))).await
}

async fn disable(
    State(state): State<AppState>,
    Path(plugin): Path<String>,
) -> Result<Json<PluginSummary>, ApiError> {
    blocking(move || Ok(Json(state.plugins.set_enabled(&plugin, false)?))).await
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

/// Runs a scaffolder action on a scratch workspace: for plugin authors and operators to try an
/// action; the scaffolder runs actions through the same `PluginHost::run_action`.
async fn run_action(
    State(state): State<AppState>,
    Path((plugin, action)): Path<(String, String)>,
    JsonBody(run): JsonBody<ActionRun>,
) -> Result<Json<ActionOutcome>, ApiError> {
    blocking(move || Ok(Json(state.plugins.run_action(&plugin, &action, run)?))).await
}
