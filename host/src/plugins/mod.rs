//! The plugin host: WebAssembly component plugins, sandboxed, hot-reloaded, called through
//! [`PluginHost`].
//!
//! The loaded set lives in an [`ArcSwap`]: a reload builds a new set and swaps it in, while a
//! call in flight keeps the `Arc` of the version it started on. Each call gets a fresh store
//! (see `sandbox`), so calls share no state and a broken call cannot poison the next.

mod actions;
mod admin;
pub mod api;
mod bindings;
mod engine;
mod events;
mod grants;
mod http;
mod registry;
mod routes;
mod sandbox;
mod schedule;
mod search_documents;
mod stats;
mod storage;
mod surfaces;
mod switches;
mod tree;
mod watch;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use wasmtime::Store;
use wasmtime::component::Instance;

use crate::catalog::{Catalog, Predicate};
use crate::techdocs::TechDocs;
pub use actions::PluginActions;
use bindings::{HostState, Services};
use engine::Tier;
pub use grants::OperatorGrant;
pub use registry::check_id;
use registry::{Failure, LoadedPlugin, Loader, Registry, Source};
pub use routes::RouteRequest;
use sandbox::{CallError, CallFuture, Ran, Sandbox};
use stats::{Outcome, Stats};
use switches::Switches;

/// Why a plugin request failed.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("no entity '{0}' in the catalog")]
    EntityNotFound(String),
    #[error("no loaded plugin '{0}'")]
    UnknownPlugin(String),
    #[error("plugin '{plugin}' offers no {what}{entity}")]
    NotOffered {
        plugin: String,
        /// e.g. `tab 'ci'`.
        what: String,
        /// ` for <ref>`, or empty for a page.
        entity: String,
    },
    #[error("plugin '{plugin}' offers no action '{action}'")]
    UnknownAction { plugin: String, action: String },
    #[error("plugin '{0}' is disabled")]
    Disabled(String),
    /// Turned away at once rather than queued behind calls that would eat its deadline.
    /// A viewer used a plugin's buttons and forms faster than its action rate.
    #[error("too many actions on plugin '{0}'; try again shortly")]
    TooManyActions(String),
    #[error("plugin '{plugin}' is busy ({reason}); try again shortly")]
    Busy { plugin: String, reason: String },
    #[error("plugin '{plugin}' failed in {call}: {reason}")]
    CallFailed {
        plugin: String,
        call: String,
        reason: String,
    },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// The person a call is made for, as plugins see them (the contract's `viewer`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Viewer {
    /// `user:default/jane`; `service:<subject>` for an API token; empty when anonymous.
    pub user_ref: String,
    pub ownership_refs: Vec<String>,
}

impl Viewer {
    pub fn of(access: &crate::permissions::Access) -> Self {
        use crate::permissions::Identity;
        match access.caller() {
            Some(Identity::User {
                user_ref,
                ownership_refs,
            }) => Self {
                user_ref: user_ref.clone(),
                ownership_refs: ownership_refs.clone(),
            },
            Some(Identity::Service { subject }) => Self {
                user_ref: format!("service:{subject}"),
                ownership_refs: Vec::new(),
            },
            None => Self::default(),
        }
    }
}

/// Where plugins come from and what the operator grants them.
#[derive(Debug, Clone)]
pub struct PluginSettings {
    /// The watched plugins folder; uploads are written here.
    pub dir: PathBuf,
    /// The server's data folder: enable/disable switches, workspaces.
    pub data_dir: PathBuf,
    /// Compiled components, by content hash and engine settings.
    pub cache_dir: PathBuf,
    /// `plugins.<id>` from the config.
    pub grants: BTreeMap<String, OperatorGrant>,
}

pub struct PluginHost {
    sandbox: Sandbox,
    settings: PluginSettings,
    registry: ArcSwap<Registry>,
    /// Held while the registry changes, so loads apply in order and none is lost.
    changing: Mutex<()>,
    loads: Loads,
    stats: Mutex<HashMap<String, Arc<Stats>>>,
    /// Enable/disable made through the admin API, by id; persisted in the data folder.
    switches: Switches,
    /// Scheduled jobs plugins asked to run now (see `schedule`).
    soon: Arc<schedule::Soon>,
    /// Each viewer's recent actions per plugin (see `surfaces`).
    action_rate: surfaces::ActionRate,
    /// Held by each admin operation (install, remove, switch), so two at once on one plugin
    /// apply one after the other and leave one consistent state.
    admin: Mutex<()>,
}

