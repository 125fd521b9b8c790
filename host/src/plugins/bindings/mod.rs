//! The WIT contract on the host side: the per-call state every contract version shares, one
//! folder per contract version (`v0_1` for `greenroom:plugin@0.1.0`, `v0_2`) holding its
//! generated bindings, and `imports/` with the host functions of the interfaces both versions
//! have unchanged, one file per interface, compiled into each version. Host functions are
//! thin adapters over the capability services (catalog, templating, docs, config grants,
//! storage); each counts the data it hands over against the call's budget. `exports` calls a
//! plugin whichever version it targets.

/// One contract version's bindings of world `host` from the WIT folder `$path`, the
/// function linking `$interface`s (its own imports), and its `types` host: the same for
/// every version but for those.
macro_rules! contract_version {
    ($path:literal, [$($interface:ident),*]) => {
        wasmtime::component::bindgen!({
            path: $path,
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

        /// Links the contract's own interfaces.
        pub fn add_to_linker(
            linker: &mut wasmtime::component::Linker<HostState>,
        ) -> anyhow::Result<()> {
            use wasmtime::component::HasSelf;
            fn get(state: &mut HostState) -> &mut HostState {
                state
            }
            $(greenroom::plugin::$interface::add_to_linker::<_, HasSelf<_>>(linker, get)?;)*
            Ok(())
        }

        impl greenroom::plugin::types::Host for HostState {}
    };
}

mod exports;
// Each version compiles the shared files of `imports/` against its own bindings.
#[allow(clippy::duplicate_mod)]
mod v0_1;
#[allow(clippy::duplicate_mod)]
mod v0_2;

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::engine::{Limited, MemoryCap};
use super::grants::Effective;
use super::http::HttpGate;
use super::schedule::Soon;
use super::storage::Storage;
use crate::catalog::{Catalog, EntityRef, Predicate};
use crate::techdocs::{DocsError, Site, TechDocs};
pub use exports::{Exports, PluginInfo};
pub use v0_2::{
    catalog_events, entity_cards, interactions, pages, scaffolder_actions, search_documents,
    to_wit_entity, types,
};

/// Most bytes the host hands a plugin (entities, pages, rendered text) in one call.
pub const MAX_HOST_DATA: usize = 16 << 20;

/// Links every import: WASI p2 (with an empty context, so no files, environment or sockets),
/// `wasi:http` (gated per plugin by [`HttpGate`]) and the contract's own interfaces.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<HostState>) -> anyhow::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    v0_1::add_to_linker(linker)?;
    v0_2::add_to_linker(linker)
}

/// The services host functions reach, shared by every call.
#[derive(Clone)]
pub struct Services {
    pub catalog: Arc<Catalog>,
    pub docs: Arc<TechDocs>,
    pub storage: Arc<Storage>,
    /// Jobs plugins asked to run now.
    pub soon: Arc<Soon>,
}

/// Everything one call's store holds.
pub struct HostState {
    plugin_id: Arc<str>,
    catalog: Arc<Catalog>,
    docs: Arc<TechDocs>,
    storage: Arc<Storage>,
    soon: Arc<Soon>,
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
    /// When the call's deadline started counting.
    started: Instant,
}

impl HostState {
    pub fn new(
        plugin_id: Arc<str>,
        services: &Services,
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
            catalog: services.catalog.clone(),
            docs: services.docs.clone(),
            storage: services.storage.clone(),
            soon: services.soon.clone(),
            grants,
            wasi: WasiCtx::builder().build(),
            http: WasiHttpCtx::new(),
            gate,
            table: ResourceTable::new(),
            budget: MAX_HOST_DATA,
            visible,
            started: Instant::now(),
        }
    }

    /// State for an instance made ahead of its call: until [`HostState::begin`] hands it to
    /// a call, the catalog shows it nothing, so what its start-up reads cannot depend on
    /// whom it will serve.
    pub fn ahead(plugin_id: Arc<str>, services: &Services, grants: Arc<Effective>) -> Self {
        Self::new(plugin_id, services, grants, Some(Predicate::nothing()))
    }

    /// Hands the state to the call it serves: the call's view of the catalog, and its
    /// deadline counted from now.
    pub fn begin(&mut self, visible: Option<Predicate>) {
        self.visible = visible;
        self.started = Instant::now();
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

    /// The docs site of an entity; the outer error is the store's, the inner one the plugin's.
    fn site(&mut self, call: &str, entity_ref: &str) -> wasmtime::Result<Result<Site, String>> {
        let parsed = match parse_ref(call, entity_ref) {
            Ok(r) => r,
            Err(message) => return Ok(Err(message)),
        };
        if !self.sees(&parsed) {
            return Ok(Err(format!("{call}: {parsed}: no such entity")));
        }
        match self.docs.site(&parsed) {
            Ok(site) => Ok(Ok(site)),
            Err(DocsError::Store(e)) => Err(store_error(e)),
            Err(e) => Ok(Err(format!("{call}: {parsed}: {e}"))),
        }
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

    fn started(&self) -> Instant {
        self.started
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

/// A store failure (catalog, docs, storage) is the host's fault, not the plugin's: it ends
/// the call.
fn store_error(error: anyhow::Error) -> wasmtime::Error {
    wasmtime::format_err!("host store: {error:#}")
}

fn parse_ref(call: &str, text: &str) -> Result<EntityRef, String> {
    EntityRef::parse(text, None, "default").map_err(|e| format!("{call}: '{text}': {e}"))
}
