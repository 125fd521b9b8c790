//! Paths that come from untrusted input (catalog files, plugins), confined to a root folder.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfineError {
    #[error("cannot read {path}: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is outside {root}")]
    Outside { path: String, root: String },
}

/// `path` with symlinks resolved, provided it exists and lies inside `root` (canonical).
pub fn within(root: &Path, path: &Path) -> Result<PathBuf, ConfineError> {
    let resolved = path
        .canonicalize()
        .map_err(|source| ConfineError::Unreadable {
            path: path.display().to_string(),
            source,
        })?;
    if resolved.starts_with(root) {
        Ok(resolved)
    } else {
        Err(ConfineError::Outside {
            path: path.display().to_string(),
            root: root.display().to_string(),
        })
    }
}
