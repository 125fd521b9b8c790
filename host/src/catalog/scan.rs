//! Finding catalog files: a file, every file of the catalog's name under a folder, or the
//! files a glob matches. Paths are judged by where they really lead: a link is followed only
//! when it resolves inside the catalog's folders, and a link leading out, a link loop or a
//! folder that cannot be read is a problem naming its path, while the rest of the scan goes on.

use std::path::{Component, Path, PathBuf};

use glob::{MatchOptions, Pattern};

use crate::support::walk::Walk;
pub use crate::support::walk::{Folders, Found};

/// The catalog's folders (trusted locations' folders, registration roots), links resolved.
pub fn folders(paths: impl IntoIterator<Item = PathBuf>) -> Folders {
    Folders::new("the catalog's folders", paths)
}

/// Whether a pattern has glob syntax.
fn is_glob(target: &Path) -> bool {
    target.to_string_lossy().contains(['*', '?', '['])
}

/// The folder a target stands in: a folder itself, a glob's leading part without wildcards,
/// or a file's folder.
pub fn folder_of(target: &Path) -> PathBuf {
    if is_glob(target) {
        return target
            .components()
            .take_while(|c| !is_glob(Path::new(c.as_os_str())))
            .collect();
    }
    if target.is_dir() {
        return target.to_path_buf();
    }
    target.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Why a target gave no files at all.
#[derive(Debug)]
pub enum Unscanned {
    /// It does not exist (fine for an optional target).
    Missing(String),
    /// It leads outside the catalog's folders, or is not a valid pattern.
    Refused(String),
}

impl std::fmt::Display for Unscanned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Missing(m) | Self::Refused(m) => f.write_str(m),
        }
    }
}

