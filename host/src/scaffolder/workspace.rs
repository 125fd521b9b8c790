//! A scaffolder task's scratch folder. Plugins and built-in actions read and write it through
//! relative paths that can never leave it (no `..`, no absolute paths, no symlinks out).

use std::path::{Component, Path, PathBuf};

#[derive(Clone)]
pub struct Workspace {
    /// Canonical.
    root: PathBuf,
}

impl Workspace {
    pub fn new(root: &Path) -> std::io::Result<Self> {
        Ok(Self {
            root: root.canonicalize()?,
        })
    }

    /// The files as relative `/`-separated paths, sorted.
    pub fn list_files(&self) -> Result<Vec<String>, String> {
        let mut files = Vec::new();
        let mut folders = vec![self.root.clone()];
        while let Some(folder) = folders.pop() {
            let entries = std::fs::read_dir(&folder).map_err(|e| e.to_string())?;
            for entry in entries.flatten() {
                let kind = entry.file_type().map_err(|e| e.to_string())?;
                let path = entry.path();
                if kind.is_dir() {
                    folders.push(path);
                } else if kind.is_file()
                    && let Ok(relative) = path.strip_prefix(&self.root)
                {
                    files.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        files.sort();
        Ok(files)
    }

    /// The workspace folder (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `path` (relative, maybe missing, maybe a folder) lies: its parent folders that
    /// exist must really be inside the workspace, links included.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, String> {
        let target = self.root.join(normalize(path)?);
        let mut existing = target.as_path();
        while existing.symlink_metadata().is_err() {
            existing = existing.parent().unwrap_or(&self.root);
        }
        crate::support::paths::within(&self.root, existing).map_err(|e| format!("{path}: {e}"))?;
        Ok(target)
    }

    pub fn read_file(&self, path: &str) -> Result<Vec<u8>, String> {
        let file = self.existing(path)?;
        std::fs::read(file).map_err(|e| format!("{path}: {e}"))
    }

    pub fn write_file(&self, path: &str, contents: &[u8]) -> Result<(), String> {
        let file = self.root.join(relative(path)?);
        self.write_at(path, &file, contents)
    }

    /// Writes `contents` to `file` (a path under the root), creating its folders.
    pub fn write_at(&self, path: &str, file: &Path, contents: &[u8]) -> Result<(), String> {
        let folder = file.parent().unwrap_or(&self.root);
        if !file.starts_with(&self.root) || file == self.root {
            return Err(format!("'{path}' must name a file inside the workspace"));
        }
        std::fs::create_dir_all(folder).map_err(|e| format!("{path}: {e}"))?;
        // The folder may be a symlink planted earlier: check where it really is.
        crate::support::paths::within(&self.root, folder).map_err(|e| format!("{path}: {e}"))?;
        if file.is_symlink() {
            return Err(format!("{path}: is a symbolic link"));
        }
        std::fs::write(file, contents).map_err(|e| format!("{path}: {e}"))
    }

    pub fn delete_file(&self, path: &str) -> Result<(), String> {
        let file = self.existing(path)?;
        std::fs::remove_file(file).map_err(|e| format!("{path}: {e}"))
    }

    fn existing(&self, path: &str) -> Result<PathBuf, String> {
        crate::support::paths::within(&self.root, &self.root.join(relative(path)?))
            .map_err(|e| format!("{path}: {e}"))
    }
}

/// `path` as a relative path inside the workspace: `.` and `..` are resolved by hand and may
/// not climb out; absolute paths and NUL bytes are refused. `""` and `.` are the root.
pub fn normalize(path: &str) -> Result<PathBuf, String> {
    let refuse = || format!("'{path}' must be a relative path inside the workspace");
    if path.contains('\0') || Path::new(path).is_absolute() {
        return Err(refuse());
    }
    let mut parts = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !parts.pop() {
                    return Err(refuse());
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err(refuse()),
        }
    }
    Ok(parts)
}

/// A path naming a file: inside the workspace and not the root itself.
fn relative(path: &str) -> Result<PathBuf, String> {
    let parts = normalize(path)?;
    if parts.as_os_str().is_empty() {
        Err(format!("'{path}' must name a file inside the workspace"))
    } else {
        Ok(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_round_trip_and_paths_stay_inside() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("ws");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(tmp.path().join("secret"), "x").unwrap();
        let ws = Workspace::new(&root).unwrap();
        ws.write_file("src/main.rs", b"fn main() {}").unwrap();
        ws.write_file("README.md", b"hi").unwrap();
        assert_eq!(ws.list_files().unwrap(), ["README.md", "src/main.rs"]);
        assert_eq!(ws.read_file("src/main.rs").unwrap(), b"fn main() {}");
        ws.delete_file("README.md").unwrap();
        assert_eq!(ws.list_files().unwrap(), ["src/main.rs"]);
        for bad in ["../secret", "/etc/passwd", "", "a/../../secret", "a\0b"] {
            assert!(ws.read_file(bad).is_err(), "{bad}");
            assert!(ws.write_file(bad, b"x").is_err(), "{bad}");
            assert!(ws.resolve(bad).is_err() || bad.is_empty(), "{bad}");
        }
        std::os::unix::fs::symlink(tmp.path(), root.join("out")).unwrap();
        assert!(ws.read_file("out/secret").unwrap_err().contains("outside"));
        assert!(
            ws.write_file("out/new", b"x")
                .unwrap_err()
                .contains("outside")
        );
        assert!(!tmp.path().join("new").exists());
    }
}
