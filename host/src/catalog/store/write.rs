//! Writes, inside one transaction: entities, source files, processing
//! errors and registered locations. The writer notes which entities it touched, so the search
//! index can follow once the transaction commits.

use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, Transaction, params};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::super::sources::{ProcessingError, Target};
use greenroom_api::EntityRef;

/// The annotation Backstage puts on entities no location defines any more.
pub const ORPHAN_ANNOTATION: &str = "backstage.io/orphan";

/// What the store knows about an entity before a write.
#[derive(Debug, Clone)]
pub struct ExistingEntity {
    pub file: Option<PathBuf>,
    pub orphan: bool,
}

/// An entity to store and where it comes from.
pub struct EntityWrite<'a> {
    pub entity_ref: &'a EntityRef,
    /// The body as compact JSON (what change detection and the etag hash) and parsed.
    pub json: &'a str,
    pub body: &'a Value,
    /// The catalog file that defines it; `None` for a location's own generated entity.
    pub file: Option<&'a Path>,
    pub location_id: &'a str,
    /// The Location entity it was found through.
    pub parent_ref: Option<&'a str>,
}

/// A catalog file as last processed: enough to skip it next time if it has not changed.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRecord {
    pub path: PathBuf,
    pub location_id: String,
    pub parent_ref: String,
    pub fingerprint: String,
    pub dependencies: Vec<PathBuf>,
    pub targets: Vec<Target>,
}

pub struct Writer<'t> {
    tx: &'t Transaction<'t>,
    /// Ids of entities written or deleted.
    touched: Vec<i64>,
    /// Their refs and what happened to each, for those who follow the catalog's changes.
    touched_refs: Vec<Touched>,
}

/// What a committed write did to one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Changed,
    Removed,
}

/// One entity a committed write touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touched {
    pub entity_ref: String,
    pub change: Change,
}

impl<'t> Writer<'t> {
    pub(super) fn new(tx: &'t Transaction<'t>) -> Self {
        Self {
            tx,
            touched: Vec::new(),
            touched_refs: Vec::new(),
        }
    }

    pub(super) fn into_touched(self) -> (Vec<i64>, Vec<Touched>) {
        (self.touched, self.touched_refs)
    }

    pub fn lookup(&self, entity_ref: &str) -> anyhow::Result<Option<ExistingEntity>> {
        Ok(self
            .tx
            .prepare_cached("SELECT file, orphan FROM entities WHERE entity_ref = ?1")?
            .query_row([entity_ref], |r| {
                Ok(ExistingEntity {
                    file: r.get::<_, Option<String>>(0)?.map(PathBuf::from),
                    orphan: r.get(1)?,
                })
            })
            .optional()?)
    }

