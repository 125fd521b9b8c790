//! Reads: entities with their relations, filtered and paged queries, facets, files, errors
//! and locations.

use std::collections::HashMap;
use std::path::PathBuf;

use roaring::RoaringBitmap;
use rusqlite::{Connection, OptionalExtension, params_from_iter};
use serde::Serialize;
use serde_json::{Value, json};

use super::super::query::{Cursor, Predicate};
use super::super::relations::canonical_relation_type;
use super::super::sources::ProcessingError;
use super::CatalogStore;
use super::index::{Index, RelationTest, Window};
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
        predicate: &Predicate,
    ) -> anyhow::Result<std::collections::HashSet<String>> {
        self.read(|conn| {
            self.index.read(|index| {
                let selected = index.select(predicate, None, &[], &mut relation_sources(conn))?;
                Ok(refs
                    .iter()
                    .map(|r| r.to_lowercase())
                    .filter(|r| index.id_of(r).is_some_and(|id| selected.contains(id)))
                    .collect())
            })
        })
    }

    /// One page of the cursor's query, `limit` items at most, skipping `offset` first.
    pub fn query(&self, cursor: &Cursor, limit: u64, offset: u64) -> anyhow::Result<KeysetPage> {
        let query = &cursor.query;
        self.read(|conn| {
            let (total, page) = self.index.read(|index| {
                let selected = select(index, conn, cursor)?;
                let page = index.page(
                    &selected,
                    &Window {
                        order: &query.order,
                        boundary: cursor.boundary.as_deref(),
                        backward: cursor.backward,
                        offset: usize::try_from(offset)?,
                        limit: usize::try_from(limit)?,
                    },
                );
                anyhow::Ok((selected.len(), page))
            })?;
            let mut rows = page.rows;
            if cursor.backward {
                rows.reverse();
            }
            let ids: Vec<i64> = rows.iter().map(|(id, _)| i64::from(*id)).collect();
            let items = entities_by_id(conn, &ids)?.into_iter().flatten().collect();
            let first = rows.first().map(|(_, key)| key.clone());
            let last = rows.last().map(|(_, key)| key.clone());
            let (next, prev) = if cursor.backward {
                (
                    last.filter(|_| cursor.boundary.is_some()),
                    first.filter(|_| page.more),
                )
            } else {
                (
                    last.filter(|_| page.more),
                    first.filter(|_| cursor.boundary.is_some() || offset > 0),
                )
            };
            Ok(KeysetPage {
                items,
                total_items: total,
                next,
                prev,
            })
        })
    }

    /// Value counts of each facet over the entities the predicate selects.
    pub fn facets(
        &self,
        facets: &[String],
        predicate: &Predicate,
    ) -> anyhow::Result<Vec<(String, Vec<Facet>)>> {
        self.read(|conn| {
            self.index.read(|index| {
                // Without a filter every entity is selected: no need to intersect.
                let selected = (*predicate != Predicate::everything())
                    .then(|| index.select(predicate, None, &[], &mut relation_sources(conn)))
                    .transpose()?;
                facets
                    .iter()
                    .map(|facet| {
                        let key = facet.to_lowercase();
                        let counts = match key.strip_prefix("relations.") {
                            Some(relation) => {
                                relation_facet(conn, index, relation, selected.as_ref())?
                            }
                            None => index.facet(&key, selected.as_ref()),
                        };
                        Ok((facet.clone(), counts))
                    })
                    .collect()
            })
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

/// The entities a cursor's query selects.
fn select(index: &Index, conn: &Connection, cursor: &Cursor) -> anyhow::Result<RoaringBitmap> {
    let query = &cursor.query;
    index.select(
        &query.predicate,
        query.full_text.as_ref(),
        &query.order,
        &mut relation_sources(conn),
    )
}

/// Answers `relations.<type>` tests from the relations table (which also holds relations
/// other entities originated): the refs of the entities that are the source of a match.
fn relation_sources(
    conn: &Connection,
) -> impl FnMut(&str, RelationTest) -> anyhow::Result<Vec<String>> + '_ {
    move |relation, test| {
        let mut args = vec![canonical_relation_type(relation).to_string()];
        let condition = match test {
            RelationTest::Exists => String::new(),
            RelationTest::In(values) => {
                args.extend(values.iter().cloned());
                format!(
                    " AND target_ref IN ({})",
                    vec!["?"; values.len()].join(", ")
                )
            }
            RelationTest::HasPrefix(prefix) => {
                args.push(prefix.to_string());
                args.push(format!("{prefix}\u{10FFFF}"));
                " AND target_ref >= ? AND target_ref < ?".to_string()
            }
        };
        Ok(conn
            .prepare_cached(&format!(
                "SELECT DISTINCT source_ref FROM relations WHERE type = ?{condition}"
            ))?
            .query_map(params_from_iter(&args), |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }
}

/// Counts of the targets of one relation type among the selected entities (each source
/// entity counted once per target).
fn relation_facet(
    conn: &Connection,
    index: &Index,
    relation: &str,
    selected: Option<&RoaringBitmap>,
) -> anyhow::Result<Vec<Facet>> {
    let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
    let mut statement = conn
        .prepare_cached("SELECT DISTINCT target_ref, source_ref FROM relations WHERE type = ?1")?;
    let mut rows = statement.query([canonical_relation_type(relation)])?;
    while let Some(row) = rows.next()? {
        let source = row.get_ref(1)?.as_str()?;
        if index
            .id_of(source)
            .is_some_and(|id| selected.is_none_or(|s| s.contains(id)))
        {
            *counts.entry(row.get(0)?).or_default() += 1;
        }
    }
    Ok(counts
        .into_iter()
        .map(|(value, count)| Facet { value, count })
        .collect())
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
