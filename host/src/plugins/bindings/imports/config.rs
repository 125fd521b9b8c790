//! `config`: values the operator granted the plugin.

use super::greenroom::plugin::config;
use crate::plugins::bindings::HostState;

impl config::Host for HostState {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, String>> {
        let value = self.grants.config_value(&key).map_err(|message| {
            tracing::warn!(plugin = %self.plugin_id, "config.get refused: {message}");
            format!("config.get: {message}")
        });
        Ok(value)
    }
}
