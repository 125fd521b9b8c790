//! What a plugin exports, whichever contract version it targets, and calling it. An export
//! both versions have is an enum over them that answers in 0.2.0's shapes (0.1.0 calls get
//! no viewer; a 0.1.0 tree is a 0.2.0 tree without buttons and forms); the exports new in
//! 0.2.0 are its bindings as they are.

use serde_json::Value;
use wasmtime::Store;
use wasmtime::component::{Instance, InstancePre, Resource};

use super::{HostState, v0_1, v0_2};
use crate::plugins::Viewer;
use crate::scaffolder::Workspace;

pub use v0_2::meta::PluginInfo;

/// The contract version a plugin was built against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V0_1,
    V0_2,
}

impl Version {
    /// The WIT package, e.g. `greenroom:plugin@0.2.0`.
    pub fn package(self) -> &'static str {
        match self {
            Version::V0_1 => "greenroom:plugin@0.1.0",
            Version::V0_2 => "greenroom:plugin@0.2.0",
        }
    }
}

/// The contribution interfaces a plugin exports; `meta` is required.
pub struct Exports {
    pub version: Version,
    meta: Meta,
    pub tabs: Option<Tabs>,
    pub cards: Option<v0_2::entity_cards::GuestIndices>,
    pub pages: Option<v0_2::pages::GuestIndices>,
    pub interactions: Option<v0_2::interactions::GuestIndices>,
    /// `wasi:http/incoming-handler`: the plugin's HTTP routes.
    pub http: Option<v0_2::incoming_handler::GuestIndices>,
    /// `catalog-events`: the catalog's changes, in batches.
    pub events: Option<v0_2::catalog_events::GuestIndices>,
    /// `search-documents`: documents of the plugin's own types for search.
    pub search: Option<v0_2::search_documents::GuestIndices>,
    pub actions: Option<Actions>,
    pub provider: Option<Provider>,
}

enum Meta {
    V0_1(v0_1::meta::GuestIndices),
    V0_2(v0_2::meta::GuestIndices),
}

#[derive(Clone)]
pub enum Tabs {
    V0_1(v0_1::entity_tabs::GuestIndices),
    V0_2(v0_2::entity_tabs::GuestIndices),
}

#[derive(Clone)]
pub enum Actions {
    V0_1(v0_1::scaffolder_actions::GuestIndices),
    V0_2(v0_2::scaffolder_actions::GuestIndices),
}

#[derive(Clone)]
pub enum Provider {
    V0_1(v0_1::entity_provider::GuestIndices),
    V0_2(v0_2::entity_provider::GuestIndices),
}

impl Exports {
    /// The exports of a linked component: the version is the one whose `meta` it exports.
    pub fn of(pre: &InstancePre<HostState>) -> Result<Self, String> {
        if let Ok(meta) = v0_2::meta::GuestIndices::new(pre) {
            return Ok(Self {
                version: Version::V0_2,
                meta: Meta::V0_2(meta),
                tabs: v0_2::entity_tabs::GuestIndices::new(pre)
                    .ok()
                    .map(Tabs::V0_2),
                cards: v0_2::entity_cards::GuestIndices::new(pre).ok(),
                pages: v0_2::pages::GuestIndices::new(pre).ok(),
                interactions: v0_2::interactions::GuestIndices::new(pre).ok(),
                http: v0_2::incoming_handler::GuestIndices::new(pre).ok(),
                events: v0_2::catalog_events::GuestIndices::new(pre).ok(),
                search: v0_2::search_documents::GuestIndices::new(pre).ok(),
                actions: v0_2::scaffolder_actions::GuestIndices::new(pre)
                    .ok()
                    .map(Actions::V0_2),
                provider: v0_2::entity_provider::GuestIndices::new(pre)
                    .ok()
                    .map(Provider::V0_2),
            });
        }
        let meta = v0_1::meta::GuestIndices::new(pre).map_err(|e| {
            format!(
                "exports neither {}'s nor {}'s meta interface: {e:#}",
                Version::V0_2.package(),
                Version::V0_1.package()
            )
        })?;
        Ok(Self {
            version: Version::V0_1,
            meta: Meta::V0_1(meta),
            tabs: v0_1::entity_tabs::GuestIndices::new(pre)
                .ok()
                .map(Tabs::V0_1),
            cards: None,
            pages: None,
            interactions: None,
            http: None,
            events: None,
            search: None,
            actions: v0_1::scaffolder_actions::GuestIndices::new(pre)
                .ok()
                .map(Actions::V0_1),
            provider: v0_1::entity_provider::GuestIndices::new(pre)
                .ok()
                .map(Provider::V0_1),
        })
    }

    pub fn names(&self) -> Vec<String> {
        [
            (self.tabs.is_some(), "entity-tabs"),
            (self.cards.is_some(), "entity-cards"),
            (self.pages.is_some(), "pages"),
            (self.interactions.is_some(), "interactions"),
            (self.http.is_some(), "http-routes"),
            (self.events.is_some(), "catalog-events"),
            (self.search.is_some(), "search-documents"),
            (self.actions.is_some(), "scaffolder-actions"),
            (self.provider.is_some(), "entity-provider"),
        ]
        .into_iter()
        .filter(|(present, _)| *present)
        .map(|(_, name)| name.to_string())
        .collect()
    }

