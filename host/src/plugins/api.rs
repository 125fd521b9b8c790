//! `/api/plugins`: the plugin admin API (list, inspect, upload, delete, enable, disable, clear
//! storage; changes need `greenroom.plugin.manage`) and what plugins show: entity tabs and
//! cards (only of entities the caller may read), pages, and the actions of their buttons and
//! forms, and plugins' own HTTP routes, as thin handlers over [`PluginHost`]. Seeing a
//! plugin's tabs, cards and pages, and using their buttons, needs `greenroom.plugin.tab.read`
//! for that plugin; its HTTP routes need a signed-in caller unless the operator made them
//! public (`auth`).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use greenroom_api::{
    ActionOutcome, ActionRun, EntityCards, EntityTabs, PageRef, PluginSummary, RenderedCard,
    RenderedPage, RenderedTab, SurfaceRef, UiAction, UiActionOutcome,
};
use serde::Deserialize;

use std::sync::Arc;

use axum::extract::FromRef;

use super::routes::{MAX_REQUEST_BYTES, RouteRequest};
use super::{PluginError, PluginHost, Viewer};
use crate::catalog::{Catalog, EntityRef};
use crate::http::{ApiError, JsonBody, blocking};
use crate::permissions::{ACTION_EXECUTE, Access, PLUGIN_MANAGE, PLUGIN_TAB_READ};

/// The plugin routes, for any application state the plugin host can be taken from.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<PluginHost>: FromRef<S>,
    Arc<Catalog>: FromRef<S>,
{
    Router::new()
        .route(
            "/",
            get(list)
                .post(upload)
                .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route("/tabs", get(tabs))
        .route("/cards", get(cards))
        .route("/pages", get(pages))
        .route("/{plugin}", get(one).delete(remove))
        .route("/{plugin}/enable", post(enable))
        .route("/{plugin}/disable", post(disable))
        .route("/{plugin}/storage", axum::routing::delete(clear_storage))
        .route("/{plugin}/tabs/{tab}", get(render_tab))
        .route("/{plugin}/cards/{card}", get(render_card))
        .route("/{plugin}/pages/{page}", get(render_page))
        .route(
            "/{plugin}/ui-actions",
            post(ui_action).layer(DefaultBodyLimit::max(MAX_ACTION_BYTES)),
        )
        .route(
            "/{plugin}/http",
            any(http_route).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
        .route(
            "/{plugin}/http/{*path}",
            any(http_route).layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES)),
        )
        .route("/{plugin}/actions/{action}", post(run_action))
}

/// What a refused (busy) plugin call tells the client to wait before trying again.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// Largest body of a button press or form submission.
const MAX_ACTION_BYTES: usize = 128 << 10;

/// Largest `.wasm` accepted by upload (Python and JS components run to tens of MiB).
const MAX_UPLOAD_BYTES: usize = 64 << 20;

#[derive(Deserialize)]
struct EntityParam {
    entity: String,
}

impl EntityParam {
    /// The entity, if the caller may read it; else as if it were not in the catalog.
    async fn readable(&self, catalog: Arc<Catalog>, access: Access) -> Result<EntityRef, ApiError> {
        let entity_ref =
            EntityRef::parse(&self.entity, None, "default").map_err(ApiError::input)?;
        let checked = entity_ref.clone();
        if blocking(move || catalog.readable_by(&access, &checked)).await? {
            Ok(entity_ref)
        } else {
            Err(PluginError::EntityNotFound(entity_ref.to_string()).into())
        }
    }
}

impl From<PluginError> for ApiError {
    fn from(error: PluginError) -> Self {
        match error {
            PluginError::EntityNotFound(_)
            | PluginError::UnknownPlugin(_)
            | PluginError::NotOffered { .. }
            | PluginError::UnknownAction { .. } => ApiError::not_found(error.to_string()),
            PluginError::Busy { .. } => ApiError::unavailable(error.to_string(), RETRY_AFTER),
            PluginError::TooManyActions(_) => ApiError::too_many(error.to_string(), RETRY_AFTER),
            PluginError::Disabled(_) => ApiError::conflict(error.to_string()),
            PluginError::Invalid(_) => ApiError::input(error.to_string()),
            PluginError::CallFailed { .. } => {
                ApiError::new(StatusCode::BAD_GATEWAY, "PluginError", error.to_string())
            }
            PluginError::Internal(e) => ApiError::from(e),
        }
    }
}

async fn list(State(plugins): State<Arc<PluginHost>>) -> Json<Vec<PluginSummary>> {
    Json(plugins.summaries())
}

