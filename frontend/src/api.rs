//! Calls to the host's REST API.

use gloo_net::http::Request;
use serde::de::DeserializeOwned;
use serde_json::Value;
use wasm_bindgen::JsValue;

/// GETs JSON. A failure carries the server's error message (Backstage's error body) when
/// there is one.
pub async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, String> {
    read_json(Request::get(url).send().await).await
}

/// POSTs a body (a `File` from a file input, or nothing) and reads the JSON answer.
pub async fn post<T: DeserializeOwned>(url: &str, body: Option<JsValue>) -> Result<T, String> {
    let request = Request::post(url);
    let sent = match body {
        Some(body) => {
            request
                .body(body)
                .map_err(|e| format!("request failed: {e}"))?
                .send()
                .await
        }
        None => request.send().await,
    };
    read_json(sent).await
}

/// DELETEs; the answer's body is not needed.
pub async fn delete(url: &str) -> Result<(), String> {
    read_json::<Value>(Request::delete(url).send().await)
        .await
        .map(|_| ())
}

/// A request that failed: the answer's status (none when no answer came), its JSON body
/// (null when it had none) and a message for people (Backstage's error message when the
/// body is its error body: a refusal's says who may not do what, and why).
#[derive(Clone, Debug)]
pub struct Failure {
    pub status: Option<u16>,
    pub body: Value,
    pub message: String,
}

impl Failure {
    /// The server refused: the caller may not do this (403, Backstage's `NotAllowedError`).
    pub fn is_denied(&self) -> bool {
        self.status == Some(403) || self.body["error"]["name"] == "NotAllowedError"
    }
}

/// GETs JSON; the failure keeps the answer's status and body (a refusal is told apart from
/// other failures).
pub async fn get_json_or_failure<T: DeserializeOwned>(url: &str) -> Result<T, Failure> {
    read(Request::get(url).send().await).await
}

/// POSTs `body` as JSON. The failure keeps the answer's body: a form needs its `errors`.
pub async fn post_json<T: DeserializeOwned>(url: &str, body: &Value) -> Result<T, Failure> {
    let sent = match Request::post(url).json(body) {
        Ok(request) => request.send().await,
        Err(e) => Err(e),
    };
    read(sent).await
}

async fn read_json<T: DeserializeOwned>(
    sent: Result<gloo_net::http::Response, gloo_net::Error>,
) -> Result<T, String> {
    read(sent).await.map_err(|failure| failure.message)
}

async fn read<T: DeserializeOwned>(
    sent: Result<gloo_net::http::Response, gloo_net::Error>,
) -> Result<T, Failure> {
    let response = sent.map_err(|e| Failure {
        status: None,
        body: Value::Null,
        message: format!("request failed: {e}"),
    })?;
    let status = response.status();
    let failure = |body, message| Failure {
        status: Some(status),
        body,
        message,
    };
    if !response.ok() {
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let message = match body["error"]["message"].as_str() {
            Some(message) => message.to_string(),
            None if status == 403 => format!("HTTP {status}: not allowed"),
            None => format!("HTTP {status}"),
        };
        return Err(failure(body, message));
    }
    if status == 204 {
        return serde_json::from_value(Value::Null)
            .map_err(|e| failure(Value::Null, e.to_string()));
    }
    response
        .json()
        .await
        .map_err(|e| failure(Value::Null, format!("unexpected response: {e}")))
}

pub fn encode(text: &str) -> String {
    urlencoding::encode(text).into_owned()
}

/// A catalog entity's ref in canonical form, from its JSON.
pub fn entity_ref(entity: &Value) -> String {
    greenroom_api::EntityRef::of(entity).to_string()
}

pub use greenroom_api::entity::{display_name, field, is_safe_link, page_path as entity_path};

/// A JSON string field, or "" when absent.
pub fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

/// The ref a reference field was resolved to, from the entity's relations (which know the
/// field's default kind and namespace).
pub fn reference_target(entity: &Value, path: &str) -> Option<String> {
    let (relation, kind) = match path {
        "spec.owner" => ("ownedBy", ""),
        "spec.system" => ("partOf", "system:"),
        "spec.domain" => ("partOf", "domain:"),
        "spec.parent" => ("childOf", ""),
        _ => return None,
    };
    entity["relations"]
        .as_array()?
        .iter()
        .filter(|r| r["type"] == relation)
        .map(|r| text(&r["targetRef"]))
        .find(|target| target.starts_with(kind))
}
