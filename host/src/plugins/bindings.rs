//! The WIT contract on the host side: generated bindings, the per-call state, and the host
//! functions plugins import. Host functions are thin adapters over the capability services
//! (catalog, templating, docs, config grants); each counts the data it hands over against the
//! call's budget.

use std::sync::Arc;

use serde_json::Value;
use wasmtime::StoreLimits;
use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use super::engine::Limited;
use super::grants::Effective;
use super::http::HttpGate;
use crate::catalog::{Catalog, Cursor, EntityQuery, EntityRef, Predicate};
use crate::docs::Site;

wasmtime::component::bindgen!({
    path: "../wit/v0.1.0",
    world: "host",
    imports: { default: trappable },
    require_store_data_send: true,
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        "greenroom:plugin/workspace.workspace": crate::workspace::Workspace,
    },
});

pub use exports::greenroom::plugin::{entity_provider, entity_tabs, meta, scaffolder_actions};
pub use greenroom::plugin::types;

use greenroom::plugin::{catalog, config, docs, log, templating, workspace};

/// The package every interface above belongs to.
pub const CONTRACT: &str = "greenroom:plugin@0.1.0";

/// Most entities one `catalog.query` call returns, whatever the plugin asks.
const MAX_QUERY_LIMIT: u32 = 100;
/// Most bytes the host hands a plugin (entities, pages, rendered text) in one call.
pub const MAX_HOST_DATA: usize = 16 << 20;
/// Largest template or template values a plugin may pass.
const MAX_TEMPLATE_INPUT: usize = 1 << 20;

/// Links every import of the contract: ours, WASI p2 (with an empty context, so no files,
/// environment or sockets) and `wasi:http` (gated per plugin by [`HttpGate`]).
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<HostState>) -> anyhow::Result<()> {
    use wasmtime::component::HasSelf;
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(linker)?;
    fn get(state: &mut HostState) -> &mut HostState {
        state
    }
    types::add_to_linker::<_, HasSelf<_>>(linker, get)?;
    catalog::add_to_linker::<_, HasSelf<_>>(linker, get)?;
    templating::add_to_linker::<_, HasSelf<_>>(linker, get)?;
    docs::add_to_linker::<_, HasSelf<_>>(linker, get)?;
    config::add_to_linker::<_, HasSelf<_>>(linker, get)?;
    log::add_to_linker::<_, HasSelf<_>>(linker, get)?;
    workspace::add_to_linker::<_, HasSelf<_>>(linker, get)?;
    Ok(())
}

/// Everything one call's store holds.
pub struct HostState {
    plugin_id: Arc<str>,
    catalog: Arc<Catalog>,
    grants: Arc<Effective>,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    gate: HttpGate,
    pub table: ResourceTable,
    limits: StoreLimits,
    /// Bytes the host may still hand over in this call.
    budget: usize,
}

