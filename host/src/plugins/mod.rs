//! The plugin host: WebAssembly component plugins, sandboxed, called through [`PluginHost`].
//!
//! Each call gets a fresh store (see `engine`), so calls share no state and a broken call
//! cannot poison the next.

pub mod api;
mod bindings;
mod engine;
mod registry;
mod tree;

use std::path::Path;
use std::sync::Arc;

use greenroom_api::{EntityTabs, PluginFailure, PluginState, PluginSummary, RenderedTab, TabRef};
use wasmtime::component::Linker;
use wasmtime::{Engine, Store, Trap};

use crate::catalog::{Catalog, EntityRef};
use bindings::{HostState, Plugin, PluginPre, to_wit_entity};
use engine::CallLimits;
use registry::{LoadedPlugin, PluginSlot};

/// Why a plugin request failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("no entity '{0}' in the catalog")]
    EntityNotFound(String),
    #[error("no loaded plugin '{0}'")]
    UnknownPlugin(String),
    #[error("plugin '{plugin}' failed in {call}: {reason}")]
    CallFailed {
        plugin: String,
        call: String,
        reason: String,
    },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub struct PluginHost {
    engine: Engine,
    catalog: Arc<Catalog>,
    limits: CallLimits,
    slots: Vec<PluginSlot>,
}

impl PluginHost {
    /// Loads every `.wasm` in `dir`. Files that fail are listed with their error; they never
    /// stop the others or the server.
    pub fn load(dir: &Path, catalog: Arc<Catalog>) -> anyhow::Result<Self> {
        let engine = engine::new_engine()?;
        let linker: Linker<HostState> = registry::new_linker(&engine)?;
        let mut host = Self {
            engine,
            catalog,
            limits: CallLimits::default(),
            slots: Vec::new(),
        };
        for file in registry::wasm_files(dir) {
            let slot = registry::load(&host.engine, &linker, &file, |pre| {
                host.call_pre("meta", pre, "meta.info", |plugin, store| {
                    plugin.greenroom_plugin_meta().call_info(store)
                })
            });
            if let PluginSlot::Loaded(plugin) = &slot {
                if host.loaded(&plugin.info.id).is_some() {
                    host.slots.push(registry::failed_duplicate(&file, plugin));
                    continue;
                }
                tracing::info!(plugin = %plugin.info.id, version = %plugin.info.version, "loaded {}", file.display());
            }
            host.slots.push(slot);
        }
        Ok(host)
    }

    pub fn summaries(&self) -> Vec<PluginSummary> {
        self.slots
            .iter()
            .map(|slot| match slot {
                PluginSlot::Loaded(p) => PluginSummary {
                    id: p.info.id.clone(),
                    name: p.info.name.clone(),
                    version: p.info.version.clone(),
                    description: p.info.description.clone(),
                    file: p.file.display().to_string(),
                    content_hash: p.content_hash.clone(),
                    state: PluginState::Loaded,
                    last_error: None,
                    contributions: vec!["entity-tabs".into()],
                },
                PluginSlot::Failed(f) => PluginSummary {
                    id: f
                        .file
                        .file_stem()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    name: String::new(),
                    version: String::new(),
                    description: String::new(),
                    file: f.file.display().to_string(),
                    content_hash: f.content_hash.clone(),
                    state: PluginState::Failed,
                    last_error: Some(f.error.clone()),
                    contributions: Vec::new(),
                },
            })
            .collect()
    }

    /// The tabs every loaded plugin offers for an entity. A plugin that fails is reported in
    /// `errors`; the others' tabs are still listed.
    pub fn tabs_for(&self, entity_ref: &EntityRef) -> Result<EntityTabs, PluginError> {
        let entity = self.wit_entity(entity_ref)?;
        let mut tabs = EntityTabs {
            tabs: Vec::new(),
            errors: Vec::new(),
        };
        for plugin in self.loaded_plugins() {
            let offered = self.call(plugin, "entity-tabs.tabs-for", |p, store| {
                p.greenroom_plugin_entity_tabs()
                    .call_tabs_for(store, &entity)
            });
            match offered {
                Ok(offered) => tabs.tabs.extend(offered.into_iter().map(|tab| TabRef {
                    plugin_id: plugin.info.id.clone(),
                    tab_id: tab.id,
                    title: tab.title,
                })),
                Err(e) => tabs.errors.push(PluginFailure {
                    plugin_id: plugin.info.id.clone(),
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
        let plugin = self
            .loaded(plugin_id)
            .ok_or_else(|| PluginError::UnknownPlugin(plugin_id.to_string()))?;
        let entity = self.wit_entity(entity_ref)?;
        let call = format!("entity-tabs.render({tab_id})");
        let tree = self
            .call(plugin, &call, |p, store| {
                p.greenroom_plugin_entity_tabs()
                    .call_render(store, tab_id, &entity)
            })?
            .map_err(|reason| PluginError::CallFailed {
                plugin: plugin_id.into(),
                call: call.clone(),
                reason,
            })?;
        let tree = tree::to_ui(&tree).map_err(|reason| PluginError::CallFailed {
            plugin: plugin_id.into(),
            call: call.clone(),
            reason: format!("returned an invalid UI tree: {reason}"),
        })?;
        Ok(RenderedTab {
            plugin_id: plugin_id.into(),
            tab_id: tab_id.into(),
            entity_ref: entity_ref.to_string(),
            tree,
        })
    }

    fn loaded_plugins(&self) -> impl Iterator<Item = &Arc<LoadedPlugin>> {
        self.slots.iter().filter_map(|s| match s {
            PluginSlot::Loaded(p) => Some(p),
            PluginSlot::Failed(_) => None,
        })
    }

    fn loaded(&self, plugin_id: &str) -> Option<&Arc<LoadedPlugin>> {
        self.loaded_plugins().find(|p| p.info.id == plugin_id)
    }

    fn wit_entity(&self, entity_ref: &EntityRef) -> Result<bindings::types::Entity, PluginError> {
        let body = self
            .catalog
            .get(entity_ref)?
            .ok_or_else(|| PluginError::EntityNotFound(entity_ref.to_string()))?;
        Ok(to_wit_entity(entity_ref, &body))
    }

    fn call<R>(
        &self,
        plugin: &LoadedPlugin,
        call: &str,
        f: impl FnOnce(&Plugin, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        self.call_pre(&plugin.info.id, &plugin.pre, call, f)
            .map_err(|reason| PluginError::CallFailed {
                plugin: plugin.info.id.clone(),
                call: call.into(),
                reason,
            })
    }

    /// One call in a fresh store under the call limits; a trap becomes a message.
    fn call_pre<R>(
        &self,
        plugin_id: &str,
        pre: &PluginPre<HostState>,
        call: &str,
        f: impl FnOnce(&Plugin, &mut Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, String> {
        let state = HostState::new(
            plugin_id,
            self.catalog.clone(),
            engine::store_limits(self.limits),
        );
        let mut store = engine::new_store(&self.engine, state, self.limits);
        let result = pre
            .instantiate(&mut store)
            .and_then(|plugin| f(&plugin, &mut store));
        result.map_err(|error| {
            let reason = match error.downcast_ref::<Trap>() {
                Some(Trap::Interrupt) => format!("timed out after {:?}", self.limits.deadline),
                _ => format!("{error:#}"),
            };
            tracing::warn!(plugin = plugin_id, "{call} failed: {reason}");
            reason
        })
    }
}
