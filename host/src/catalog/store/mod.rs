//! The catalog's SQLite store. All catalog SQL lives in this module: [`write`] applies what
//! processing produced, [`read`] answers queries.
//!
//! One writer connection behind a mutex; readers take a connection from a small pool, so
//! reads run in parallel with each other and with a write (WAL).

mod filter_sql;
mod read;
mod schema;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use anyhow::Context;
use rusqlite::{Connection, OpenFlags};

pub use read::{Facet, LocationRow};
pub use write::{EntityWrite, FileRecord, Writer};

/// Read connections, at most. Each holds its own page cache and prepared statements, so they
/// are kept for the life of the store; a reader beyond this waits for one to come back (more
/// would not run faster on a few cores, and opening one costs a schema parse).
const MAX_READERS: usize = 8;

pub struct CatalogStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Readers>,
    returned: Condvar,
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
        schema::migrate(&mut conn).with_context(|| format!("cannot migrate {}", path.display()))?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Mutex::new(conn),
            readers: Mutex::new(Readers::default()),
            returned: Condvar::new(),
        })
    }

    /// Runs `f` in one write transaction; nothing of it is visible unless it succeeds.
    pub fn write<T>(&self, f: impl FnOnce(&mut Writer) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let mut conn = self.writer.lock().expect("catalog writer lock poisoned");
        let tx = conn.transaction()?;
        let out = f(&mut Writer::new(&tx))?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` on a pooled read connection.
    fn open_reader(&self) -> anyhow::Result<Connection> {
        Ok(Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?)
    }

    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let conn = {
            let mut readers = self.readers.lock().expect("catalog reader pool poisoned");
            loop {
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
