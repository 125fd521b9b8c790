//! Calls to the host's REST API.

use gloo_net::http::Request;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// GETs JSON. A failure carries the server's error message (Backstage's error body) when
/// there is one.
pub async fn get_json<T: DeserializeOwned>(url: &str) -> Result<T, String> {
    let response = Request::get(url)
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    if !response.ok() {
        let status = response.status();
        let body: Option<Value> = response.json().await.ok();
        let message = body
            .as_ref()
            .and_then(|b| b["error"]["message"].as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(message);
    }
    response
        .json()
        .await
        .map_err(|e| format!("unexpected response: {e}"))
}

pub fn encode(text: &str) -> String {
    urlencoding::encode(text).into_owned()
}

/// A catalog entity's ref in canonical form, from its JSON.
pub fn entity_ref(entity: &Value) -> String {
    format!(
        "{}:{}/{}",
        text(&entity["kind"]).to_lowercase(),
        text(&entity["metadata"]["namespace"]).to_lowercase(),
        text(&entity["metadata"]["name"]).to_lowercase()
    )
}

pub use greenroom_api::entity_page_path as entity_path;

/// A JSON string field, or "" when absent.
pub fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

/// The entity's title, or its name when it has none.
pub fn display_name(entity: &Value) -> String {
    let metadata = &entity["metadata"];
    metadata["title"]
        .as_str()
        .or(metadata["name"].as_str())
        .unwrap_or_default()
        .to_string()
}
