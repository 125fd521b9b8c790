//! Making the store match the sources. A reconcile walks every location (configured and
//! registered), follows Location entities to more files, re-reads only the files whose
//! fingerprint (size and modification time of the file and of everything its placeholders
//! read) changed, and applies the result in one transaction:
//!
//! - an entity keeps the file that first claimed it; another file defining it gets a
//!   conflict error until the first lets go;
//! - an entity its file no longer defines (or whose file is gone) is orphaned: annotated
//!   `backstage.io/orphan: 'true'` or deleted, as configured;
//! - a document that fails keeps the last good version served, with the error in its
//!   `status.items`; if a document cannot even say which entity it is, nothing the file
//!   defined is released.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use serde_json::{Value, json};
use sha1::{Digest, Sha1};

use super::scan::{self, Unscanned};
use super::sources::{
    self, FileContext, FileOutcome, MANAGED_BY_LOCATION, MANAGED_BY_ORIGIN_LOCATION,
    MAX_FILE_BYTES, ProcessingError, StagedEntity,
};
use super::store::{CatalogStore, EntityWrite, FileRecord, LocationRow, Writer};
use crate::support::files::{SharedBudget, Taken};
use greenroom_api::EntityRef;

/// What happens to entities no location defines any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrphanStrategy {
    /// Keep them, annotated `backstage.io/orphan: 'true'`.
    Keep,
    /// Delete them (Backstage's default).
    Delete,
}

/// A location the walk starts from, with its generated Location entity.
pub struct Root {
    pub id: String,
    pub target: PathBuf,
    pub entity: StagedEntity,
    /// Set by the operator (configuration, command line, providers) rather than registered
    /// through the API: its folder is one the catalog may read from.
    pub trusted: bool,
}

impl Root {
    pub fn new(location: &LocationRow) -> Self {
        let target = PathBuf::from(&location.target);
        Self {
            id: location.id.clone(),
            entity: location_entity(&location.kind, &location.target),
            trusted: location.source != "api",
            target,
        }
    }

    fn origin(&self) -> String {
        format!("file:{}", self.target.display())
    }

    /// Placeholders may read anywhere under the location's folder.
    fn confinement(&self) -> PathBuf {
        let folder = scan::folder_of(&self.target);
        folder.canonicalize().unwrap_or(folder)
    }
}

/// Where a walk may read and how much.
pub struct Scope<'a> {
    /// The name of catalog files in scanned folders.
    pub file_name: &'a str,
    /// Folders, besides the trusted locations' own, that files may be read from (where
    /// locations may be registered).
    pub registration_roots: &'a [PathBuf],
    /// Most bytes one walk reads, catalog files and placeholders together; see [`Walk::deferred`].
    pub read_limit: u64,
}

/// Backstage's generated Location entity for a registered or configured location:
/// `generated-<sha1 of type:target>`.
pub fn location_entity(kind: &str, target: &str) -> StagedEntity {
    let location_ref = format!("{kind}:{target}");
    let name = format!(
        "generated-{}",
        hex::encode(Sha1::digest(location_ref.as_bytes()))
    );
    let body = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {
            "name": name,
            "namespace": "default",
            "annotations": {
                MANAGED_BY_LOCATION: location_ref,
                MANAGED_BY_ORIGIN_LOCATION: location_ref,
            },
        },
        "spec": {"type": kind, "target": target},
    });
    StagedEntity {
        entity_ref: EntityRef::new("location", "default", &name),
        json: body.to_string(),
        document: 0,
    }
}

/// One file reached by the walk: its record, and what processing it gave (`None` when it
/// was unchanged and not read).
pub struct Visited {
    pub record: FileRecord,
    pub outcome: Option<FileOutcome>,
}

/// Everything a walk found.
#[derive(Default)]
pub struct Walk {
    pub visited: Vec<Visited>,
    pub errors: Vec<ProcessingError>,
    /// Files left unread because the walk had read its limit: what they defined is kept as
    /// it was, and the next walk reads them (the entities a walk stages are held in memory
    /// until written, so this bounds memory).
    pub deferred: Vec<PathBuf>,
}

impl Walk {
    pub fn processed(&self) -> impl Iterator<Item = (&FileRecord, &FileOutcome)> {
        self.visited
            .iter()
            .filter_map(|v| Some((&v.record, v.outcome.as_ref()?)))
    }
}

/// A file waiting to be visited, and how it was reached.
struct Pending {
    file: PathBuf,
    root: usize,
    parent_ref: String,
}

