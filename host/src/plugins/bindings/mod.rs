//! The WIT contract on the host side: the per-call state every contract version shares, and
//! one folder per contract version (`v0_1` for `greenroom:plugin@0.1.0`) holding its
//! generated bindings and its host functions, one file per interface. Host functions are thin
//! adapters over the capability services (catalog, templating, docs, config grants); each
//! counts the data it hands over against the call's budget.

mod v0_1;

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::engine::{Limited, MemoryCap};
use super::grants::Effective;
use super::http::HttpGate;
use crate::catalog::{Catalog, EntityRef, Predicate};
use crate::techdocs::TechDocs;
pub use v0_1::{
    CONTRACT, entity_provider, entity_tabs, meta, scaffolder_actions, to_wit_entity, types,
};

/// Most bytes the host hands a plugin (entities, pages, rendered text) in one call.
pub const MAX_HOST_DATA: usize = 16 << 20;

/// Links every import: WASI p2 (with an empty context, so no files, environment or sockets),
/// `wasi:http` (gated per plugin by [`HttpGate`]) and the contract's own interfaces.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<HostState>) -> anyhow::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    v0_1::add_to_linker(linker)
}

/// Everything one call's store holds.
pub struct HostState {
    plugin_id: Arc<str>,
    catalog: Arc<Catalog>,
    docs: Arc<TechDocs>,
    grants: Arc<Effective>,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    gate: HttpGate,
    pub table: ResourceTable,
    memory: MemoryCap,
    /// Bytes the host may still hand over in this call.
    budget: usize,
    /// What the user the call is made for may read of the catalog; `None` for calls the
    /// portal makes itself (entity providers, a task's actions).
    visible: Option<Predicate>,
}

impl HostState {
    pub fn new(
        plugin_id: Arc<str>,
        catalog: Arc<Catalog>,
        docs: Arc<TechDocs>,
        grants: Arc<Effective>,
        visible: Option<Predicate>,
    ) -> Self {
        let gate = HttpGate::new(
            plugin_id.clone(),
            grants.hosts.clone().into(),
            grants.limits.deadline,
        );
        Self {
            memory: MemoryCap::new(grants.limits),
            plugin_id,
            catalog,
            docs,
            grants,
            wasi: WasiCtx::builder().build(),
            http: WasiHttpCtx::new(),
            gate,
            table: ResourceTable::new(),
            budget: MAX_HOST_DATA,
            visible,
        }
    }

    /// Whether the call's user may read the entity (which may not exist).
    fn sees(&self, entity_ref: &EntityRef) -> bool {
        self.visible.as_ref().is_none_or(|visible| {
            !self
                .catalog
                .refs_matching(&[entity_ref.to_string()], visible.clone())
                .is_empty()
        })
    }

    /// Takes `bytes` from the call's budget; refuses once it is spent.
    fn charge(&mut self, call: &str, bytes: usize) -> Result<(), String> {
        match self.budget.checked_sub(bytes) {
            Some(rest) => {
                self.budget = rest;
                Ok(())
            }
            None => {
                let message = format!(
                    "{call}: the call's host data budget of {} MiB is spent",
                    MAX_HOST_DATA >> 20
                );
                tracing::warn!(plugin = %self.plugin_id, "{message}");
                Err(message)
            }
        }
    }
}

impl Limited for HostState {
    fn memory_cap(&mut self) -> &mut MemoryCap {
        &mut self.memory
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.gate,
        }
    }
}

/// A store failure is the host's fault, not the plugin's: it ends the call.
fn store_error(error: anyhow::Error) -> wasmtime::Error {
    wasmtime::format_err!("catalog store: {error:#}")
}

fn parse_ref(call: &str, text: &str) -> Result<EntityRef, String> {
    EntityRef::parse(text, None, "default").map_err(|e| format!("{call}: '{text}': {e}"))
}