/// A changed plugin file read and waiting to be loaded.
struct PendingLoad {
    file: PathBuf,
    source: Source,
    bytes: Vec<u8>,
}

impl PluginHost {
    /// Starts loading every `.wasm` in the plugins folder, smallest first and several at
    /// once; each is listed as loading until it serves. Files that fail are listed with
    /// their error; they never stop the others or the server.
    pub fn load(
        settings: PluginSettings,
        catalog: Arc<Catalog>,
        docs: Arc<TechDocs>,
    ) -> anyhow::Result<Arc<Self>> {
        let soon = Arc::new(schedule::Soon::default());
        let host = Arc::new(Self {
            sandbox: Sandbox::new(Services {
                catalog,
                docs,
                storage: Arc::new(storage::Storage::open(&settings.data_dir)?),
                soon: soon.clone(),
            })?,
            soon,
            registry: ArcSwap::from_pointee(Registry::default()),
            changing: Mutex::new(()),
            loads: Loads::default(),
            stats: Mutex::default(),
            switches: Switches::load(&settings.data_dir),
            action_rate: surfaces::ActionRate::default(),
            admin: Mutex::new(()),
            settings,
        });
        host.sync_folder();
        Ok(host)
    }

    /// Brings the registry in line with every file of the plugins folder (at start-up, and
    /// when the watcher lost events), smallest first; files it knows that are gone unload.
    pub fn sync_folder(self: &Arc<Self>) {
        let mut files = registry::wasm_files(&self.settings.dir);
        files.sort_by_key(|file| std::fs::metadata(file).map_or(0, |m| m.len()));
        let gone: Vec<PathBuf> = self
            .registry
            .load()
            .files()
            .filter(|file| !files.contains(file))
            .cloned()
            .collect();
        for file in files.iter().chain(&gone) {
            self.sync_file(file);
        }
    }

    /// Waits until no plugin file is being loaded (the CLI, which has nothing else to do).
    pub fn wait_loaded(&self) {
        self.loads.when(|counts| counts.pending == 0, |_| ());
    }

    /// From now on: reloads plugins whenever the plugins folder changes, sends the catalog's
    /// changes to the plugins that follow them, and runs entity providers and search
    /// collections on their schedule.
    pub fn start_background(
        self: &Arc<Self>,
        search: Arc<crate::search::Search>,
    ) -> anyhow::Result<()> {
        watch::start(self.clone(), &self.settings.dir)?;
        events::start(self.clone())?;
        schedule::start(self.clone(), search)
    }

    /// Brings the registry in line with `file` on disk: starts loading a new or changed file
    /// on a thread of its own (compiling never holds up the caller or another file), unloads
    /// a removed one. A version that fails to load never replaces a working one.
    pub fn sync_file(self: &Arc<Self>, file: &Path) {
        let Some(pending) = self.begin_load(file) else {
            return;
        };
        self.in_background(&pending.file.clone(), move |host| host.finish_load(pending));
    }