/// The catalog files a target stands for: the file itself, every file called `file_name`
/// under a folder (hidden folders skipped), or the files a glob matches.
pub fn scan(target: &Path, file_name: &str, folders: &Folders) -> Result<Found, Unscanned> {
    if is_glob(target) {
        let text = target.to_string_lossy();
        let pattern = Pattern::new(&text)
            .map_err(|e| Unscanned::Refused(format!("bad glob pattern '{text}': {e}")))?;
        let base = folder_of(target);
        if !base.exists() {
            return Ok(Found::default());
        }
        folders.resolve(&base).map_err(Unscanned::Refused)?;
        // `*` stays within one folder, as when the pattern is expanded folder by folder.
        let options = MatchOptions {
            require_literal_separator: true,
            ..MatchOptions::new()
        };
        let below: Vec<Component> = target
            .components()
            .skip(base.components().count())
            .collect();
        let depth = if below.iter().any(|c| c.as_os_str() == "**") {
            usize::MAX
        } else {
            below.len()
        };
        let walk = Walk {
            folders,
            wanted: &|path: &Path| pattern.matches_path_with(path, options),
            max_depth: depth,
            skip_hidden: false,
        };
        return Ok(walk.run(&base));
    }
    if let Err(e) = std::fs::symlink_metadata(target) {
        return Err(Unscanned::Missing(format!(
            "cannot read {}: {e}",
            target.display()
        )));
    }
    let real = folders.resolve(target).map_err(Unscanned::Refused)?;
    // Anything but a folder is read as a file, so a pipe or device gets its error there.
    if !real.is_dir() {
        return Ok(Found {
            files: vec![target.to_path_buf()],
            problems: Vec::new(),
        });
    }
    let walk = Walk {
        folders,
        wanted: &|path: &Path| path.file_name().is_some_and(|n| n == file_name),
        max_depth: usize::MAX,
        skip_hidden: true,
    };
    Ok(walk.run(target))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn tree(root: &Path, files: &[&str]) {
        for path in files {
            std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            std::fs::write(root.join(path), "").unwrap();
        }
    }

    #[test]
    fn folders_are_scanned_for_the_file_name_and_globs_expand() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        tree(
            &root,
            &[
                "a/catalog-info.yaml",
                "b/c/catalog-info.yaml",
                ".git/catalog-info.yaml",
                "a/other.yaml",
                "a/deeper/x.yaml",
            ],
        );
        let folders = folders([root.clone()]);
        let found = scan(&root, "catalog-info.yaml", &folders).unwrap();
        assert_eq!(
            found.files,
            [
                root.join("a/catalog-info.yaml"),
                root.join("b/c/catalog-info.yaml")
            ]
        );
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        // `*` stays in its folder; `**` goes down any number.
        let files = |pattern: &str| scan(&root.join(pattern), "x", &folders).unwrap().files;
        assert_eq!(
            files("a/*.yaml"),
            [root.join("a/catalog-info.yaml"), root.join("a/other.yaml")]
        );
        assert_eq!(files("*/catalog-info.yaml").len(), 2, "a and .git");
        assert_eq!(files("a/**/*.yaml").len(), 3);
        assert!(files("nowhere/*.yaml").is_empty());
        assert!(matches!(
            scan(&root.join("missing"), "x", &folders),
            Err(Unscanned::Missing(m)) if m.contains("cannot read")
        ));
    }

    #[test]
    fn links_are_followed_inside_the_folders_and_named_when_they_lead_out_or_loop() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let root = base.join("root");
        tree(
            &root,
            &["real/catalog-info.yaml", "other/catalog-info.yaml"],
        );
        tree(&base, &["outside/catalog-info.yaml", "outside/secret.yaml"]);
        symlink(root.join("real"), root.join("alias")).unwrap();
        symlink(base.join("outside"), root.join("escape")).unwrap();
        symlink(
            base.join("outside/secret.yaml"),
            root.join("other/catalog-info.yaml.bak"),
        )
        .unwrap();
        symlink(&root, root.join("other/up")).unwrap();
        symlink("self", root.join("self")).unwrap();
        let folders = folders([root.clone()]);

        let found = scan(&root, "catalog-info.yaml", &folders).unwrap();
        // `alias` and `real` are the same folder: whichever comes first is read.
        assert_eq!(found.files.len(), 2, "{found:?}");
        assert!(found.files.contains(&root.join("other/catalog-info.yaml")));
        let problem = |path: &str| {
            found
                .problems
                .iter()
                .find(|(p, _)| *p == root.join(path))
                .map(|(_, m)| m.clone())
                .unwrap_or_else(|| panic!("no problem for {path}: {found:?}"))
        };
        assert!(problem("escape").contains("outside the catalog's folders"));
        assert!(problem("other/up").contains("already reached"));
        assert!(problem("self").contains("symbolic links"));
        // A link not named like a catalog file is no one's business.
        assert!(
            !found
                .problems
                .iter()
                .any(|(p, _)| p.ends_with("catalog-info.yaml.bak"))
        );

        // A glob through a link leading out reads nothing there.
        let found = scan(&root.join("escape/*.yaml"), "x", &folders);
        assert!(matches!(found, Err(Unscanned::Refused(m)) if m.contains("leads to")));
        let found = scan(&root.join("*/*.yaml"), "x", &folders).unwrap();
        assert!(
            found
                .files
                .iter()
                .all(|f| !f.starts_with(root.join("escape"))),
            "{found:?}"
        );
        assert!(
            found
                .problems
                .iter()
                .any(|(p, _)| *p == root.join("escape"))
        );
        // A file target through a link out, or a path outside, is refused.
        for outside in [
            root.join("escape/catalog-info.yaml"),
            PathBuf::from("/etc/passwd"),
        ] {
            assert!(matches!(
                scan(&outside, "x", &folders),
                Err(Unscanned::Refused(_))
            ));
        }
    }

    #[test]
    fn an_unreadable_folder_is_a_problem_and_its_siblings_are_read() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        tree(&root, &["open/catalog-info.yaml", "shut/catalog-info.yaml"]);
        let mode = |path: &Path, mode| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
        };
        mode(&root, 0o755);
        mode(&root.join("shut"), 0);
        // Permissions do not stop root: scan as `nobody` (the file-system user is per thread,
        // and leaving 0 drops the thread's power to bypass permissions).
        let scanned = {
            let root = root.clone();
            std::thread::spawn(move || {
                // SAFETY: changes only this thread's file-system user id.
                unsafe { libc::setfsuid(65534) };
                scan(&root, "catalog-info.yaml", &folders([root.clone()])).unwrap()
            })
            .join()
            .unwrap()
        };
        mode(&root.join("shut"), 0o755);
        assert_eq!(scanned.files, [root.join("open/catalog-info.yaml")]);
        assert_eq!(scanned.problems.len(), 1, "{scanned:?}");
        assert_eq!(scanned.problems[0].0, root.join("shut"));
        assert!(scanned.problems[0].1.contains("cannot read this folder"));
    }
}
