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
mod storage;
#[path = "../imports/templating.rs"]
mod templating;
#[path = "../imports/workspace.rs"]
mod workspace;

use super::HostState;
pub use catalog::to_wit_entity;

wasmtime::component::bindgen!({
    path: "../wit/v0.2.0",
    world: "host",
    imports: { default: trappable },
    exports: { default: async },
    require_store_data_send: true,
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "greenroom:plugin/workspace.workspace": crate::scaffolder::Workspace,
    },
});

pub use exports::greenroom::plugin::{
    entity_cards, entity_provider, entity_tabs, interactions, meta, pages, scaffolder_actions,
};
pub use exports::wasi::http::incoming_handler;
pub use greenroom::plugin::types;

/// Links the contract's own interfaces.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<HostState>) -> anyhow::Result<()> {
    use greenroom::plugin as contract;
    use wasmtime::component::HasSelf;
    fn get(state: &mut HostState) -> &mut HostState {
        state
    }
    types::add_to_linker::<_, HasSelf<_>>(linker, get)?;
    contract::catalog::add_to_linker::<_, HasSelf<_>>(linker, get)?;
    contract::templating::add_to_linker::<_, HasSelf<_>>(linker, get)?;
    contract::docs::add_to_linker::<_, HasSelf<_>>(linker, get)?;
    contract::config::add_to_linker::<_, HasSelf<_>>(linker, get)?;
    contract::log::add_to_linker::<_, HasSelf<_>>(linker, get)?;
    contract::storage::add_to_linker::<_, HasSelf<_>>(linker, get)?;
    contract::workspace::add_to_linker::<_, HasSelf<_>>(linker, get)?;
    Ok(())
}

impl types::Host for HostState {}

impl From<&crate::plugins::Viewer> for types::Viewer {
    fn from(viewer: &crate::plugins::Viewer) -> Self {
        Self {
            user_ref: viewer.user_ref.clone(),
            ownership_refs: viewer.ownership_refs.clone(),
        }
    }
}
