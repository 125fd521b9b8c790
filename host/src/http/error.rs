//! API errors in Backstage's error body:
//! `{"error":{"name","message"},"request":{"method","url"},"response":{"statusCode"}}`.
//!
//! Handlers return [`ApiError`]; the [`error_body`] middleware, which knows the request, writes
//! the body. That keeps handlers free of request plumbing.

use axum::Json;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::time::Duration;

/// A failed API call: status, Backstage error name and a message for people.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub name: &'static str,
    pub message: String,
    /// Sent as `Retry-After` (whole seconds): the server is busy, not broken.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, name: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            name,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NotFoundError", message)
    }

    pub fn input(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "InputError", message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "ConflictError", message)
    }

    pub fn not_allowed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "NotAllowedError", message)
    }

    /// 503: try again after `retry_after`.
    pub fn unavailable(message: impl Into<String>, retry_after: Duration) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailableError",
                message,
            )
        }
    }

    /// The caller asked too often; it may try again after `retry_after`.
    pub fn too_many(message: impl Into<String>, retry_after: Duration) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsError",
                message,
            )
        }
    }

    /// A failure of the server itself. Its details (paths, SQL, OS errors) go to the log
    /// under an id; the client gets only the id to quote.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let id = &id[..12];
        tracing::error!(error_id = id, "internal error: {error:#}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Error",
            format!("internal server error (error id {id}; details are in the server log)"),
        )
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        Self::internal(format!("{error:#}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Fills in the error body, with the request it answers, for responses made from [`ApiError`].
pub async fn error_body(request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let url = request.uri().to_string();
    let response = next.run(request).await;
    match response.extensions().get::<ApiError>().cloned() {
        None => response,
        Some(error) => {
            let mut response = (
                error.status,
                Json(json!({
                    "error": {"name": error.name, "message": error.message},
                    "request": {"method": method, "url": url},
                    "response": {"statusCode": error.status.as_u16()},
                })),
            )
                .into_response();
            if let Some(after) = error.retry_after {
                let seconds = after.as_secs().max(1);
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(seconds),
                );
            }
            response
        }
    }
}

/// A JSON request body; a malformed one is an `InputError` in Backstage's error body rather
/// than axum's plain-text rejection.
pub struct JsonBody<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::input(format!("cannot read the request body: {e}")))?;
        if bytes.is_empty() {
            return Err(ApiError::input("Missing request body"));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::input(format!("Malformed request body: {e}")))
    }
}

/// Runs blocking work (SQLite, wasm calls) off the async workers.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_tell_clients_an_id_and_keep_the_details_for_the_log() {
        let error = ApiError::from(anyhow::anyhow!("cannot open /srv/data/catalog.sqlite"));
        assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!error.message.contains("/srv/data"), "{}", error.message);
        let id = error
            .message
            .split("error id ")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .unwrap_or_default();
        assert_eq!(id.len(), 12, "{}", error.message);
    }
}
