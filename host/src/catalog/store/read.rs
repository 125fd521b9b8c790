//! Reads: entities with their relations, filtered and paged queries, facets, files, errors
//! and locations.

use std::collections::HashMap;
use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension, params_from_iter};
use serde::Serialize;
use serde_json::{Value, json};

use super::super::query::Cursor;
use super::super::sources::ProcessingError;
use super::CatalogStore;
use super::filter_sql::{self, Sql};
use super::write::FileRecord;

/// A stored entity and where it came from.
pub struct StoredEntity {
    /// The entity as served: body plus `relations`.
    pub entity: Value,
    pub parent_ref: Option<String>,
    pub location_id: String,
}

/// A page of a query; boundaries are the sort values to continue from.
pub struct KeysetPage {
    pub items: Vec<Value>,
    pub total_items: u64,
    pub next: Option<Vec<String>>,
    pub prev: Option<Vec<String>>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct Facet {
    pub value: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LocationRow {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub target: String,
    #[serde(skip)]
    pub source: String,
}

impl CatalogStore {
    pub fn get(&self, entity_ref: &str) -> anyhow::Result<Option<StoredEntity>> {
        self.get_where("entity_ref", entity_ref)
    }

    pub fn get_by_uid(&self, uid: &str) -> anyhow::Result<Option<StoredEntity>> {
        self.get_where("uid", uid)
    }

    fn get_where(&self, column: &str, value: &str) -> anyhow::Result<Option<StoredEntity>> {
        self.read(|conn| {
            let row: Option<(i64, Option<String>, String)> = conn
                .prepare_cached(&format!(
                    "SELECT id, parent_ref, location_id FROM entities WHERE {column} = ?1"
                ))?
                .query_row([value], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            row.map(|(id, parent_ref, location_id)| {
                Ok(entities_by_id(conn, &[id])?
                    .pop()
                    .flatten()
                    .map(|entity| StoredEntity {
                        entity,
                        parent_ref,
                        location_id,
                    }))
            })
            .transpose()
            .map(Option::flatten)
        })
    }

    /// The entities for `refs`, in the same order, `None` where missing.
    pub fn get_many(&self, refs: &[String]) -> anyhow::Result<Vec<Option<Value>>> {
        self.read(|conn| {
            let mut select =
                conn.prepare_cached("SELECT id FROM entities WHERE entity_ref = ?1")?;
            let ids: Vec<Option<i64>> = refs
                .iter()
                .map(|r| select.query_row([r], |row| row.get(0)).optional())
                .collect::<Result<_, _>>()?;
            let found: Vec<i64> = ids.iter().flatten().copied().collect();
            let mut entities = entities_by_id(conn, &found)?.into_iter();
            Ok(ids
                .into_iter()
                .map(|id| id.and_then(|_| entities.next().flatten()))
                .collect())
        })
    }

    /// Which of `refs` the predicate selects.
    pub fn matching_refs(
        &self,
        refs: &[String],
        predicate: &super::super::query::Predicate,
    ) -> anyhow::Result<std::collections::HashSet<String>> {
        let mut sql = Sql::default();
        sql.text
            .push_str("SELECT entity_ref FROM entities e WHERE ");
        filter_sql::predicate(&mut sql, predicate);
        let mut found = std::collections::HashSet::new();
        self.read(|conn| {
            let mut statement =
                conn.prepare_cached(&format!("{} AND e.entity_ref = ?", sql.text))?;
            for entity_ref in refs {
                let mut args = sql.args.clone();
                args.push(entity_ref.to_lowercase());
                if let Some(hit) = statement
                    .query_row(params_from_iter(&args), |r| r.get::<_, String>(0))
                    .optional()?
                {
                    found.insert(hit);
                }
            }
            Ok(found)
        })
    }

    /// One page of the cursor's query, `limit` items at most, skipping `offset` first.
    pub fn query(&self, cursor: &Cursor, limit: u64, offset: u64) -> anyhow::Result<KeysetPage> {
        let query = &cursor.query;
        let mut count = Sql::default();
        count
            .text
            .push_str("SELECT count(*) FROM entities e WHERE ");
        selection(&mut count, cursor);
        let mut page = Sql::default();
        let (select, columns) = filter_sql::sort_columns(&mut page, &query.order);
        let extra = if select.is_empty() {
            String::new()
        } else {
            format!(", {select}")
        };
        page.text.push_str(&format!(
            "SELECT * FROM (SELECT e.id, e.entity_ref{extra} FROM entities e WHERE "
        ));
        selection(&mut page, cursor);
        page.text.push_str(") WHERE ");
        match &cursor.boundary {
            Some(boundary) => filter_sql::after(&mut page, &columns, boundary, cursor.backward),
            None => page.text.push('1'),
        }
        page.text.push_str(&format!(
            " ORDER BY {} LIMIT {} OFFSET {offset}",
            filter_sql::order_by(&columns, cursor.backward),
            limit + 1
        ));
        self.read(|conn| {
            let total: i64 = conn
                .prepare_cached(&count.text)?
                .query_row(params_from_iter(&count.args), |r| r.get(0))?;
            let mut statement = conn.prepare_cached(&page.text)?;
            let mut rows: Vec<(i64, Vec<String>)> = statement
                .query_map(params_from_iter(&page.args), |r| {
                    let mut key = Vec::new();
                    for i in 0..columns.len() - 1 {
                        key.push(r.get(2 + i)?);
                    }
                    key.push(r.get(1)?);
                    Ok((r.get(0)?, key))
                })?
                .collect::<Result<_, _>>()?;
            let more = rows.len() as u64 > limit;
            rows.truncate(limit as usize);
            if cursor.backward {
                rows.reverse();
            }
            let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
            let items = entities_by_id(conn, &ids)?.into_iter().flatten().collect();
            let first = rows.first().map(|(_, key)| key.clone());
            let last = rows.last().map(|(_, key)| key.clone());
            let (next, prev) = if cursor.backward {
                (
                    last.filter(|_| cursor.boundary.is_some()),
                    first.filter(|_| more),
                )
            } else {
                (
                    last.filter(|_| more),
                    first.filter(|_| cursor.boundary.is_some() || offset > 0),
                )
            };
            Ok(KeysetPage {
                items,
                total_items: total.unsigned_abs(),
                next,
                prev,
            })
        })
    }

    /// Value counts of each facet over the entities the cursor's query selects.
    pub fn facets(
        &self,
        facets: &[String],
        cursor: &Cursor,
    ) -> anyhow::Result<Vec<(String, Vec<Facet>)>> {
        self.read(|conn| {
            facets
                .iter()
                .map(|facet| {
                    let key = facet.to_lowercase();
                    let counts = match key.strip_prefix("relations.") {
                        Some(relation) => relation_facet(conn, relation, cursor)?,
                        None => field_facet(conn, &key, cursor)?,
                    };
                    Ok((facet.clone(), counts))
                })
                .collect()
        })
    }

    /// Every catalog file as last processed, by path.
    pub fn files(&self) -> anyhow::Result<HashMap<PathBuf, FileRecord>> {
        self.read(|conn| {
            let mut statement = conn.prepare(
                "SELECT path, location_id, parent_ref, fingerprint, dependencies, targets FROM files",
            )?;
            let rows = statement.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })?;
            let mut files = HashMap::new();
            for row in rows {
                let (path, location_id, parent_ref, fingerprint, dependencies, targets) = row?;
                files.insert(
                    PathBuf::from(&path),
                    FileRecord {
                        path: PathBuf::from(path),
                        location_id,
                        parent_ref,
                        fingerprint,
                        dependencies: serde_json::from_str(&dependencies)?,
                        targets: serde_json::from_str(&targets)?,
                    },
                );
            }
            Ok(files)
        })
    }

    /// Every current processing problem, by file and document.
    pub fn errors(&self) -> anyhow::Result<Vec<ProcessingError>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT file, document, entity_ref, field, message FROM errors
                     ORDER BY file, document, rowid",
                )?
                .query_map([], |r| {
                    Ok(ProcessingError {
                        file: PathBuf::from(r.get::<_, String>(0)?),
                        document: r.get::<_, Option<i64>>(1)?.map(|d| d as usize),
                        entity_ref: r.get(2)?,
                        field: r.get(3)?,
                        message: r.get(4)?,
                    })
                })?
                .collect::<Result<_, _>>()?)
        })
    }

    /// Files that have a conflict error: they are processed again on every reconcile, so
    /// they take over an entity as soon as its first claimant lets go.
    pub fn files_with_conflicts(&self) -> anyhow::Result<Vec<PathBuf>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT DISTINCT file FROM errors WHERE phase = 'conflict'")?
                .query_map([], |r| Ok(PathBuf::from(r.get::<_, String>(0)?)))?
                .collect::<Result<_, _>>()?)
        })
    }

    pub fn locations(&self) -> anyhow::Result<Vec<LocationRow>> {
        self.read(|conn| {
            Ok(conn
                .prepare_cached("SELECT id, type, target, source FROM locations ORDER BY rowid")?
                .query_map([], |r| {
                    Ok(LocationRow {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        target: r.get(2)?,
                        source: r.get(3)?,
                    })
                })?
                .collect::<Result<_, _>>()?)
        })
    }
}

