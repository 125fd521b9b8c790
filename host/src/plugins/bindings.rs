//! The WIT contract on the host side: generated bindings, the per-call state, and the host
//! functions plugins import. Host functions are thin adapters over the capability services.

use std::sync::Arc;

use serde_json::Value;
use wasmtime::StoreLimits;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::engine::Limited;
use crate::catalog::{Catalog, Cursor, EntityQuery, EntityRef, Predicate};

wasmtime::component::bindgen!({
    path: "../wit/v0.1.0",
    world: "plugin",
    imports: { default: trappable },
});

pub use exports::greenroom::plugin::meta;
pub use greenroom::plugin::types;

use greenroom::plugin::{catalog, log};

/// Most entities one `catalog.query` call returns, whatever the plugin asks.
const MAX_QUERY_LIMIT: u32 = 100;

/// Everything one call's store holds. WASI gets an empty context: no files, no environment,
/// no sockets, no inherited stdio.
pub struct HostState {
    plugin_id: String,
    catalog: Arc<Catalog>,
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl HostState {
    pub fn new(plugin_id: &str, catalog: Arc<Catalog>, limits: StoreLimits) -> Self {
        Self {
            plugin_id: plugin_id.to_string(),
            catalog,
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits,
        }
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

impl types::Host for HostState {}

impl catalog::Host for HostState {
    fn get_entity(&mut self, entity_ref: String) -> wasmtime::Result<Option<types::Entity>> {
        let Ok(parsed) = EntityRef::parse(&entity_ref, None, "default") else {
            tracing::debug!(plugin = %self.plugin_id, "catalog.get-entity: '{entity_ref}' is not a full ref");
            return Ok(None);
        };
        let entity = self
            .catalog
            .get(&parsed)
            .map_err(|e| wasmtime::format_err!("catalog.get-entity: {e:#}"))?;
        Ok(entity.map(|e| to_wit_entity(&parsed, &e)))
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
                Err(message) => return Ok(Err(message)),
            },
            None => Cursor::first(EntityQuery {
                predicate: Predicate::all_equal(filters.into_iter().map(|f| (f.key, f.value))),
                ..EntityQuery::default()
            }),
        };
        let page = self
            .catalog
            .query(&cursor, limit.min(MAX_QUERY_LIMIT).into(), 0)
            .map_err(|e| wasmtime::format_err!("catalog.query: {e:#}"))?;
        let items = page
            .items
            .iter()
            .filter_map(|body| entity_ref_of(body).map(|r| to_wit_entity(&r, body)))
            .collect();
        Ok(Ok(catalog::Page {
            items,
            next_cursor: page.next_cursor.map(|c| c.encode()),
            total_items: u32::try_from(page.total_items).unwrap_or(u32::MAX),
        }))
    }
}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        let plugin = self.plugin_id.as_str();
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

fn entity_ref_of(body: &Value) -> Option<EntityRef> {
    let metadata = &body["metadata"];
    Some(EntityRef::new(
        body["kind"].as_str()?,
        metadata["namespace"].as_str()?,
        metadata["name"].as_str()?,
    ))
}

/// The stored entity JSON in the contract's shape.
pub fn to_wit_entity(entity_ref: &EntityRef, body: &Value) -> types::Entity {
    let metadata = &body["metadata"];
    let text = |v: &Value| v.as_str().map(str::to_string);
    let pairs = |v: &Value| -> Vec<(String, String)> {
        v.as_object()
            .map(|map| {
                map.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    };
    types::Entity {
        entity_ref: entity_ref.to_string(),
        kind: text(&body["kind"]).unwrap_or_default(),
        namespace: entity_ref.namespace.clone(),
        name: text(&metadata["name"]).unwrap_or_default(),
        title: text(&metadata["title"]),
        description: text(&metadata["description"]),
        tags: metadata["tags"]
            .as_array()
            .map(|t| t.iter().filter_map(text).collect())
            .unwrap_or_default(),
        labels: pairs(&metadata["labels"]),
        annotations: pairs(&metadata["annotations"]),
        spec_json: body["spec"].to_string(),
        relations: body["relations"]
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
            .unwrap_or_default(),
    }
}
