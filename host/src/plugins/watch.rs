//! Watching the plugins folder: a new, changed or removed `.wasm` (or its `.toml` manifest) is
//! reloaded on this thread, off the request path, while calls keep being served.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use super::PluginHost;

/// Events arriving this close together (a copy's create-write-close, an editor's rename) are
/// handled as one change per file.
const SETTLE: Duration = Duration::from_millis(30);

/// Starts the watcher thread; it runs until the process ends.
pub fn start(host: Arc<PluginHost>, dir: &Path) -> anyhow::Result<()> {
    let (sender, receiver) = channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        for path in event.paths {
            let plugin = match path.extension().and_then(|e| e.to_str()) {
                Some("wasm") => path,
                Some("toml") => path.with_extension("wasm"),
                _ => continue,
            };
            let _ = sender.send(plugin);
        }
    })?;
    std::fs::create_dir_all(dir)?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    std::thread::Builder::new()
        .name("plugins-watch".into())
        .spawn(move || {
            let _watcher = watcher;
            while let Ok(first) = receiver.recv() {
                let mut changed = BTreeSet::from([first]);
                loop {
                    match receiver.recv_timeout(SETTLE) {
                        Ok(path) => {
                            changed.insert(path);
                        }
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                for file in changed {
                    host.sync_file(&file);
                }
            }
        })?;
    Ok(())
}
