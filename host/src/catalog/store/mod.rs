//! The catalog's store: SQLite for the record, and an in-memory [`index`] of entity fields
//! and of the relations they imply, for filtering, counting, paging, facets and serving
//! relations. All catalog SQL lives in this module:
//! [`write`] applies what processing produced, [`read`] answers queries.
//!
//! One writer connection behind a mutex; readers take a connection from a small pool, so
//! reads run in parallel with each other and with a write until it commits (WAL). A write
//! commits and updates the index under the index's write lock, and entity reads hold its read
//! lock, so they see SQLite and the index at the same commit, in commit order.

mod flatten;
mod graph;
mod index;
mod postings;
mod read;
mod rows;
mod schema;
mod served;
mod strings;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use anyhow::Context;
use rusqlite::{Connection, OpenFlags, params_from_iter};
use serde_json::Value;

use super::model::Entity;
use super::relations::{Relation, relations_of};
use flatten::Flattened;
use greenroom_api::EntityRef;

pub use read::{Facet, LocationRow};
pub use served::EntityJson;
pub use write::{Change, EntityWrite, FileRecord, Touched, Writer};

/// Read connections, at most. Each holds its own page cache and prepared statements, so they
/// are kept for the life of the store; a reader beyond this waits for one to come back (more
/// would not run faster on a few cores, and opening one costs a schema parse).
const MAX_READERS: usize = 8;
/// Page cache of the writer, in KiB: a first ingest of 100k entities spilled and re-read
/// pages with SQLite's 2 MiB default.
const WRITER_CACHE_KIB: i64 = 32 * 1024;
/// Page cache of each reader, in KiB. Readers fetch a page of bodies by id; the OS keeps the
/// file cached, and eight full default caches (2 MiB) would be memory held for little gain.
const READER_CACHE_KIB: i64 = 512;
/// Entities read back into the index per batch (bounds the memory a large write needs).
const INDEX_BATCH: usize = 1000;

pub struct CatalogStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Readers>,
    returned: Condvar,
    index: index::SearchIndex,
    /// Who follows the catalog's changes: each committed write sends the refs it touched.
    followers: Mutex<Vec<std::sync::mpsc::Sender<Vec<Touched>>>>,
}

#[derive(Default)]
struct Readers {
    idle: Vec<Connection>,
    opened: usize,
}

