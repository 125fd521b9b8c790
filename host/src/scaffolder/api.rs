//! `/api/scaffolder/v2`: Backstage's scaffolder API, same paths and shapes, thin over
//! [`Scaffolder`]. Plus `POST templates/.../validate`, the form's per-page check.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use greenroom_api::EntityRef;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::tasks::store::EventRow;
use super::{GUEST, Scaffolder, ScaffolderError, TaskQuery, Template};
use crate::http::{ApiError, JsonBody, blocking};
use crate::permissions::{Access, Identity, TASK_CANCEL, TASK_CREATE, TASK_READ};

/// How long `GET tasks/:id/events` waits for a new event before answering with none.
const LONG_POLL: Duration = Duration::from_secs(30);
/// A comment line keeps an idle event stream open through proxies and finds gone clients.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Scaffolder>: axum::extract::FromRef<S>,
{
    Router::new()
        .route(
            "/v2/templates/{namespace}/{kind}/{name}/parameter-schema",
            get(parameter_schema),
        )
        .route(
            "/v2/templates/{namespace}/{kind}/{name}/validate",
            post(validate),
        )
        .route("/v2/actions", get(actions))
        .route("/v2/tasks", post(create_task).get(list_tasks))
        .route("/v2/tasks/{id}", get(get_task))
        .route("/v2/tasks/{id}/eventstream", get(event_stream))
        .route("/v2/tasks/{id}/events", get(events))
        .route("/v2/tasks/{id}/cancel", post(cancel))
        .route("/v2/tasks/{id}/retry", post(retry))
        .route(
            "/v2/dry-run",
            // A skeleton travels base64-encoded in the body: room for the 32 MiB a dry run
            // may hold.
            post(dry_run).layer(axum::extract::DefaultBodyLimit::max(48 << 20)),
        )
        .route("/v2/templating-extensions", get(templating_extensions))
}

fn refused(error: ScaffolderError) -> Response {
    match error {
        ScaffolderError::Invalid(errors) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"errors": errors.iter().map(|e| e.to_json()).collect::<Vec<_>>()})),
        )
            .into_response(),
        ScaffolderError::Input(m) => ApiError::input(m).into_response(),
        ScaffolderError::NotFound(m) => ApiError::not_found(m).into_response(),
        ScaffolderError::Conflict(m) => ApiError::conflict(m).into_response(),
        ScaffolderError::Busy(m) => {
            ApiError::unavailable(m, Duration::from_secs(1)).into_response()
        }
        ScaffolderError::Refused(e) => e.into_response(),
        ScaffolderError::Internal(e) => ApiError::from(e).into_response(),
    }
}

/// Runs scaffolder work off the async workers; its refusals become responses.
async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ScaffolderError> + Send + 'static,
) -> Result<T, Response> {
    match blocking(move || Ok(work())).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(refused(error)),
        Err(error) => Err(error.into_response()),
    }
}

type Triplet = (String, String, String);

async fn parameter_schema(
    State(scaffolder): State<Arc<Scaffolder>>,
    access: Access,
    Path((namespace, kind, name)): Path<Triplet>,
) -> Result<Json<Value>, Response> {
    off_thread(move || {
        Ok(Json(
            scaffolder
                .template_for(&access, &namespace, &kind, &name)?
                .parameter_schema(),
        ))
    })
    .await
}

#[derive(Deserialize)]
struct ValidateBody {
    #[serde(default)]
    values: Value,
    step: Option<usize>,
}

/// `{errors: [{path, message}]}`: each error with the path of the field it belongs to.
async fn validate(
    State(scaffolder): State<Arc<Scaffolder>>,
    access: Access,
    Path((namespace, kind, name)): Path<Triplet>,
    JsonBody(body): JsonBody<ValidateBody>,
) -> Result<Json<Value>, Response> {
    off_thread(move || {
        let template = scaffolder.template_for(&access, &namespace, &kind, &name)?;
        let values = if body.values.is_null() {
            json!({})
        } else {
            body.values
        };
        let errors = match template.validate(&values, body.step) {
            Ok(()) => Vec::new(),
            Err(errors) => errors
                .iter()
                .map(|e| json!({"path": e.field_path(), "message": e.message}))
                .collect(),
        };
        Ok(Json(json!({ "errors": errors })))
    })
    .await
}

async fn actions(State(scaffolder): State<Arc<Scaffolder>>) -> Json<Value> {
    Json(Value::Array(
        scaffolder.actions().iter().map(|a| a.to_json()).collect(),
    ))
}

async fn templating_extensions(State(scaffolder): State<Arc<Scaffolder>>) -> Json<Value> {
    Json(scaffolder.templating_extensions())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    template_ref: String,
    #[serde(default)]
    values: Value,
    #[serde(default)]
    secrets: Option<Map<String, Value>>,
}

