//! Per-plugin key-value storage (`greenroom:plugin/storage@0.2.0`): one SQLite file in the
//! data folder, rows keyed by plugin id, each plugin held to its operator-set quota (keys and
//! values counted). A write that would pass the quota changes nothing.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};

/// Longest key a plugin may use.
pub const MAX_KEY_BYTES: usize = 512;
/// Most keys one `list-keys` call returns.
pub const MAX_LIST: u32 = 1000;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS entries (
    plugin TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (plugin, key)
) WITHOUT ROWID";

pub struct Storage {
    db: Mutex<Connection>,
}

/// What a plugin keeps, for the admin page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub keys: u64,
    pub bytes: u64,
}

impl Storage {
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let file = data_dir.join("plugin-storage.sqlite");
        let conn = Connection::open(&file)
            .with_context(|| format!("cannot open plugin storage {}", file.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Plugins' caches and state: a power cut may lose the last writes but never corrupts
        // the file, and a write need not wait for the disk (one `set` was ~0.45 ms of fsync).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute(SCHEMA, [])?;
        Ok(Self {
            db: Mutex::new(conn),
        })
    }

    fn db(&self) -> MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, plugin: &str, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(self
            .db()
            .query_row(
                "SELECT value FROM entries WHERE plugin = ?1 AND key = ?2",
                params![plugin, key],
                |row| row.get(0),
            )
            .optional()?)
    }

    /// Stores `value` under `key` unless the plugin would then hold more than `quota` bytes;
    /// `Ok(Err(message))` when refused.
    pub fn set(
        &self,
        plugin: &str,
        key: &str,
        value: &[u8],
        quota: u64,
    ) -> anyhow::Result<Result<(), String>> {
        if key.len() > MAX_KEY_BYTES {
            return Ok(Err(format!(
                "a key is at most {MAX_KEY_BYTES} bytes, this one has {}",
                key.len()
            )));
        }
        let mut db = self.db();
        let tx = db.transaction()?;
        let held: i64 = tx.query_row(
            "SELECT COALESCE(SUM(LENGTH(CAST(key AS BLOB)) + LENGTH(value)), 0)
             FROM entries WHERE plugin = ?1 AND key <> ?2",
            params![plugin, key],
            |row| row.get(0),
        )?;
        let after = held as u64 + (key.len() + value.len()) as u64;
        if after > quota {
            return Ok(Err(format!(
                "storage quota of {quota} bytes exceeded: {held} bytes held, this entry needs {}",
                key.len() + value.len()
            )));
        }
        tx.execute(
            "INSERT INTO entries (plugin, key, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value",
            params![plugin, key, value],
        )?;
        tx.commit()?;
        Ok(Ok(()))
    }

    pub fn delete(&self, plugin: &str, key: &str) -> anyhow::Result<()> {
        self.db().execute(
            "DELETE FROM entries WHERE plugin = ?1 AND key = ?2",
            params![plugin, key],
        )?;
        Ok(())
    }

    /// Keys starting with `prefix`, after `start_after`, sorted, at most `limit`.
    pub fn list_keys(
        &self,
        plugin: &str,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> anyhow::Result<Vec<String>> {
        let db = self.db();
        let mut statement = db.prepare_cached(
            "SELECT key FROM entries
             WHERE plugin = ?1 AND key >= ?2 AND (?3 IS NULL OR key > ?3)
               AND substr(key, 1, ?4) = ?2
             ORDER BY key LIMIT ?5",
        )?;
        let keys = statement
            .query_map(
                params![
                    plugin,
                    prefix,
                    start_after,
                    prefix.chars().count() as i64,
                    limit.min(MAX_LIST)
                ],
                |row| row.get(0),
            )?
            .collect::<Result<Vec<String>, _>>()?;
        Ok(keys)
    }

    pub fn usage(&self, plugin: &str) -> anyhow::Result<Usage> {
        let (keys, bytes): (i64, i64) = self.db().query_row(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(CAST(key AS BLOB)) + LENGTH(value)), 0)
             FROM entries WHERE plugin = ?1",
            params![plugin],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?;
        Ok(Usage {
            keys: keys as u64,
            bytes: bytes as u64,
        })
    }

    /// Removes everything the plugin stored.
    pub fn clear(&self, plugin: &str) -> anyhow::Result<()> {
        self.db()
            .execute("DELETE FROM entries WHERE plugin = ?1", params![plugin])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_values_per_plugin_within_the_quota() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        storage.set("a", "k", b"12345", 20).unwrap().unwrap();
        assert_eq!(
            storage.get("a", "k").unwrap().as_deref(),
            Some(&b"12345"[..])
        );
        assert_eq!(storage.get("b", "k").unwrap(), None, "plugins do not share");
        // Replacing a value counts only the new one.
        storage.set("a", "k", b"1234567890", 20).unwrap().unwrap();
        let refused = storage.set("a", "k2", b"1234567890", 20).unwrap();
        assert!(refused.unwrap_err().contains("quota of 20 bytes"));
        assert_eq!(
            storage.get("a", "k2").unwrap(),
            None,
            "a refused write changes nothing"
        );
        assert_eq!(storage.usage("a").unwrap(), Usage { keys: 1, bytes: 11 });
        let long = "x".repeat(MAX_KEY_BYTES + 1);
        assert!(storage.set("a", &long, b"", 1 << 20).unwrap().is_err());
        storage.clear("a").unwrap();
        assert_eq!(storage.usage("a").unwrap(), Usage::default());
    }

    #[test]
    fn lists_keys_by_prefix_in_pages() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        for key in ["repo", "repo/a", "repo/b", "repo/c", "rep", "other"] {
            storage.set("p", key, b"", 1 << 20).unwrap().unwrap();
        }
        storage.set("q", "repo/z", b"", 1 << 20).unwrap().unwrap();
        let first = storage.list_keys("p", "repo", None, 2).unwrap();
        assert_eq!(first, ["repo", "repo/a"]);
        let next = storage.list_keys("p", "repo", Some("repo/a"), 10).unwrap();
        assert_eq!(next, ["repo/b", "repo/c"]);
        assert_eq!(
            storage.list_keys("p", "", None, 10).unwrap(),
            ["other", "rep", "repo", "repo/a", "repo/b", "repo/c"]
        );
        storage.delete("p", "repo/b").unwrap();
        storage.delete("p", "missing").unwrap();
        assert_eq!(
            storage.list_keys("p", "repo/", None, 10).unwrap(),
            ["repo/a", "repo/c"]
        );
    }
}
