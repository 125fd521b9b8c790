//! `catalog`: entities and relations, read through the catalog service, in the contract's
//! shape. Compiled into each contract version that has this interface unchanged (`super` is
//! the version's bindings), like every file of this folder.

use serde_json::Value;

use super::greenroom::plugin::catalog;
use super::types;
use crate::catalog::{Cursor, EntityQuery, EntityRef, Predicate};
use crate::plugins::bindings::{HostState, parse_ref, store_error};

/// Most entities one `catalog.query` call returns, whatever the plugin asks.
const MAX_QUERY_LIMIT: u32 = 100;

/// The entity in the contract's shape, charged to the call's budget.
fn charged_entity(
    state: &mut HostState,
    call: &str,
    body: &Value,
) -> Result<types::Entity, String> {
    let entity = to_wit_entity(body);
    state.charge(call, entity_size(&entity))?;
    Ok(entity)
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
        // What the viewer may not read does not exist for the plugin either.
        if !self.sees(&entity_ref) {
            return Ok(Ok(None));
        }
        let Some(body) = self.catalog.get(&entity_ref).map_err(store_error)? else {
            return Ok(Ok(None));
        };
        Ok(charged_entity(self, call, &body).map(Some))
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
            .query(
                &cursor,
                limit.min(MAX_QUERY_LIMIT).into(),
                0,
                self.visible.as_ref(),
            )
            .map_err(store_error)?;
        let mut items = Vec::with_capacity(page.items.len());
        for served in &page.items {
            let body = served.to_value().map_err(store_error)?;
            match charged_entity(self, "catalog.query", &body) {
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
        let mut relations = match self.catalog.get(&entity_ref).map_err(store_error)? {
            Some(body) if self.sees(&entity_ref) => relations_of(&body),
            _ => Vec::new(),
        };
        if let Some(visible) = &self.visible {
            let targets: Vec<String> = relations.iter().map(|r| r.target_ref.clone()).collect();
            let seen = self.catalog.refs_matching(&targets, visible.clone());
            relations.retain(|r| seen.contains(&r.target_ref.to_lowercase()));
        }
        let size = relations
            .iter()
            .map(|r| r.type_.len() + r.target_ref.len())
            .sum();
        Ok(self.charge(call, size).map(|()| relations))
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
    let entity_ref = EntityRef::of(body);
    types::Entity {
        kind: text(&body["kind"]).unwrap_or_default(),
        name: text(&metadata["name"]).unwrap_or_default(),
        entity_ref: entity_ref.to_string(),
        namespace: entity_ref.namespace,
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
