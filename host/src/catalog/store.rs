//! The catalog's SQLite store: entities, their relations and a key/value search table used
//! for filtering. All catalog SQL lives here.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::entity_ref::EntityRef;
use super::query::{Condition, EntityFilter};
use super::relations::Relation;

/// Schema versions, applied in order; `PRAGMA user_version` records how many ran.
/// Never edit a released step: add a new one.
const MIGRATIONS: &[&str] = &[r#"
    CREATE TABLE entities (
        entity_ref   TEXT PRIMARY KEY NOT NULL,
        uid          TEXT NOT NULL UNIQUE,
        etag         TEXT NOT NULL,
        generation   INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        body         TEXT NOT NULL
    );
    CREATE TABLE relations (
        originating_ref TEXT NOT NULL,
        source_ref      TEXT NOT NULL,
        type            TEXT NOT NULL,
        target_ref      TEXT NOT NULL
    );
    CREATE INDEX relations_by_source ON relations (source_ref);
    CREATE INDEX relations_by_origin ON relations (originating_ref);
    CREATE TABLE search (
        entity_ref TEXT NOT NULL,
        key        TEXT NOT NULL,
        value      TEXT
    );
    CREATE INDEX search_by_key_value ON search (key, value);
    CREATE INDEX search_by_entity ON search (entity_ref);
"#];

/// Search values longer than this are not indexed (as in Backstage): nobody filters on them.
const MAX_SEARCH_VALUE_LEN: usize = 200;

/// An entity ready to be stored, with the relations it originates.
pub struct StagedEntity {
    pub entity_ref: EntityRef,
    pub body: Value,
    pub relations: Vec<Relation>,
}

/// One page of a filtered query.
pub struct QueryPage {
    pub items: Vec<Value>,
    pub total_items: u64,
}

pub struct CatalogStore {
    conn: Mutex<Connection>,
}

impl CatalogStore {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut conn = Connection::open(path)
            .with_context(|| format!("cannot open the catalog database {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        migrate(&mut conn).with_context(|| format!("cannot migrate {}", path.display()))?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Makes the stored catalog exactly `entities`: unchanged entities keep their uid and etag,
    /// changed ones get a new etag and generation, entities not listed are removed.
    pub fn replace_all(&self, entities: &[StagedEntity]) -> anyhow::Result<()> {
        let mut conn = self.conn.lock().expect("catalog store lock poisoned");
        let tx = conn.transaction()?;
        let mut existing: HashMap<String, (String, i64, String)> = tx
            .prepare("SELECT entity_ref, uid, generation, content_hash FROM entities")?
            .query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))?
            .collect::<Result<_, _>>()?;
        for staged in entities {
            let entity_ref = staged.entity_ref.to_string();
            let hash = content_hash(staged);
            let (uid, generation) = match existing.remove(&entity_ref) {
                Some((_, _, old_hash)) if old_hash == hash => continue,
                Some((uid, generation, _)) => (uid, generation + 1),
                None => (uuid::Uuid::new_v4().to_string(), 1),
            };
            let mut body = staged.body.clone();
            let metadata = &mut body["metadata"];
            metadata["uid"] = json!(uid);
            metadata["etag"] = json!(hash[..16]);
            metadata["generation"] = json!(generation);
            tx.execute(
                "INSERT INTO entities (entity_ref, uid, etag, generation, content_hash, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (entity_ref) DO UPDATE SET etag = ?3, generation = ?4,
                     content_hash = ?5, body = ?6",
                params![
                    entity_ref,
                    uid,
                    &hash[..16],
                    generation,
                    hash,
                    body.to_string()
                ],
            )?;
            delete_rows(&tx, &entity_ref)?;
            let mut insert_relation = tx.prepare_cached(
                "INSERT INTO relations (originating_ref, source_ref, type, target_ref) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for relation in &staged.relations {
                insert_relation.execute(params![
                    entity_ref,
                    relation.source.to_string(),
                    relation.relation_type,
                    relation.target.to_string()
                ])?;
            }
            let mut insert_search = tx.prepare_cached(
                "INSERT INTO search (entity_ref, key, value) VALUES (?1, ?2, ?3)",
            )?;
            for (key, value) in search_rows(&body) {
                insert_search.execute(params![entity_ref, key, value])?;
            }
        }
        for stale in existing.keys() {
            tx.execute("DELETE FROM entities WHERE entity_ref = ?1", [stale])?;
            delete_rows(&tx, stale)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The entity with this ref, with its relations.
    pub fn get(&self, entity_ref: &EntityRef) -> anyhow::Result<Option<Value>> {
        let conn = self.conn.lock().expect("catalog store lock poisoned");
        let body: Option<String> = conn
            .query_row(
                "SELECT body FROM entities WHERE entity_ref = ?1",
                [entity_ref.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        body.map(|body| with_relations(&conn, &entity_ref.to_string(), &body))
            .transpose()
    }

    /// Entities matching `filter`, ordered by ref.
    pub fn query(
        &self,
        filter: &EntityFilter,
        offset: u64,
        limit: u64,
    ) -> anyhow::Result<QueryPage> {
        let conn = self.conn.lock().expect("catalog store lock poisoned");
        let (clause, args) = filter_sql(filter);
        let total_items: i64 = conn.query_row(
            &format!("SELECT count(*) FROM entities e WHERE {clause}"),
            params_from_iter(&args),
            |r| r.get(0),
        )?;
        let mut statement = conn.prepare(&format!(
            "SELECT entity_ref, body FROM entities e WHERE {clause} ORDER BY entity_ref LIMIT {limit} OFFSET {offset}"
        ))?;
        let rows: Vec<(String, String)> = statement
            .query_map(params_from_iter(&args), |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let items = rows
            .iter()
            .map(|(entity_ref, body)| with_relations(&conn, entity_ref, body))
            .collect::<anyhow::Result<_>>()?;
        Ok(QueryPage {
            items,
            total_items: total_items.unsigned_abs(),
        })
    }
}

fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let tx = conn.transaction()?;
    for (version, step) in (1..).zip(MIGRATIONS).skip(usize::try_from(applied)?) {
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()?;
    Ok(())
}

fn delete_rows(tx: &rusqlite::Transaction, entity_ref: &str) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM relations WHERE originating_ref = ?1",
        [entity_ref],
    )?;
    tx.execute("DELETE FROM search WHERE entity_ref = ?1", [entity_ref])?;
    Ok(())
}

/// Hash of everything stored for an entity, to skip rewriting unchanged ones.
fn content_hash(staged: &StagedEntity) -> String {
    let mut hasher = Sha256::new();
    hasher.update(staged.body.to_string());
    for r in &staged.relations {
        hasher.update(format!("\n{} {} {}", r.source, r.relation_type, r.target));
    }
    hex::encode(hasher.finalize())
}

/// The stored body plus `relations`: every relation whose source is this entity, whichever
/// entity originated it.
fn with_relations(conn: &Connection, entity_ref: &str, body: &str) -> anyhow::Result<Value> {
    let mut entity: Value = serde_json::from_str(body)?;
    let relations: Vec<Value> = conn
        .prepare_cached(
            "SELECT DISTINCT type, target_ref FROM relations WHERE source_ref = ?1 ORDER BY type, target_ref",
        )?
        .query_map([entity_ref], |r| {
            Ok(json!({"type": r.get::<_, String>(0)?, "targetRef": r.get::<_, String>(1)?}))
        })?
        .collect::<Result<_, _>>()?;
    entity["relations"] = Value::Array(relations);
    Ok(entity)
}

/// Flattens an entity into lowercased `(dotted.key, value)` rows. Arrays give one row per
/// element under the same key; objects and arrays themselves give a row with no value, so
/// that existence filters match them.
fn search_rows(body: &Value) -> Vec<(String, Option<String>)> {
    fn walk(prefix: &str, value: &Value, rows: &mut Vec<(String, Option<String>)>) {
        match value {
            Value::Object(map) => {
                if !prefix.is_empty() {
                    rows.push((prefix.to_string(), None));
                }
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.to_lowercase()
                    } else {
                        format!("{prefix}.{}", k.to_lowercase())
                    };
                    walk(&key, v, rows);
                }
            }
            Value::Array(items) => {
                rows.push((prefix.to_string(), None));
                for item in items.iter().filter(|i| !i.is_object() && !i.is_array()) {
                    walk(prefix, item, rows);
                }
            }
            Value::Null => rows.push((prefix.to_string(), None)),
            Value::String(s) if s.len() > MAX_SEARCH_VALUE_LEN => {}
            Value::String(s) => rows.push((prefix.to_string(), Some(s.to_lowercase()))),
            other => rows.push((prefix.to_string(), Some(other.to_string()))),
        }
    }
    let mut rows = Vec::new();
    walk("", body, &mut rows);
    rows
}

/// SQL for an OR of ANDed conditions over `entities e`. `relations.<type>` keys are answered
/// from the relations table so they see relations other entities originate.
fn filter_sql(filter: &EntityFilter) -> (String, Vec<String>) {
    if filter.any_of.is_empty() {
        return ("1".into(), Vec::new());
    }
    let mut args = Vec::new();
    let mut condition_sql = |c: &Condition| -> String {
        let placeholders = |args: &mut Vec<String>, values: &[String]| {
            args.extend(values.iter().cloned());
            vec!["?"; values.len()].join(", ")
        };
        if let Some(relation_type) = c.key.strip_prefix("relations.") {
            args.push(relation_type.to_string());
            let values = match &c.values {
                Some(values) => {
                    format!(" AND r.target_ref IN ({})", placeholders(&mut args, values))
                }
                None => String::new(),
            };
            format!(
                "EXISTS (SELECT 1 FROM relations r WHERE r.source_ref = e.entity_ref AND lower(r.type) = ?{values})"
            )
        } else {
            args.push(c.key.clone());
            let values = match &c.values {
                Some(values) => format!(" AND s.value IN ({})", placeholders(&mut args, values)),
                None => String::new(),
            };
            format!(
                "EXISTS (SELECT 1 FROM search s WHERE s.entity_ref = e.entity_ref AND s.key = ?{values})"
            )
        }
    };
    let alternatives: Vec<String> = filter
        .any_of
        .iter()
        .map(|all| {
            let conditions: Vec<String> = all.iter().map(&mut condition_sql).collect();
            format!("({})", conditions.join(" AND "))
        })
        .collect();
    (alternatives.join(" OR "), args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattening_lowercases_and_expands_arrays() {
        let rows = search_rows(
            &json!({"kind": "Component", "metadata": {"tags": ["Java", "web"]}, "spec": {"replicas": 3}}),
        );
        assert!(rows.contains(&("kind".into(), Some("component".into()))));
        assert!(rows.contains(&("metadata.tags".into(), Some("java".into()))));
        assert!(rows.contains(&("metadata.tags".into(), Some("web".into()))));
        assert!(rows.contains(&("spec.replicas".into(), Some("3".into()))));
        assert!(rows.contains(&("metadata.tags".into(), None)));
    }
}
