//! Watching the catalog's files: a change to a catalog file, to a file a placeholder read, or
//! to a folder a location scans triggers a reconcile, so edits show in the API within a
//! second. Events arriving together are handled by one reconcile.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use super::Catalog;

/// How long to wait for more events after one arrives, so that an editor's write-and-rename
/// or a `git checkout` becomes one reconcile.
const SETTLE: Duration = Duration::from_millis(40);

/// Why the watcher thread wakes up.
pub enum Signal {
    /// Something changed on disk.
    Changed,
    /// The set of locations changed: watch what they need.
    Locations,
}

/// Starts the watcher thread; it runs until the process ends. Returns the sender the
/// catalog uses to ask it to re-read the set of watched folders.
pub fn start(catalog: Arc<Catalog>, ignore: PathBuf) -> anyhow::Result<Sender<Signal>> {
    let (signals, receiver) = channel();
    let events = signals.clone();
    let ignore = ignore.canonicalize().unwrap_or(ignore);
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Opening and reading files (which every reconcile does) is not a change.
        let relevant = event.is_ok_and(|e| {
            !matches!(e.kind, notify::EventKind::Access(_))
                && e.paths.iter().any(|p| !p.starts_with(&ignore))
        });
        if relevant {
            let _ = events.send(Signal::Changed);
        }
    })?;
    std::thread::Builder::new()
        .name("catalog-watch".into())
        .spawn(move || run(catalog, watcher, receiver))?;
    Ok(signals)
}

fn run(catalog: Arc<Catalog>, mut watcher: RecommendedWatcher, signals: Receiver<Signal>) {
    let mut watched = BTreeSet::new();
    resync(&catalog, &mut watcher, &mut watched);
    while let Ok(signal) = signals.recv() {
        let mut changed = matches!(signal, Signal::Changed);
        loop {
            match signals.recv_timeout(SETTLE) {
                Ok(Signal::Changed) => changed = true,
                Ok(Signal::Locations) => {}
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        if changed && let Err(e) = catalog.reconcile() {
            tracing::error!("catalog reconcile after a file change failed: {e:#}");
        }
        resync(&catalog, &mut watcher, &mut watched);
    }
}

/// Watches each location's folder recursively, and the folder of every file read from
/// elsewhere.
fn resync(
    catalog: &Catalog,
    watcher: &mut RecommendedWatcher,
    watched: &mut BTreeSet<(PathBuf, bool)>,
) {
    let wanted = match catalog.watch_set() {
        Ok(wanted) => wanted,
        Err(e) => {
            tracing::error!("cannot list the catalog's folders to watch: {e:#}");
            return;
        }
    };
    for (path, recursive) in wanted.difference(watched) {
        let mode = if *recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        if let Err(e) = watcher.watch(path, mode) {
            tracing::warn!("cannot watch {}: {e}", path.display());
        }
    }
    for (path, _) in watched.difference(&wanted) {
        let _ = watcher.unwatch(path);
    }
    *watched = wanted;
}
