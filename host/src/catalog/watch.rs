//! Watching the catalog's files: a change to a catalog file, to a file a placeholder read, or
//! to a folder a location scans triggers a reconcile, so edits show in the API within a
//! second. Events arriving together are handled by one reconcile.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Duration;

use super::Catalog;
use crate::support::watch::{self, Event, RecommendedWatcher, RecursiveMode, Watcher};

/// How long to wait for more events after one arrives, so that an editor's write-and-rename
/// or a `git checkout` becomes one reconcile.
const SETTLE: Duration = Duration::from_millis(40);

/// Why the watcher thread wakes up.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub enum Signal {
    /// Something changed on disk.
    Changed,
    /// The set of locations changed: watch what they need.
    Locations,
}

/// Starts the watcher thread; it runs until the process ends. Returns the sender the
/// catalog uses to ask it to re-read the set of watched folders.
pub fn start(catalog: Arc<Catalog>, ignore: PathBuf) -> anyhow::Result<Sender<Signal>> {
    let ignore = ignore.canonicalize().unwrap_or(ignore);
    let first = catalog.clone();
    watch::start(
        "catalog-watch",
        SETTLE,
        move |event: Event| {
            // A rescan means the kernel dropped events: anything may have changed.
            if event.need_rescan() || event.paths.iter().any(|p| !p.starts_with(&ignore)) {
                vec![Signal::Changed]
            } else {
                Vec::new()
            }
        },
        move |watcher| {
            let mut watched = BTreeSet::new();
            resync(&first, watcher, &mut watched);
            Ok(watched)
        },
        move |watcher, watched, signals| {
            if signals.contains(&Signal::Changed)
                && let Err(e) = catalog.reconcile()
            {
                tracing::error!("catalog reconcile after a file change failed: {e:#}");
            }
            resync(&catalog, watcher, watched);
        },
    )
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
