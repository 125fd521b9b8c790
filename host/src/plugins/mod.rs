//! The plugin host: WebAssembly component plugins, sandboxed, hot-reloaded, called through
//! [`PluginHost`].
//!
//! The loaded set lives in an [`ArcSwap`]: a reload builds a new set and swaps it in, while a
//! call in flight keeps the `Arc` of the version it started on. Each call gets a fresh store
//! (see `sandbox`), so calls share no state and a broken call cannot poison the next.

pub mod api;
mod bindings;
mod engine;
mod grants;
mod http;
mod providers;
mod registry;
mod sandbox;
mod stats;
mod tree;
mod watch;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use greenroom_api::{
    ActionOutcome, ActionRun, EntityTabs, PluginFailure, PluginState, PluginSummary, RenderedTab,
    TabRef,
};
use wasmtime::Store;
use wasmtime::component::Instance;

use crate::catalog::{Catalog, EntityRef};
use crate::workspace::Workspace;
use bindings::{CONTRACT, HostState, to_wit_entity};
pub use grants::OperatorGrant;
pub use registry::check_id;
use registry::{Action, Failure, LoadedPlugin, Loader, Registry, Slot};
use sandbox::{CallError, Sandbox};
use stats::{Outcome, Stats};

/// Most tabs one plugin may offer for an entity.
const MAX_TABS: usize = 16;

/// Why a plugin request failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("no entity '{0}' in the catalog")]
    EntityNotFound(String),
    #[error("no loaded plugin '{0}'")]
    UnknownPlugin(String),
    #[error("plugin '{plugin}' offers no action '{action}'")]
    UnknownAction { plugin: String, action: String },
    #[error("plugin '{0}' is disabled")]
    Disabled(String),
    #[error("plugin '{plugin}' failed in {call}: {reason}")]
    CallFailed {
        plugin: String,
        call: String,
        reason: String,
    },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Where plugins come from and what the operator grants them.
#[derive(Debug, Clone)]
pub struct PluginSettings {
    /// The watched plugins folder; uploads are written here.
    pub dir: PathBuf,
    /// The server's data folder: enable/disable switches, workspaces.
    pub data_dir: PathBuf,
    /// Compiled components, by content hash and engine settings.
    pub cache_dir: PathBuf,
    /// `plugins.<id>` from the config.
    pub grants: BTreeMap<String, OperatorGrant>,
}

pub struct PluginHost {
    sandbox: Sandbox,
    settings: PluginSettings,
    registry: ArcSwap<Registry>,
    /// Held while the registry changes, so loads apply in order and none is lost.
    changing: Mutex<()>,
    stats: Mutex<HashMap<String, Arc<Stats>>>,
    /// Enable/disable made through the admin API, by id; persisted in the data folder.
    switches: Mutex<BTreeMap<String, bool>>,
}

impl PluginHost {
    /// Loads every `.wasm` in the plugins folder. Files that fail are listed with their error;
    /// they never stop the others or the server.
    pub fn load(settings: PluginSettings, catalog: Arc<Catalog>) -> anyhow::Result<Self> {
        let switches = std::fs::read(switches_file(&settings.data_dir))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        let host = Self {
            sandbox: Sandbox::new(catalog)?,
            registry: ArcSwap::from_pointee(Registry::default()),
            changing: Mutex::new(()),
            stats: Mutex::default(),
            switches: Mutex::new(switches),
            settings,
        };
        for file in registry::wasm_files(&host.settings.dir) {
            host.sync_file(&file);
        }
        Ok(host)
    }

    /// From now on: reloads plugins whenever the plugins folder changes, and runs entity
    /// providers on their schedule.
    pub fn start_background(self: &Arc<Self>) -> anyhow::Result<()> {
        watch::start(self.clone(), &self.settings.dir)?;
        providers::start(self.clone())
    }

    /// Loaded entity providers granted catalog writes, each with whether it is enabled.
    fn providers(&self) -> Vec<(Arc<LoadedPlugin>, bool)> {
        self.registry
            .load()
            .loaded()
            .filter(|p| p.exports.provider.is_some() && p.grants.catalog_write)
            .map(|p| (p.clone(), self.enabled(&p.id)))
            .collect()
    }

