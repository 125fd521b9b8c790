//! Plugin administration: installing an upload, removing, switching on and off, and the
//! summaries the admin API and the CLI list.

use greenroom_api::{PluginState, PluginSummary, StorageUsage};

use std::sync::Arc;

use super::engine::Tier;
use super::registry::{self, Action, Slot};
use super::{PluginError, PluginHost, lock};

impl PluginHost {
    /// Installs an uploaded component: checked first (so a bad upload touches nothing), then
    /// written into the plugins folder (replacing the file of the plugin with the same id,
    /// never another plugin's) and loaded from there.
    pub fn install(self: &Arc<Self>, bytes: &[u8]) -> Result<PluginSummary, PluginError> {
        let probe = self.settings.dir.join(".upload.wasm");
        let content_hash = registry::hash(bytes);
        let plugin = self
            .loader()
            .load(&probe, bytes, content_hash.clone(), Tier::Baseline)
            .map_err(|f| PluginError::Invalid(f.error))?;
        let _admin = lock(&self.admin);
        let current = self.registry.load();
        // The plugin's own file, else one named after it that serves no other plugin (file
        // names need not match ids) and is not being loaded.
        let target = current
            .find(&plugin.id)
            .map(|p| p.file.clone())
            .unwrap_or_else(|| {
                (1..)
                    .map(|n| match n {
                        1 => self.settings.dir.join(format!("{}.wasm", plugin.id)),
                        n => self.settings.dir.join(format!("{}-{n}.wasm", plugin.id)),
                    })
                    .find(|file| matches!(current.slot(file), None | Some(Slot::Failed(_))))
                    .expect("some numbered name is free")
            });
        drop(current);
        // Not `.wasm`, so the folder watcher ignores it until the rename.
        let partial = target.with_extension(format!("{}.upload", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&self.settings.dir)
            .and_then(|()| std::fs::write(&partial, bytes))
            .and_then(|()| std::fs::rename(&partial, &target))
            .map_err(|e| {
                let _ = std::fs::remove_file(&partial);
                anyhow::anyhow!("cannot write {}: {e}", target.display())
            })?;
        self.sync_file_now(&target);
        let current = self.registry.load();
        match current.slot(&target) {
            Some(
                slot @ Slot::Loaded {
                    plugin,
                    refused: None,
                },
            ) if plugin.content_hash == content_hash => Ok(self.summary_of(slot)),
            Some(Slot::Loaded {
                refused: Some(f), ..
            })
            | Some(Slot::Failed(f)) => Err(PluginError::Invalid(f.error.clone())),
            _ => Err(PluginError::Invalid(format!(
                "{} changed while it was being installed",
                target.display()
            ))),
        }
    }

    /// Deletes a plugin's file (a failed file by its file stem) and unloads it.
    pub fn remove(self: &Arc<Self>, id: &str) -> Result<(), PluginError> {
        let _admin = lock(&self.admin);
        let file = self
            .registry
            .load()
            .slots()
            .find(|slot| summary_id(slot) == id)
            .map(|slot| match slot {
                Slot::Loaded { plugin, .. } => plugin.file.clone(),
                Slot::Loading { file, .. } => file.clone(),
                Slot::Failed(f) => f.file.clone(),
            })
            .ok_or_else(|| PluginError::UnknownPlugin(id.to_string()))?;
        match std::fs::remove_file(&file) {
            // Removed from the folder by hand meanwhile: the watcher unloads it too.
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(anyhow::anyhow!("cannot delete {}: {e}", file.display()).into());
            }
            _ => {}
        }
        self.sync_file_now(&file);
        Ok(())
    }

    /// Switches a plugin on or off; remembered across restarts.
    pub fn set_enabled(&self, id: &str, enabled: bool) -> Result<PluginSummary, PluginError> {
        let _admin = lock(&self.admin);
        if self.registry.load().find(id).is_none() {
            return Err(PluginError::UnknownPlugin(id.to_string()));
        }
        self.switches.set(id, enabled)?;
        tracing::info!(plugin = id, enabled, "plugin switched by the admin API");
        self.summary(id)
            .ok_or_else(|| PluginError::UnknownPlugin(id.to_string()))
    }

