//! Staging a Python or JavaScript plugin's sources for its componentize tool.
//!
//! Both tools pre-initialise the plugin (wizer / component-init) and keep a snapshot of its
//! memory, and that snapshot holds whatever the runtime saw of the files it read: their
//! times, sizes and inode numbers. So staged files are written only when their contents
//! change (an unchanged file keeps its inode and change time) and get a fixed modification
//! time, and nothing the tool does can write back into the author's project.

use std::collections::BTreeSet;
use std::fs::{File, FileTimes};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A file to stage: its path relative to the staging folder, and its contents.
pub type StagedFile = (PathBuf, Vec<u8>);

/// Folders never copied from a project: build output, tool caches, and hidden folders
/// (`.git`, `.venv`).
const SKIPPED_DIRS: &[&str] = &["target", "node_modules", "__pycache__"];

/// The modification time of staged files: `$SOURCE_DATE_EPOCH`, else 1980-01-01.
pub fn fixed_time() -> SystemTime {
    let seconds = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(315_532_800);
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

/// Every file under `project` (except in [`SKIPPED_DIRS`] and hidden entries) for which
/// `wanted` holds, by path relative to `project`, sorted.
pub fn project_files(
    project: &Path,
    wanted: &dyn Fn(&Path) -> bool,
) -> anyhow::Result<Vec<StagedFile>> {
    fn add(
        root: &Path,
        dir: &Path,
        wanted: &dyn Fn(&Path) -> bool,
        out: &mut Vec<StagedFile>,
    ) -> anyhow::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                if !SKIPPED_DIRS.contains(&name.as_ref()) {
                    add(root, &path, wanted, out)?;
                }
            } else if path.is_file() && wanted(&path) {
                let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                out.push((relative, std::fs::read(&path)?));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    add(project, project, wanted, &mut out)?;
    Ok(out)
}

/// Makes `dir` hold exactly `files`: files whose contents are already right are left
/// alone, others are written with [`fixed_time`], and anything else in `dir` is removed.
pub fn sync(dir: &Path, files: &[StagedFile]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let keep: BTreeSet<&Path> = files.iter().map(|(path, _)| path.as_path()).collect();
    remove_others(dir, dir, &keep)?;
    for (relative, contents) in files {
        write_if_changed(&dir.join(relative), contents)?;
    }
    Ok(())
}

/// Removes what under `dir` is not a file in `keep` (paths relative to `root`).
fn remove_others(root: &Path, dir: &Path, keep: &BTreeSet<&Path>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)?.flatten() {
        let path = entry.path();
        let relative = path.strip_prefix(root).unwrap_or(&path);
        if entry.file_type()?.is_dir() {
            // Kept only if something to keep is inside it (a folder where a file is to go,
            // such as a `__pycache__` folder an older build left, is removed).
            if keep
                .iter()
                .any(|k| *k != relative && k.starts_with(relative))
            {
                remove_others(root, &path, keep)?;
            } else {
                std::fs::remove_dir_all(&path)?;
            }
        } else if !keep.contains(relative) {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// Writes `contents` to `path` unless it holds exactly that already; a written file gets
/// [`fixed_time`] as its access and modification time.
pub fn write_if_changed(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == contents) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, contents)?;
    let time = fixed_time();
    File::options()
        .write(true)
        .open(path)?
        .set_times(FileTimes::new().set_accessed(time).set_modified(time))?;
    Ok(())
}

/// The relative path and contents of every file [`project_files`] takes from each folder, as
/// parts of a [`fingerprint`].
pub fn folder_parts(folders: &[&Path]) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut parts = Vec::new();
    for folder in folders {
        for (path, contents) in project_files(folder, &|_| true)? {
            parts.push(path.to_string_lossy().as_bytes().to_vec());
            parts.push(contents);
        }
    }
    Ok(parts)
}

/// A fingerprint of byte strings, for up-to-date checks.
pub fn fingerprint<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hasher = DefaultHasher::new();
    for part in parts {
        part.hash(&mut hasher);
    }
    format!("{:016x}", hasher.finish())
}
