//! The scaffolder: Backstage's Software Templates run natively. [`Scaffolder`] is the only
//! way in: templates from the catalog, their parameter schemas and validation, the actions
//! (built-in and from plugins), tasks (persisted, run by a bounded pool of workers,
//! cancelled, retried, resumed after a restart) and dry runs. `api.rs` serves Backstage's
//! `/api/scaffolder/v2` over it; the template engine is also the plugins' `templating`
//! import, and a task's workspace the `workspace` resource plugin actions write through.

pub mod actions;
pub mod api;
mod expr;
pub mod permissions;
mod tasks;
mod template;
mod templating;
mod workspace;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use serde_json::{Map, Value};

use crate::catalog::Catalog;
pub use actions::{ActionInfo, ExternalActions, ExternalRun, Limits};
use actions::{Services, Stop};
pub use expr::Expressions;
use tasks::store::{EventRow, TaskStore};
pub use tasks::{DryRun, DryRunFile, TaskQuery};
pub use template::{Template, ValueError};
pub use templating::render;
pub use workspace::Workspace;

/// Who runs tasks while the portal has no sign-in: Backstage's guest.
pub const GUEST: &str = "user:default/guest";

/// How the scaffolder runs.
#[derive(Debug, Clone)]
pub struct ScaffolderSettings {
    /// Git hosts `publish:git` may create repositories on: name -> folder of bare
    /// repositories. Empty means one host, `local`, under the data folder.
    pub git_hosts: BTreeMap<String, PathBuf>,
    /// Tasks run at once.
    pub workers: usize,
    /// Hosts (`host` or `host:port`) templates may fetch single files from.
    pub allowed_hosts: Vec<String>,
    pub limits: Limits,
}

impl Default for ScaffolderSettings {
    fn default() -> Self {
        Self {
            git_hosts: BTreeMap::new(),
            workers: 4,
            allowed_hosts: Vec::new(),
            limits: Limits::default(),
        }
    }
}

/// Why a scaffolder call was refused.
#[derive(Debug, thiserror::Error)]
pub enum ScaffolderError {
    #[error("{0}")]
    Input(String),
    /// The values do not fit the template's parameters.
    #[error("invalid values")]
    Invalid(Vec<ValueError>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Too many of this at once; try again shortly.
    #[error("{0}")]
    Busy(String),
    /// Refused by the permission policy (or another check with its own HTTP answer).
    #[error("{}", .0.message)]
    Refused(crate::http::ApiError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<crate::http::ApiError> for ScaffolderError {
    fn from(error: crate::http::ApiError) -> Self {
        ScaffolderError::Refused(error)
    }
}

pub struct Scaffolder {
    catalog: Arc<Catalog>,
    services: Services,
    limits: Limits,
    workers: usize,
    /// `<data>/scaffolder`: task workspaces and dry runs.
    dir: PathBuf,
    store: TaskStore,
    external: OnceLock<Arc<dyn ExternalActions>>,
    /// Every new event, for live streams.
    events: tokio::sync::broadcast::Sender<Arc<EventRow>>,
    /// Secrets of tasks not yet ended, in memory only.
    secrets: Mutex<HashMap<String, Map<String, Value>>>,
    /// The stop signal of each running task.
    running: Mutex<HashMap<String, Arc<Stop>>>,
    /// Work for idle workers: bumped when a task is opened.
    wake: (Mutex<u64>, Condvar),
    runtime: OnceLock<tokio::runtime::Handle>,
    /// Dry runs going on: they run on request threads, so they are counted and capped.
    dry_runs: std::sync::atomic::AtomicUsize,
}

/// The folder whose copies of published repositories the catalog may register.
pub fn published_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("scaffolder").join("published")
}

impl Scaffolder {
    pub fn open(
        data_dir: &Path,
        catalog: Arc<Catalog>,
        settings: ScaffolderSettings,
    ) -> anyhow::Result<Arc<Self>> {
        let dir = data_dir.join("scaffolder");
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        // Paths go into URLs (`file://…`) and catalog locations: they must be absolute.
        let data_dir = std::path::absolute(data_dir)?;
        let dir = std::path::absolute(dir)?;
        let mut hosts = settings
            .git_hosts
            .into_iter()
            .map(|(host, folder)| Ok((host, std::path::absolute(folder)?)))
            .collect::<std::io::Result<BTreeMap<_, _>>>()?;
        if hosts.is_empty() {
            hosts.insert("local".into(), data_dir.join("git"));
        }
        let store = TaskStore::open(&data_dir.join("scaffolder.sqlite"))?;
        Ok(Arc::new(Self {
            services: Services {
                catalog: catalog.clone(),
                expressions: Expressions::new(),
                git: actions::git::GitHosts {
                    hosts,
                    published: published_dir(&data_dir),
                },
                remote: actions::Remote {
                    allowed_hosts: settings.allowed_hosts,
                },
            },
            catalog,
            limits: settings.limits,
            workers: settings.workers.max(1),
            dir,
            store,
            external: OnceLock::new(),
            events: tokio::sync::broadcast::channel(4096).0,
            secrets: Mutex::new(HashMap::new()),
            running: Mutex::new(HashMap::new()),
            wake: (Mutex::new(0), Condvar::new()),
            runtime: OnceLock::new(),
            dry_runs: std::sync::atomic::AtomicUsize::new(0),
        }))
    }

    /// Plugin-contributed actions; set once, by the application.
    pub fn set_external_actions(&self, external: Arc<dyn ExternalActions>) {
        let _ = self.external.set(external);
    }

    /// A Template entity from the catalog.
    pub fn template(
        &self,
        namespace: &str,
        kind: &str,
        name: &str,
    ) -> Result<Template, ScaffolderError> {
        let entity_ref = greenroom_api::EntityRef::new(kind, namespace, name);
        let not_found =
            || ScaffolderError::NotFound(format!("Template {entity_ref} was not found"));
        if entity_ref.kind != "template" {
            return Err(not_found());
        }
        let entity = self.catalog.get(&entity_ref)?.ok_or_else(not_found)?;
        Template::from_entity(&entity)
            .map_err(|e| ScaffolderError::Input(format!("template {entity_ref}: {e}")))
    }

    /// Every action a step may name: built-in ones first, then plugins'.
    pub fn actions(&self) -> Vec<ActionInfo> {
        let mut all = actions::builtin();
        if let Some(external) = self.external.get() {
            all.extend(external.list());
        }
        all
    }

    pub fn action(&self, id: &str) -> Option<ActionInfo> {
        self.actions().into_iter().find(|a| a.id == id)
    }

    /// Filters and globals templates may use (`GET /v2/templating-extensions`).
    pub fn templating_extensions(&self) -> Value {
        Expressions::extensions_json()
    }

    /// Runs a plugin's action from a worker thread, stopping it when the task stops.
    fn run_external(
        &self,
        id: &str,
        input: Value,
        workspace: &Workspace,
        stop: &Stop,
    ) -> Result<actions::Output, String> {
        let (Some(external), Some(runtime)) = (self.external.get(), self.runtime.get()) else {
            return Err(format!("Template action with ID '{id}' is not registered."));
        };
        let run = external.run(id, input, workspace.clone());
        runtime.block_on(stop.until_stopped(run))
    }
}