    /// Stores an entity, keeping its uid. Unchanged entities are not rewritten (their etag
    /// stays); a changed spec bumps the generation. Clears any orphan mark or status.
    /// Returns whether anything was written.
    pub fn put(&mut self, entity: &EntityWrite) -> anyhow::Result<bool> {
        let entity_ref = entity.entity_ref.to_string();
        let hash = input_hash(entity);
        let existing: Option<(i64, String, i64, String, String)> = self
            .tx
            .prepare_cached(
                "SELECT id, uid, generation, content_hash, body FROM entities WHERE entity_ref = ?1",
            )?
            .query_row([&entity_ref], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .optional()?;
        if existing
            .as_ref()
            .is_some_and(|(_, _, _, old_hash, _)| *old_hash == hash)
        {
            return Ok(false);
        }
        let mut body = entity.body.clone();
        let etag = &sha256_hex(entity.json.as_bytes())[..16];
        let change = if existing.is_some() {
            Change::Changed
        } else {
            Change::Added
        };
        let id = match existing {
            Some((id, uid, generation, _, old_body)) => {
                let old: Value = serde_json::from_str(&old_body)?;
                let generation = generation + i64::from(old["spec"] != body["spec"]);
                stamp(&mut body, &uid, etag, generation);
                self.tx
                    .prepare_cached(
                        "UPDATE entities SET generation = ?2, content_hash = ?3, file = ?4,
                         location_id = ?5, parent_ref = ?6, orphan = 0, body = ?7 WHERE id = ?1",
                    )?
                    .execute(params![
                        id,
                        generation,
                        hash,
                        entity.file.map(|f| f.to_string_lossy().into_owned()),
                        entity.location_id,
                        entity.parent_ref,
                        body.to_string()
                    ])?;
                id
            }
            None => {
                let uid = uuid::Uuid::new_v4().to_string();
                stamp(&mut body, &uid, etag, 1);
                self.tx
                    .prepare_cached(
                        "INSERT INTO entities (entity_ref, uid, generation, content_hash, file,
                         location_id, parent_ref, body) VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6, ?7)",
                    )?
                    .execute(params![
                        entity_ref,
                        uid,
                        hash,
                        entity.file.map(|f| f.to_string_lossy().into_owned()),
                        entity.location_id,
                        entity.parent_ref,
                        body.to_string()
                    ])?;
                self.tx.last_insert_rowid()
            }
        };
        self.touched.push(id);
        self.touched_refs.push(Touched { entity_ref, change });
        Ok(true)
    }

    /// Marks an entity as orphaned (or no longer so) in its body and row.
    pub fn set_orphan(&mut self, entity_ref: &str, orphan: bool) -> anyhow::Result<()> {
        self.modify(entity_ref, |body| {
            let annotations = body["metadata"]
                .as_object_mut()
                .map(|m| m.entry("annotations").or_insert_with(|| json!({})));
            if let Some(Value::Object(annotations)) = annotations {
                if orphan {
                    annotations.insert(ORPHAN_ANNOTATION.into(), json!("true"));
                } else {
                    annotations.remove(ORPHAN_ANNOTATION);
                }
            }
        })?;
        self.tx.execute(
            "UPDATE entities SET orphan = ?2 WHERE entity_ref = ?1",
            params![entity_ref, orphan],
        )?;
        Ok(())
    }

    /// Records processing errors in `status.items` while the stored version stays served.
    pub fn set_status_errors(
        &mut self,
        entity_ref: &str,
        errors: &[&ProcessingError],
    ) -> anyhow::Result<()> {
        let items: Vec<Value> = errors
            .iter()
            .map(|e| {
                json!({
                    "type": "backstage.io/catalog-processing",
                    "level": "error",
                    "message": e.to_string(),
                    "error": {"name": "InputError", "message": e.to_string()},
                })
            })
            .collect();
        self.modify(entity_ref, |body| {
            body["status"] = json!({ "items": items });
        })
    }

    /// Rewrites a stored body in place (new etag, same uid and generation). The content hash
    /// is cleared so the next [`Writer::put`] of the source version writes it again.
    fn modify(&mut self, entity_ref: &str, change: impl FnOnce(&mut Value)) -> anyhow::Result<()> {
        let row: Option<(i64, String)> = self
            .tx
            .prepare_cached("SELECT id, body FROM entities WHERE entity_ref = ?1")?
            .query_row([entity_ref], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((id, body)) = row else {
            return Ok(());
        };
        let mut body: Value = serde_json::from_str(&body)?;
        let before = body.clone();
        change(&mut body);
        if body == before {
            return Ok(());
        }
        body["metadata"]["etag"] = json!(&sha256_hex(body.to_string().as_bytes())[..16]);
        self.tx.execute(
            "UPDATE entities SET body = ?2, content_hash = '' WHERE id = ?1",
            params![id, body.to_string()],
        )?;
        self.touched.push(id);
        self.touched_refs.push(Touched {
            entity_ref: entity_ref.to_string(),
            change: Change::Changed,
        });
        Ok(())
    }

    pub fn delete_entity(&mut self, entity_ref: &str) -> anyhow::Result<bool> {
        let id: Option<i64> = self
            .tx
            .query_row(
                "SELECT id FROM entities WHERE entity_ref = ?1",
                [entity_ref],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else { return Ok(false) };
        self.touched.push(id);
        self.touched_refs.push(Touched {
            entity_ref: entity_ref.to_string(),
            change: Change::Removed,
        });
        self.tx
            .execute("DELETE FROM entities WHERE id = ?1", [id])?;
        Ok(true)
    }

    /// Refs of the entities a file defines (orphans included).
    pub fn entities_of_file(&self, file: &Path) -> anyhow::Result<Vec<String>> {
        self.refs_where("file = ?1", [file.to_string_lossy()])
    }

    /// Refs of the generated entities of locations (those no file defines).
    pub fn location_entities(&self) -> anyhow::Result<Vec<String>> {
        self.refs_where("file IS NULL", [])
    }

    fn refs_where(
        &self,
        condition: &str,
        args: impl rusqlite::Params,
    ) -> anyhow::Result<Vec<String>> {
        Ok(self
            .tx
            .prepare_cached(&format!(
                "SELECT entity_ref FROM entities WHERE {condition} ORDER BY entity_ref"
            ))?
            .query_map(args, |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    }

    pub fn put_file(&mut self, file: &FileRecord) -> anyhow::Result<()> {
        self.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO files (path, location_id, parent_ref, fingerprint,
                 dependencies, targets) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                file.path.to_string_lossy(),
                file.location_id,
                file.parent_ref,
                file.fingerprint,
                serde_json::to_string(&file.dependencies)?,
                serde_json::to_string(&file.targets)?
            ])?;
        Ok(())
    }

    pub fn delete_file(&mut self, path: &Path) -> anyhow::Result<()> {
        let path = path.to_string_lossy();
        self.tx
            .execute("DELETE FROM files WHERE path = ?1", [&path])?;
        self.tx
            .execute("DELETE FROM errors WHERE file = ?1", [&path])?;
        Ok(())
    }

    /// Replaces the errors of one phase (`file`, `conflict`, `discovery`) for a file; with no
    /// file, for every file.
    pub fn replace_errors(
        &mut self,
        file: Option<&Path>,
        phase: &str,
        errors: &[ProcessingError],
    ) -> anyhow::Result<()> {
        match file {
            Some(file) => self.tx.execute(
                "DELETE FROM errors WHERE file = ?1 AND phase = ?2",
                params![file.to_string_lossy(), phase],
            )?,
            None => self
                .tx
                .execute("DELETE FROM errors WHERE phase = ?1", [phase])?,
        };
        let mut insert = self.tx.prepare_cached(
            "INSERT INTO errors (file, phase, document, entity_ref, field, message)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for e in errors {
            insert.execute(params![
                e.file.to_string_lossy(),
                phase,
                e.document.map(|d| d as i64),
                e.entity_ref,
                e.field,
                e.message
            ])?;
        }
        Ok(())
    }

    /// Registers a location; returns false when the same type and target already exist.
    pub fn add_location(
        &mut self,
        id: &str,
        kind: &str,
        target: &str,
        source: &str,
    ) -> anyhow::Result<bool> {
        Ok(self.tx.execute(
            "INSERT OR IGNORE INTO locations (id, type, target, source) VALUES (?1, ?2, ?3, ?4)",
            params![id, kind, target, source],
        )? == 1)
    }

    pub fn delete_location(&mut self, id: &str) -> anyhow::Result<bool> {
        Ok(self
            .tx
            .execute("DELETE FROM locations WHERE id = ?1", [id])?
            == 1)
    }
}

/// Sets the server-owned metadata.
fn stamp(body: &mut Value, uid: &str, etag: &str, generation: i64) {
    let metadata = &mut body["metadata"];
    metadata["uid"] = json!(uid);
    metadata["etag"] = json!(etag);
    metadata["generation"] = json!(generation);
}

/// Hash of everything a write depends on, to skip rewriting unchanged entities.
fn input_hash(entity: &EntityWrite) -> String {
    let mut hasher = Sha256::new();
    hasher.update(entity.json);
    hasher.update(format!(
        "\n{:?} {} {:?}",
        entity.file, entity.location_id, entity.parent_ref
    ));
    hex::encode(hasher.finalize())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
