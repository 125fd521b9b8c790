//! {{id}}: an entity tab for every Component, showing its type, lifecycle and annotations.
//! Build with `greenroom plugin build`, try with `greenroom plugin test`.

use greenroom_sdk::entity::ComponentSpec;
use greenroom_sdk::types::{Entity, NodeId, Tone, Viewer};
use greenroom_sdk::ui::TreeBuilder;
use greenroom_sdk::{PluginInfo, Tab, TabPlugin, export_tab_plugin};

struct Plugin;

impl TabPlugin for Plugin {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "{{id}}".into(),
            name: "{{id}}".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "A tab for components, written in Rust.".into(),
        }
    }

    fn tabs(entity: &Entity, _viewer: &Viewer) -> Vec<Tab> {
        if entity.kind != "Component" {
            return Vec::new();
        }
        vec![Tab {
            id: "overview".into(),
            title: "{{id}}".into(),
        }]
    }

    fn render(
        _tab: &str,
        entity: &Entity,
        viewer: &Viewer,
        ui: &mut TreeBuilder,
    ) -> Result<NodeId, String> {
        let spec: ComponentSpec = entity.spec()?;
        let heading = ui.heading(format!("Hello from Rust, {}", entity.display_name()));
        let lifecycle = ui.badge(spec.lifecycle, Tone::Info);
        let facts = ui.key_values(vec![
            ("Type", spec.type_),
            ("Owner", spec.owner),
            ("Viewer", viewer.user_ref.clone()),
        ]);
        let annotations = ui.key_values(entity.annotations.clone());
        let section = ui.section("Annotations", vec![annotations]);
        Ok(ui.list(vec![heading, lifecycle, facts, section]))
    }
}

export_tab_plugin!(Plugin);
