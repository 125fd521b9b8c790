//! Entity tabs: which tabs the enabled plugins offer for an entity, and rendering one into a
//! checked UI tree.

use std::sync::Arc;

use greenroom_api::{EntityTabs, PluginFailure, RenderedTab, TabRef};

use super::bindings::{self, entity_tabs, to_wit_entity};
use super::registry::LoadedPlugin;
use super::{PluginError, PluginHost, tree};
use crate::catalog::{EntityRef, Predicate};

/// Most tabs one plugin may offer for an entity.
const MAX_TABS: usize = 16;

impl PluginHost {
    /// The tabs every enabled plugin offers for an entity, asked of all plugins at once. A
    /// plugin that fails is reported in `errors`; the others' tabs are still listed.
    /// `visible`: what the viewer may read, all a plugin then sees of the catalog (`None`:
    /// everything); `shown`: whether the viewer may see a plugin's tabs at all (the others
    /// are not asked).
    pub async fn tabs_for(
        self: &Arc<Self>,
        entity_ref: &EntityRef,
        visible: Option<Predicate>,
        shown: impl Fn(&str) -> bool + Send + 'static,
    ) -> Result<EntityTabs, PluginError> {
        let entity_ref = entity_ref.clone();
        self.on_plugin_runtime(move |host| async move {
            let entity = host.wit_entity(&entity_ref)?;
            let registry = host.registry.load();
            let mut asked = tokio::task::JoinSet::new();
            for (order, plugin) in registry
                .loaded()
                .filter(|p| host.enabled(&p.id) && shown(&p.id))
                .enumerate()
            {
                let Some(indices) = plugin.exports.tabs.clone() else {
                    continue;
                };
                let (host, plugin, entity) = (host.clone(), plugin.clone(), entity.clone());
                let visible = visible.clone();
                asked.spawn(async move {
                    let offered = host.offered_tabs(&plugin, indices, entity, visible).await;
                    (order, plugin.id.clone(), offered)
                });
            }
            let mut answers = asked.join_all().await;
            answers.sort_by_key(|(order, ..)| *order);
            let mut tabs = EntityTabs {
                tabs: Vec::new(),
                errors: Vec::new(),
            };
            for (_, plugin_id, offered) in answers {
                match offered {
                    Ok(offered) => tabs.tabs.extend(offered.into_iter().map(|tab| TabRef {
                        plugin_id: plugin_id.to_string(),
                        tab_id: tab.id,
                        title: tab.title,
                    })),
                    Err(e) => tabs.errors.push(PluginFailure {
                        plugin_id: plugin_id.to_string(),
                        message: e.to_string(),
                    }),
                }
            }
            Ok(tabs)
        })
        .await
    }

    async fn offered_tabs(
        &self,
        plugin: &LoadedPlugin,
        indices: entity_tabs::GuestIndices,
        entity: bindings::types::Entity,
        visible: Option<Predicate>,
    ) -> Result<Vec<entity_tabs::Tab>, PluginError> {
        self.call(
            plugin,
            "entity-tabs.tabs-for",
            visible,
            move |store, instance| {
                Box::pin(async move {
                    indices
                        .load(&mut *store, instance)?
                        .call_tabs_for(&mut *store, &entity)
                        .await
                })
            },
            checked_tabs,
        )
        .await
    }

    /// Renders one plugin tab for an entity. The tab must be one the plugin offers for that
    /// entity (asked in the same instance, just before): a tab is never shown on an entity
    /// its plugin did not choose.
    pub async fn render_tab(
        self: &Arc<Self>,
        plugin_id: &str,
        tab_id: &str,
        entity_ref: &EntityRef,
        visible: Option<Predicate>,
    ) -> Result<RenderedTab, PluginError> {
        let (plugin_id, tab_id, entity_ref) = (
            plugin_id.to_string(),
            tab_id.to_string(),
            entity_ref.clone(),
        );
        self.on_plugin_runtime(move |host| async move {
            let plugin = host.callable(&plugin_id)?;
            let indices = plugin.exports.tabs.clone().ok_or_else(|| {
                PluginError::Invalid(format!("plugin '{plugin_id}' contributes no entity tabs"))
            })?;
            let entity = host.wit_entity(&entity_ref)?;
            let call = format!("entity-tabs.render({tab_id})");
            let wanted = tab_id.clone();
            let tree = host
                .call(
                    &plugin,
                    &call,
                    visible,
                    move |store, instance| {
                        Box::pin(async move {
                            let tabs = indices.load(&mut *store, instance)?;
                            let offered = tabs.call_tabs_for(&mut *store, &entity).await?;
                            if !offered.iter().any(|tab| tab.id == wanted) {
                                return Ok(None);
                            }
                            Ok(Some(tabs.call_render(&mut *store, &wanted, &entity).await?))
                        })
                    },
                    |tree| {
                        let Some(tree) = tree else {
                            return Ok(None);
                        };
                        tree::to_ui(&tree?)
                            .map(Some)
                            .map_err(|reason| format!("returned an invalid UI tree: {reason}"))
                    },
                )
                .await?
                .ok_or_else(|| PluginError::UnknownTab {
                    plugin: plugin_id.clone(),
                    tab: tab_id.clone(),
                    entity: entity_ref.to_string(),
                })?;
            Ok(RenderedTab {
                plugin_id,
                tab_id,
                entity_ref: entity_ref.to_string(),
                tree,
            })
        })
        .await
    }

    fn wit_entity(&self, entity_ref: &EntityRef) -> Result<bindings::types::Entity, PluginError> {
        let body = self
            .sandbox
            .catalog()
            .get(entity_ref)?
            .ok_or_else(|| PluginError::EntityNotFound(entity_ref.to_string()))?;
        Ok(to_wit_entity(&body))
    }
}

fn checked_tabs(offered: Vec<entity_tabs::Tab>) -> Result<Vec<entity_tabs::Tab>, String> {
    if offered.len() > MAX_TABS {
        Err(format!(
            "offered {} tabs; at most {MAX_TABS} are shown",
            offered.len()
        ))
    } else {
        Ok(offered)
    }
}