/// Walks `roots` breadth first. Files in `cached` whose fingerprint still matches are not
/// read (their recorded targets are followed), unless listed in `forced`. Files of one
/// level are processed in parallel.
pub fn walk(
    roots: &[Root],
    scope: &Scope,
    cached: &HashMap<PathBuf, FileRecord>,
    forced: &HashSet<PathBuf>,
) -> Walk {
    let mut out = Walk::default();
    let folders = scan::folders(
        roots
            .iter()
            .filter(|r| r.trusted)
            .map(|r| scan::folder_of(&r.target))
            .chain(scope.registration_roots.iter().cloned()),
    );
    let budget = SharedBudget::new(scope.read_limit);
    let mut seen = HashSet::new();
    let mut frontier = Vec::new();
    for (index, root) in roots.iter().enumerate() {
        match scan::scan(&root.target, scope.file_name, &folders) {
            Ok(found) => {
                out.note_problems(found.problems);
                frontier.extend(found.files.into_iter().map(|file| Pending {
                    file,
                    root: index,
                    parent_ref: root.entity.entity_ref.to_string(),
                }));
            }
            Err(message) => out.errors.push(ProcessingError::of_file(
                &root.target,
                format!("location target: {message}"),
            )),
        }
    }
    let contexts: Vec<(String, PathBuf)> = roots
        .iter()
        .map(|r| (r.origin(), r.confinement()))
        .collect();
    while !frontier.is_empty() {
        frontier.retain(|p| seen.insert(p.file.clone()));
        // Each file's visit (`None` for a new file left unread) and whether it was deferred.
        let visits: Vec<(Option<Visited>, bool)> = parallel_map(&frontier, |pending| {
            let root = &roots[pending.root];
            let cached = cached
                .get(&pending.file)
                .filter(|c| c.location_id == root.id && c.parent_ref == pending.parent_ref);
            let previous = cached.filter(|c| {
                !forced.contains(&pending.file)
                    && fingerprint(std::iter::once(&pending.file).chain(&c.dependencies))
                        == c.fingerprint
            });
            if let Some(previous) = previous {
                let visit = Visited {
                    record: previous.clone(),
                    outcome: None,
                };
                return (Some(visit), false);
            }
            // Left for the next walk, keeping what the file defined until then.
            let defer = || {
                let visit = cached.map(|c| Visited {
                    record: c.clone(),
                    outcome: None,
                });
                (visit, true)
            };
            let size = std::fs::metadata(&pending.file).map_or(0, |m| m.len());
            let taken = budget.take(size.min(MAX_FILE_BYTES));
            if taken == Taken::No {
                return defer();
            }
            let before = fingerprint([&pending.file]);
            let (origin, confinement) = &contexts[pending.root];
            let outcome = sources::process_file(
                &pending.file,
                &FileContext {
                    origin,
                    root: confinement,
                    budget: &budget,
                },
            );
            // A file whose placeholders alone pass the limit keeps its errors.
            if outcome.over_budget && taken != Taken::First {
                return defer();
            }
            let record = FileRecord {
                path: pending.file.clone(),
                location_id: root.id.clone(),
                parent_ref: pending.parent_ref.clone(),
                fingerprint: before + &fingerprint(&outcome.dependencies),
                dependencies: outcome.dependencies.clone(),
                targets: outcome.targets.clone(),
            };
            let visit = Visited {
                record,
                outcome: Some(outcome),
            };
            (Some(visit), false)
        });
        let mut next = Vec::new();
        for ((visit, deferred), pending) in visits.iter().zip(&frontier) {
            if *deferred {
                out.deferred.push(pending.file.clone());
            }
            let Some(visit) = visit else { continue };
            for target in &visit.record.targets {
                match scan::scan(&target.path, scope.file_name, &folders) {
                    Ok(found) => {
                        out.note_problems(found.problems);
                        next.extend(found.files.into_iter().map(|file| Pending {
                            file,
                            root: pending.root,
                            parent_ref: target.parent.clone(),
                        }));
                    }
                    Err(Unscanned::Missing(_)) if target.optional => {}
                    Err(message) => out.errors.push(ProcessingError {
                        file: pending.file.clone(),
                        document: None,
                        entity_ref: Some(target.parent.clone()),
                        field: Some("spec.target".into()),
                        message: format!("location target: {message}"),
                    }),
                }
            }
        }
        out.visited
            .extend(visits.into_iter().filter_map(|(visit, _)| visit));
        frontier = next;
    }
    out
}

impl Walk {
    fn note_problems(&mut self, problems: Vec<(PathBuf, String)>) {
        self.errors.extend(
            problems
                .into_iter()
                .map(|(path, message)| ProcessingError::of_file(&path, message)),
        );
    }
}

/// Size and modification time of each file (a catalog file, then what its placeholders
/// read); changes when any of them is edited, replaced or removed.
fn fingerprint<'a>(paths: impl IntoIterator<Item = &'a PathBuf>) -> String {
    paths
        .into_iter()
        .map(|path| match std::fs::metadata(path) {
            Ok(meta) => {
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                format!("{}@{modified};", meta.len())
            }
            Err(_) => "missing;".into(),
        })
        .collect()
}

fn parallel_map<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if items.len() < 64 || threads == 1 {
        return items.iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<U>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("catalog processing thread panicked"))
            .collect()
    })
}

/// What one reconcile changed.
#[derive(Debug, Default, Clone, Copy)]
pub struct Report {
    pub files_read: usize,
    pub written: usize,
    pub released: usize,
    pub errors: usize,
}

impl Report {
    pub fn add(&mut self, other: &Report) {
        self.files_read += other.files_read;
        self.written += other.written;
        self.released += other.released;
        self.errors += other.errors;
    }
}

