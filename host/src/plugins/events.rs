//! Catalog events for plugins that export `catalog-events`: a thread follows the catalog's
//! committed changes, gathers them into batches (at most 100 changes, within a second of the
//! first), folds several changes of one entity into one as it is now, and calls every
//! enabled plugin that follows the catalog, one batch at a time. A failed call is logged and
//! counted; the batch is not sent again.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::bindings::{catalog_events, to_wit_entity};
use super::{PluginError, PluginHost};
use crate::catalog::{Change, Touched};

/// Most changes in one call.
const MAX_BATCH: usize = 100;
/// How long the first change of a batch waits for more.
const GATHER: Duration = Duration::from_millis(200);

pub fn start(host: Arc<PluginHost>) -> anyhow::Result<()> {
    let changes = host.sandbox.catalog().follow();
    std::thread::Builder::new()
        .name("plugin-events".into())
        .spawn(move || {
            while let Some(batch) = gather(&changes) {
                host.deliver(&batch);
            }
        })?;
    Ok(())
}

/// The next batch: waits for a change, then up to [`GATHER`] for more, one change per entity
/// in the order each was first touched; `None` once the catalog is gone.
fn gather(changes: &Receiver<Vec<Touched>>) -> Option<Vec<Touched>> {
    let mut batch: Vec<Touched> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut add = |touched: Vec<Touched>, batch: &mut Vec<Touched>| {
        for touched in touched {
            match at.get(&touched.entity_ref) {
                // Added then changed is still new to the follower; anything then removed is
                // removed; otherwise the later change stands.
                Some(&i) => {
                    let earlier = batch[i].change;
                    batch[i].change = match (earlier, touched.change) {
                        (Change::Added, Change::Changed) => Change::Added,
                        (_, later) => later,
                    };
                }
                None => {
                    at.insert(touched.entity_ref.clone(), batch.len());
                    batch.push(touched);
                }
            }
        }
    };
    add(changes.recv().ok()?, &mut batch);
    let deadline = Instant::now() + GATHER;
    while batch.len() < MAX_BATCH {
        match changes.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(more) => add(more, &mut batch),
            Err(RecvTimeoutError::Timeout) => break,
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    Some(batch)
}

impl PluginHost {
    /// Calls every enabled plugin that follows the catalog with `batch`, in chunks of
    /// [`MAX_BATCH`]; each entity as it is now (one deleted since is sent as removed).
    fn deliver(self: &Arc<Self>, batch: &[Touched]) {
        let followers: Vec<_> = self
            .registry
            .load()
            .loaded()
            .filter(|p| p.exports.events.is_some() && self.enabled(&p.id))
            .cloned()
            .collect();
        if followers.is_empty() {
            return;
        }
        let catalog = self.sandbox.catalog();
        for chunk in batch.chunks(MAX_BATCH) {
            let changes: Vec<catalog_events::Change> = chunk
                .iter()
                .filter_map(|touched| {
                    let parsed =
                        crate::catalog::EntityRef::parse(&touched.entity_ref, None, "default")
                            .ok()?;
                    let body = catalog.get(&parsed).ok().flatten();
                    Some(match (touched.change, body) {
                        (Change::Added, Some(body)) => {
                            catalog_events::Change::Added(to_wit_entity(&body))
                        }
                        (Change::Changed, Some(body)) => {
                            catalog_events::Change::Changed(to_wit_entity(&body))
                        }
                        _ => catalog_events::Change::Removed(touched.entity_ref.clone()),
                    })
                })
                .collect();
            let changes = Arc::new(changes);
            for plugin in &followers {
                let (host, plugin, changes) = (self.clone(), plugin.clone(), changes.clone());
                let delivered = self.block_on(async move {
                    host.on_plugin_runtime(move |host| async move {
                        let Some(indices) = plugin.exports.events.clone() else {
                            return Ok(());
                        };
                        host.call(
                            &plugin,
                            "catalog-events.on-changes",
                            None,
                            move |store, instance| {
                                Box::pin(async move {
                                    indices
                                        .load(&mut *store, instance)?
                                        .call_on_changes(&mut *store, &changes)
                                        .await
                                })
                            },
                            |answer| answer,
                        )
                        .await
                    })
                    .await
                });
                if let Err(e) = delivered {
                    // `call` has logged and counted it; say which batch was lost.
                    let lost: &PluginError = &e;
                    tracing::warn!("{} catalog changes not delivered: {lost}", chunk.len());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touched(entity_ref: &str, change: Change) -> Touched {
        Touched {
            entity_ref: entity_ref.into(),
            change,
        }
    }

    #[test]
    fn a_batch_holds_one_change_per_entity_in_first_touched_order() {
        let (send, changes) = std::sync::mpsc::channel();
        send.send(vec![
            touched("a", Change::Added),
            touched("b", Change::Changed),
        ])
        .unwrap();
        send.send(vec![
            touched("a", Change::Changed),
            touched("b", Change::Removed),
            touched("c", Change::Changed),
        ])
        .unwrap();
        let batch = gather(&changes).unwrap();
        assert_eq!(
            batch,
            [
                touched("a", Change::Added),
                touched("b", Change::Removed),
                touched("c", Change::Changed)
            ]
        );
        drop(send);
        assert_eq!(gather(&changes), None, "no batch once the catalog is gone");
    }
}
