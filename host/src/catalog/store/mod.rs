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
use std::sync::Mutex;

use anyhow::Context;
use rusqlite::{Connection, OpenFlags};

pub use read::{Facet, LocationRow};
pub use write::{EntityWrite, FileRecord, Writer};

/// Idle read connections kept open (each holds its own page cache).
const MAX_IDLE_READERS: usize = 4;

pub struct CatalogStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
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
            readers: Mutex::new(Vec::new()),
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
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let pooled = self
            .readers
            .lock()
            .expect("catalog reader pool poisoned")
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => Connection::open_with_flags(
                &self.path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?,
        };
        let out = f(&conn);
        let mut pool = self.readers.lock().expect("catalog reader pool poisoned");
        // Keep a few warm connections; more are opened under bursts and closed after.
        if pool.len() < MAX_IDLE_READERS {
            pool.push(conn);
        }
        out
    }
}