impl CatalogStore {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut conn = Connection::open(path)
            .with_context(|| format!("cannot open the catalog database {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
        schema::migrate(&mut conn).with_context(|| format!("cannot migrate {}", path.display()))?;
        let store = Self {
            path: path.to_path_buf(),
            writer: Mutex::new(conn),
            readers: Mutex::new(Readers::default()),
            returned: Condvar::new(),
            index: index::SearchIndex::default(),
            followers: Mutex::new(Vec::new()),
        };
        store
            .index_all()
            .with_context(|| format!("cannot index the catalog in {}", path.display()))?;
        release_cache(&store.writer.lock().expect("catalog writer lock poisoned"))?;
        Ok(store)
    }

    /// Runs `f` in one write transaction; nothing of it is visible unless it succeeds.
    pub fn write<T>(&self, f: impl FnOnce(&mut Writer) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let conn = self.writer.lock().expect("catalog writer lock poisoned");
        let tx = conn.unchecked_transaction()?;
        let mut writer = Writer::new(&tx);
        let out = f(&mut writer)?;
        let (mut touched, touched_refs) = writer.into_touched();
        touched.sort_unstable();
        touched.dedup();
        // Readers hold the index's read lock while they read SQLite (`read_indexed`), so holding
        // its write lock from the commit until the index has caught up means no reader sees
        // a committed entity without its relations, or relations of an entity already gone.
        self.index.write(|index| {
            tx.commit()?;
            index_entities(index, &conn, &touched)
        })?;
        release_cache(&conn)?;
        if !touched_refs.is_empty() {
            let mut followers = self
                .followers
                .lock()
                .expect("catalog followers lock poisoned");
            followers.retain(|follower| follower.send(touched_refs.clone()).is_ok());
        }
        Ok(out)
    }

    /// The entities each later write touches (added, changed or removed).
    pub fn follow(&self) -> std::sync::mpsc::Receiver<Vec<Touched>> {
        let (sender, receiver) = std::sync::mpsc::channel();
        self.followers
            .lock()
            .expect("catalog followers lock poisoned")
            .push(sender);
        receiver
    }

    /// Builds the index from every stored entity, in one pass over the table.
    fn index_all(&self) -> anyhow::Result<()> {
        let conn = self.writer.lock().expect("catalog writer lock poisoned");
        self.index.write(|index| {
            index_pipelined(index, |index_batch| {
                let mut statement = conn.prepare("SELECT id, entity_ref, body FROM entities")?;
                let mut rows = statement.query([])?;
                let mut batch = Vec::with_capacity(INDEX_BATCH);
                while let Some(row) = rows.next()? {
                    let (id, stored) = stored_entity(row)?;
                    batch.push((id, Some(stored)));
                    if batch.len() == INDEX_BATCH {
                        index_batch(std::mem::take(&mut batch))?;
                    }
                }
                index_batch(batch)
            })
        })
    }

    /// Runs `f` on a pooled read connection.
    fn open_reader(&self) -> anyhow::Result<Connection> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.pragma_update(None, "cache_size", -READER_CACHE_KIB)?;
        Ok(conn)
    }

    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let conn = {
            let mut readers = self.readers.lock().expect("catalog reader pool poisoned");
            loop {
                if readers.idle.is_empty()
                    && readers.opened >= MAX_READERS
                    && NO_WAITING.with(|w| w.get().is_some())
                {
                    NO_WAITING.with(|w| w.set(Some(true)));
                    anyhow::bail!("every catalog reader is busy");
                }
                if let Some(conn) = readers.idle.pop() {
                    break conn;
                }
                if readers.opened < MAX_READERS {
                    readers.opened += 1;
                    drop(readers);
                    match self.open_reader() {
                        Ok(conn) => break conn,
                        Err(e) => {
                            self.readers
                                .lock()
                                .expect("catalog reader pool poisoned")
                                .opened -= 1;
                            return Err(e);
                        }
                    }
                }
                readers = self
                    .returned
                    .wait(readers)
                    .expect("catalog reader pool poisoned");
            }
        };
        let out = f(&conn);
        self.readers
            .lock()
            .expect("catalog reader pool poisoned")
            .idle
            .push(conn);
        self.returned.notify_one();
        out
    }
}

thread_local! {
    /// Set by [`without_waiting`] on its thread: `Some(true)` once a read found every
    /// reader busy.
    static NO_WAITING: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
}

/// Runs `work` with reads that give up rather than wait for a connection (for work on an
/// async worker, which must not block); `None` if one gave up, and `work` should run where
/// waiting is fine.
pub fn without_waiting<T>(work: impl FnOnce() -> T) -> Option<T> {
    /// Reads wait again once `work` is done, even if it panicked.
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            NO_WAITING.with(|w| w.set(None));
        }
    }
    NO_WAITING.with(|w| w.set(Some(false)));
    let _reset = Reset;
    let done = work();
    (NO_WAITING.with(|w| w.get()) != Some(true)).then_some(done)
}

/// Makes the index hold the stored state of `ids`: their current fields, or nothing for
/// those deleted.
fn index_entities(index: &mut index::Index, conn: &Connection, ids: &[i64]) -> anyhow::Result<()> {
    index_pipelined(index, |index_batch| {
        for batch in ids.chunks(INDEX_BATCH) {
            let marks = vec!["?"; batch.len()].join(", ");
            let mut statement = conn.prepare_cached(&format!(
                "SELECT id, entity_ref, body FROM entities WHERE id IN ({marks})"
            ))?;
            let mut rows = statement.query(params_from_iter(batch))?;
            let mut found = std::collections::HashMap::new();
            while let Some(row) = rows.next()? {
                let (id, stored) = stored_entity(row)?;
                found.insert(id, stored);
            }
            index_batch(batch.iter().map(|id| (*id, found.remove(id))).collect())?;
        }
        Ok(())
    })
}

