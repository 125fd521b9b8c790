//! The one trait an entity-tab plugin implements, and the macro that exports it.

use crate::types::{Entity, NodeId, Viewer};
use crate::ui::TreeBuilder;
use crate::{PluginInfo, Tab};

/// An entity-tab plugin. Export the implementing type with [`export_tab_plugin!`](crate::export_tab_plugin).
pub trait TabPlugin {
    /// Who the plugin is; asked once, when it loads.
    fn info() -> PluginInfo;

    /// The tabs this plugin shows for an entity: often none (for example when an annotation
    /// the plugin needs is missing).
    fn tabs(entity: &Entity, viewer: &Viewer) -> Vec<Tab>;

    /// Renders tab `tab` for `entity` into `ui` and returns the root node; an `Err` message
    /// is shown in the tab instead.
    fn render(
        tab: &str,
        entity: &Entity,
        viewer: &Viewer,
        ui: &mut TreeBuilder,
    ) -> Result<NodeId, String>;
}

/// Exports a [`TabPlugin`] as the component's `meta` and `entity-tabs`.
#[macro_export]
macro_rules! export_tab_plugin {
    ($plugin:ty) => {
        struct GreenroomTabExport;

        impl $crate::meta::Guest for GreenroomTabExport {
            fn info() -> $crate::PluginInfo {
                <$plugin as $crate::TabPlugin>::info()
            }
        }

        impl $crate::entity_tabs::Guest for GreenroomTabExport {
            fn tabs_for(
                entity: $crate::types::Entity,
                viewer: $crate::types::Viewer,
            ) -> Vec<$crate::Tab> {
                <$plugin as $crate::TabPlugin>::tabs(&entity, &viewer)
            }

            fn render(
                tab_id: String,
                entity: $crate::types::Entity,
                viewer: $crate::types::Viewer,
            ) -> Result<$crate::types::Tree, String> {
                let mut ui = $crate::ui::TreeBuilder::new();
                let root =
                    <$plugin as $crate::TabPlugin>::render(&tab_id, &entity, &viewer, &mut ui)?;
                Ok(ui.finish(root))
            }
        }

        $crate::export_plugin!(GreenroomTabExport);
    };
}
