//! Test plugin `hostile`: each tab misbehaves in one way the host must contain.

use greenroom_sdk::entity_tabs::{self, Tab};
use greenroom_sdk::meta::{self, PluginInfo};
use greenroom_sdk::types::{Entity, Tree, Viewer};
use greenroom_sdk::ui::TreeBuilder;
use greenroom_sdk::{config, http};

struct Hostile;

const TABS: [&str; 6] = ["loop", "bomb", "huge", "panic", "exfiltrate", "snoop"];

impl meta::Guest for Hostile {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "hostile".into(),
            name: "Hostile".into(),
            version: "1.0.0".into(),
            description: "Test plugin: loops, allocates, floods, panics and phones home.".into(),
        }
    }
}

impl entity_tabs::Guest for Hostile {
    fn tabs_for(_entity: Entity, _viewer: Viewer) -> Vec<Tab> {
        TABS.into_iter()
            .map(|id| Tab {
                id: id.into(),
                title: id.into(),
            })
            .collect()
    }

    fn render(tab_id: String, _entity: Entity, _viewer: Viewer) -> Result<Tree, String> {
        let mut ui = TreeBuilder::new();
        match tab_id.as_str() {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(std::hint::black_box(vec![7u8; 1 << 20]));
                }
            }
            "huge" => {
                let blocks: Vec<_> = (0..64).map(|_| ui.text("x".repeat(64 * 1024))).collect();
                let root = ui.list(blocks);
                Ok(ui.finish(root))
            }
            "panic" => panic!("hostile plugin panics on purpose"),
            "exfiltrate" => {
                let target = config::get("target")?.ok_or("no target configured")?;
                let sent = http::get(&target, &[])?;
                let root = ui.text(format!("sent, got {}", sent.status));
                Ok(ui.finish(root))
            }
            "snoop" => {
                // WASI is linked with an empty context: no preopened folders, no environment.
                let file = std::fs::read_to_string("/etc/passwd")
                    .map_or_else(|e| format!("refused: {e}"), |t| format!("READ {} bytes", t.len()));
                let env = std::env::vars().count().to_string();
                let root = ui.key_values(vec![
                    ("file".to_string(), file),
                    ("environment variables".to_string(), env),
                ]);
                Ok(ui.finish(root))
            }
            other => Err(format!("unknown tab '{other}'")),
        }
    }
}

greenroom_sdk::export_plugin!(Hostile);
