//! Watching built sites: a change under a site folder rebuilds that site on the watcher's
//! thread within a second, before anyone views it (a view would also find the change, within
//! 250 ms). Sites are watched once first built.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::Duration;

use super::TechDocs;
use crate::support::watch::{self, Event, RecursiveMode, Watcher};

/// Events this close together (an editor's write and rename, a `git checkout`) are one
/// change.
const SETTLE: Duration = Duration::from_millis(40);

#[derive(PartialEq, Eq, PartialOrd, Ord)]
pub enum Signal {
    Changed(PathBuf),
    /// The kernel dropped events: every site may have changed.
    Lost,
    /// A site was built for the first time: watch it.
    Sites,
}

pub fn start(docs: Arc<TechDocs>) -> anyhow::Result<Sender<Signal>> {
    watch::start(
        "docs-watch",
        SETTLE,
        |event: Event| {
            if event.need_rescan() {
                return vec![Signal::Lost];
            }
            event.paths.into_iter().map(Signal::Changed).collect()
        },
        |_| Ok(BTreeSet::<PathBuf>::new()),
        move |watcher, watched, signals| {
            let roots = docs.roots();
            let new: BTreeSet<PathBuf> = roots.difference(watched).cloned().collect();
            for root in &new {
                if let Err(e) = watcher.watch(root, RecursiveMode::Recursive) {
                    tracing::warn!("cannot watch docs site {}: {e}", root.display());
                }
            }
            *watched = roots;
            // A new site may have changed between its build and its watch: looked at too.
            let changed: BTreeSet<&PathBuf> = watched
                .iter()
                .filter(|root| {
                    new.contains(*root)
                        || signals.iter().any(|s| match s {
                            Signal::Changed(path) => path.starts_with(root),
                            Signal::Lost => true,
                            Signal::Sites => false,
                        })
                })
                .collect();
            for root in changed {
                docs.refresh(root);
            }
        },
    )
}
