//! The "Ownership" entity tab: the entity's owner, read through the catalog import, with the
//! owner's members and parent group linked.

use greenroom_sdk::catalog;
use greenroom_sdk::entity_tabs::{self, Tab};
use greenroom_sdk::meta::{self, PluginInfo};
use greenroom_sdk::types::{Entity, NodeId, Tree};
use greenroom_sdk::ui::TreeBuilder;

struct Ownership;

const TAB_ID: &str = "ownership";

impl meta::Guest for Ownership {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "ownership".into(),
            name: "Ownership".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Shows who owns an entity, with the owning group's members and parent."
                .into(),
        }
    }
}

impl entity_tabs::Guest for Ownership {
    fn tabs_for(entity: Entity) -> Vec<Tab> {
        if entity.related("ownedBy").next().is_none() {
            return Vec::new();
        }
        vec![Tab {
            id: TAB_ID.into(),
            title: "Ownership".into(),
        }]
    }

    fn render(tab_id: String, entity: Entity) -> Result<Tree, String> {
        if tab_id != TAB_ID {
            return Err(format!("unknown tab '{tab_id}'"));
        }
        let mut ui = TreeBuilder::new();
        let mut sections = Vec::new();
        for owner_ref in entity.related("ownedBy") {
            sections.push(owner_section(&mut ui, owner_ref));
        }
        if sections.is_empty() {
            let empty = ui.empty(format!("{} has no owner.", entity.entity_ref));
            return Ok(ui.finish(empty));
        }
        // One owner is the common case: show its card without a list around it.
        let root = match sections[..] {
            [only] => only,
            _ => ui.list(sections),
        };
        Ok(ui.finish(root))
    }
}

fn owner_section(ui: &mut TreeBuilder, owner_ref: &str) -> NodeId {
    let owner = match catalog::get_entity(owner_ref) {
        Ok(Some(owner)) => owner,
        Ok(None) => {
            let missing = ui.empty(format!("The owner {owner_ref} is not in the catalog."));
            return ui.section(format!("Owner: {owner_ref}"), vec![missing]);
        }
        Err(message) => {
            let failed = ui.empty(format!("The catalog could not be read: {message}"));
            return ui.section(format!("Owner: {owner_ref}"), vec![failed]);
        }
    };
    let mut children = vec![ui.link(owner.display_name(), entity_path(&owner.entity_ref))];
    let mut facts = vec![("Kind".to_string(), owner.kind.clone())];
    if let Some(description) = &owner.description {
        facts.push(("Description".into(), description.clone()));
    }
    children.push(ui.key_values(facts));
    let parents: Vec<NodeId> = owner
        .related("childOf")
        .map(|parent| ui.link(parent, entity_path(parent)))
        .collect();
    if !parents.is_empty() {
        let list = ui.list(parents);
        children.push(ui.section("Parent group", vec![list]));
    }
    let members: Vec<NodeId> = owner
        .related("hasMember")
        .map(|member| ui.link(member, entity_path(member)))
        .collect();
    let members = if members.is_empty() {
        ui.empty("No members listed.")
    } else {
        ui.list(members)
    };
    children.push(ui.section("Members", vec![members]));
    ui.section(format!("Owner: {}", owner.display_name()), children)
}

/// `kind:namespace/name` -> the portal's entity page path.
fn entity_path(entity_ref: &str) -> String {
    let (kind, rest) = entity_ref
        .split_once(':')
        .unwrap_or(("component", entity_ref));
    let (namespace, name) = rest.split_once('/').unwrap_or(("default", rest));
    format!("/catalog/{namespace}/{kind}/{name}")
}

greenroom_sdk::export_plugin!(Ownership);
