//! The catalog schema as ordered migration steps; `PRAGMA user_version` records how many ran.
//! Never edit a step that has been released: add a new one.

use rusqlite::Connection;

const MIGRATIONS: &[&str] = &[
    // 1: the walking skeleton's tables.
    r#"
    CREATE TABLE entities (
        entity_ref   TEXT PRIMARY KEY NOT NULL,
        uid          TEXT NOT NULL UNIQUE,
        etag         TEXT NOT NULL,
        generation   INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        body         TEXT NOT NULL
    );
    CREATE TABLE relations (
        originating_ref TEXT NOT NULL,
        source_ref      TEXT NOT NULL,
        type            TEXT NOT NULL,
        target_ref      TEXT NOT NULL
    );
    CREATE INDEX relations_by_source ON relations (source_ref);
    CREATE INDEX relations_by_origin ON relations (originating_ref);
    CREATE TABLE search (
        entity_ref TEXT NOT NULL,
        key        TEXT NOT NULL,
        value      TEXT
    );
    CREATE INDEX search_by_key_value ON search (key, value);
    CREATE INDEX search_by_entity ON search (entity_ref);
    "#,
    // 2: locations, source files and their problems; entities keyed by integer id and tied to
    // the file and location that define them. The skeleton's rows are rebuilt from the
    // sources on the next reconcile.
    r#"
    DROP TABLE search;
    DROP TABLE relations;
    DROP TABLE entities;
    CREATE TABLE locations (
        id     TEXT PRIMARY KEY NOT NULL,
        type   TEXT NOT NULL,
        target TEXT NOT NULL,
        source TEXT NOT NULL,
        UNIQUE (type, target)
    );
    CREATE TABLE files (
        path         TEXT PRIMARY KEY NOT NULL,
        location_id  TEXT NOT NULL,
        parent_ref   TEXT NOT NULL,
        fingerprint  TEXT NOT NULL,
        dependencies TEXT NOT NULL,
        targets      TEXT NOT NULL
    );
    CREATE TABLE entities (
        id           INTEGER PRIMARY KEY,
        entity_ref   TEXT NOT NULL UNIQUE,
        uid          TEXT NOT NULL UNIQUE,
        generation   INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        file         TEXT,
        location_id  TEXT NOT NULL,
        parent_ref   TEXT,
        orphan       INTEGER NOT NULL DEFAULT 0,
        body         TEXT NOT NULL
    );
    CREATE INDEX entities_by_file ON entities (file);
    CREATE INDEX entities_by_location ON entities (location_id);
    CREATE TABLE relations (
        entity_id  INTEGER NOT NULL,
        source_ref TEXT NOT NULL,
        type       TEXT NOT NULL,
        target_ref TEXT NOT NULL
    );
    CREATE INDEX relations_by_source ON relations (source_ref, type, target_ref);
    CREATE INDEX relations_by_type_target ON relations (type, target_ref, source_ref);
    CREATE INDEX relations_by_origin ON relations (entity_id);
    CREATE TABLE search (
        entity_id INTEGER NOT NULL,
        key       TEXT NOT NULL,
        value     TEXT,
        original  TEXT
    );
    CREATE INDEX search_by_key_value ON search (key, value, entity_id);
    CREATE INDEX search_by_entity ON search (entity_id);
    CREATE TABLE errors (
        file       TEXT NOT NULL,
        phase      TEXT NOT NULL,
        document   INTEGER,
        entity_ref TEXT,
        field      TEXT,
        message    TEXT NOT NULL
    );
    CREATE INDEX errors_by_file ON errors (file, phase);
    "#,
    // 3: an entity's value for one key is an index seek, which `orderField` needs per row;
    // with only (entity_id) the planner walked every row of the key instead (seconds at 10k).
    r#"
    DROP INDEX search_by_entity;
    CREATE INDEX search_by_entity_key ON search (entity_id, key, value);
    "#,
    // 4: fields are searched in an in-memory index built from the entities (`index.rs`);
    // ~25 rows per entity in three B-trees made up most of the ingest time and the file.
    r#"
    DROP TABLE search;
    "#,
    // 5: relations follow from each stored body and are derived in memory when it is
    // indexed (`graph.rs`); six rows per entity in three B-trees were most of ingestion.
    r#"
    DROP TABLE relations;
    "#,
];

pub fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let tx = conn.transaction()?;
    for (version, step) in (1..).zip(MIGRATIONS).skip(usize::try_from(applied)?) {
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()?;
    Ok(())
}
