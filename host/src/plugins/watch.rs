//! Watching the plugins folder: a new, changed or removed `.wasm` (or its `.toml` manifest) is
//! reloaded on the watcher's thread, off the request path, while calls keep being served.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::PluginHost;
use crate::support::watch::{self, Event, RecursiveMode, Watcher};

/// Events arriving this close together (a copy's create-write-close, an editor's rename) are
/// handled as one change per file.
const SETTLE: Duration = Duration::from_millis(30);

/// Starts the watcher thread; it runs until the process ends.
pub fn start(host: Arc<PluginHost>, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    watch::start(
        "plugins-watch",
        SETTLE,
        |event: Event| event.paths.into_iter().filter_map(plugin_file).collect(),
        |watcher| Ok(watcher.watch(dir, RecursiveMode::NonRecursive)?),
        move |_, (), changed| {
            for file in changed {
                host.sync_file(&file);
            }
        },
    )?;
    Ok(())
}

/// The component a changed file belongs to: itself, or the `.wasm` its manifest describes.
fn plugin_file(path: PathBuf) -> Option<PathBuf> {
    match path.extension()?.to_str()? {
        "wasm" => Some(path),
        "toml" => Some(path.with_extension("wasm")),
        _ => None,
    }
}
