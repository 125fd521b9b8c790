//! Test plugin `follower` (contract 0.2.0): follows the catalog's changes, keeping each in
//! its storage, and lists them on its page `changes`. A change to an entity named `explode`
//! traps (hostile, for the host to contain).

use greenroom_sdk::storage;
use greenroom_sdk::types::{Tree, Viewer};
use greenroom_sdk::ui::TreeBuilder;

greenroom_sdk::bind_world!(
    inline: r#"
        package test:follower;
        world follower {
            include greenroom:plugin/catalog-events-plugin@0.2.0;
            include greenroom:plugin/pages-plugin@0.2.0;
        }
    "#,
    "../../../wit/v0.2.0"
);

use exports::greenroom::plugin::catalog_events::{self, Change};
use exports::greenroom::plugin::meta::{self, PluginInfo};
use exports::greenroom::plugin::pages::{self, Page};

struct Follower;

impl meta::Guest for Follower {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "follower".into(),
            name: "Follower".into(),
            version: "0.2.0".into(),
            description: "Test plugin: keeps the catalog's changes and lists them.".into(),
        }
    }
}

impl catalog_events::Guest for Follower {
    fn on_changes(changes: Vec<Change>) -> Result<(), String> {
        let mut next: u64 = storage::get("next")?
            .and_then(|bytes| String::from_utf8(bytes).ok()?.parse().ok())
            .unwrap_or(0);
        for change in changes {
            let (kind, entity_ref, name) = match change {
                Change::Added(e) => ("added", e.entity_ref, e.name),
                Change::Changed(e) => ("changed", e.entity_ref, e.name),
                Change::Removed(entity_ref) => ("removed", entity_ref, String::new()),
            };
            if name == "explode" {
                panic!("follower traps on {entity_ref}");
            }
            storage::set(&format!("change/{next:08}"), format!("{kind} {entity_ref}").as_bytes())?;
            next += 1;
        }
        storage::set("next", next.to_string().as_bytes())
    }
}

impl pages::Guest for Follower {
    fn list_pages() -> Vec<Page> {
        vec![Page {
            id: "changes".into(),
            title: "Catalog changes".into(),
        }]
    }

    fn render_page(_page_id: String, _viewer: Viewer) -> Result<Tree, String> {
        let mut ui = TreeBuilder::new();
        let mut items = Vec::new();
        for key in storage::list_keys("change/", None, 1000)? {
            let text = storage::get(&key)?.unwrap_or_default();
            items.push(ui.text(String::from_utf8_lossy(&text).into_owned()));
        }
        let root = ui.list(items);
        Ok(ui.finish(root))
    }
}

export!(Follower);
