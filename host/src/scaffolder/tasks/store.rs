//! Tasks and their events in SQLite (`<data>/scaffolder.sqlite`, WAL): all of the
//! scaffolder's SQL. Secrets are never stored; a task only records that it had some.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Value, json};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tasks (
    id TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    last_heartbeat_at TEXT,
    has_secrets INTEGER NOT NULL,
    -- {stepId: {status, output}} of the steps that ended: a resumed task starts after them.
    steps TEXT NOT NULL DEFAULT '{}',
    output TEXT
);
CREATE INDEX IF NOT EXISTS tasks_by_status ON tasks (status, created_at);
CREATE TABLE IF NOT EXISTS task_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS task_events_by_task ON task_events (task_id, id);
";

/// A task as stored.
#[derive(Debug, Clone)]
pub struct TaskRow {
    pub id: String,
    pub spec: Value,
    pub status: String,
    pub created_at: String,
    pub created_by: String,
    pub last_heartbeat_at: Option<String>,
    pub has_secrets: bool,
    pub steps: Value,
    pub output: Option<Value>,
}

impl TaskRow {
    /// Backstage's `SerializedTask` (no secrets: they are never kept).
    pub fn to_json(&self) -> Value {
        let mut task = json!({
            "id": self.id,
            "spec": self.spec,
            "status": self.status,
            "createdAt": self.created_at,
            "lastHeartbeatAt": self.last_heartbeat_at,
            "createdBy": self.created_by,
        });
        if let Some(output) = &self.output {
            task["output"] = output.clone();
        }
        task
    }
}

/// One event of a task's log.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub id: i64,
    pub task_id: String,
    pub kind: String,
    pub body: Value,
    pub created_at: String,
}

impl EventRow {
    /// Backstage's `SerializedTaskEvent`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "taskId": self.task_id,
            "body": self.body,
            "type": self.kind,
            "createdAt": self.created_at,
        })
    }
}

/// `GET /v2/tasks` filters.
#[derive(Debug, Default, Clone)]
pub struct TaskQuery {
    pub created_by: Vec<String>,
    pub status: Vec<String>,
    /// Newest first unless `desc` is false.
    pub newest_first: bool,
    pub limit: Option<u64>,
    pub offset: u64,
}

pub struct TaskStore {
    conn: Mutex<Connection>,
}

fn insert_event(
    conn: &Connection,
    task_id: &str,
    kind: &str,
    body: &Value,
) -> rusqlite::Result<EventRow> {
    let created_at = now();
    conn.execute(
        "INSERT INTO task_events (task_id, type, body, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![task_id, kind, body.to_string(), created_at],
    )?;
    Ok(EventRow {
        id: conn.last_insert_rowid(),
        task_id: task_id.into(),
        kind: kind.into(),
        body: body.clone(),
        created_at,
    })
}

pub fn now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

const COLUMNS: &str =
    "id, spec, status, created_at, created_by, last_heartbeat_at, has_secrets, steps, output";

fn task_row(row: &rusqlite::Row) -> rusqlite::Result<TaskRow> {
    let json = |i: usize| -> rusqlite::Result<Value> {
        let text: String = row.get(i)?;
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    };
    Ok(TaskRow {
        id: row.get(0)?,
        spec: json(1)?,
        status: row.get(2)?,
        created_at: row.get(3)?,
        created_by: row.get(4)?,
        last_heartbeat_at: row.get(5)?,
        has_secrets: row.get(6)?,
        steps: json(7)?,
        output: row
            .get::<_, Option<String>>(8)?
            .and_then(|t| serde_json::from_str(&t).ok()),
    })
}

