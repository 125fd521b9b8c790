//! Walking a folder tree that untrusted people write (catalog repositories, docs sites):
//! paths are judged by where they really lead. A link is followed only when it resolves
//! inside the allowed folders; a link leading out, a link loop or a folder that cannot be
//! read is a problem naming its path, and the rest of the walk goes on. Only links are
//! resolved, so a plain tree costs one `read_dir` per folder.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The folders a walk may read from, links resolved, and what to call them in messages
/// ("the catalog's folders").
pub struct Folders {
    roots: Vec<PathBuf>,
    name: &'static str,
}

impl Folders {
    /// The folders that exist among `folders`, links resolved.
    pub fn new(name: &'static str, folders: impl IntoIterator<Item = PathBuf>) -> Self {
        Self {
            roots: folders
                .into_iter()
                .filter_map(|f| f.canonicalize().ok())
                .collect(),
            name,
        }
    }

    /// `path` with links resolved, if that lies in one of the folders.
    pub fn resolve(&self, path: &Path) -> Result<PathBuf, String> {
        let real = path
            .canonicalize()
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if self.roots.iter().any(|f| real.starts_with(f)) {
            Ok(real)
        } else if real == path {
            Err(format!("{} is outside {}", path.display(), self.name))
        } else {
            Err(format!(
                "{} leads to {}, outside {}",
                path.display(),
                real.display(),
                self.name
            ))
        }
    }
}

/// What a walk found: files in a stable order, and problems by path.
#[derive(Debug, Default)]
pub struct Found {
    pub files: Vec<PathBuf>,
    pub problems: Vec<(PathBuf, String)>,
}

/// A walk down a folder for the files `wanted` accepts.
pub struct Walk<'a> {
    pub folders: &'a Folders,
    pub wanted: &'a dyn Fn(&Path) -> bool,
    /// How many folders down a wanted file may be.
    pub max_depth: usize,
    pub skip_hidden: bool,
}

impl Walk<'_> {
    /// The wanted files under `start`, sorted, and the problems met on the way.
    pub fn run(&self, start: &Path) -> Found {
        let mut found = Found::default();
        // Folders already walked, links resolved: a link back to one is a loop.
        let mut walked: HashSet<PathBuf> = start.canonicalize().into_iter().collect();
        let mut pending = vec![(start.to_path_buf(), 1)];
        while let Some((folder, depth)) = pending.pop() {
            let entries = match std::fs::read_dir(&folder) {
                Ok(entries) => entries,
                Err(e) => {
                    found
                        .problems
                        .push((folder, format!("cannot read this folder: {e}")));
                    continue;
                }
            };
            for entry in entries {
                let entry = match entry {
                    Ok(entry) => entry,
                    Err(e) => {
                        found
                            .problems
                            .push((folder.clone(), format!("cannot list this folder: {e}")));
                        continue;
                    }
                };
                let path = entry.path();
                let hidden = entry.file_name().to_string_lossy().starts_with('.');
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                let wanted = depth <= self.max_depth && (self.wanted)(&path);
                let (is_dir, real) = if kind.is_symlink() {
                    match self.folders.resolve(&path) {
                        Ok(real) => (real.is_dir(), Some(real)),
                        // A broken or outward link matters only where the scan would use it.
                        Err(message) => {
                            let leads_to_folder =
                                std::fs::metadata(&path).is_ok_and(|m| m.is_dir());
                            let loops = message.contains("symbolic links");
                            if wanted || loops || (leads_to_folder && !(self.skip_hidden && hidden))
                            {
                                found.problems.push((path, message));
                            }
                            continue;
                        }
                    }
                } else {
                    (kind.is_dir(), None)
                };
                if is_dir {
                    if (self.skip_hidden && hidden) || depth >= self.max_depth {
                        continue;
                    }
                    let real = real.or_else(|| path.canonicalize().ok());
                    match real {
                        Some(real) if !walked.insert(real.clone()) => found.problems.push((
                            path,
                            format!(
                                "leads to {}, which this scan already reached (a link loop or a second link to it); skipped",
                                real.display()
                            ),
                        )),
                        _ => pending.push((path, depth + 1)),
                    }
                } else if wanted {
                    // Pipes and devices too, to be refused by name when read.
                    found.files.push(path);
                }
            }
        }
        found.files.sort();
        found.problems.sort();
        found
    }
}
