//! Running plugins' scheduled work: entity providers (their entities to the catalog) and
//! search documents (collections into the search index, see `search_documents`). Each job
//! runs when its plugin is loaded or enabled (or a new version is), then at the interval it
//! asks for, and within a tick of the plugin asking (`schedule.run-soon`). Providers run only
//! with the `catalogWrite` grant; one that is removed, or loses the grant, has its entities
//! released like a deleted file's. A plugin removed or disabled has its search documents
//! removed.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::registry::LoadedPlugin;
use super::search_documents::Checkpoints;
use super::{PluginError, PluginHost, lock};
use crate::search::Search;

/// How often the scheduler looks for due jobs and changed plugins.
const TICK: Duration = Duration::from_millis(200);
const LONGEST: Duration = Duration::from_secs(24 * 60 * 60);
/// A run that failed is retried after this long; the last good answer stays meanwhile.
const RETRY: Duration = Duration::from_secs(30);

/// A plugin's scheduled work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Job {
    Provider,
    SearchDocuments,
}

impl Job {
    /// The shortest interval a job may ask for.
    fn shortest(self) -> Duration {
        match self {
            Job::Provider => Duration::from_secs(1),
            Job::SearchDocuments => Duration::from_secs(10),
        }
    }
}

/// Jobs plugins asked to run now (`schedule.run-soon`); several asks make one run.
#[derive(Default)]
pub struct Soon(Mutex<HashSet<(Arc<str>, Job)>>);

impl Soon {
    pub fn ask(&self, plugin: &Arc<str>, job: Job) {
        lock(&self.0).insert((plugin.clone(), job));
    }

    fn take(&self) -> HashSet<(Arc<str>, Job)> {
        std::mem::take(&mut *lock(&self.0))
    }
}

/// Starts the scheduler thread; it runs until the process ends.
pub fn start(host: Arc<PluginHost>, search: Arc<Search>) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("plugin-schedule".into())
        .spawn(move || {
            // Job -> (content hash of the version that ran, when it is due again).
            let mut due: HashMap<(Arc<str>, Job), (String, Instant)> = HashMap::new();
            let mut checkpoints = Checkpoints::default();
            let (mut providers, mut sources) = (None, None);
            loop {
                let jobs = host.scheduled();
                let ids = |job: Job, enabled_only: bool| -> Vec<String> {
                    jobs.iter()
                        .filter(|(_, j, enabled)| *j == job && (*enabled || !enabled_only))
                        .map(|(p, _, _)| p.id.to_string())
                        .collect()
                };
                // A disabled provider keeps its entities; a disabled plugin's documents go.
                sync(&mut providers, ids(Job::Provider, false), |ids| {
                    host.sandbox.catalog().retain_providers(ids)
                });
                sync(&mut sources, ids(Job::SearchDocuments, true), |ids| {
                    search.retain_types(|t| ids.contains(&t.source))
                });
                // A job not scheduled now (disabled, removed) runs at once when it is back.
                due.retain(|(id, job), _| {
                    jobs.iter()
                        .any(|(p, j, enabled)| p.id == *id && j == job && *enabled)
                });
                let asked = host.soon.take();
                let now = Instant::now();
                for (plugin, job, enabled) in jobs {
                    let key = (plugin.id.clone(), job);
                    let waiting = due
                        .get(&key)
                        .is_some_and(|(hash, at)| *hash == plugin.content_hash && now < *at);
                    if !enabled || (waiting && !asked.contains(&key)) {
                        continue;
                    }
                    let ran = match job {
                        Job::Provider => host.sandbox.block_on(host.on_plugin_runtime({
                            let plugin = plugin.clone();
                            move |host| async move { host.run_provider(&plugin).await }
                        })),
                        Job::SearchDocuments => {
                            host.collect_documents(&plugin, &search, &mut checkpoints)
                        }
                    };
                    let next = match ran {
                        Ok(asked) => {
                            Duration::from_secs(asked.into()).clamp(job.shortest(), LONGEST)
                        }
                        Err(e) => {
                            tracing::warn!(plugin = %plugin.id, "scheduled {job:?} failed: {e}");
                            RETRY
                        }
                    };
                    due.insert(key, (plugin.content_hash.clone(), now + next));
                }
                std::thread::sleep(TICK);
            }
        })?;
    Ok(())
}

/// Applies `ids` through `apply` when they differ from the last ones applied.
fn sync(
    applied: &mut Option<Vec<String>>,
    ids: Vec<String>,
    apply: impl FnOnce(&[String]) -> anyhow::Result<()>,
) {
    if applied.as_ref() == Some(&ids) {
        return;
    }
    match apply(&ids) {
        Ok(()) => *applied = Some(ids),
        Err(e) => tracing::error!("cannot apply the scheduled plugins {ids:?}: {e:#}"),
    }
}

impl PluginHost {
    /// Every job of the loaded plugins (entity providers only when granted catalog writes),
    /// each with whether its plugin is enabled.
    fn scheduled(&self) -> Vec<(Arc<LoadedPlugin>, Job, bool)> {
        let mut jobs = Vec::new();
        for plugin in self.registry.load().loaded() {
            let enabled = self.enabled(&plugin.id);
            if plugin.exports.provider.is_some() && plugin.grants.catalog_write {
                jobs.push((plugin.clone(), Job::Provider, enabled));
            }
            if plugin.exports.search.is_some() {
                jobs.push((plugin.clone(), Job::SearchDocuments, enabled));
            }
        }
        jobs
    }

    /// Asks a provider for its entities and hands them to the catalog; returns the interval
    /// it asks for until the next run.
    async fn run_provider(&self, plugin: &LoadedPlugin) -> Result<u32, PluginError> {
        let Some(indices) = plugin.exports.provider.clone() else {
            return Err(PluginError::Invalid(format!(
                "plugin '{}' is not an entity provider",
                plugin.id
            )));
        };
        let (interval, documents) = self
            .call(
                plugin,
                "entity-provider.provide",
                None,
                move |store, instance| Box::pin(async move { indices.run(store, instance).await }),
                |(interval, documents)| documents.map(|d| (interval, d)),
            )
            .await?;
        self.sandbox
            .catalog()
            .provide(&plugin.id, &documents)
            .map_err(|e| PluginError::CallFailed {
                plugin: plugin.id.to_string(),
                call: "entity-provider.provide".into(),
                reason: format!("{e:#}"),
            })?;
        Ok(interval)
    }
}