    /// Asks a provider for its entities and hands them to the catalog; returns the interval
    /// it asks for until the next run.
    fn run_provider(&self, plugin: &LoadedPlugin) -> Result<u32, PluginError> {
        let Some(indices) = &plugin.exports.provider else {
            return Err(PluginError::Invalid(format!(
                "plugin '{}' is not an entity provider",
                plugin.id
            )));
        };
        let (interval, documents) = self.call(
            plugin,
            "entity-provider.provide",
            |store, instance| {
                let provider = indices.load(&mut *store, instance)?;
                let interval = provider.call_refresh_interval_seconds(&mut *store)?;
                Ok((interval, provider.call_provide(&mut *store)?))
            },
            |(interval, documents)| documents.map(|d| (interval, d)),
        )?;
        self.sandbox
            .catalog()
            .provide(&plugin.id, &documents)
            .map_err(|e| PluginError::CallFailed {
                plugin: plugin.id.to_string(),
                call: "entity-provider.provide".into(),
                reason: format!("{e:#}"),
            })?;
        Ok(interval)
    }

    /// Brings the registry in line with `file` on disk: loads a new or changed file, unloads a
    /// removed one. A version that fails to load never replaces a working one.
    pub fn sync_file(&self, file: &Path) {
        let _changing = lock(&self.changing);
        let current = self.registry.load();
        let next = match std::fs::read(file) {
            Ok(bytes) => {
                let source = registry::source(file, &bytes);
                if current.seen_source(file) == Some(source.as_str()) {
                    return;
                }
                current.with(file, source, self.loader().load(file, &bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if current.slot(file).is_none() {
                    return;
                }
                tracing::info!("plugin file {} removed; unloaded", file.display());
                current.without(file)
            }
            Err(e) => current.with(
                file,
                String::new(),
                Err(Failure {
                    file: file.to_path_buf(),
                    content_hash: String::new(),
                    error: format!("cannot read: {e}"),
                }),
            ),
        };
        self.registry.store(Arc::new(next));
    }

    fn loader(&self) -> Loader<'_> {
        Loader {
            sandbox: &self.sandbox,
            cache: &self.settings.cache_dir,
            grants: &self.settings.grants,
        }
    }

    /// Installs an uploaded component: checked first (so a bad upload touches nothing), then
    /// written into the plugins folder (replacing the file of the plugin with the same id) and
    /// loaded from there.
    pub fn install(&self, bytes: &[u8]) -> Result<PluginSummary, PluginError> {
        let probe = self.settings.dir.join(".upload.wasm");
        let plugin = self
            .loader()
            .load(&probe, bytes)
            .map_err(|f| PluginError::Invalid(f.error))?;
        let target = self
            .registry
            .load()
            .find(&plugin.id)
            .map(|p| p.file.clone())
            .unwrap_or_else(|| self.settings.dir.join(format!("{}.wasm", plugin.id)));
        let partial = target.with_extension("upload");
        std::fs::create_dir_all(&self.settings.dir)
            .and_then(|()| std::fs::write(&partial, bytes))
            .and_then(|()| std::fs::rename(&partial, &target))
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", target.display()))?;
        self.sync_file(&target);
        let current = self.registry.load();
        match current.slot(&target) {
            Some(
                slot @ Slot::Loaded {
                    plugin,
                    refused: None,
                },
            ) if plugin.content_hash == registry::hash(bytes) => Ok(self.summary_of(slot)),
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
    pub fn remove(&self, id: &str) -> Result<(), PluginError> {
        let file = self
            .registry
            .load()
            .slots()
            .find(|slot| summary_id(slot) == id)
            .map(|slot| match slot {
                Slot::Loaded { plugin, .. } => plugin.file.clone(),
                Slot::Failed(f) => f.file.clone(),
            })
            .ok_or_else(|| PluginError::UnknownPlugin(id.to_string()))?;
        std::fs::remove_file(&file)
            .map_err(|e| anyhow::anyhow!("cannot delete {}: {e}", file.display()))?;
        self.sync_file(&file);
        Ok(())
    }

    /// Switches a plugin on or off; remembered across restarts.
    pub fn set_enabled(&self, id: &str, enabled: bool) -> Result<PluginSummary, PluginError> {
        if self.registry.load().find(id).is_none() {
            return Err(PluginError::UnknownPlugin(id.to_string()));
        }
        let mut switches = lock(&self.switches);
        switches.insert(id.to_string(), enabled);
        let file = switches_file(&self.settings.data_dir);
        let json = serde_json::to_vec_pretty(&*switches).map_err(anyhow::Error::from)?;
        std::fs::write(&file, json)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", file.display()))?;
        drop(switches);
        tracing::info!(plugin = id, enabled, "plugin switched by the admin API");
        self.summary(id)
            .ok_or_else(|| PluginError::UnknownPlugin(id.to_string()))
    }

    fn enabled(&self, id: &str) -> bool {
        lock(&self.switches).get(id).copied().unwrap_or_else(|| {
            self.settings
                .grants
                .get(id)
                .and_then(|g| g.enabled)
                .unwrap_or(true)
        })
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
                contract: CONTRACT.into(),
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
            },
            Slot::Failed(f) => PluginSummary {
                id: summary_id(slot),
                name: String::new(),
                version: String::new(),
                description: String::new(),
                file: f.file.display().to_string(),
                content_hash: f.content_hash.clone(),
                contract: CONTRACT.into(),
                state: PluginState::Failed,
                last_error: Some(f.error.clone()),
                contributions: Vec::new(),
                imports: Vec::new(),
                actions: Vec::new(),
                requested: Default::default(),
                grants: Default::default(),
                stats: Default::default(),
            },
        }
    }

    fn stats_of(&self, id: &str) -> Arc<Stats> {
        lock(&self.stats).entry(id.to_string()).or_default().clone()
    }

    /// The tabs every enabled plugin offers for an entity. A plugin that fails is reported in
    /// `errors`; the others' tabs are still listed.
    pub fn tabs_for(&self, entity_ref: &EntityRef) -> Result<EntityTabs, PluginError> {
        let entity = self.wit_entity(entity_ref)?;
        let mut tabs = EntityTabs {
            tabs: Vec::new(),
            errors: Vec::new(),
        };
        let registry = self.registry.load();
        for plugin in registry.loaded().filter(|p| self.enabled(&p.id)) {
            let Some(indices) = &plugin.exports.tabs else {
                continue;
            };
            let offered = self.call(
                plugin,
                "entity-tabs.tabs-for",
                |store, instance| {
                    indices
                        .load(&mut *store, instance)?
                        .call_tabs_for(&mut *store, &entity)
                },
                |offered| {
                    if offered.len() > MAX_TABS {
                        Err(format!(
                            "offered {} tabs; at most {MAX_TABS} are shown",
                            offered.len()
                        ))
                    } else {
                        Ok(offered)
                    }
                },
            );
            match offered {
                Ok(offered) => tabs.tabs.extend(offered.into_iter().map(|tab| TabRef {
                    plugin_id: plugin.id.to_string(),
                    tab_id: tab.id,
                    title: tab.title,
                })),
                Err(e) => tabs.errors.push(PluginFailure {
                    plugin_id: plugin.id.to_string(),
                    message: e.to_string(),
                }),
            }
        }
        Ok(tabs)
    }

    /// Renders one plugin tab for an entity.
    pub fn render_tab(
        &self,
        plugin_id: &str,
        tab_id: &str,
        entity_ref: &EntityRef,
    ) -> Result<RenderedTab, PluginError> {
        let plugin = self.callable(plugin_id)?;
        let indices = plugin.exports.tabs.as_ref().ok_or_else(|| {
            PluginError::Invalid(format!("plugin '{plugin_id}' contributes no entity tabs"))
        })?;
        let entity = self.wit_entity(entity_ref)?;
        let call = format!("entity-tabs.render({tab_id})");
        let tree = self.call(
            &plugin,
            &call,
            |store, instance| {
                indices
                    .load(&mut *store, instance)?
                    .call_render(&mut *store, tab_id, &entity)
            },
            |tree| {
                let tree = tree?;
                tree::to_ui(&tree)
                    .map_err(|reason| format!("returned an invalid UI tree: {reason}"))
            },
        )?;
        Ok(RenderedTab {
            plugin_id: plugin_id.into(),
            tab_id: tab_id.into(),
            entity_ref: entity_ref.to_string(),
            tree,
        })
    }

    /// Runs one scaffolder action on a scratch workspace holding `run.files`: the input is
    /// checked against the action's schema first. Returns the output and the files after.
    pub fn run_action(
        &self,
        plugin_id: &str,
        action_id: &str,
        run: ActionRun,
    ) -> Result<ActionOutcome, PluginError> {
        let plugin = self.callable(plugin_id)?;
        let (Some(indices), Some(action)) = (
            &plugin.exports.actions,
            plugin.actions.iter().find(|a| a.id == action_id),
        ) else {
            return Err(PluginError::UnknownAction {
                plugin: plugin_id.into(),
                action: action_id.into(),
            });
        };
        let problems: Vec<String> = action
            .validator
            .iter_errors(&run.input)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        if !problems.is_empty() {
            return Err(PluginError::Invalid(format!(
                "input of {plugin_id}:{action_id}: {}",
                problems.join("; ")
            )));
        }
        let scratch = self
            .settings
            .data_dir
            .join("workspaces")
            .join(uuid::Uuid::new_v4().to_string());
        std::fs::create_dir_all(&scratch).map_err(anyhow::Error::from)?;
        let outcome = self.run_in(&plugin, indices, action_id, &run, &scratch);
        let _ = std::fs::remove_dir_all(&scratch);
        outcome
    }

    fn run_in(
        &self,
        plugin: &LoadedPlugin,
        indices: &bindings::scaffolder_actions::GuestIndices,
        action_id: &str,
        run: &ActionRun,
        scratch: &Path,
    ) -> Result<ActionOutcome, PluginError> {
        let workspace = Workspace::new(scratch).map_err(anyhow::Error::from)?;
        for (path, text) in &run.files {
            workspace
                .write_file(path, text.as_bytes())
                .map_err(PluginError::Invalid)?;
        }
        let input = run.input.to_string();
        let call = format!("scaffolder-actions.run({action_id})");
        let output = self.call(
            plugin,
            &call,
            |store, instance| {
                let handle = store.data_mut().table.push(workspace.clone())?;
                indices.load(&mut *store, instance)?.call_run(
                    &mut *store,
                    action_id,
                    &input,
                    handle,
                )
            },
            |output| {
                let output: serde_json::Value = serde_json::from_str(&output?)
                    .map_err(|e| format!("returned output that is not JSON: {e}"))?;
                if output.is_object() {
                    Ok(output)
                } else {
                    Err("returned output that is not a JSON object".into())
                }
            },
        )?;
        let mut files = std::collections::BTreeMap::new();
        for path in workspace.list_files().map_err(PluginError::Invalid)? {
            let bytes = workspace.read_file(&path).map_err(PluginError::Invalid)?;
            files.insert(path, String::from_utf8_lossy(&bytes).into_owned());
        }
        Ok(ActionOutcome { output, files })
    }

    /// The current version of an enabled plugin; the caller keeps it for the whole call.
    fn callable(&self, plugin_id: &str) -> Result<Arc<LoadedPlugin>, PluginError> {
        let plugin = self
            .registry
            .load()
            .find(plugin_id)
            .cloned()
            .ok_or_else(|| PluginError::UnknownPlugin(plugin_id.to_string()))?;
        if !self.enabled(plugin_id) {
            return Err(PluginError::Disabled(plugin_id.to_string()));
        }
        Ok(plugin)
    }

    fn wit_entity(&self, entity_ref: &EntityRef) -> Result<bindings::types::Entity, PluginError> {
        let body = self
            .sandbox
            .catalog()
            .get(entity_ref)?
            .ok_or_else(|| PluginError::EntityNotFound(entity_ref.to_string()))?;
        Ok(to_wit_entity(&body))
    }

    /// One call on a fresh instance of `plugin`; `check` accepts or refuses what it returned.
    /// Counted in the plugin's stats either way.
    fn call<R, T>(
        &self,
        plugin: &LoadedPlugin,
        call: &str,
        f: impl FnOnce(&mut Store<HostState>, &Instance) -> wasmtime::Result<R>,
        check: impl FnOnce(R) -> Result<T, String>,
    ) -> Result<T, PluginError> {
        let (took, result) = self.sandbox.run(&plugin.id, &plugin.pre, &plugin.grants, f);
        let result = result.and_then(|answer| {
            check(answer).map_err(|reason| CallError {
                outcome: Outcome::Failed,
                reason,
            })
        });
        let outcome = result.as_ref().err().map_or(Outcome::Ok, |e| e.outcome);
        self.stats_of(&plugin.id).record(took, outcome);
        result.map_err(|e| {
            tracing::warn!(plugin = %plugin.id, "{call} failed: {}", e.reason);
            PluginError::CallFailed {
                plugin: plugin.id.to_string(),
                call: call.into(),
                reason: e.reason,
            }
        })
    }
}

/// The id a slot is listed under: the plugin's, or a failed file's stem.
fn summary_id(slot: &Slot) -> String {
    match slot {
        Slot::Loaded { plugin, .. } => plugin.id.to_string(),
        Slot::Failed(f) => f
            .file
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
    }
}

fn switches_file(data_dir: &Path) -> PathBuf {
    data_dir.join("plugin-switches.json")
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