impl HostState {
    pub fn new(plugin_id: Arc<str>, catalog: Arc<Catalog>, grants: Arc<Effective>) -> Self {
        let limits = super::engine::store_limits(grants.limits);
        let gate = HttpGate::new(
            plugin_id.clone(),
            grants.hosts.clone().into(),
            grants.limits.deadline,
        );
        Self {
            plugin_id,
            catalog,
            grants,
            wasi: WasiCtx::builder().build(),
            http: WasiHttpCtx::new(),
            gate,
            table: ResourceTable::new(),
            limits,
            budget: MAX_HOST_DATA,
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

    fn entity(&mut self, call: &str, body: &Value) -> Result<types::Entity, String> {
        let entity = to_wit_entity(body);
        self.charge(call, entity_size(&entity))?;
        Ok(entity)
    }
}

impl Limited for HostState {
    fn store_limits(&mut self) -> &mut StoreLimits {
        &mut self.limits
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

impl types::Host for HostState {}

/// A store failure is the host's fault, not the plugin's: it ends the call.
fn store_error(error: anyhow::Error) -> wasmtime::Error {
    wasmtime::format_err!("catalog store: {error:#}")
}

fn parse_ref(call: &str, text: &str) -> Result<EntityRef, String> {
    EntityRef::parse(text, None, "default").map_err(|e| format!("{call}: '{text}': {e}"))
}

impl catalog::Host for HostState {
    fn get_entity(
        &mut self,
        entity_ref: String,
    ) -> wasmtime::Result<Result<Option<types::Entity>, String>> {
        let call = "catalog.get-entity";
        let entity_ref = match parse_ref(call, &entity_ref) {
            Ok(r) => r,
            Err(message) => return Ok(Err(message)),
        };
        let Some(body) = self.catalog.get(&entity_ref).map_err(store_error)? else {
            return Ok(Ok(None));
        };
        Ok(self.entity(call, &body).map(Some))
    }

    fn query(
        &mut self,
        filters: Vec<catalog::Filter>,
        limit: u32,
        cursor: Option<String>,
    ) -> wasmtime::Result<Result<catalog::Page, String>> {
        let cursor = match cursor {
            Some(text) => match Cursor::decode(&text) {
                Ok(cursor) => cursor,
                Err(message) => return Ok(Err(format!("catalog.query: {message}"))),
            },
            None => Cursor::first(EntityQuery {
                predicate: Predicate::all_equal(filters.into_iter().map(|f| (f.key, f.value))),
                ..EntityQuery::default()
            }),
        };
        let page = self
            .catalog
            .query(&cursor, limit.min(MAX_QUERY_LIMIT).into(), 0)
            .map_err(store_error)?;
        let mut items = Vec::with_capacity(page.items.len());
        for served in &page.items {
            let body = served.to_value().map_err(store_error)?;
            match self.entity("catalog.query", &body) {
                Ok(entity) => items.push(entity),
                Err(message) => return Ok(Err(message)),
            }
        }
        Ok(Ok(catalog::Page {
            items,
            next_cursor: page.next_cursor.map(|c| c.encode()),
            total_items: u32::try_from(page.total_items).unwrap_or(u32::MAX),
        }))
    }

    fn relations(
        &mut self,
        entity_ref: String,
    ) -> wasmtime::Result<Result<Vec<types::Relation>, String>> {
        let call = "catalog.relations";
        let entity_ref = match parse_ref(call, &entity_ref) {
            Ok(r) => r,
            Err(message) => return Ok(Err(message)),
        };
        let relations = match self.catalog.get(&entity_ref).map_err(store_error)? {
            Some(body) => relations_of(&body),
            None => Vec::new(),
        };
        let size = relations
            .iter()
            .map(|r| r.type_.len() + r.target_ref.len())
            .sum();
        Ok(self.charge(call, size).map(|()| relations))
    }
}

impl templating::Host for HostState {
    fn render(
        &mut self,
        template: String,
        values_json: String,
    ) -> wasmtime::Result<Result<String, String>> {
        let call = "templating.render";
        if template.len() > MAX_TEMPLATE_INPUT || values_json.len() > MAX_TEMPLATE_INPUT {
            return Ok(Err(format!(
                "{call}: template and values are limited to {} KiB each",
                MAX_TEMPLATE_INPUT >> 10
            )));
        }
        let values: Value = match serde_json::from_str(&values_json) {
            Ok(values) => values,
            Err(e) => return Ok(Err(format!("{call}: values are not JSON: {e}"))),
        };
        let rendered = crate::templating::render(&template, &values)
            .map_err(|e| format!("{call}: {e}"))
            .and_then(|text| self.charge(call, text.len()).map(|()| text));
        Ok(rendered)
    }
}

impl docs::Host for HostState {
    fn list_pages(
        &mut self,
        entity_ref: String,
    ) -> wasmtime::Result<Result<Vec<docs::PageInfo>, String>> {
        let call = "docs.list-pages";
        let site = match self.site(call, &entity_ref)? {
            Ok(site) => site,
            Err(message) => return Ok(Err(message)),
        };
        let pages: Vec<docs::PageInfo> = site
            .pages()
            .iter()
            .map(|p| docs::PageInfo {
                path: p.path.clone(),
                title: p.title.clone(),
            })
            .collect();
        let size = pages.iter().map(|p| p.path.len() + p.title.len()).sum();
        Ok(self.charge(call, size).map(|()| pages))
    }

    fn get_page(
        &mut self,
        entity_ref: String,
        path: String,
    ) -> wasmtime::Result<Result<docs::Page, String>> {
        let call = "docs.get-page";
        let site = match self.site(call, &entity_ref)? {
            Ok(site) => site,
            Err(message) => return Ok(Err(message)),
        };
        let page = match site.page(&path) {
            Ok(page) => page,
            Err(message) => return Ok(Err(format!("{call}: {message}"))),
        };
        let size = page.markdown.len() + page.html.len();
        Ok(self.charge(call, size).map(|()| docs::Page {
            path: page.path,
            title: page.title,
            markdown: page.markdown,
            html: page.html,
        }))
    }
}

impl HostState {
    /// The docs site of an entity; the outer error is the store's, the inner one the plugin's.
    fn site(&mut self, call: &str, entity_ref: &str) -> wasmtime::Result<Result<Site, String>> {
        let parsed = match parse_ref(call, entity_ref) {
            Ok(r) => r,
            Err(message) => return Ok(Err(message)),
        };
        let Some(body) = self.catalog.get(&parsed).map_err(store_error)? else {
            return Ok(Err(format!("{call}: no entity '{entity_ref}'")));
        };
        Ok(Site::of(&body).map_err(|e| format!("{call}: {parsed}: {e}")))
    }
}

impl config::Host for HostState {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, String>> {
        let value = self.grants.config_value(&key).map_err(|message| {
            tracing::warn!(plugin = %self.plugin_id, "config.get refused: {message}");
            format!("config.get: {message}")
        });
        Ok(value)
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let plugin = &*self.plugin_id;
        match level {
            log::Level::Trace => tracing::trace!(plugin, "{message}"),
            log::Level::Debug => tracing::debug!(plugin, "{message}"),
            log::Level::Info => tracing::info!(plugin, "{message}"),
            log::Level::Warn => tracing::warn!(plugin, "{message}"),
            log::Level::Error => tracing::error!(plugin, "{message}"),
        }
        Ok(())
    }
}

impl workspace::Host for HostState {}

impl workspace::HostWorkspace for HostState {
    fn list_files(
        &mut self,
        workspace: Resource<crate::workspace::Workspace>,
    ) -> wasmtime::Result<Result<Vec<String>, String>> {
        Ok(self.table.get(&workspace)?.list_files())
    }

    fn read_file(
        &mut self,
        workspace: Resource<crate::workspace::Workspace>,
        path: String,
    ) -> wasmtime::Result<Result<Vec<u8>, String>> {
        let contents = self.table.get(&workspace)?.read_file(&path);
        Ok(contents.and_then(|bytes| {
            self.charge("workspace.read-file", bytes.len())
                .map(|()| bytes)
        }))
    }

    fn write_file(
        &mut self,
        workspace: Resource<crate::workspace::Workspace>,
        path: String,
        contents: Vec<u8>,
    ) -> wasmtime::Result<Result<(), String>> {
        Ok(self.table.get(&workspace)?.write_file(&path, &contents))
    }

    fn delete_file(
        &mut self,
        workspace: Resource<crate::workspace::Workspace>,
        path: String,
    ) -> wasmtime::Result<Result<(), String>> {
        Ok(self.table.get(&workspace)?.delete_file(&path))
    }

    fn drop(&mut self, workspace: Resource<crate::workspace::Workspace>) -> wasmtime::Result<()> {
        self.table.delete(workspace)?;
        Ok(())
    }
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

fn relations_of(body: &Value) -> Vec<types::Relation> {
    body["relations"]
        .as_array()
        .map(|rels| {
            rels.iter()
                .filter_map(|r| {
                    Some(types::Relation {
                        type_: text(&r["type"])?,
                        target_ref: text(&r["targetRef"])?,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The stored entity JSON in the contract's shape.
pub fn to_wit_entity(body: &Value) -> types::Entity {
    let metadata = &body["metadata"];
    let pairs = |v: &Value| -> Vec<(String, String)> {
        v.as_object()
            .map(|map| {
                map.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    };
    let kind = text(&body["kind"]).unwrap_or_default();
    let namespace = metadata["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_ascii_lowercase();
    let name = text(&metadata["name"]).unwrap_or_default();
    types::Entity {
        entity_ref: EntityRef::new(&kind, &namespace, &name).to_string(),
        kind,
        namespace,
        name,
        title: text(&metadata["title"]),
        description: text(&metadata["description"]),
        tags: metadata["tags"]
            .as_array()
            .map(|t| t.iter().filter_map(text).collect())
            .unwrap_or_default(),
        labels: pairs(&metadata["labels"]),
        annotations: pairs(&metadata["annotations"]),
        spec_json: body["spec"].to_string(),
        relations: relations_of(body),
    }
}

/// Roughly the bytes an entity occupies when handed to a plugin.
fn entity_size(entity: &types::Entity) -> usize {
    let pairs = |p: &[(String, String)]| p.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>();
    entity.entity_ref.len()
        + entity.kind.len()
        + entity.namespace.len()
        + entity.name.len()
        + entity.title.as_ref().map_or(0, String::len)
        + entity.description.as_ref().map_or(0, String::len)
        + entity.tags.iter().map(String::len).sum::<usize>()
        + pairs(&entity.labels)
        + pairs(&entity.annotations)
        + entity.spec_json.len()
        + entity
            .relations
            .iter()
            .map(|r| r.type_.len() + r.target_ref.len())
            .sum::<usize>()
}
