//! Entity tabs: which tabs the enabled plugins offer for an entity, and rendering one into a
//! checked UI tree.

use greenroom_api::{EntityTabs, PluginFailure, RenderedTab, TabRef};

use super::bindings::{self, to_wit_entity};
use super::{PluginError, PluginHost, tree};
use crate::catalog::EntityRef;

/// Most tabs one plugin may offer for an entity.
const MAX_TABS: usize = 16;

impl PluginHost {
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

    fn wit_entity(&self, entity_ref: &EntityRef) -> Result<bindings::types::Entity, PluginError> {
        let body = self
            .sandbox
            .catalog()
            .get(entity_ref)?
            .ok_or_else(|| PluginError::EntityNotFound(entity_ref.to_string()))?;
        Ok(to_wit_entity(&body))
    }
}
