//! The audit log: every state-changing API request (who, what, when, the status it got), in
//! `<data>/audit.sqlite`. A thread of its own writes it, so a request never waits on the
//! disk for it.

use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::Sender;

use anyhow::Context;
use rusqlite::{Connection, params};
use serde_json::{Value, json};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL
)";

pub struct Entry {
    pub who: String,
    pub method: String,
    pub path: String,
    pub status: u16,
}

pub struct Audit {
    writer: Mutex<Sender<(String, Entry)>>,
    reader: Mutex<Connection>,
}

impl Audit {
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        let file = data_dir.join("audit.sqlite");
        let open = || -> anyhow::Result<Connection> {
            let conn = Connection::open(&file)
                .with_context(|| format!("cannot open the audit log {}", file.display()))?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.execute_batch(SCHEMA)?;
            Ok(conn)
        };
        let (writer_conn, reader) = (open()?, open()?);
        let (tx, rx) = std::sync::mpsc::channel::<(String, Entry)>();
        std::thread::Builder::new()
            .name("audit".into())
            .spawn(move || {
                for (at, e) in rx {
                    let written = writer_conn.execute(
                        "INSERT INTO audit (at, who, method, path, status) VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![at, e.who, e.method, e.path, e.status],
                    );
                    if let Err(error) = written {
                        tracing::error!("cannot write the audit log: {error}");
                    }
                }
            })?;
        Ok(Self {
            writer: Mutex::new(tx),
            reader: Mutex::new(reader),
        })
    }

    pub fn record(&self, entry: Entry) {
        let at = humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string();
        tracing::info!(
            who = entry.who,
            method = entry.method,
            path = entry.path,
            status = entry.status,
            "audit"
        );
        let _ = self
            .writer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send((at, entry));
    }

    /// The newest `limit` entries, newest first.
    pub fn recent(&self, limit: u32) -> anyhow::Result<Vec<Value>> {
        let conn = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        let mut statement = conn
            .prepare("SELECT at, who, method, path, status FROM audit ORDER BY id DESC LIMIT ?1")?;
        let rows = statement
            .query_map([limit], |r| {
                Ok(json!({
                    "at": r.get::<_, String>(0)?,
                    "who": r.get::<_, String>(1)?,
                    "method": r.get::<_, String>(2)?,
                    "path": r.get::<_, String>(3)?,
                    "status": r.get::<_, u16>(4)?,
                }))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}
