//! Reads: entities with their relations, filtered and paged queries, facets, files, errors
//! and locations.

use std::collections::HashMap;
use std::path::PathBuf;

use rusqlite::{Connection, params_from_iter};
use serde::Serialize;

use super::super::query::{Cursor, Predicate, SortKey};
use super::super::sources::ProcessingError;
use super::CatalogStore;
use super::index::{Index, Window};
use super::served::EntityJson;
use super::write::FileRecord;

/// A stored entity and where it came from.
pub struct StoredEntity {
    pub entity: EntityJson,
    pub parent_ref: Option<String>,
    pub location_id: String,
}

/// A page of a query; boundaries are the sort values to continue from.
pub struct KeysetPage {
    pub items: Vec<EntityJson>,
    pub total_items: u64,
    pub next: Option<SortKey>,
    pub prev: Option<SortKey>,
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
        self.read_indexed(|conn, index| {
            let mut statement = conn.prepare_cached(&format!(
                "SELECT entity_ref, body, parent_ref, location_id FROM entities WHERE {column} = ?1"
            ))?;
            let mut rows = statement.query([value])?;
            let Some(row) = rows.next()? else {
                return Ok(None);
            };
            Ok(Some(StoredEntity {
                entity: served(index, row)?,
                parent_ref: row.get(2)?,
                location_id: row.get(3)?,
            }))
        })
    }

    /// The entities for `refs`, in the same order, `None` where missing.
    pub fn get_many(&self, refs: &[String]) -> anyhow::Result<Vec<Option<EntityJson>>> {
        self.read_indexed(|conn, index| {
            // The index agrees with SQLite here (same commit), so it answers ref -> id.
            let ids: Vec<Option<i64>> =
                refs.iter().map(|r| index.id_of(r).map(i64::from)).collect();
            let wanted: Vec<i64> = ids.iter().flatten().copied().collect();
            let found = entities_by_id(conn, index, &wanted)?;
            // A ref asked for twice is answered twice.
            Ok(ids
                .into_iter()
                .map(|id| id.and_then(|id| found.get(&id).cloned()))
                .collect())
        })
    }

    /// Which of `refs` the predicate selects.
    pub fn matching_refs(
        &self,
        refs: &[String],
        predicate: &Predicate,
    ) -> std::collections::HashSet<String> {
        self.index.read(|index| {
            let selected = index.select(predicate, None);
            refs.iter()
                .map(|r| r.to_lowercase())
                .filter(|r| index.id_of(r).is_some_and(|id| selected.contains(id)))
                .collect()
        })
    }

    /// One page of the cursor's query, `limit` items at most, skipping `offset` first.
    pub fn query(&self, cursor: &Cursor, limit: u64, offset: u64) -> anyhow::Result<KeysetPage> {
        let query = &cursor.query;
        self.read_indexed(|conn, index| {
            let selected = index.select(&query.predicate, query.full_text.as_ref());
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
            let total = selected.len();
            let mut rows = page.rows;
            if cursor.backward {
                rows.reverse();
            }
            let ids: Vec<i64> = rows.iter().map(|(id, _)| i64::from(*id)).collect();
            let mut found = entities_by_id(conn, index, &ids)?;
            let items = ids.iter().filter_map(|id| found.remove(id)).collect();
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
    pub fn facets(&self, facets: &[String], predicate: &Predicate) -> Vec<(String, Vec<Facet>)> {
        self.index.read(|index| {
            // Without a filter every entity is selected: no need to intersect.
            let selected =
                (*predicate != Predicate::everything()).then(|| index.select(predicate, None));
            facets
                .iter()
                .map(|facet| {
                    let counts = index.facet(&facet.to_lowercase(), selected.as_ref());
                    (facet.clone(), counts)
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

impl CatalogStore {
    /// Runs `f` on a read connection while holding the index's read lock. A write commits and
    /// updates the index under its write lock, so what `f` reads from SQLite and from the
    /// index (relations included) is the same committed state.
    fn read_indexed<T>(
        &self,
        f: impl FnOnce(&Connection, &Index) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        self.read(|conn| self.index.read(|index| f(conn, index)))
    }
}

/// The entities `ids` name, as served, by id: one statement for a whole page instead of one
/// per entity.
fn entities_by_id(
    conn: &Connection,
    index: &Index,
    ids: &[i64],
) -> anyhow::Result<HashMap<i64, EntityJson>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let mut statement = conn.prepare_cached(&format!(
        "SELECT entity_ref, body, id FROM entities WHERE id IN ({marks})"
    ))?;
    let mut rows = statement.query(params_from_iter(ids))?;
    let mut found = HashMap::with_capacity(ids.len());
    while let Some(row) = rows.next()? {
        found.insert(row.get::<_, i64>(2)?, served(index, row)?);
    }
    Ok(found)
}

/// A row starting with `entity_ref, body`, as served: the stored text, read in place, with
/// the relations the index holds for it.
fn served(index: &Index, row: &rusqlite::Row) -> anyhow::Result<EntityJson> {
    let entity_ref = row.get_ref(0)?.as_str()?;
    EntityJson::new(row.get_ref(1)?.as_str()?, &index.relations_from(entity_ref))
}