    pub fn summaries(&self) -> Vec<PluginSummary> {
        self.registry
            .load()
            .slots()
            .map(|slot| self.summary_of(slot))
            .collect()
    }

    pub fn summary(&self, id: &str) -> Option<PluginSummary> {
        self.registry
            .load()
            .slots()
            .find(|slot| summary_id(slot) == id)
            .map(|slot| self.summary_of(slot))
    }

    fn summary_of(&self, slot: &Slot) -> PluginSummary {
        match slot {
            Slot::Loaded { plugin, refused } => PluginSummary {
                id: plugin.id.to_string(),
                name: plugin.info.name.clone(),
                version: plugin.info.version.clone(),
                description: plugin.info.description.clone(),
                file: plugin.file.display().to_string(),
                content_hash: plugin.content_hash.clone(),
                tier: Some(plugin.tier.name().into()),
                contract: plugin.exports.version.package().into(),
                state: if self.enabled(&plugin.id) {
                    PluginState::Loaded
                } else {
                    PluginState::Disabled
                },
                last_error: refused.as_ref().map(|f| f.error.clone()),
                contributions: plugin.exports.names(),
                imports: plugin.imports.clone(),
                actions: plugin.actions.iter().map(Action::summary).collect(),
                requested: plugin.requested.clone(),
                grants: plugin.grants.summary(),
                stats: self.stats_of(&plugin.id).summary(),
                storage: self.storage_usage(&plugin.id, plugin.grants.storage_quota),
            },
            Slot::Loading { file, content_hash } => {
                unloaded(slot, file, content_hash, PluginState::Loading, None)
            }
            Slot::Failed(f) => unloaded(
                slot,
                &f.file,
                &f.content_hash,
                PluginState::Failed,
                Some(f.error.clone()),
            ),
        }
    }
}

impl PluginHost {
    /// What a plugin keeps in its storage; an unreadable store shows as empty (and is logged).
    fn storage_usage(&self, id: &str, quota_bytes: u64) -> StorageUsage {
        let usage = self
            .sandbox
            .services()
            .storage
            .usage(id)
            .unwrap_or_else(|e| {
                tracing::error!(plugin = id, "cannot read plugin storage: {e:#}");
                Default::default()
            });
        StorageUsage {
            keys: usage.keys,
            bytes: usage.bytes,
            quota_bytes,
        }
    }

    /// Empties a loaded plugin's storage (the admin page's "clear").
    pub fn clear_storage(&self, id: &str) -> Result<PluginSummary, PluginError> {
        let _admin = lock(&self.admin);
        if self.registry.load().find(id).is_none() {
            return Err(PluginError::UnknownPlugin(id.to_string()));
        }
        self.sandbox.services().storage.clear(id)?;
        tracing::info!(plugin = id, "storage cleared");
        self.summary(id)
            .ok_or_else(|| PluginError::UnknownPlugin(id.to_string()))
    }
}

/// What is known of a file that is not serving: its name, hash and the contract.
fn unloaded(
    slot: &Slot,
    file: &std::path::Path,
    content_hash: &str,
    state: PluginState,
    last_error: Option<String>,
) -> PluginSummary {
    PluginSummary {
        id: summary_id(slot),
        name: String::new(),
        version: String::new(),
        description: String::new(),
        file: file.display().to_string(),
        content_hash: content_hash.to_string(),
        tier: None,
        // Unknown until it loads.
        contract: String::new(),
        state,
        last_error,
        contributions: Vec::new(),
        imports: Vec::new(),
        actions: Vec::new(),
        requested: Default::default(),
        grants: Default::default(),
        stats: Default::default(),
        storage: Default::default(),
    }
}

/// The id a slot is listed under: the plugin's, or the file's stem while it has none.
fn summary_id(slot: &Slot) -> String {
    match slot {
        Slot::Loaded { plugin, .. } => plugin.id.to_string(),
        Slot::Loading { file, .. } => file_stem(file),
        Slot::Failed(f) => file_stem(&f.file),
    }
}

fn file_stem(file: &std::path::Path) -> String {
    file.file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}