/// The WHERE condition (over `entities e`) for a cursor's predicate and full-text term.
/// Counts of the targets of one relation type among the selected entities.
fn relation_facet(
    conn: &Connection,
    relation: &str,
    cursor: &Cursor,
) -> anyhow::Result<Vec<Facet>> {
    let mut sql = Sql::default();
    sql.args
        .push(super::super::relations::canonical_relation_type(relation).to_string());
    sql.text.push_str(
        "SELECT r.target_ref, count(DISTINCT e.id) FROM relations r JOIN entities e ON e.entity_ref = r.source_ref WHERE r.type = ? AND ",
    );
    selection(&mut sql, cursor);
    sql.text.push_str(" GROUP BY 1 ORDER BY 1");
    let counts = conn
        .prepare_cached(&sql.text)?
        .query_map(params_from_iter(&sql.args), |r| {
            Ok(Facet {
                value: r.get(0)?,
                count: r.get::<_, i64>(1)?.unsigned_abs(),
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(counts)
}

/// Counts of one field's values among the selected entities. Counting runs on the
/// `(key, value, entity_id)` index alone; the value as written is looked up once per distinct
/// value afterwards (values differing only in case count together, as filters match them).
fn field_facet(conn: &Connection, key: &str, cursor: &Cursor) -> anyhow::Result<Vec<Facet>> {
    let mut selected = Sql::default();
    selection(&mut selected, cursor);
    let mut sql = Sql::default();
    sql.args.push(key.to_string());
    sql.text.push_str(
        "SELECT s.value, count(DISTINCT s.entity_id) FROM search s WHERE s.key = ? AND s.value IS NOT NULL",
    );
    // Without a filter every entity is selected: no need to list them.
    if selected.text != "1" {
        sql.text
            .push_str(" AND s.entity_id IN (SELECT e.id FROM entities e WHERE ");
        sql.text.push_str(&selected.text);
        sql.text.push(')');
        sql.args.extend(selected.args);
    }
    sql.text.push_str(" GROUP BY s.value");
    let counts: Vec<(String, i64)> = conn
        .prepare_cached(&sql.text)?
        .query_map(params_from_iter(&sql.args), |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut original =
        conn.prepare_cached("SELECT original FROM search WHERE key = ?1 AND value = ?2 LIMIT 1")?;
    let mut facets = counts
        .into_iter()
        .map(|(value, count)| {
            Ok(Facet {
                value: original.query_row([key, value.as_str()], |r| r.get(0))?,
                count: count.unsigned_abs(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    facets.sort_by(|a, b| a.value.cmp(&b.value));
    Ok(facets)
}

fn selection(sql: &mut Sql, cursor: &Cursor) {
    filter_sql::predicate(sql, &cursor.query.predicate);
    for order in &cursor.query.order {
        let key = sql.arg(order.field.clone());
        sql.text.push_str(&format!(
            " AND e.id IN (SELECT entity_id FROM search WHERE key = {key} AND value IS NOT NULL)"
        ));
    }
    if let Some(full_text) = &cursor.query.full_text {
        sql.text.push_str(" AND ");
        filter_sql::full_text(sql, full_text);
    }
}

/// The stored bodies of `ids` with `relations` (every relation whose source is the entity,
/// whichever entity originated it, sorted by type then target), in the order of `ids`: two
/// statements for a whole page instead of two per entity. `None` for an id deleted meanwhile.
fn entities_by_id(conn: &Connection, ids: &[i64]) -> anyhow::Result<Vec<Option<Value>>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let bodies: HashMap<i64, (String, String)> = conn
        .prepare_cached(&format!(
            "SELECT id, entity_ref, body FROM entities WHERE id IN ({marks})"
        ))?
        .query_map(params_from_iter(ids), |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?)))
        })?
        .collect::<Result<_, _>>()?;
    let refs: Vec<&str> = bodies.values().map(|(r, _)| r.as_str()).collect();
    let mut relations: HashMap<String, Vec<Value>> = HashMap::new();
    // One mark per distinct entity: `ids` may name one twice (by-refs with a repeated ref).
    let ref_marks = vec!["?"; refs.len()].join(", ");
    let mut statement = conn.prepare_cached(&format!(
        "SELECT DISTINCT source_ref, type, target_ref FROM relations WHERE source_ref IN ({ref_marks}) ORDER BY source_ref, type, target_ref"
    ))?;
    let mut rows = statement.query(params_from_iter(&refs))?;
    while let Some(row) = rows.next()? {
        relations
            .entry(row.get(0)?)
            .or_default()
            .push(json!({"type": row.get::<_, String>(1)?, "targetRef": row.get::<_, String>(2)?}));
    }
    ids.iter()
        .map(|id| {
            let Some((entity_ref, body)) = bodies.get(id) else {
                return Ok(None);
            };
            let mut entity: Value = serde_json::from_str(body)?;
            entity["relations"] =
                Value::Array(relations.get(entity_ref).cloned().unwrap_or_default());
            Ok(Some(entity))
        })
        .collect()
}
