//! The "Ownership" entity tab: the entity's owner, read through the catalog import, with the
//! owner's members and its chain of parent groups, each linked.

use greenroom_sdk::catalog;
use greenroom_sdk::entity::portal_path;
use greenroom_sdk::types::{Entity, NodeId, Viewer};
use greenroom_sdk::ui::TreeBuilder;
use greenroom_sdk::{PluginInfo, Tab, TabPlugin, export_tab_plugin};

struct Ownership;

const TAB_ID: &str = "ownership";

/// Parent chains longer than this are cut short (and a cycle cannot loop forever).
const MAX_PARENT_DEPTH: usize = 16;

impl TabPlugin for Ownership {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "ownership".into(),
            name: "Ownership".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Shows who owns an entity, with the owning group's members and parents."
                .into(),
        }
    }

    fn tabs(entity: &Entity, _viewer: &Viewer) -> Vec<Tab> {
        if entity.related("ownedBy").next().is_none() {
            return Vec::new();
        }
        vec![Tab {
            id: TAB_ID.into(),
            title: "Ownership".into(),
        }]
    }

    fn render(
        tab: &str,
        entity: &Entity,
        _viewer: &Viewer,
        ui: &mut TreeBuilder,
    ) -> Result<NodeId, String> {
        if tab != TAB_ID {
            return Err(format!("unknown tab '{tab}'"));
        }
        let sections: Vec<NodeId> = entity
            .related("ownedBy")
            .map(|owner_ref| owner_section(ui, owner_ref))
            .collect();
        // One owner is the common case: show its card without a list around it.
        Ok(match sections[..] {
            [] => ui.empty(format!("{} has no owner.", entity.entity_ref)),
            [only] => only,
            _ => ui.list(sections),
        })
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
    let mut children = vec![ui.link(owner.display_name(), owner.portal_path())];
    let mut facts = vec![("Kind".to_string(), owner.kind.clone())];
    if let Some(description) = &owner.description {
        facts.push(("Description".into(), description.clone()));
    }
    children.push(ui.key_values(facts));
    let chain = parent_chain(&owner);
    if !chain.is_empty() {
        let links = chain
            .iter()
            .map(|parent| ui.link(parent, portal_path(parent)))
            .collect();
        let list = ui.list(links);
        children.push(ui.section("Parent groups", vec![list]));
    }
    let members: Vec<NodeId> = owner
        .related("hasMember")
        .map(|member| ui.link(member, portal_path(member)))
        .collect();
    let members = if members.is_empty() {
        ui.empty("No members listed.")
    } else {
        ui.list(members)
    };
    children.push(ui.section("Members", vec![members]));
    ui.section(format!("Owner: {}", owner.display_name()), children)
}

/// The owner's parent, its parent, and so on to the top of the organisation. A parent
/// missing from the catalog ends the chain (it is still listed).
fn parent_chain(owner: &Entity) -> Vec<String> {
    let mut chain: Vec<String> = Vec::new();
    let mut next = owner.related("childOf").next().map(str::to_string);
    while let Some(parent_ref) = next.take() {
        if chain.contains(&parent_ref) || chain.len() == MAX_PARENT_DEPTH {
            break;
        }
        if let Ok(Some(parent)) = catalog::get_entity(&parent_ref) {
            next = parent.related("childOf").next().map(str::to_string);
        }
        chain.push(parent_ref);
    }
    chain
}

export_tab_plugin!(Ownership);
