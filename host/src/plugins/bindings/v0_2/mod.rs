//! `greenroom:plugin@0.2.0`: the generated bindings and the host functions of the interfaces
//! it imports; those unchanged since 0.1.0 are the same source as 0.1.0's (`imports/`).

#[path = "../imports/catalog.rs"]
mod catalog;
#[path = "../imports/config.rs"]
mod config;
#[path = "../imports/docs.rs"]
mod docs;
#[path = "../imports/log.rs"]
mod log;
mod schedule;
mod storage;
#[path = "../imports/templating.rs"]
mod templating;
#[path = "../imports/workspace.rs"]
mod workspace;

use super::HostState;
pub use catalog::to_wit_entity;

contract_version!(
    "../wit/v0.2.0",
    [
        types, catalog, templating, docs, config, log, storage, schedule, workspace
    ]
);

pub use exports::greenroom::plugin::{
    catalog_events, entity_cards, entity_provider, entity_tabs, interactions, meta, pages,
    scaffolder_actions, search_documents,
};
pub use exports::wasi::http::incoming_handler;
pub use greenroom::plugin::types;

impl From<&crate::plugins::Viewer> for types::Viewer {
    fn from(viewer: &crate::plugins::Viewer) -> Self {
        Self {
            user_ref: viewer.user_ref.clone(),
            ownership_refs: viewer.ownership_refs.clone(),
        }
    }
}