    /// Runs `work` on a thread of its own, counted as a load under way meanwhile.
    fn in_background(
        self: &Arc<Self>,
        file: &Path,
        work: impl FnOnce(&Arc<Self>) + Send + 'static,
    ) {
        self.loads.change(|counts| counts.pending += 1);
        let host = self.clone();
        let spawned = std::thread::Builder::new()
            .name("plugin-load".into())
            .spawn(move || {
                work(&host);
                host.loads.change(|counts| counts.pending -= 1);
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start loading {}: {e}", file.display());
            self.loads.change(|counts| counts.pending -= 1);
        }
    }

    /// Like [`Self::sync_file`], but loads on the caller's thread and returns when the file
    /// serves (an upload answers with what it loaded).
    fn sync_file_now(self: &Arc<Self>, file: &Path) {
        if let Some(pending) = self.begin_load(file) {
            self.finish_load(pending);
        }
    }

    /// Reads `file` and notes in the registry that it is loading; `None` when there is
    /// nothing to load (unchanged, removed, unreadable: those are applied here).
    fn begin_load(&self, file: &Path) -> Option<PendingLoad> {
        let _changing = lock(&self.changing);
        let current = self.registry.load();
        let next = match std::fs::read(file) {
            Ok(bytes) => {
                let source = Source::of(file, &bytes);
                if current.seen_source(file) == Some(&source) {
                    return None;
                }
                self.registry
                    .store(Arc::new(current.loading(file, source.clone())));
                return Some(PendingLoad {
                    file: file.to_path_buf(),
                    source,
                    bytes,
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // Never loaded: nothing to unload.
                current.slot(file)?;
                tracing::info!("plugin file {} removed; unloaded", file.display());
                current.without(file)
            }
            Err(e) => current.with(
                file,
                Source::default(),
                Err(Failure {
                    file: file.to_path_buf(),
                    content_hash: String::new(),
                    error: format!("cannot read: {e}"),
                }),
            ),
        };
        self.registry.store(Arc::new(next));
        None
    }

    /// Compiles and links a pending file and applies the outcome, unless the file changed
    /// again meanwhile (the newer load applies instead). A large file served from baseline
    /// code then gets its optimised code compiled in the background, swapped in when ready.
    fn finish_load(self: &Arc<Self>, pending: PendingLoad) {
        let outcome = self.compiled(&pending, Tier::Baseline);
        let baseline = matches!(&outcome, Ok(plugin) if plugin.tier == Tier::Baseline);
        if !self.apply(&pending, outcome) || !baseline {
            return;
        }
        self.in_background(&pending.file.clone(), move |host| {
            let outcome = host.compiled(&pending, Tier::Optimized);
            host.apply(&pending, outcome);
        });
    }

    /// Loads a pending file from code of at least the `lowest` tier. A few compile at once at
    /// most: each already uses every core, so more would only hold more memory.
    fn compiled(&self, pending: &PendingLoad, lowest: Tier) -> Result<LoadedPlugin, Failure> {
        self.loads.when(
            |counts| counts.compiling < MAX_PARALLEL_LOADS,
            |counts| counts.compiling += 1,
        );
        let load = || {
            let content_hash = pending.source.content_hash.clone();
            self.loader()
                .load(&pending.file, &pending.bytes, content_hash, lowest)
        };
        // wasmtime compiles on rayon: a pool per load, so a small plugin's few functions do
        // not queue behind a large one's thousands in the shared pool.
        let outcome = match rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("plugin-compile-{i}"))
            .build()
        {
            Ok(pool) => pool.install(load),
            Err(e) => {
                let file = pending.file.display();
                tracing::warn!("no compile pool of its own for {file}: {e}");
                load()
            }
        };
        self.loads.change(|counts| counts.compiling -= 1);
        outcome
    }

    /// Puts a load's outcome in the registry; false when the file changed since it was read.
    fn apply(&self, pending: &PendingLoad, outcome: Result<LoadedPlugin, Failure>) -> bool {
        let _changing = lock(&self.changing);
        let current = self.registry.load();
        if current.seen_source(&pending.file) != Some(&pending.source) {
            return false;
        }
        if let Ok(plugin) = &outcome {
            self.switches.fail_closed([plugin.id.to_string()]);
        }
        self.registry.store(Arc::new(current.with(
            &pending.file,
            pending.source.clone(),
            outcome,
        )));
        true
    }

    fn loader(&self) -> Loader<'_> {
        Loader {
            sandbox: &self.sandbox,
            cache: &self.settings.cache_dir,
            grants: &self.settings.grants,
        }
    }

    fn enabled(&self, id: &str) -> bool {
        self.switches.get(id).unwrap_or_else(|| {
            self.settings
                .grants
                .get(id)
                .and_then(|g| g.enabled)
                .unwrap_or(true)
        })
    }

    fn stats_of(&self, id: &str) -> Arc<Stats> {
        lock(&self.stats).entry(id.to_string()).or_default().clone()
    }

    /// The current version of an enabled plugin; the caller keeps it for the whole call.
    fn callable(&self, plugin_id: &str) -> Result<Arc<LoadedPlugin>, PluginError> {
        let plugin = self
            .registry
            .load()
            .find(plugin_id)
            .cloned()
            .ok_or_else(|| PluginError::UnknownPlugin(plugin_id.to_string()))?;
        if !self.enabled(plugin_id) {
            return Err(PluginError::Disabled(plugin_id.to_string()));
        }
        Ok(plugin)
    }

    /// Waits for a plugin call from a thread outside any async context (the CLI).
    pub fn block_on<T>(&self, work: impl Future<Output = T>) -> T {
        self.sandbox.block_on(work)
    }

    /// Runs `work` on the plugin runtime (see `sandbox`): every public call goes through here,
    /// so no plugin code runs on the server's threads.
    async fn on_plugin_runtime<T, Work>(
        self: &Arc<Self>,
        work: impl FnOnce(Arc<Self>) -> Work,
    ) -> Result<T, PluginError>
    where
        T: Send + 'static,
        Work: Future<Output = Result<T, PluginError>> + Send + 'static,
    {
        let host = self.clone();
        self.sandbox.spawn(work(host)).await?
    }

    /// One call on a fresh instance of `plugin`; `check` accepts or refuses what it returned.
    /// Refused at once when the plugin already has its limit of calls running. Counted in the
    /// plugin's stats either way.
    async fn call<R, T, F>(
        &self,
        plugin: &LoadedPlugin,
        call: &str,
        visible: Option<Predicate>,
        f: F,
        check: impl FnOnce(R) -> Result<T, String>,
    ) -> Result<T, PluginError>
    where
        F: for<'a> FnOnce(&'a mut Store<HostState>, &'a Instance) -> CallFuture<'a, R> + Send,
    {
        let stats = self.stats_of(&plugin.id);
        let busy = |reason: String| {
            tracing::debug!(plugin = %plugin.id, "{call} refused: {reason}");
            PluginError::Busy {
                plugin: plugin.id.to_string(),
                reason,
            }
        };
        let limit = plugin.grants.limits.concurrency;
        let Some(_admitted) = stats.admit(limit) else {
            return Err(busy(format!("{limit} of its calls are running")));
        };
        let Ran {
            took,
            queued,
            prepared,
            result,
        } = self
            .sandbox
            .run(
                &plugin.id,
                &plugin.pre,
                plugin.prepared.as_ref(),
                &plugin.grants,
                visible,
                f,
            )
            .await;
        let result = result.and_then(|answer| {
            check(answer).map_err(|reason| CallError {
                outcome: Outcome::Failed,
                reason,
            })
        });
        let outcome = result.as_ref().err().map_or(Outcome::Ok, |e| e.outcome);
        stats.record(took, queued, prepared, outcome);
        result.map_err(|e| {
            if e.outcome == Outcome::Refused {
                return busy(e.reason);
            }
            tracing::warn!(plugin = %plugin.id, "{call} failed: {}", e.reason);
            PluginError::CallFailed {
                plugin: plugin.id.to_string(),
                call: call.into(),
                reason: e.reason,
            }
        })
    }
}

/// Plugin files compiled at once.
const MAX_PARALLEL_LOADS: usize = 4;

/// Loads under way, for [`PluginHost::wait_loaded`] and the compile bound.
#[derive(Default)]
struct Loads {
    counts: Mutex<LoadCounts>,
    changed: Condvar,
}

#[derive(Default)]
struct LoadCounts {
    /// Files read and not yet applied.
    pending: usize,
    /// Of those, the ones compiling now.
    compiling: usize,
}

impl Loads {
    fn change(&self, f: impl FnOnce(&mut LoadCounts)) {
        self.when(|_| true, f);
    }

    /// Waits until `ready`, then applies `f` under the same lock.
    fn when(&self, ready: impl Fn(&LoadCounts) -> bool, f: impl FnOnce(&mut LoadCounts)) {
        let mut counts = lock(&self.counts);
        while !ready(&counts) {
            counts = self.changed.wait(counts).unwrap_or_else(|e| e.into_inner());
        }
        f(&mut counts);
        self.changed.notify_all();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
