//! The operator's enable/disable switches made through the admin API, kept across restarts
//! in `<data>/plugin-switches.json`. The file is replaced atomically (temporary file, fsync,
//! rename), so a crash leaves the old version or the new one. A file damaged anyway fails
//! closed: every plugin loaded at start-up stays disabled until switched on again.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct Switches {
    file: PathBuf,
    by_id: Mutex<BTreeMap<String, bool>>,
    /// The file was there but could not be read as switches.
    damaged: bool,
}

impl Switches {
    pub fn load(data_dir: &Path) -> Self {
        let file = data_dir.join("plugin-switches.json");
        let read = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| e.to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(e.to_string()),
        };
        let (by_id, damaged) = match read {
            Ok(by_id) => (by_id, false),
            Err(e) => {
                tracing::error!(
                    "plugin switches {} are damaged ({e}): every plugin loaded now stays disabled until switched on",
                    file.display()
                );
                (BTreeMap::new(), true)
            }
        };
        Self {
            file,
            by_id: Mutex::new(by_id),
            damaged,
        }
    }

    /// After a damaged file: switches `ids` (the plugins loaded at start-up) off.
    pub fn fail_closed(&self, ids: impl IntoIterator<Item = String>) {
        if self.damaged {
            let mut by_id = super::lock(&self.by_id);
            for id in ids {
                by_id.insert(id, false);
            }
        }
    }

    /// The switch of `id`; after a damaged file, off for any plugin it does not name (one
    /// that failed to load at start-up, or came later), as the file might have.
    pub fn get(&self, id: &str) -> Option<bool> {
        let by_id = super::lock(&self.by_id);
        by_id
            .get(id)
            .copied()
            .or_else(|| self.damaged.then_some(false))
    }

    /// Sets one switch and writes them all.
    pub fn set(&self, id: &str, enabled: bool) -> anyhow::Result<()> {
        let mut by_id = super::lock(&self.by_id);
        let mut next = by_id.clone();
        next.insert(id.to_string(), enabled);
        let json = serde_json::to_vec_pretty(&next)?;
        let partial = self.file.with_extension("json.partial");
        let written = std::fs::File::create(&partial)
            .and_then(|mut f| f.write_all(&json).and_then(|()| f.sync_all()))
            .and_then(|()| std::fs::rename(&partial, &self.file));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&partial);
            anyhow::bail!("cannot write {}: {e}", self.file.display());
        }
        *by_id = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_survive_a_reload_and_a_damaged_file_fails_closed() {
        let data = tempfile::tempdir().unwrap();
        let switches = Switches::load(data.path());
        assert_eq!(switches.get("probe"), None);
        switches.set("probe", false).unwrap();
        switches.set("ownership", true).unwrap();
        let reloaded = Switches::load(data.path());
        assert_eq!(reloaded.get("probe"), Some(false));
        assert_eq!(reloaded.get("ownership"), Some(true));

        // Half a file, as a crash of a non-atomic writer would leave it.
        let file = data.path().join("plugin-switches.json");
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, &text[..text.len() / 2]).unwrap();
        let damaged = Switches::load(data.path());
        damaged.fail_closed(["probe".to_string(), "ownership".to_string()]);
        assert_eq!(damaged.get("probe"), Some(false));
        assert_eq!(damaged.get("ownership"), Some(false));
        assert_eq!(damaged.get("loaded-later"), Some(false));
        // Switching one on writes a whole, good file that keeps the others off.
        damaged.set("ownership", true).unwrap();
        let repaired = Switches::load(data.path());
        assert_eq!(repaired.get("probe"), Some(false));
        assert_eq!(repaired.get("ownership"), Some(true));
    }
}