async fn one(
    State(plugins): State<Arc<PluginHost>>,
    Path(plugin): Path<String>,
) -> Result<Json<PluginSummary>, ApiError> {
    plugins
        .summary(&plugin)
        .map(Json)
        .ok_or_else(|| PluginError::UnknownPlugin(plugin).into())
}

/// `POST /api/plugins` with the `.wasm` as the body: 201 with the loaded plugin, or 400 with
/// the reason it cannot be loaded (nothing is written then).
async fn upload(
    State(plugins): State<Arc<PluginHost>>,
    access: Access,
    body: Bytes,
) -> Result<(StatusCode, Json<PluginSummary>), ApiError> {
    access.require(PLUGIN_MANAGE)?;
    blocking(move || Ok((StatusCode::CREATED, Json(plugins.install(&body)?)))).await
}

async fn remove(
    State(plugins): State<Arc<PluginHost>>,
    access: Access,
    Path(plugin): Path<String>,
) -> Result<StatusCode, ApiError> {
    access.require(PLUGIN_MANAGE)?;
    blocking(move || {
        plugins.remove(&plugin)?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

async fn enable(
    State(plugins): State<Arc<PluginHost>>,
    access: Access,
    Path(plugin): Path<String>,
) -> Result<Json<PluginSummary>, ApiError> {
    access.require(PLUGIN_MANAGE)?;
    blocking(move || Ok(Json(plugins.set_enabled(&plugin, true)?))).await
}

async fn disable(
    State(plugins): State<Arc<PluginHost>>,
    access: Access,
    Path(plugin): Path<String>,
) -> Result<Json<PluginSummary>, ApiError> {
    access.require(PLUGIN_MANAGE)?;
    blocking(move || Ok(Json(plugins.set_enabled(&plugin, false)?))).await
}

async fn clear_storage(
    State(plugins): State<Arc<PluginHost>>,
    access: Access,
    Path(plugin): Path<String>,
) -> Result<Json<PluginSummary>, ApiError> {
    access.require(PLUGIN_MANAGE)?;
    blocking(move || Ok(Json(plugins.clear_storage(&plugin)?))).await
}

async fn tabs(
    State(plugins): State<Arc<PluginHost>>,
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    Query(param): Query<EntityParam>,
) -> Result<Json<EntityTabs>, ApiError> {
    let (entity_ref, visible, viewer, shown) = asking(catalog, access, param).await?;
    let tabs = plugins.tabs_for(&entity_ref, visible, viewer, shown);
    Ok(Json(tabs.await?))
}

async fn cards(
    State(plugins): State<Arc<PluginHost>>,
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    Query(param): Query<EntityParam>,
) -> Result<Json<EntityCards>, ApiError> {
    let (entity_ref, visible, viewer, shown) = asking(catalog, access, param).await?;
    let cards = plugins.cards_for(&entity_ref, visible, viewer, shown);
    Ok(Json(cards.await?))
}

/// What asking every plugin about an entity needs: the entity (when the caller may read
/// it), what the caller may read of the catalog, who they are, and which plugins they see.
async fn asking(
    catalog: Arc<Catalog>,
    access: Access,
    param: EntityParam,
) -> Result<
    (
        EntityRef,
        Option<crate::catalog::Predicate>,
        Viewer,
        impl Fn(&str) -> bool + Send + 'static,
    ),
    ApiError,
> {
    let visible = crate::catalog::permissions::readable(&access)?;
    let (viewer, checked) = (Viewer::of(&access), access.clone());
    let entity_ref = param.readable(catalog, access).await?;
    Ok((entity_ref, visible, viewer, move |plugin: &str| {
        checked.may_see_plugin(plugin)
    }))
}

async fn pages(State(plugins): State<Arc<PluginHost>>, access: Access) -> Json<Vec<PageRef>> {
    Json(plugins.pages(|plugin| access.may_see_plugin(plugin)))
}

async fn render_tab(
    State(plugins): State<Arc<PluginHost>>,
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    Path((plugin, tab)): Path<(String, String)>,
    Query(param): Query<EntityParam>,
) -> Result<Json<RenderedTab>, ApiError> {
    let surface = SurfaceRef::Tab(tab.clone());
    let (entity_ref, tree) = rendered(plugins, catalog, access, &plugin, surface, param).await?;
    Ok(Json(RenderedTab {
        plugin_id: plugin,
        tab_id: tab,
        entity_ref,
        tree,
    }))
}

async fn render_card(
    State(plugins): State<Arc<PluginHost>>,
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    Path((plugin, card)): Path<(String, String)>,
    Query(param): Query<EntityParam>,
) -> Result<Json<RenderedCard>, ApiError> {
    let surface = SurfaceRef::Card(card.clone());
    let (entity_ref, tree) = rendered(plugins, catalog, access, &plugin, surface, param).await?;
    Ok(Json(RenderedCard {
        plugin_id: plugin,
        card_id: card,
        entity_ref,
        tree,
    }))
}

/// Renders a tab or card of a plugin the caller may see, on an entity they may read.
async fn rendered(
    plugins: Arc<PluginHost>,
    catalog: Arc<Catalog>,
    access: Access,
    plugin: &str,
    surface: SurfaceRef,
    param: EntityParam,
) -> Result<(String, greenroom_api::UiNode), ApiError> {
    let (visible, viewer) = shown_plugin(&access, plugin)?;
    let entity_ref = param.readable(catalog, access).await?;
    let tree = plugins
        .render(plugin, surface, Some(entity_ref.clone()), visible, viewer)
        .await?;
    Ok((entity_ref.to_string(), tree))
}

async fn render_page(
    State(plugins): State<Arc<PluginHost>>,
    access: Access,
    Path((plugin, page)): Path<(String, String)>,
) -> Result<Json<RenderedPage>, ApiError> {
    let (visible, viewer) = shown_plugin(&access, &plugin)?;
    let title = plugins
        .pages(|id| id == plugin)
        .into_iter()
        .find(|p| p.page_id == page)
        .map(|p| p.title)
        .unwrap_or_default();
    let surface = SurfaceRef::Page(page.clone());
    let tree = plugins
        .render(&plugin, surface, None, visible, viewer)
        .await?;
    Ok(Json(RenderedPage {
        plugin_id: plugin,
        page_id: page,
        title,
        tree,
    }))
}

/// A button press or form submission. CSRF-safe like every state change (`http::guard`
/// refuses other sites' requests and form bodies; the session cookie is `SameSite=Lax`).
async fn ui_action(
    State(plugins): State<Arc<PluginHost>>,
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    Path(plugin): Path<String>,
    JsonBody(action): JsonBody<UiAction>,
) -> Result<Json<UiActionOutcome>, ApiError> {
    let (visible, viewer) = shown_plugin(&access, &plugin)?;
    if let Some(entity) = &action.entity {
        EntityParam {
            entity: entity.clone(),
        }
        .readable(catalog, access)
        .await?;
    }
    Ok(Json(
        plugins
            .handle_action(&plugin, action, visible, viewer)
            .await?,
    ))
}

/// A request to one of the plugin's HTTP routes, answered by the plugin.
async fn http_route(
    State(plugins): State<Arc<PluginHost>>,
    access: Access,
    Path(params): Path<Vec<(String, String)>>,
    request: axum::extract::Request,
) -> Result<axum::response::Response, ApiError> {
    let plugin = params
        .iter()
        .find(|(key, _)| key == "plugin")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_REQUEST_BYTES)
        .await
        .map_err(|e| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "InputError", e.to_string()))?;
    // The path below `/http`, as sent (still percent-encoded), with the query. (Nested
    // routers see the URI without `/api/plugins`.)
    let marker = format!("{plugin}/http");
    let below = parts
        .uri
        .path_and_query()
        .map_or("", |p| p.as_str())
        .split_once(marker.as_str())
        .map_or("", |(_, below)| below);
    let path = if below.starts_with('/') {
        below.to_string()
    } else {
        format!("/{below}")
    };
    let request = RouteRequest {
        method: parts.method,
        path,
        headers: parts.headers,
        body,
    };
    let visible = crate::catalog::permissions::readable(&access)?;
    let response = plugins
        .serve_route(&plugin, request, visible, Viewer::of(&access))
        .await?;
    Ok(response.map(axum::body::Body::from))
}

/// What the caller may read of the catalog and who they are, when they may see the plugin.
fn shown_plugin(
    access: &Access,
    plugin: &str,
) -> Result<(Option<crate::catalog::Predicate>, Viewer), ApiError> {
    if !access.may_see_plugin(plugin) {
        return Err(access.refused(format_args!("{PLUGIN_TAB_READ} of plugin {plugin}")));
    }
    let visible = crate::catalog::permissions::readable(access)?;
    Ok((visible, Viewer::of(access)))
}

/// Runs a scaffolder action on a scratch workspace: for plugin authors and operators to try an
/// action; the scaffolder runs actions through the same `PluginHost::run_action`.
async fn run_action(
    State(plugins): State<Arc<PluginHost>>,
    access: Access,
    Path((plugin, action)): Path<(String, String)>,
    JsonBody(run): JsonBody<ActionRun>,
) -> Result<Json<ActionOutcome>, ApiError> {
    let id = format!("{plugin}:{action}");
    if !crate::scaffolder::permissions::may_execute(&access, &id) {
        return Err(access.refused(format_args!("{ACTION_EXECUTE} {id}")));
    }
    Ok(Json(plugins.run_action(&plugin, &action, run).await?))
}