    /// Loads every export of an instance, which checks its types against the contract.
    pub fn check(&self, store: &mut Store<HostState>, instance: &Instance) -> wasmtime::Result<()> {
        match &self.tabs {
            Some(Tabs::V0_1(tabs)) => {
                tabs.load(&mut *store, instance)?;
            }
            Some(Tabs::V0_2(tabs)) => {
                tabs.load(&mut *store, instance)?;
            }
            None => {}
        }
        if let Some(cards) = &self.cards {
            cards.load(&mut *store, instance)?;
        }
        if let Some(pages) = &self.pages {
            pages.load(&mut *store, instance)?;
        }
        if let Some(interactions) = &self.interactions {
            interactions.load(&mut *store, instance)?;
        }
        if let Some(http) = &self.http {
            http.load(&mut *store, instance)?;
        }
        if let Some(events) = &self.events {
            events.load(&mut *store, instance)?;
        }
        if let Some(search) = &self.search {
            search.load(&mut *store, instance)?;
        }
        match &self.actions {
            Some(Actions::V0_1(actions)) => {
                actions.load(&mut *store, instance)?;
            }
            Some(Actions::V0_2(actions)) => {
                actions.load(&mut *store, instance)?;
            }
            None => {}
        }
        match &self.provider {
            Some(Provider::V0_1(provider)) => {
                provider.load(&mut *store, instance)?;
            }
            Some(Provider::V0_2(provider)) => {
                provider.load(&mut *store, instance)?;
            }
            None => {}
        }
        Ok(())
    }

    /// `meta.info`.
    pub async fn info(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
    ) -> wasmtime::Result<PluginInfo> {
        Ok(match &self.meta {
            Meta::V0_2(meta) => meta.load(&mut *store, instance)?.call_info(store).await?,
            Meta::V0_1(meta) => {
                let info = meta.load(&mut *store, instance)?.call_info(store).await?;
                PluginInfo {
                    id: info.id,
                    name: info.name,
                    version: info.version,
                    description: info.description,
                }
            }
        })
    }
}

/// A tab as both versions describe it: (id, title).
pub type TabInfo = v0_2::entity_tabs::Tab;

impl Tabs {
    /// `entity-tabs.tabs-for` of the entity (its stored JSON).
    pub async fn tabs_for(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        entity: &Value,
        viewer: &Viewer,
    ) -> wasmtime::Result<Vec<TabInfo>> {
        Ok(match self {
            Tabs::V0_2(tabs) => {
                let entity = v0_2::to_wit_entity(entity);
                let viewer = viewer.into();
                tabs.load(&mut *store, instance)?
                    .call_tabs_for(store, &entity, &viewer)
                    .await?
            }
            Tabs::V0_1(tabs) => {
                let entity = v0_1::to_wit_entity(entity);
                tabs.load(&mut *store, instance)?
                    .call_tabs_for(store, &entity)
                    .await?
                    .into_iter()
                    .map(|tab| TabInfo {
                        id: tab.id,
                        title: tab.title,
                    })
                    .collect()
            }
        })
    }

    /// `entity-tabs.render`.
    pub async fn render(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        tab_id: &str,
        entity: &Value,
        viewer: &Viewer,
    ) -> wasmtime::Result<Result<v0_2::types::Tree, String>> {
        Ok(match self {
            Tabs::V0_2(tabs) => {
                let entity = v0_2::to_wit_entity(entity);
                let viewer = viewer.into();
                tabs.load(&mut *store, instance)?
                    .call_render(store, tab_id, &entity, &viewer)
                    .await?
            }
            Tabs::V0_1(tabs) => {
                let entity = v0_1::to_wit_entity(entity);
                tabs.load(&mut *store, instance)?
                    .call_render(store, tab_id, &entity)
                    .await?
                    .map(v0_1::newer_tree)
            }
        })
    }
}

/// A scaffolder action as both versions describe it.
pub type ActionInfo = v0_2::scaffolder_actions::Action;

impl Actions {
    /// `scaffolder-actions.list-actions`.
    pub async fn list(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
    ) -> wasmtime::Result<Vec<ActionInfo>> {
        Ok(match self {
            Actions::V0_2(actions) => {
                actions
                    .load(&mut *store, instance)?
                    .call_list_actions(store)
                    .await?
            }
            Actions::V0_1(actions) => actions
                .load(&mut *store, instance)?
                .call_list_actions(store)
                .await?
                .into_iter()
                .map(|action| ActionInfo {
                    id: action.id,
                    description: action.description,
                    input_schema_json: action.input_schema_json,
                })
                .collect(),
        })
    }

    /// `scaffolder-actions.run` on a workspace the store holds.
    pub async fn run(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
        action_id: &str,
        input_json: &str,
        workspace: Resource<Workspace>,
    ) -> wasmtime::Result<Result<String, String>> {
        match self {
            Actions::V0_2(actions) => {
                actions
                    .load(&mut *store, instance)?
                    .call_run(store, action_id, input_json, workspace)
                    .await
            }
            Actions::V0_1(actions) => {
                actions
                    .load(&mut *store, instance)?
                    .call_run(store, action_id, input_json, workspace)
                    .await
            }
        }
    }
}

impl Provider {
    /// `entity-provider.refresh-interval-seconds` and then `provide`, in one instance.
    pub async fn run(
        &self,
        store: &mut Store<HostState>,
        instance: &Instance,
    ) -> wasmtime::Result<(u32, Result<Vec<String>, String>)> {
        match self {
            Provider::V0_2(provider) => {
                let provider = provider.load(&mut *store, instance)?;
                let interval = provider.call_refresh_interval_seconds(&mut *store).await?;
                Ok((interval, provider.call_provide(store).await?))
            }
            Provider::V0_1(provider) => {
                let provider = provider.load(&mut *store, instance)?;
                let interval = provider.call_refresh_interval_seconds(&mut *store).await?;
                Ok((interval, provider.call_provide(store).await?))
            }
        }
    }
}
