//! What discovery keeps in the plugin's storage between runs (and restarts):
//!
//! - `repo/<name>`: a repository's discovered entities, with the branch, path and `pushed_at`
//!   they were read at (names lowercased in keys: GitHub's are case-insensitive);
//! - `dirty/<name>/<stamp>`: a webhook's mark that the repository changed (one key per
//!   delivery, so a mark arriving while a run handles the older ones is never lost);
//! - `ask/full/<stamp>`: a webhook asking for a full scan (a repository renamed, moved);
//! - `scan/list` and `scan/next`: a full scan under way (the listing, and the index of the
//!   next repository to look at), so a scan goes on across runs;
//! - `last-scan`: when the last full scan started (seconds since the epoch);
//! - `settings`: what the stored discoveries were made with (API, organisation, path).

use std::time::{SystemTime, UNIX_EPOCH};

use greenroom_sdk::storage;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::github::Listed;

const REPO: &str = "repo/";
const DIRTY: &str = "dirty/";
const ASK_FULL: &str = "ask/full/";
const SCAN_LIST: &str = "scan/list";
const SCAN_NEXT: &str = "scan/next";
const LAST_SCAN: &str = "last-scan";
const SETTINGS: &str = "settings";

/// A repository's discovered entities.
#[derive(Serialize, Deserialize)]
pub struct Record {
    pub name: String,
    pub branch: String,
    pub path: String,
    /// The listing's `pushed_at` the file was read at; none when read for a webhook (the next
    /// full scan reads it again, which costs one request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_at: Option<String>,
    pub entities: Vec<String>,
}

/// A webhook's word that a repository changed.
#[derive(Serialize, Deserialize, Clone)]
pub struct Mark {
    pub name: String,
    pub branch: String,
    pub html_url: String,
    /// Deleted or archived: its entities go without asking GitHub.
    pub remove: bool,
}

/// A full scan under way.
#[derive(Serialize, Deserialize)]
pub struct Scan {
    /// When it started (seconds since the epoch).
    pub started: u64,
    /// The next page of the listing to read (1-based).
    pub page: u32,
    /// Whether the listing has been read to its end.
    pub listed: bool,
    pub repos: Vec<Listed>,
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A key part that sorts by time: nanoseconds since the epoch, zero-padded.
pub fn stamp() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:020}")
}

fn key_of(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn get<T: DeserializeOwned>(key: &str) -> Result<Option<T>, String> {
    let Some(bytes) = storage::get(key)? else {
        return Ok(None);
    };
    // A value this version cannot read (written by another one) counts as absent.
    Ok(serde_json::from_slice(&bytes).ok())
}

fn set<T: Serialize>(key: &str, value: &T) -> Result<(), String> {
    let bytes = serde_json::to_vec(value).map_err(|e| format!("storing {key}: {e}"))?;
    storage::set(key, &bytes).map_err(|e| {
        format!("{e} (raise plugins.github-discovery.limits.storageBytes for a large organisation)")
    })
}

/// Every key starting with `prefix`, sorted.
fn keys(prefix: &str) -> Result<Vec<String>, String> {
    let mut all = Vec::new();
    loop {
        let page = storage::list_keys(prefix, all.last().map(String::as_str), 1000)?;
        let done = page.len() < 1000;
        all.extend(page);
        if done {
            return Ok(all);
        }
    }
}

/// Forgets everything discovered with other settings (another organisation, API or path).
pub fn forget_other_settings(fingerprint: &str) -> Result<(), String> {
    let stored = storage::get(SETTINGS)?;
    if stored.as_deref() == Some(fingerprint.as_bytes()) {
        return Ok(());
    }
    for prefix in [REPO, DIRTY, ASK_FULL, "scan/"] {
        for key in keys(prefix)? {
            storage::delete(&key)?;
        }
    }
    storage::delete(LAST_SCAN)?;
    storage::set(SETTINGS, fingerprint.as_bytes())
}

pub fn record(name: &str) -> Result<Option<Record>, String> {
    get(&format!("{REPO}{}", key_of(name)))
}

pub fn save_record(record: &Record) -> Result<(), String> {
    set(&format!("{REPO}{}", key_of(&record.name)), record)
}

pub fn remove_record(name: &str) -> Result<(), String> {
    storage::delete(&format!("{REPO}{}", key_of(name)))
}

/// The names (as keyed) of every repository with a record.
pub fn recorded() -> Result<Vec<String>, String> {
    Ok(keys(REPO)?
        .into_iter()
        .map(|key| key[REPO.len()..].to_string())
        .collect())
}

/// Every stored entity, repositories in name order.
pub fn entities() -> Result<Vec<String>, String> {
    let mut all = Vec::new();
    for key in keys(REPO)? {
        if let Some(record) = get::<Record>(&key)? {
            all.extend(record.entities);
        }
    }
    Ok(all)
}

/// Marks `mark.name` changed.
pub fn mark(mark: &Mark, delivery: &str) -> Result<(), String> {
    // The delivery id keeps two marks of one nanosecond apart; only safe characters.
    let delivery: String = delivery
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect();
    let key = format!("{DIRTY}{}/{}-{delivery}", key_of(&mark.name), stamp());
    set(&key, mark)
}

/// The marked repositories, each with its marks' keys (oldest first) and its latest mark.
pub fn marked() -> Result<Vec<(Vec<String>, Mark)>, String> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for key in keys(DIRTY)? {
        let repo = key[DIRTY.len()..]
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        match groups.last_mut() {
            Some((last, group)) if *last == repo => group.push(key),
            _ => groups.push((repo, vec![key])),
        }
    }
    let mut marked = Vec::new();
    for (_, group) in groups {
        let latest = group.last().expect("groups are never empty");
        match get::<Mark>(latest)? {
            Some(mark) => marked.push((group, mark)),
            // Unreadable: drop it rather than trip over it on every run.
            None => {
                for key in &group {
                    storage::delete(key)?;
                }
            }
        }
    }
    Ok(marked)
}

pub fn unmark(keys: &[String]) -> Result<(), String> {
    keys.iter().try_for_each(|key| storage::delete(key))
}

/// Puts a repository's latest mark back (its handling failed; the next run tries again).
pub fn remark(keys: &[String], mark: &Mark) -> Result<(), String> {
    match keys.last() {
        Some(key) => set(key, mark),
        None => Ok(()),
    }
}

pub fn ask_full_scan(reason: &str) -> Result<(), String> {
    storage::set(&format!("{ASK_FULL}{}", stamp()), reason.as_bytes())
}

/// The keys of the full scans asked for since the last one started.
pub fn full_scan_asks() -> Result<Vec<String>, String> {
    keys(ASK_FULL)
}

pub fn last_scan() -> Result<Option<u64>, String> {
    get(LAST_SCAN)
}

pub fn scan() -> Result<Option<Scan>, String> {
    get(SCAN_LIST)
}

pub fn save_scan(scan: &Scan) -> Result<(), String> {
    set(SCAN_LIST, scan)
}

/// The index of the next repository of the scan's listing to look at.
pub fn scan_next() -> Result<usize, String> {
    Ok(get(SCAN_NEXT)?.unwrap_or(0))
}

pub fn set_scan_next(next: usize) -> Result<(), String> {
    set(SCAN_NEXT, &next)
}

/// Ends a scan that started at `started`.
pub fn finish_scan(started: u64) -> Result<(), String> {
    set(LAST_SCAN, &started)?;
    storage::delete(SCAN_NEXT)?;
    storage::delete(SCAN_LIST)
}
