//! The software catalog: Backstage-compatible entities from YAML sources, kept in SQLite,
//! read by the REST API, the web UI and plugins through [`Catalog`].
//!
//! Data flows one way: locations -> [`sources`] (parse, placeholders, validate, relations)
//! -> [`reconcile`] (what changed, conflicts, orphans) -> [`store`] -> readers.

pub mod api;
mod kinds;
mod lint;
mod model;
pub mod permissions;
mod placeholders;
mod providers;
mod query;
mod reconcile;
mod relations;
mod scan;
mod sources;
mod store;
mod watch;
mod yaml;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

pub use greenroom_api::EntityRef;
pub use lint::lint;
pub use query::{Cursor, EntityQuery, FullText, OrderField, Predicate};
pub use reconcile::{OrphanStrategy, Report};
pub use scan::folder_of;
pub use sources::{MANAGED_BY_LOCATION, ProcessingError};
pub use store::{Change, EntityJson, Facet, LocationRow, Touched};
pub use yaml::parse_one as parse_yaml;

use reconcile::Root;
use store::CatalogStore;

/// Most entities one page may hold.
pub const MAX_PAGE_SIZE: u64 = 1000;

/// A page of entities and the cursors of the neighbouring pages.
pub struct EntityPage {
    pub items: Vec<EntityJson>,
    pub total_items: u64,
    pub next_cursor: Option<Cursor>,
    pub prev_cursor: Option<Cursor>,
}

/// How the catalog finds and treats its sources.
#[derive(Debug, Clone)]
pub struct CatalogSettings {
    /// Configured locations: catalog files, folders scanned for `file_name`, or globs.
    pub locations: Vec<PathBuf>,
    pub file_name: String,
    pub orphan_strategy: OrphanStrategy,
    /// Folders under which `POST /locations` may register files.
    pub registration_roots: Vec<PathBuf>,
    /// Most bytes one reconcile reads (catalog files and placeholders); the rest is read by
    /// the reconciles that follow at once.
    pub read_limit: u64,
}

/// The default of [`CatalogSettings::read_limit`]: what one reconcile reads is held in
/// memory until written.
pub const DEFAULT_READ_LIMIT: u64 = 1 << 30;

/// Why a location operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// A location that was added (or would be, in a dry run).
pub struct AddedLocation {
    pub location: LocationRow,
    pub entities: Vec<Value>,
    pub exists: bool,
}

/// One entity of an ancestry and the entities that emitted it.
pub struct Ancestor {
    pub entity: EntityJson,
    pub parent_refs: Vec<String>,
}

/// The catalog service. Every reader and writer (REST handlers, plugin host functions, the
/// watcher, the CLI) goes through it.
pub struct Catalog {
    store: CatalogStore,
    settings: CatalogSettings,
    /// One reconcile at a time; they read and write the same files.
    reconciling: Mutex<()>,
    /// Files to re-read on the next reconcile even if unchanged (`POST /refresh`).
    forced: Mutex<HashSet<PathBuf>>,
    watcher: OnceLock<std::sync::mpsc::Sender<watch::Signal>>,
    /// Where provider plugins' answers are kept as catalog files.
    providers_dir: PathBuf,
}

