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

/// A failed API call: status, Backstage error name and a message for people.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub name: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            name: "NotFoundError",
            message: message.into(),
        }
    }

    pub fn input(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            name: "InputError",
            message: message.into(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            name: "ConflictError",
            message: message.into(),
        }
    }

    pub fn not_allowed(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::FORBIDDEN,
            name: "NotAllowedError",
            message: message.into(),
        }
    }

    /// A failure of the server itself. Its details (paths, SQL, OS errors) go to the log
    /// under an id; the client gets only the id to quote.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let id = &id[..12];
        tracing::error!(error_id = id, "internal error: {error:#}");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            name: "Error",
            message: format!(
                "internal server error (error id {id}; details are in the server log)"
            ),
        }
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
        Some(error) => (
            error.status,
            Json(json!({
                "error": {"name": error.name, "message": error.message},
                "request": {"method": method, "url": url},
                "response": {"statusCode": error.status.as_u16()},
            })),
        )
            .into_response(),
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