/// Applies a walk to the store.
pub fn apply(
    store: &CatalogStore,
    roots: &[Root],
    walk: &mut Walk,
    previous_files: &HashMap<PathBuf, FileRecord>,
    orphans: OrphanStrategy,
) -> anyhow::Result<Report> {
    let reachable: HashSet<PathBuf> = walk.visited.iter().map(|v| v.record.path.clone()).collect();
    store.write(|w| {
        let mut report = Report {
            files_read: walk.processed().count(),
            ..Report::default()
        };
        // Generated entities of the locations themselves.
        let root_refs: HashSet<String> = roots
            .iter()
            .map(|r| r.entity.entity_ref.to_string())
            .collect();
        for stale in w.location_entities()? {
            if !root_refs.contains(&stale) {
                w.delete_entity(&stale)?;
            }
        }
        for root in roots {
            report.written += usize::from(w.put(&EntityWrite {
                entity_ref: &root.entity.entity_ref,
                json: &root.entity.json,
                body: &root.entity.entity()?.body,
                file: None,
                location_id: &root.id,
                parent_ref: None,
            })?);
        }
        // First let go of what files no longer define, so that a move between files in one
        // change is not taken for a conflict.
        for (path, _) in previous_files
            .iter()
            .filter(|(p, _)| !reachable.contains(p.as_path()))
        {
            for entity_ref in w.entities_of_file(path)? {
                report.released += release(w, &entity_ref, orphans)?;
            }
            w.delete_file(path)?;
        }
        for (record, outcome) in walk.processed() {
            if outcome.has_unidentified_failure() {
                continue;
            }
            let defined: HashSet<String> = outcome
                .entities
                .iter()
                .map(|e| e.entity_ref.to_string())
                .chain(outcome.errors.iter().filter_map(|e| e.entity_ref.clone()))
                .collect();
            for entity_ref in w.entities_of_file(&record.path)? {
                if !defined.contains(&entity_ref) {
                    report.released += release(w, &entity_ref, orphans)?;
                }
            }
        }
        // Each file's staged entities are let go once written: at a first read they are the
        // whole catalog, and the index is rebuilt from the store after the commit.
        for Visited { record, outcome } in &mut walk.visited {
            let Some(outcome) = outcome else { continue };
            let mut conflicts = Vec::new();
            for staged in std::mem::take(&mut outcome.entities) {
                let entity_ref = staged.entity_ref.to_string();
                let claimed_elsewhere = w.lookup(&entity_ref)?.filter(|existing| {
                    !existing.orphan
                        && existing.file.as_deref() != Some(record.path.as_path())
                        && (existing.file.as_deref().is_some_and(|f| reachable.contains(f))
                            || existing.file.is_none())
                });
                if let Some(existing) = claimed_elsewhere {
                    let owner = existing
                        .file
                        .map_or_else(|| "a registered location".into(), |f| f.display().to_string());
                    conflicts.push(ProcessingError {
                        file: record.path.clone(),
                        document: Some(staged.document),
                        entity_ref: Some(entity_ref.clone()),
                        field: Some("metadata.name".into()),
                        message: format!(
                            "{entity_ref} is already defined in {owner}; the first location keeps it"
                        ),
                    });
                    continue;
                }
                let entity = staged.entity()?;
                report.written += usize::from(w.put(&EntityWrite {
                    entity_ref: &staged.entity_ref,
                    json: &staged.json,
                    body: &entity.body,
                    file: Some(&record.path),
                    location_id: &record.location_id,
                    parent_ref: Some(&record.parent_ref),
                })?);
            }
            let mut failed: HashMap<&str, Vec<&ProcessingError>> = HashMap::new();
            for error in &outcome.errors {
                if let Some(entity_ref) = &error.entity_ref {
                    failed.entry(entity_ref).or_default().push(error);
                }
            }
            let own: HashSet<String> = w.entities_of_file(&record.path)?.into_iter().collect();
            for (entity_ref, errors) in failed {
                if own.contains(entity_ref) {
                    w.set_status_errors(entity_ref, &errors)?;
                }
            }
            report.errors += outcome.errors.len() + conflicts.len();
            w.replace_errors(Some(&record.path), "file", &outcome.errors)?;
            w.replace_errors(Some(&record.path), "conflict", &conflicts)?;
            w.put_file(record)?;
        }
        w.replace_errors(None, "discovery", &walk.errors)?;
        Ok(report)
    })
}

/// Orphans or deletes an entity no source defines any more; returns 1 if it was released.
fn release(w: &mut Writer, entity_ref: &str, orphans: OrphanStrategy) -> anyhow::Result<usize> {
    match orphans {
        OrphanStrategy::Delete => {
            w.delete_entity(entity_ref)?;
        }
        OrphanStrategy::Keep => w.set_orphan(entity_ref, true)?,
    }
    Ok(1)
}

/// The entities a walk would produce, without storing anything (a dry run).
pub fn preview(walk: &Walk) -> anyhow::Result<Vec<Value>> {
    walk.processed()
        .flat_map(|(_, outcome)| outcome.entities.iter().map(|e| Ok(e.entity()?.body)))
        .collect()
}