impl Catalog {
    /// Opens (or creates) the catalog database in `data_dir` and records the configured
    /// locations. Call [`Catalog::reconcile`] to read them.
    pub fn open(data_dir: &Path, settings: CatalogSettings) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            anyhow::anyhow!("cannot create data folder {}: {e}", data_dir.display())
        })?;
        let store = CatalogStore::open(&data_dir.join("catalog.sqlite"))?;
        let configured: Vec<String> = settings
            .locations
            .iter()
            .map(|p| absolute(p).display().to_string())
            .collect();
        let existing = store.locations()?;
        store.write(|w| {
            for stale in existing
                .iter()
                .filter(|l| l.source == "config" && !configured.contains(&l.target))
            {
                w.delete_location(&stale.id)?;
            }
            for target in &configured {
                w.add_location(&location_id("file", target), "file", target, "config")?;
            }
            Ok(())
        })?;
        Ok(Self {
            store,
            settings,
            reconciling: Mutex::new(()),
            forced: Mutex::new(HashSet::new()),
            watcher: OnceLock::new(),
            providers_dir: absolute(&data_dir.join("providers")),
        })
    }

    /// Makes the store match the sources, reading only what changed since the last time.
    /// Past the read limit, the rest is read by further passes, each written on its own.
    pub fn reconcile(&self) -> anyhow::Result<Report> {
        let _one_at_a_time = self.reconciling.lock().expect("reconcile lock poisoned");
        let mut forced: HashSet<PathBuf> =
            std::mem::take(&mut *self.forced.lock().expect("forced lock poisoned"));
        let mut total = Report::default();
        loop {
            let (report, deferred) = self.reconcile_pass(forced)?;
            total.add(&report);
            if deferred.is_empty() {
                return Ok(total);
            }
            tracing::info!(
                deferred = deferred.len(),
                read_limit_mib = self.settings.read_limit >> 20,
                "catalog reconcile read its limit; reading the rest"
            );
            forced = deferred.into_iter().collect();
        }
    }

    /// One walk and its write; returns the files it left for the next.
    fn reconcile_pass(
        &self,
        mut forced: HashSet<PathBuf>,
    ) -> anyhow::Result<(Report, Vec<PathBuf>)> {
        let started = std::time::Instant::now();
        let roots: Vec<Root> = self.store.locations()?.iter().map(Root::new).collect();
        let previous = self.store.files()?;
        forced.extend(self.store.files_with_conflicts()?);
        let mut walk = reconcile::walk(&roots, &self.scope(), &previous, &forced);
        let report = reconcile::apply(
            &self.store,
            &roots,
            &mut walk,
            &previous,
            self.settings.orphan_strategy,
        )?;
        if report.files_read > 0 || report.released > 0 {
            tracing::info!(
                files_read = report.files_read,
                written = report.written,
                released = report.released,
                errors = report.errors,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "catalog reconciled"
            );
        }
        for (_, outcome) in walk.processed() {
            for error in &outcome.errors {
                tracing::warn!("catalog: {error}");
            }
        }
        Ok((report, walk.deferred))
    }

    fn scope(&self) -> reconcile::Scope<'_> {
        reconcile::Scope {
            file_name: &self.settings.file_name,
            registration_roots: &self.settings.registration_roots,
            read_limit: self.settings.read_limit,
        }
    }

    /// Watches the sources and reconciles on every change, from now on. Paths under
    /// `ignore` (the data folder) never trigger a reconcile.
    pub fn watch(self: &Arc<Self>, ignore: PathBuf) -> anyhow::Result<()> {
        let sender = watch::start(self.clone(), ignore)?;
        let _ = self.watcher.set(sender);
        Ok(())
    }

    /// The folders to watch: every folder or glob a location or Location entity targets,
    /// recursively, and the folder of every file read from elsewhere.
    fn watch_set(&self) -> anyhow::Result<std::collections::BTreeSet<(PathBuf, bool)>> {
        let files = self.store.files()?;
        let targets: Vec<PathBuf> = self
            .store
            .locations()?
            .into_iter()
            .map(|l| PathBuf::from(l.target))
            .chain(
                files
                    .values()
                    .flat_map(|f| f.targets.iter().map(|t| t.path.clone())),
            )
            .collect();
        let mut set: std::collections::BTreeSet<(PathBuf, bool)> =
            targets.iter().map(|t| watch_root(t)).collect();
        let recursive: Vec<PathBuf> = set
            .iter()
            .filter(|(_, r)| *r)
            .map(|(p, _)| p.clone())
            .collect();
        for record in files.into_values() {
            for path in std::iter::once(&record.path).chain(&record.dependencies) {
                if let Some(parent) = path.parent()
                    && !recursive.iter().any(|r| parent.starts_with(r))
                {
                    set.insert((parent.to_path_buf(), false));
                }
            }
        }
        Ok(set)
    }

    pub fn errors(&self) -> anyhow::Result<Vec<ProcessingError>> {
        self.store.errors()
    }

    /// An entity parsed, for code that reads its fields.
    pub fn get(&self, entity_ref: &EntityRef) -> anyhow::Result<Option<Value>> {
        self.get_json(entity_ref)?
            .map(|entity| entity.to_value())
            .transpose()
    }

    /// An entity as served.
    pub fn get_json(&self, entity_ref: &EntityRef) -> anyhow::Result<Option<EntityJson>> {
        Ok(self
            .store
            .get(&entity_ref.to_string())?
            .map(|stored| stored.entity))
    }

    pub fn get_by_uid(&self, uid: &str) -> anyhow::Result<Option<EntityJson>> {
        Ok(self.store.get_by_uid(uid)?.map(|stored| stored.entity))
    }

    /// Deletes an entity by uid. It comes back when its file is next read (an edit or a
    /// refresh), as in Backstage. Returns whether it existed.
    pub fn delete_by_uid(&self, uid: &str) -> anyhow::Result<bool> {
        let Some(stored) = self.store.get_by_uid(uid)? else {
            return Ok(false);
        };
        let entity_ref = EntityRef::of(&stored.entity.to_value()?).to_string();
        self.store.write(|w| w.delete_entity(&entity_ref))
    }

    /// Entities for the refs, in order; `None` for refs that are not in the catalog.
    pub fn by_refs(&self, refs: &[String]) -> anyhow::Result<Vec<Option<EntityJson>>> {
        let canonical: Vec<String> = refs.iter().map(|r| r.to_lowercase()).collect();
        self.store.get_many(&canonical)
    }

    /// The entities each later change touches (added, changed or removed), in batches as
    /// they are committed: for indexes kept beside the catalog, such as search, and for
    /// plugins that follow its changes.
    pub fn follow(&self) -> std::sync::mpsc::Receiver<Vec<Touched>> {
        self.store.follow()
    }

    /// Which of `refs` (lowercased) the predicate selects.
    pub fn refs_matching(&self, refs: &[String], predicate: Predicate) -> HashSet<String> {
        self.store.matching_refs(refs, &predicate)
    }

    /// A page of the cursor's query, `limit` items at most, skipping `offset` first, among
    /// the entities `visible` selects (all when `None`). The restriction is applied here, on
    /// every page, and never written into the cursors handed out, which callers may edit.
    pub fn query(
        &self,
        cursor: &Cursor,
        limit: u64,
        offset: u64,
        visible: Option<&Predicate>,
    ) -> anyhow::Result<EntityPage> {
        let page = match visible {
            None => self.store.query(cursor, limit.min(MAX_PAGE_SIZE), offset)?,
            Some(visible) => {
                let mut restricted = cursor.clone();
                restricted.query.predicate =
                    Predicate::All(vec![cursor.query.predicate.clone(), visible.clone()]);
                self.store
                    .query(&restricted, limit.min(MAX_PAGE_SIZE), offset)?
            }
        };
        let at = |boundary: query::SortKey, backward: bool| Cursor {
            query: cursor.query.clone(),
            boundary: Some(boundary),
            backward,
        };
        Ok(EntityPage {
            items: page.items,
            total_items: page.total_items,
            next_cursor: page.next.map(|b| at(b, false)),
            prev_cursor: page.prev.map(|b| at(b, true)),
        })
    }

    /// Counts of each facet's values among the entities `predicate` selects.
    pub fn facets(&self, facets: &[String], predicate: Predicate) -> Vec<(String, Vec<Facet>)> {
        self.store.facets(facets, &predicate)
    }

    /// The entity and every entity that emitted it, nearest first; `None` if it is unknown.
    pub fn ancestry(&self, entity_ref: &EntityRef) -> anyhow::Result<Option<Vec<Ancestor>>> {
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        let mut next = Some(entity_ref.to_string());
        while let Some(current) = next.take() {
            if !seen.insert(current.clone()) {
                break;
            }
            let Some(stored) = self.store.get(&current)? else {
                break;
            };
            next = stored.parent_ref.clone();
            items.push(Ancestor {
                entity: stored.entity,
                parent_refs: stored.parent_ref.into_iter().collect(),
            });
        }
        Ok((!items.is_empty()).then_some(items))
    }

    /// Has the file that defines an entity re-read by the next reconcile, which starts at once
    /// unless one is running (requests meanwhile share the one after it). Returns false if
    /// the entity is unknown.
    pub fn refresh(&self, entity_ref: &EntityRef) -> anyhow::Result<bool> {
        let Some(stored) = self.store.get(&entity_ref.to_string())? else {
            return Ok(false);
        };
        if let Some(file) = managed_by_file(&stored.entity.to_value()?) {
            self.forced
                .lock()
                .expect("forced lock poisoned")
                .insert(file);
        }
        self.reconcile_soon()?;
        Ok(true)
    }

    /// Checks an entity as if it were read from a catalog file: every problem, by field.
    pub fn validate_entity(&self, entity: Value) -> Vec<model::FieldError> {
        match model::validate(entity) {
            Ok(entity) => relations::relations_of(&entity).err().into_iter().collect(),
            Err(errors) => errors,
        }
    }

    pub fn locations(&self) -> anyhow::Result<Vec<LocationRow>> {
        self.store.locations()
    }

    pub fn location(&self, id: &str) -> anyhow::Result<Option<LocationRow>> {
        Ok(self.store.locations()?.into_iter().find(|l| l.id == id))
    }

    /// The location an entity came in through.
    pub fn location_of(&self, entity_ref: &EntityRef) -> anyhow::Result<Option<LocationRow>> {
        let Some(stored) = self.store.get(&entity_ref.to_string())? else {
            return Ok(None);
        };
        self.location(&stored.location_id)
    }

    /// Registers a file location (a catalog file, a folder or a glob under a registration
    /// root) and reads it; with `dry_run`, only reads it and reports what it holds.
    pub fn add_location(
        &self,
        kind: &str,
        target: &str,
        dry_run: bool,
    ) -> Result<AddedLocation, LocationError> {
        if kind != "file" {
            return Err(LocationError::Input(format!(
                "Registered locations must be of an allowed type [\"file\"], not '{kind}'"
            )));
        }
        let path = PathBuf::from(target);
        if !path.is_absolute() {
            return Err(LocationError::Input(format!(
                "location target '{target}' must be an absolute path"
            )));
        }
        let path = sources::lexical_join(Path::new("/"), &path);
        let allowed = self.settings.registration_roots.iter().any(|root| {
            let root = absolute(root);
            path.starts_with(root.canonicalize().unwrap_or(root))
        });
        if !allowed {
            return Err(LocationError::NotAllowed(format!(
                "location target '{target}' is outside the folders locations may be registered from"
            )));
        }
        // And where it really leads: a link inside those folders may point anywhere.
        let probe = if path.symlink_metadata().is_ok() {
            path.clone()
        } else {
            scan::folder_of(&path)
        };
        if probe.exists() {
            let registration =
                scan::folders(self.settings.registration_roots.iter().map(|r| absolute(r)));
            registration
                .resolve(&probe)
                .map_err(|m| LocationError::NotAllowed(format!("location target: {m}")))?;
        }
        let target = path.display().to_string();
        let id = location_id("file", &target);
        let exists = self.location(&id)?.is_some();
        let location = LocationRow {
            id: id.clone(),
            kind: kind.into(),
            target: target.clone(),
            source: "api".into(),
        };
        let root = Root::new(&location);
        if dry_run {
            let walk = reconcile::walk(
                std::slice::from_ref(&root),
                &self.scope(),
                &HashMap::new(),
                &HashSet::new(),
            );
            if !walk.deferred.is_empty() {
                return Err(LocationError::Input(format!(
                    "location target '{target}' holds more than the {} MiB a dry run reads",
                    self.settings.read_limit >> 20
                )));
            }
            if let Some(error) = walk
                .errors
                .iter()
                .chain(walk.processed().flat_map(|(_, o)| &o.errors))
                .next()
            {
                return Err(LocationError::Input(error.to_string()));
            }
            let mut entities = vec![root.entity.entity()?.body];
            entities.extend(reconcile::preview(&walk)?);
            return Ok(AddedLocation {
                location,
                entities,
                exists,
            });
        }
        if !self
            .store
            .write(|w| w.add_location(&id, kind, &target, "api"))?
        {
            return Err(LocationError::Conflict(format!(
                "Location {kind}:{target} already exists"
            )));
        }
        self.reconcile()?;
        self.nudge_watcher();
        Ok(AddedLocation {
            location,
            entities: Vec::new(),
            exists: false,
        })
    }

    /// Removes a registered location; what only it defined is orphaned (or deleted).
    pub fn delete_location(&self, id: &str) -> Result<(), LocationError> {
        let location = self
            .location(id)?
            .ok_or_else(|| LocationError::NotFound(format!("Found no location with ID {id}")))?;
        if location.source == "config" {
            return Err(LocationError::NotAllowed(format!(
                "location {id} comes from the server configuration; remove it there"
            )));
        }
        self.store.write(|w| w.delete_location(id))?;
        self.reconcile()?;
        self.nudge_watcher();
        Ok(())
    }

    /// Has the watcher thread reconcile, taking in every request made meanwhile, so a
    /// request never waits on a reconcile; without a watcher (one-shot commands), now.
    fn reconcile_soon(&self) -> anyhow::Result<()> {
        match self.watcher.get() {
            Some(watcher) if watcher.send(watch::Signal::Changed).is_ok() => Ok(()),
            _ => self.reconcile().map(|_| ()),
        }
    }

    fn nudge_watcher(&self) {
        if let Some(watcher) = self.watcher.get() {
            let _ = watcher.send(watch::Signal::Locations);
        }
    }
}

/// The ref of a location's generated Location entity.
pub fn location_entity_ref(kind: &str, target: &str) -> String {
    reconcile::location_entity(kind, target)
        .entity_ref
        .to_string()
}

/// Where to watch for a target: a folder recursively; for a glob, the folder before its
/// first wildcard, recursively; for a file, its folder.
fn watch_root(target: &Path) -> (PathBuf, bool) {
    let text = target.to_string_lossy();
    if text.contains(['*', '?', '[']) {
        let fixed: PathBuf = target
            .components()
            .take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '[']))
            .collect();
        return (fixed, true);
    }
    if target.is_dir() {
        return (target.to_path_buf(), true);
    }
    (
        target.parent().map(Path::to_path_buf).unwrap_or_default(),
        false,
    )
}

/// A location's id: stable for a type and target, so re-registering finds the same one.
fn location_id(kind: &str, target: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        format!("{kind}:{target}").as_bytes(),
    )
    .to_string()
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The catalog file named by an entity's `managed-by-location` annotation.
fn managed_by_file(entity: &Value) -> Option<PathBuf> {
    entity["metadata"]["annotations"][sources::MANAGED_BY_LOCATION]
        .as_str()?
        .strip_prefix("file:")
        .map(PathBuf::from)
}