impl TaskStore {
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open the scaffolder database {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)
            .with_context(|| format!("cannot create the tables of {}", path.display()))?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> anyhow::Result<T> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        Ok(f(&conn)?)
    }

    pub fn insert(
        &self,
        id: &str,
        spec: &Value,
        created_by: &str,
        has_secrets: bool,
    ) -> anyhow::Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT INTO tasks (id, spec, status, created_at, created_by, has_secrets) VALUES (?1, ?2, 'open', ?3, ?4, ?5)",
                params![id, spec.to_string(), now(), created_by, has_secrets],
            )
            .map(|_| ())
        })
    }

    pub fn get(&self, id: &str) -> anyhow::Result<Option<TaskRow>> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {COLUMNS} FROM tasks WHERE id = ?1"),
                [id],
                task_row,
            )
            .optional()
        })
    }

    /// The tasks matching `query`, and how many match in all.
    pub fn list(&self, query: &TaskQuery) -> anyhow::Result<(Vec<TaskRow>, u64)> {
        let mut clauses = Vec::new();
        let mut args: Vec<String> = Vec::new();
        for (column, values) in [("created_by", &query.created_by), ("status", &query.status)] {
            if !values.is_empty() {
                let marks: Vec<String> = values
                    .iter()
                    .map(|v| {
                        args.push(v.clone());
                        format!("?{}", args.len())
                    })
                    .collect();
                clauses.push(format!("{column} IN ({})", marks.join(", ")));
            }
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let order = if query.newest_first { "DESC" } else { "ASC" };
        let limit = query.limit.map(|l| l as i64).unwrap_or(-1);
        self.with(|c| {
            let total: i64 = c.query_row(
                &format!("SELECT COUNT(*) FROM tasks {filter}"),
                rusqlite::params_from_iter(&args),
                |r| r.get(0),
            )?;
            let mut statement = c.prepare(&format!(
                "SELECT {COLUMNS} FROM tasks {filter} ORDER BY created_at {order}, rowid {order} LIMIT {limit} OFFSET {}",
                query.offset
            ))?;
            let rows = statement
                .query_map(rusqlite::params_from_iter(&args), task_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((rows, total as u64))
        })
    }

    /// Takes the oldest open task for a worker: it becomes `processing`.
    pub fn claim(&self) -> anyhow::Result<Option<TaskRow>> {
        let at = now();
        self.with(|c| {
            c.query_row(
                &format!(
                    "UPDATE tasks SET status = 'processing', last_heartbeat_at = ?1
                     WHERE id = (SELECT id FROM tasks WHERE status = 'open' ORDER BY created_at, rowid LIMIT 1)
                     RETURNING {COLUMNS}"
                ),
                [&at],
                task_row,
            )
            .optional()
        })
    }

    /// Tasks a stopped server left `processing` go back to `open`; their ids are returned.
    pub fn recover(&self) -> anyhow::Result<Vec<String>> {
        self.with(|c| {
            let mut statement = c.prepare(
                "UPDATE tasks SET status = 'open' WHERE status = 'processing' RETURNING id",
            )?;
            let ids = statement
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(ids)
        })
    }

    pub fn heartbeat(&self, ids: &[String]) -> anyhow::Result<()> {
        let at = now();
        self.with(|c| {
            for id in ids {
                c.execute(
                    "UPDATE tasks SET last_heartbeat_at = ?1 WHERE id = ?2",
                    params![at, id],
                )?;
            }
            Ok(())
        })
    }

    /// Records how the steps that ended so far ended.
    pub fn save_steps(&self, id: &str, steps: &Value) -> anyhow::Result<()> {
        self.with(|c| {
            c.execute(
                "UPDATE tasks SET steps = ?1 WHERE id = ?2",
                params![steps.to_string(), id],
            )
            .map(|_| ())
        })
    }

    /// Ends a task that is in one of `from`: sets its status (and its output, once
    /// completed) and stores its completion event in one transaction, so whoever reads the
    /// ended status also finds the event. `then` sees the event before the next can be
    /// stored. False when the task was not in one of `from`.
    pub fn end(
        &self,
        id: &str,
        from: &[&str],
        status: &str,
        output: Option<&Value>,
        completion: &Value,
        then: impl FnOnce(EventRow),
    ) -> anyhow::Result<bool> {
        let from = from
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.unchecked_transaction()?;
        let changed = tx.execute(
            &format!(
                "UPDATE tasks SET status = ?1, output = COALESCE(?2, output) WHERE id = ?3 AND status IN ({from})"
            ),
            params![status, output.map(|o| o.to_string()), id],
        )? == 1;
        if !changed {
            return Ok(false);
        }
        let event = insert_event(&tx, id, "completion", completion)?;
        tx.commit()?;
        then(event);
        Ok(true)
    }

    /// Opens a failed or cancelled task again, keeping the steps that completed: the task
    /// runs on from the first step that did not. Its old completion event goes, so an event
    /// stream ends at the new one.
    pub fn reopen(&self, id: &str) -> anyhow::Result<bool> {
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            let steps: Option<String> = tx
                .query_row(
                    "SELECT steps FROM tasks WHERE id = ?1 AND status IN ('failed', 'cancelled')",
                    [id],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(steps) = steps else {
                return Ok(false);
            };
            let mut steps: Value = serde_json::from_str(&steps).unwrap_or(json!({}));
            if let Some(map) = steps.as_object_mut() {
                map.retain(|_, s| s["status"] == "completed" || s["status"] == "skipped");
            }
            tx.execute(
                "UPDATE tasks SET status = 'open', steps = ?1 WHERE id = ?2",
                params![steps.to_string(), id],
            )?;
            tx.execute(
                "DELETE FROM task_events WHERE task_id = ?1 AND type = 'completion'",
                [id],
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    /// Stores an event; `then` sees it before the next event can be stored.
    pub fn add_event(
        &self,
        task_id: &str,
        kind: &str,
        body: &Value,
        then: impl FnOnce(EventRow),
    ) -> anyhow::Result<()> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        then(insert_event(&conn, task_id, kind, body)?);
        Ok(())
    }

    pub fn events_after(&self, task_id: &str, after: i64) -> anyhow::Result<Vec<EventRow>> {
        self.with(|c| {
            let mut statement = c.prepare(
                "SELECT id, task_id, type, body, created_at FROM task_events WHERE task_id = ?1 AND id > ?2 ORDER BY id",
            )?;
            let rows = statement
                .query_map(params![task_id, after], |r| {
                    let body: String = r.get(3)?;
                    Ok(EventRow {
                        id: r.get(0)?,
                        task_id: r.get(1)?,
                        kind: r.get(2)?,
                        body: serde_json::from_str(&body).unwrap_or(Value::Null),
                        created_at: r.get(4)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_claimed_once_recovered_and_reopened_from_their_last_completed_step() {
        let dir = tempfile::tempdir().unwrap();
        let store = TaskStore::open(&dir.path().join("s.sqlite")).unwrap();
        store
            .insert("a", &json!({"steps": []}), "user:default/guest", true)
            .unwrap();
        store
            .insert("b", &json!({"steps": []}), "user:default/other", false)
            .unwrap();
        assert_eq!(store.claim().unwrap().unwrap().id, "a");
        assert_eq!(store.claim().unwrap().unwrap().id, "b");
        assert!(store.claim().unwrap().is_none());
        let mut recovered = store.recover().unwrap();
        recovered.sort();
        assert_eq!(recovered, ["a", "b"]);
        let a = store.claim().unwrap().unwrap();
        assert!(a.has_secrets);
        store
            .save_steps("a", &json!({"one": {"status": "completed", "output": {"x": 1}}, "two": {"status": "failed"}}))
            .unwrap();
        assert!(
            !store.reopen("a").unwrap(),
            "a processing task is not reopened"
        );
        let mut sent = None;
        let failed = json!({"message": "failed"});
        assert!(
            store
                .end("a", &["processing"], "failed", None, &failed, |e| sent =
                    Some(e))
                .unwrap()
        );
        let stored = store.events_after("a", 0).unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(
            (stored[0].id, stored[0].kind.as_str()),
            (sent.unwrap().id, "completion")
        );
        assert!(
            !store
                .end("a", &["processing"], "failed", None, &failed, |_| panic!(
                    "sent twice"
                ))
                .unwrap(),
            "an ended task does not end again"
        );
        assert!(store.reopen("a").unwrap());
        let a = store.get("a").unwrap().unwrap();
        assert_eq!(a.status, "open");
        assert_eq!(
            a.steps,
            json!({"one": {"status": "completed", "output": {"x": 1}}})
        );
        assert!(store.events_after("a", 0).unwrap().is_empty());
        let (mine, total) = store
            .list(&TaskQuery {
                created_by: vec!["user:default/guest".into()],
                newest_first: true,
                ..Default::default()
            })
            .unwrap();
        assert_eq!((mine.len(), total), (1, 1));
    }
}
