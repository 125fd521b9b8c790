//! Watching folders: one thread per watcher turns file events into keys, gathers the keys of
//! events arriving close together (an editor's write-and-rename, a `git checkout`, a copy's
//! create-write-close) and hands each settled batch to its handler, off the request path.

use std::collections::BTreeSet;
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::time::Duration;

pub use notify::{Event, RecommendedWatcher, RecursiveMode, Watcher};

/// How many settle periods a batch waits for more events at most.
const MAX_SETTLES: u32 = 25;

/// Starts a watcher thread named `name`; it runs until the process ends. `keys` turns an
/// event (never a mere read: every reconcile reads files) into the keys it touches. `setup`
/// says what to watch before this returns (so no change after it is missed) and makes the
/// state the thread keeps; `handle` gets each settled batch with the watcher and that state,
/// so it can change what is watched. The returned sender adds keys from outside, as events
/// do.
pub fn start<K: Ord + Send + 'static, S: Send + 'static>(
    name: &str,
    settle: Duration,
    keys: impl Fn(Event) -> Vec<K> + Send + 'static,
    setup: impl FnOnce(&mut RecommendedWatcher) -> anyhow::Result<S>,
    mut handle: impl FnMut(&mut RecommendedWatcher, &mut S, BTreeSet<K>) + Send + 'static,
) -> anyhow::Result<Sender<K>> {
    let (sender, receiver) = channel();
    let events = sender.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        for key in keys(event) {
            let _ = events.send(key);
        }
    })?;
    let mut state = setup(&mut watcher)?;
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            while let Ok(first) = receiver.recv() {
                let mut batch = BTreeSet::from([first]);
                // Events that never stop (a log written in a watched folder) still get a
                // batch handled every so often.
                let cutoff = std::time::Instant::now() + settle * MAX_SETTLES;
                loop {
                    let wait =
                        settle.min(cutoff.saturating_duration_since(std::time::Instant::now()));
                    if wait.is_zero() {
                        break;
                    }
                    match receiver.recv_timeout(wait) {
                        Ok(key) => {
                            batch.insert(key);
                        }
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
                handle(&mut watcher, &mut state, batch);
            }
        })?;
    Ok(sender)
}
