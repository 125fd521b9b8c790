//! `greenroom:plugin@0.1.0` (published, frozen): the generated bindings and the host
//! functions of each interface it imports, one file per interface.

mod catalog;
mod config;
mod docs;
mod log;
mod templating;
mod workspace;

use super::HostState;
pub use catalog::to_wit_entity;

wasmtime::component::bindgen!({
    path: "../wit/v0.1.0",
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

pub use exports::greenroom::plugin::{entity_provider, entity_tabs, meta, scaffolder_actions};
pub use greenroom::plugin::types;

/// The package every interface above belongs to.
pub const CONTRACT: &str = "greenroom:plugin@0.1.0";

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
    contract::workspace::add_to_linker::<_, HasSelf<_>>(linker, get)?;
    Ok(())
}

impl types::Host for HostState {}
