//! TechDocs: entities' documentation sites, built natively (no Python, no MkDocs) the way
//! MkDocs with techdocs-core builds them, and served through Backstage's TechDocs API, the
//! reader's own JSON and the plugins' `docs` import.
//!
//! A site is found from the entity's `backstage.io/techdocs-ref: dir:<path>` (relative to
//! its catalog file and confined to that file's folder) or borrowed from another entity
//! (`backstage.io/techdocs-entity`). It is built on first view and rebuilt, incrementally,
//! when a view finds its files changed; a failed build keeps the last good one and says why.

pub mod api;
mod build;
mod config;
mod markdown;
mod nav;
mod watch;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::catalog::{Catalog, EntityRef, MANAGED_BY_LOCATION};

pub use build::{Built, BuiltPage, Section};
use markdown::Sanitizer;
pub use markdown::{Heading, to_safe_html};
pub use nav::{NavItem, SiteFile};

pub const TECHDOCS_REF: &str = "backstage.io/techdocs-ref";
pub const TECHDOCS_ENTITY: &str = "backstage.io/techdocs-entity";
pub const TECHDOCS_ENTITY_PATH: &str = "backstage.io/techdocs-entity-path";

/// Why an entity's docs cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error("no entity {0}")]
    NoEntity(String),
    /// The entity names no site, or a kind of site that is not supported.
    #[error("{0}")]
    NoSite(String),
    /// The site exists but cannot be built (and was never built before).
    #[error("{0}")]
    Build(String),
    #[error(transparent)]
    Store(#[from] anyhow::Error),
}

/// A site as the reader gets it: the build, the entity whose site it is, and the last
/// build's error when that failed and an older build is served.
pub struct Site {
    pub built: Arc<Built>,
    /// The entity the site belongs to (the lender, for a borrowed site).
    pub owner: EntityRef,
    /// Where a borrowed site starts (`backstage.io/techdocs-entity-path`).
    pub start_path: Option<String>,
    pub failed: Option<String>,
}

/// A site folder's latest good build, why the build after it failed, and when its files
/// were last compared with it.
#[derive(Clone, Default)]
struct Latest {
    built: Option<Arc<Built>>,
    failed: Option<String>,
    checked: Option<Instant>,
}

/// How long a site is served without looking at its files again: a view compares them
/// (a walk and a stat of each, about 1 ms for 500 pages) at most this often, so an edit
/// shows within this time; `sync` always looks.
const FRESH_FOR: Duration = Duration::from_millis(250);

/// The docs service.
pub struct TechDocs {
    catalog: Arc<Catalog>,
    /// The latest build of each site folder, and the latest failure after it.
    builds: Mutex<HashMap<PathBuf, Latest>>,
    /// One build at a time per service: builds are short, and two views of a changed site
    /// then build it once.
    building: Mutex<()>,
    sanitizer: Sanitizer,
    watcher: std::sync::OnceLock<std::sync::mpsc::Sender<watch::Signal>>,
    /// Who follows rebuilt sites: each gets the folder of a site its watcher rebuilt.
    followers: Mutex<Vec<std::sync::mpsc::Sender<PathBuf>>>,
}

/// What the operator sets for docs (`techdocs:` in the config file).
#[derive(Debug, Clone, Default)]
pub struct DocsSettings {
    /// Hosts whose https pages may be embedded in docs as iframes (e.g. `www.youtube.com`).
    pub allowed_iframe_hosts: Vec<String>,
}

impl TechDocs {
    pub fn new(catalog: Arc<Catalog>, settings: DocsSettings) -> Self {
        Self {
            catalog,
            builds: Mutex::default(),
            building: Mutex::new(()),
            sanitizer: Sanitizer::new(settings.allowed_iframe_hosts),
            watcher: std::sync::OnceLock::new(),
            followers: Mutex::default(),
        }
    }

    /// The folders of the sites the watcher rebuilds from now on (for indexes of the docs,
    /// such as search).
    pub fn follow(&self) -> std::sync::mpsc::Receiver<PathBuf> {
        let (sender, receiver) = std::sync::mpsc::channel();
        self.followers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(sender);
        receiver
    }