async fn create_task(
    State(scaffolder): State<Arc<Scaffolder>>,
    access: Access,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, Response> {
    // The caller runs the task; without sign-in, Backstage's guest.
    let user = match access.caller() {
        Some(Identity::User { user_ref, .. }) => user_ref.clone(),
        Some(Identity::Service { subject }) => subject.clone(),
        None => GUEST.to_string(),
    };
    let id = off_thread(move || {
        let r = EntityRef::parse(&body.template_ref, Some("template"), "default")
            .map_err(|e| ScaffolderError::Input(format!("templateRef: {e}")))?;
        let template = scaffolder.template_for(&access, &r.namespace, &r.kind, &r.name)?;
        scaffolder.check_run(&access, &template)?;
        let values = if body.values.is_null() {
            json!({})
        } else {
            body.values
        };
        if !values.is_object() {
            return Err(ScaffolderError::Input("values must be an object".into()));
        }
        scaffolder.create_task(&template, values, body.secrets.unwrap_or_default(), &user)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

/// `createdBy`, `status` (repeatable), `order=desc:createdAt`, `limit`, `offset`.
fn task_query(raw: Option<String>) -> Result<TaskQuery, ScaffolderError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ScaffolderError::Input(format!("query: {e}")))?;
    let mut query = TaskQuery {
        newest_first: true,
        ..Default::default()
    };
    let number = |key: &str, value: &str| {
        value
            .parse::<u64>()
            .map_err(|_| ScaffolderError::Input(format!("{key} must be a whole number")))
    };
    for (key, value) in pairs {
        match key.as_str() {
            "createdBy" => query.created_by.push(value),
            "status" => query.status.push(value),
            "limit" => query.limit = Some(number("limit", &value)?),
            "offset" => query.offset = number("offset", &value)?,
            "order" => {
                query.newest_first = match value.split_once(':') {
                    Some(("asc", "createdAt" | "created_at")) => false,
                    Some(("desc", "createdAt" | "created_at")) => true,
                    _ => {
                        return Err(ScaffolderError::Input(format!(
                            "order '{value}' must be asc:created_at or desc:created_at"
                        )));
                    }
                };
            }
            _ => {}
        }
    }
    Ok(query)
}

async fn list_tasks(
    State(scaffolder): State<Arc<Scaffolder>>,
    access: Access,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, Response> {
    off_thread(move || {
        let (tasks, total) = scaffolder.tasks_for(&access, &task_query(raw)?)?;
        Ok(Json(json!({"tasks": tasks, "totalTasks": total})))
    })
    .await
}

async fn get_task(
    State(scaffolder): State<Arc<Scaffolder>>,
    access: Access,
    Path(id): Path<String>,
) -> Result<Json<Value>, Response> {
    off_thread(move || scaffolder.task_for(&access, TASK_READ, &id).map(Json)).await
}

/// Refuses a caller who may not hold task `id` under `permission`.
async fn check_task(
    scaffolder: &Arc<Scaffolder>,
    access: Access,
    permission: &'static str,
    id: &str,
) -> Result<(), Response> {
    let (scaffolder, id) = (scaffolder.clone(), id.to_string());
    off_thread(move || scaffolder.task_for(&access, permission, &id).map(|_| ())).await
}

#[derive(Deserialize)]
struct After {
    after: Option<i64>,
}

fn after(raw: &Option<String>) -> Result<i64, ApiError> {
    let query: After = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| ApiError::input("after must be an event id"))?;
    Ok(query.after.unwrap_or(0))
}

async fn backlog(
    scaffolder: &Arc<Scaffolder>,
    id: &str,
    after: i64,
) -> Result<Vec<EventRow>, Response> {
    let (scaffolder, id) = (scaffolder.clone(), id.to_string());
    off_thread(move || scaffolder.events_after(&id, after)).await
}

/// Backstage's event stream: every event after `after`, then new ones as they happen,
/// ending with the task's `completion`.
async fn event_stream(
    State(scaffolder): State<Arc<Scaffolder>>,
    access: Access,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, Response> {
    let after = after(&raw).map_err(IntoResponse::into_response)?;
    check_task(&scaffolder, access, TASK_READ, &id).await?;
    // Subscribed before the backlog is read, so nothing falls between them.
    let mut live = scaffolder.subscribe();
    let past = backlog(&scaffolder, &id, after).await?;
    let (tx, rx) = tokio::sync::mpsc::channel::<String>(64);
    tokio::spawn(async move {
        let frame = |e: &EventRow| format!("event: {}\ndata: {}\n\n", e.kind, e.to_json());
        let mut last = after;
        for event in &past {
            last = event.id;
            if tx.send(frame(event)).await.is_err() || event.kind == "completion" {
                return;
            }
        }
        let mut keep_alive = tokio::time::interval(KEEP_ALIVE);
        loop {
            let event = tokio::select! {
                event = live.recv() => event,
                _ = keep_alive.tick() => {
                    if tx.send(":\n\n".into()).await.is_err() {
                        return;
                    }
                    continue;
                }
            };
            let events = match event {
                Ok(event) if event.task_id == id && event.id > last => vec![(*event).clone()],
                Ok(_) => continue,
                // Too slow a reader: what it missed is in the store.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    match backlog(&scaffolder, &id, last).await {
                        Ok(missed) => missed,
                        Err(_) => return,
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            for event in &events {
                last = event.id;
                if tx.send(frame(event)).await.is_err() || event.kind == "completion" {
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|text| (Ok::<_, Infallible>(text), rx))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// The events after `after`; with none yet, waits up to 30 s for one (a long poll).
async fn events(
    State(scaffolder): State<Arc<Scaffolder>>,
    access: Access,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, Response> {
    let after = after(&raw).map_err(IntoResponse::into_response)?;
    check_task(&scaffolder, access, TASK_READ, &id).await?;
    let mut live = scaffolder.subscribe();
    let mut found = backlog(&scaffolder, &id, after).await?;
    if found.is_empty() {
        let wait = async {
            loop {
                match live.recv().await {
                    Ok(event) if event.task_id == id => return,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        };
        if tokio::time::timeout(LONG_POLL, wait).await.is_ok() {
            found = backlog(&scaffolder, &id, after).await?;
        }
    }
    Ok(Json(Value::Array(
        found.iter().map(EventRow::to_json).collect(),
    )))
}

async fn cancel(
    State(scaffolder): State<Arc<Scaffolder>>,
    access: Access,
    Path(id): Path<String>,
) -> Result<Json<Value>, Response> {
    check_task(&scaffolder, access.clone(), TASK_READ, &id).await?;
    check_task(&scaffolder, access, TASK_CANCEL, &id).await?;
    off_thread(move || scaffolder.cancel(&id)).await?;
    Ok(Json(json!({"status": "cancelled"})))
}

#[derive(Deserialize, Default)]
struct RetryBody {
    secrets: Option<Map<String, Value>>,
}

/// Needs to read the task and to create tasks.
async fn retry(
    State(scaffolder): State<Arc<Scaffolder>>,
    access: Access,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, Response> {
    access
        .require(TASK_CREATE)
        .map_err(IntoResponse::into_response)?;
    check_task(&scaffolder, access, TASK_READ, &id).await?;
    // The body is optional: `{}` or nothing retries with the secrets the task has.
    let body: RetryBody = if body.iter().all(u8::is_ascii_whitespace) {
        RetryBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::input(format!("Malformed request body: {e}")).into_response())?
    };
    let task_id = id.clone();
    off_thread(move || scaffolder.retry(&task_id, body.secrets)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DryRunBody {
    template: Value,
    #[serde(default)]
    values: Value,
    #[serde(default)]
    secrets: Option<Map<String, Value>>,
    #[serde(default)]
    directory_contents: Vec<DryRunFileBody>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DryRunFileBody {
    path: String,
    base64_content: String,
}

/// Needs what a real run needs: creating tasks, the steps' tags and actions.
async fn dry_run(
    State(scaffolder): State<Arc<Scaffolder>>,
    access: Access,
    JsonBody(body): JsonBody<DryRunBody>,
) -> Result<Json<Value>, Response> {
    off_thread(move || {
        let template = Template::from_entity(&body.template)
            .map_err(|e| ScaffolderError::Input(format!("template: {e}")))?;
        scaffolder.check_run(&access, &template)?;
        let contents = body
            .directory_contents
            .into_iter()
            .enumerate()
            .map(|(i, file)| {
                base64::engine::general_purpose::STANDARD
                    .decode(file.base64_content.as_bytes())
                    .map(|bytes| (file.path, bytes))
                    .map_err(|e| {
                        ScaffolderError::Input(format!("directoryContents[{i}].base64Content: {e}"))
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let values = if body.values.is_null() {
            json!({})
        } else {
            body.values
        };
        let run = scaffolder.dry_run(
            &body.template,
            values,
            body.secrets.unwrap_or_default(),
            contents,
        )?;
        Ok(Json(json!({
            "log": run.log,
            "directoryContents": run.files.iter().map(|f| f.to_json()).collect::<Vec<_>>(),
            "output": run.output,
            "steps": run.steps,
        })))
    })
    .await
}