/// Indexes the batches of stored rows `read` hands over. Reading, parsing, deriving relations
/// and flattening happen on this thread while another inserts the previous batch into the
/// index, so the two overlap (each was about half of indexing).
fn index_pipelined(
    index: &mut index::Index,
    read: impl FnOnce(&mut dyn FnMut(StoredBatch) -> anyhow::Result<()>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    std::thread::scope(|scope| {
        let (send, receive) = std::sync::mpsc::sync_channel::<Vec<Prepared>>(1);
        let inserter = scope.spawn(move || {
            for batch in receive {
                for (id, prepared) in batch {
                    match prepared {
                        Some(entity) => index.insert(id, &entity),
                        None => index.remove(id),
                    }
                }
            }
        });
        let read = read(&mut |batch| {
            send.send(prepare(batch)?)
                .map_err(|_| anyhow::anyhow!("the index inserter stopped"))
        });
        drop(send);
        inserter
            .join()
            .map_err(|_| anyhow::anyhow!("the index inserter panicked"))?;
        read
    })
}

/// Stored rows by id: the ref and parsed body, or `None` for an entity deleted.
type StoredBatch = Vec<(i64, Option<(String, Value)>)>;
/// A stored entity ready for the index, or `None` for one deleted.
type Prepared = (index::Id, Option<Flattened>);

/// Flattens a batch of stored rows, with the relations each body implies.
fn prepare(batch: StoredBatch) -> anyhow::Result<Vec<Prepared>> {
    batch
        .into_iter()
        .map(|(id, stored)| {
            let prepared = stored
                .map(|(entity_ref, body)| {
                    let (body, relations) = implied_relations(&entity_ref, body)?;
                    anyhow::Ok(Flattened::new(entity_ref, &body, &relations))
                })
                .transpose()?;
            Ok((index::Id::try_from(id)?, prepared))
        })
        .collect()
}

/// An `(id, entity_ref, body)` row: the id, and the ref with the parsed body.
fn stored_entity(row: &rusqlite::Row) -> anyhow::Result<(i64, (String, Value))> {
    let body: Value = serde_json::from_str(row.get_ref(2)?.as_str()?)?;
    Ok((row.get(0)?, (row.get(1)?, body)))
}

/// The relations a stored body implies (the same rules that validated it).
fn implied_relations(entity_ref: &str, body: Value) -> anyhow::Result<(Value, Vec<Relation>)> {
    let entity = Entity {
        entity_ref: EntityRef::parse(entity_ref, None, "")
            .map_err(|e| anyhow::anyhow!("stored entity {entity_ref}: {e}"))?,
        body,
    };
    // Only fails if the rules changed since the entity was stored; it is still worth serving.
    let relations = relations_of(&entity).unwrap_or_else(|e| {
        tracing::warn!(entity_ref, field = e.field, "{}", e.message);
        Vec::new()
    });
    Ok((entity.body, relations))
}

/// Frees the writer's page cache. A large write fills it (32 MiB); between writes, which are
/// mostly small edits, it would only be memory held.
fn release_cache(conn: &Connection) -> anyhow::Result<()> {
    conn.execute_batch("PRAGMA shrink_memory")?;
    crate::support::allocator::release_freed_memory();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier, mpsc};

    #[test]
    fn reads_that_may_not_wait_give_up_while_every_reader_is_busy() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Arc::new(CatalogStore::open(&tmp.path().join("catalog.sqlite")).unwrap());
        let one = |store: &CatalogStore| {
            store.read(|conn| Ok(conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
        };
        assert_eq!(without_waiting(|| one(&store).unwrap()), Some(1));
        // Every reader held by a thread of its own until released.
        let held = Arc::new(Barrier::new(MAX_READERS + 1));
        let (release, released) = mpsc::channel::<()>();
        let released = Arc::new(Mutex::new(released));
        let holders: Vec<_> = (0..MAX_READERS)
            .map(|_| {
                let (store, held, released) = (store.clone(), held.clone(), released.clone());
                std::thread::spawn(move || {
                    store
                        .read(|_| {
                            held.wait();
                            let _ = released.lock().unwrap().recv();
                            Ok(())
                        })
                        .unwrap()
                })
            })
            .collect();
        held.wait();
        assert_eq!(without_waiting(|| one(&store).is_ok()), None);
        for _ in 0..MAX_READERS {
            release.send(()).unwrap();
        }
        holders.into_iter().for_each(|h| h.join().unwrap());
        // Waiting is allowed again outside, and without waiting there is a reader now.
        assert_eq!(one(&store).unwrap(), 1);
        assert_eq!(without_waiting(|| one(&store).unwrap()), Some(1));
    }
}