    /// From now on, rebuilds a built site when its files change, without waiting for a view.
    pub fn watch(self: &Arc<Self>) -> anyhow::Result<()> {
        let sender = watch::start(self.clone())?;
        let _ = self.watcher.set(sender);
        Ok(())
    }

    /// The site folders built so far.
    fn roots(&self) -> std::collections::BTreeSet<PathBuf> {
        let builds = self.builds.lock().unwrap_or_else(|e| e.into_inner());
        builds.keys().cloned().collect()
    }

    /// Rebuilds the site in `root` if its files changed (the watcher's call).
    fn refresh(&self, root: &Path) {
        if let Err(e) = self.current(root, true) {
            tracing::warn!(site = %root.display(), "docs site not rebuilt: {e}");
        }
        let mut followers = self.followers.lock().unwrap_or_else(|e| e.into_inner());
        followers.retain(|follower| follower.send(root.to_path_buf()).is_ok());
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The current site of an entity, built or rebuilt now if its files changed.
    pub fn site(&self, entity_ref: &EntityRef) -> Result<Site, DocsError> {
        self.site_checked(entity_ref, false)
    }

    fn site_checked(&self, entity_ref: &EntityRef, look: bool) -> Result<Site, DocsError> {
        let entity = self
            .catalog
            .get(entity_ref)?
            .ok_or_else(|| DocsError::NoEntity(entity_ref.to_string()))?;
        self.site_of(entity_ref, &entity, look)
    }

    /// The current site of an entity given its body; with `look`, its files are compared
    /// with the build whenever it was last done.
    fn site_of(
        &self,
        entity_ref: &EntityRef,
        entity: &Value,
        look: bool,
    ) -> Result<Site, DocsError> {
        let annotations = &entity["metadata"]["annotations"];
        // A borrowed site: the lender's, once (no chains).
        if let Some(lender) = annotations[TECHDOCS_ENTITY].as_str() {
            let lender_ref = EntityRef::parse(lender, Some("component"), "default")
                .map_err(|e| DocsError::NoSite(format!("{TECHDOCS_ENTITY} '{lender}': {e}")))?;
            let body = self.catalog.get(&lender_ref)?.ok_or_else(|| {
                DocsError::NoSite(format!(
                    "{TECHDOCS_ENTITY} names {lender_ref}, which is not in the catalog"
                ))
            })?;
            let (built, failed) = self.current(&site_root(&body)?, look)?;
            return Ok(Site {
                built,
                owner: lender_ref,
                start_path: annotations[TECHDOCS_ENTITY_PATH]
                    .as_str()
                    .map(str::to_string),
                failed,
            });
        }
        let (built, failed) = self.current(&site_root(entity)?, look)?;
        Ok(Site {
            built,
            owner: entity_ref.clone(),
            start_path: None,
            failed,
        })
    }

    /// Rebuilds the site of an entity if its files changed; returns whether it did.
    pub fn sync(&self, entity_ref: &EntityRef) -> Result<(Site, bool), DocsError> {
        let before = self.cached_etag(entity_ref);
        let site = self.site_checked(entity_ref, true)?;
        let updated = before.as_deref() != Some(site.built.etag.as_str());
        Ok((site, updated))
    }

    fn cached_etag(&self, entity_ref: &EntityRef) -> Option<String> {
        let entity = self.catalog.get(entity_ref).ok()??;
        let root = site_root(&entity).ok()?;
        let builds = self.builds.lock().unwrap_or_else(|e| e.into_inner());
        builds.get(&root)?.built.as_ref().map(|b| b.etag.clone())
    }

    /// The build of the site folder `root`, rebuilt when its files changed.
    fn current(&self, root: &Path, look: bool) -> Result<(Arc<Built>, Option<String>), DocsError> {
        let latest = || {
            let builds = self.builds.lock().unwrap_or_else(|e| e.into_inner());
            builds.get(root).cloned().unwrap_or_default()
        };
        let usable = |latest: &Latest| -> Option<Arc<Built>> {
            let built = latest.built.as_ref().filter(|_| latest.failed.is_none())?;
            let recent = latest.checked.is_some_and(|at| at.elapsed() < FRESH_FOR);
            (recent && !look || built.is_current()).then(|| built.clone())
        };
        if let Some(built) = usable(&latest()) {
            self.note_checked(root);
            return Ok((built, None));
        }
        let _one = self.building.lock().unwrap_or_else(|e| e.into_inner());
        // Another view may have built it meanwhile.
        let last = latest();
        if let Some(built) = usable(&last) {
            self.note_checked(root);
            return Ok((built, None));
        }
        let outcome = build::build(root, last.built.as_deref(), &self.sanitizer);
        let mut builds = self.builds.lock().unwrap_or_else(|e| e.into_inner());
        let checked = Some(Instant::now());
        // A site seen for the first time is watched from now on (the watcher lists the
        // sites once this lock is released, by then holding this one).
        if !builds.contains_key(root)
            && let Some(watcher) = self.watcher.get()
        {
            let _ = watcher.send(watch::Signal::Sites);
        }
        match outcome {
            Ok(built) => {
                let built = Arc::new(built);
                tracing::info!(
                    site = %root.display(),
                    pages = built.pages.len(),
                    rendered = built.rendered,
                    warnings = built.warnings.len(),
                    took_ms = built.took.as_secs_f64() * 1000.0,
                    "docs site built"
                );
                let latest = Latest {
                    built: Some(built.clone()),
                    failed: None,
                    checked,
                };
                builds.insert(root.to_path_buf(), latest);
                Ok((built, None))
            }
            Err(message) => {
                tracing::warn!(site = %root.display(), "docs site not built: {message}");
                let latest = Latest {
                    built: last.built.clone(),
                    failed: Some(message.clone()),
                    checked,
                };
                builds.insert(root.to_path_buf(), latest);
                match last.built {
                    Some(built) => Ok((built, Some(message))),
                    None => Err(DocsError::Build(message)),
                }
            }
        }
    }

    fn note_checked(&self, root: &Path) {
        let mut builds = self.builds.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(latest) = builds.get_mut(root)
            && latest.checked.is_none_or(|at| at.elapsed() >= FRESH_FOR)
        {
            latest.checked = Some(Instant::now());
        }
    }
}

/// The site folder an entity names (links resolved), inside its catalog file's folder.
fn site_root(entity: &Value) -> Result<PathBuf, DocsError> {
    let annotations = &entity["metadata"]["annotations"];
    let reference = annotations[TECHDOCS_REF]
        .as_str()
        .ok_or_else(|| DocsError::NoSite(format!("the entity has no {TECHDOCS_REF} annotation")))?;
    let Some(dir) = reference.strip_prefix("dir:") else {
        return Err(DocsError::NoSite(format!(
            "{TECHDOCS_REF} '{reference}' is not supported: sites are read from dir:<path> next to the catalog file"
        )));
    };
    let catalog_file = annotations[MANAGED_BY_LOCATION]
        .as_str()
        .and_then(|l| l.strip_prefix("file:"))
        .ok_or_else(|| DocsError::NoSite("the entity does not come from a catalog file".into()))?;
    let base = Path::new(catalog_file)
        .parent()
        .and_then(|p| p.canonicalize().ok())
        .ok_or_else(|| DocsError::NoSite(format!("the folder of {catalog_file} cannot be read")))?;
    crate::support::paths::within(&base, &base.join(dir))
        .map_err(|e| DocsError::NoSite(format!("{TECHDOCS_REF} '{reference}': {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn site_folders_stay_inside_the_catalog_files_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("svc/docs")).unwrap();
        let entity = |reference: &str| {
            json!({"metadata": {"annotations": {
                TECHDOCS_REF: reference,
                MANAGED_BY_LOCATION: format!("file:{}", root.join("svc/catalog-info.yaml").display()),
            }}})
        };
        assert_eq!(site_root(&entity("dir:.")).unwrap(), root.join("svc"));
        for (reference, message) in [
            ("dir:..", "outside"),
            ("url:https://github.com/x", "is not supported"),
        ] {
            let error = site_root(&entity(reference)).unwrap_err().to_string();
            assert!(error.contains(message), "{error}");
        }
        assert!(
            site_root(&json!({"metadata": {}}))
                .unwrap_err()
                .to_string()
                .contains("no backstage.io/techdocs-ref")
        );
    }
}
