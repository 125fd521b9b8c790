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
        |event: Event| {
            if event.need_rescan() {
                return vec![Change::Lost];
            }
            event
                .paths
                .into_iter()
                .filter_map(plugin_file)
                .map(Change::File)
                .collect()
        },
        |watcher| Ok(watcher.watch(dir, RecursiveMode::NonRecursive)?),
        move |_, (), changed| {
            for change in changed {
                match change {
                    Change::File(file) => host.sync_file(&file),
                    Change::Lost => host.sync_folder(),
                }
            }
        },
    )?;
    Ok(())
}

/// What the watcher saw.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Change {
    File(PathBuf),
    /// The kernel dropped events (its queue overflowed): any file may have changed.
    Lost,
}

/// The component a changed file belongs to: itself, or the `.wasm` its manifest describes.
fn plugin_file(path: PathBuf) -> Option<PathBuf> {
    match path.extension()?.to_str()? {
        "wasm" => Some(path),
        "toml" => Some(path.with_extension("wasm")),
        _ => None,
    }
}
