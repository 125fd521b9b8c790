//! `storage`: the plugin's own key-value store, held to its quota.

use super::greenroom::plugin::storage;
use crate::plugins::bindings::{HostState, store_error};
use crate::plugins::storage::MAX_LIST;

impl storage::Host for HostState {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, String>> {
        let value = self
            .storage
            .get(&self.plugin_id, &key)
            .map_err(store_error)?;
        let size = value.as_ref().map_or(0, Vec::len);
        Ok(self.charge("storage.get", size).map(|()| value))
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), String>> {
        let quota = self.grants.storage_quota;
        let outcome = self
            .storage
            .set(&self.plugin_id, &key, &value, quota)
            .map_err(store_error)?;
        Ok(outcome.map_err(|message| {
            tracing::warn!(plugin = %self.plugin_id, "storage.set refused: {message}");
            format!("storage.set: {message}")
        }))
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), String>> {
        self.storage
            .delete(&self.plugin_id, &key)
            .map_err(store_error)?;
        Ok(Ok(()))
    }

    fn list_keys(
        &mut self,
        prefix: String,
        start_after: Option<String>,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<String>, String>> {
        let keys = self
            .storage
            .list_keys(
                &self.plugin_id,
                &prefix,
                start_after.as_deref(),
                limit.min(MAX_LIST),
            )
            .map_err(store_error)?;
        let size = keys.iter().map(String::len).sum();
        Ok(self.charge("storage.list-keys", size).map(|()| keys))
    }
}
