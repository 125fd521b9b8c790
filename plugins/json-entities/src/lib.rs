//! The `json-entities` entity provider: fetches `url` (granted by the operator) and offers
//! every entity it serves to the catalog, every `interval-seconds` (default 300). The endpoint
//! may answer a JSON array of entities or an object with `items` — so another Backstage's
//! `/api/catalog/entities/by-query` works as a source.

use greenroom_sdk::{config, http};
use serde_json::Value;

// The provider world, with its imports taken from the SDK so its helpers (HTTP, config) apply.
greenroom_sdk::bind_world!("provider-plugin", "../../wit/v0.2.0");

use exports::greenroom::plugin::entity_provider;
use exports::greenroom::plugin::meta::{self, PluginInfo};

const DEFAULT_INTERVAL: u32 = 300;

struct JsonEntities;

impl meta::Guest for JsonEntities {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "json-entities".into(),
            name: "JSON entities".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Imports the entities a JSON endpoint serves into the catalog.".into(),
        }
    }
}

impl entity_provider::Guest for JsonEntities {
    fn refresh_interval_seconds() -> u32 {
        config::get("interval-seconds")
            .ok()
            .flatten()
            .and_then(|s| s.parse().ok())
            .unwrap_or(DEFAULT_INTERVAL)
    }

    fn provide() -> Result<Vec<String>, String> {
        let url = config::get("url")?.ok_or("config 'url' is not set")?;
        let response = http::get(&url, &[("accept", "application/json")])?;
        if response.status != 200 {
            return Err(format!("GET {url} answered {}", response.status));
        }
        let body: Value = serde_json::from_slice(&response.body)
            .map_err(|e| format!("GET {url}: not JSON: {e}"))?;
        let items = match body {
            Value::Array(items) => items,
            Value::Object(mut object) => match object.remove("items") {
                Some(Value::Array(items)) => items,
                _ => return Err(format!("GET {url}: expected an array or an object with items")),
            },
            _ => return Err(format!("GET {url}: expected an array or an object with items")),
        };
        Ok(items.iter().map(Value::to_string).collect())
    }
}

export!(JsonEntities);
