//! Running entity-provider plugins on their schedule and handing what they offer to the
//! catalog. A provider runs when it is loaded (or a new version is), then every interval it
//! asks for, between 1 second and a day. Only plugins granted `catalogWrite` run; a provider
//! that is removed, or loses the grant, has its entities released like a deleted file's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::registry::LoadedPlugin;
use super::{PluginError, PluginHost};

/// How often the scheduler looks for due providers and changed plugins.
const TICK: Duration = Duration::from_millis(200);
const SHORTEST: Duration = Duration::from_secs(1);
const LONGEST: Duration = Duration::from_secs(24 * 60 * 60);
/// A run that failed is retried after this long; the last good answer stays meanwhile.
const RETRY: Duration = Duration::from_secs(30);

/// Starts the scheduler thread; it runs until the process ends.
pub fn start(host: Arc<PluginHost>) -> anyhow::Result<()> {
    std::thread::Builder::new()
        .name("plugin-providers".into())
        .spawn(move || {
            // Provider id -> (content hash of the version that ran, when it is due again).
            let mut due: HashMap<String, (String, Instant)> = HashMap::new();
            let mut retained: Option<Vec<String>> = None;
            loop {
                let providers = host.providers();
                let ids: Vec<String> = providers.iter().map(|(p, _)| p.id.to_string()).collect();
                if retained.as_ref() != Some(&ids) {
                    match host.sandbox.catalog().retain_providers(&ids) {
                        Ok(()) => retained = Some(ids),
                        Err(e) => tracing::error!("cannot update provider locations: {e:#}"),
                    }
                }
                let now = Instant::now();
                for (plugin, enabled) in providers {
                    let ran = due
                        .get(&*plugin.id)
                        .filter(|(hash, at)| *hash == plugin.content_hash && now < *at);
                    if !enabled || ran.is_some() {
                        continue;
                    }
                    let run = host.on_plugin_runtime({
                        let plugin = plugin.clone();
                        move |host| async move { host.run_provider(&plugin).await }
                    });
                    let interval = match host.sandbox.block_on(run) {
                        Ok(asked) => Duration::from_secs(asked.into()).clamp(SHORTEST, LONGEST),
                        Err(e) => {
                            tracing::warn!(plugin = %plugin.id, "entity provider run failed: {e}");
                            RETRY
                        }
                    };
                    due.insert(
                        plugin.id.to_string(),
                        (plugin.content_hash.clone(), now + interval),
                    );
                }
                std::thread::sleep(TICK);
            }
        })?;
    Ok(())
}

impl PluginHost {
    /// Loaded entity providers granted catalog writes, each with whether it is enabled.
    fn providers(&self) -> Vec<(Arc<LoadedPlugin>, bool)> {
        self.registry
            .load()
            .loaded()
            .filter(|p| p.exports.provider.is_some() && p.grants.catalog_write)
            .map(|p| (p.clone(), self.enabled(&p.id)))
            .collect()
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
