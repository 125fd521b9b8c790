//! Documentation sites of entities (`backstage.io/techdocs-ref: dir:<path>`, relative to the
//! entity's catalog file): the pages in navigation order, and each page as markdown and as
//! sanitized HTML. Every path stays inside the site's docs folder.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::catalog::MANAGED_BY_LOCATION;
use crate::support::paths;

pub const TECHDOCS_REF: &str = "backstage.io/techdocs-ref";

/// A page in the site's navigation.
#[derive(Debug, Clone, PartialEq)]
pub struct PageInfo {
    /// Relative to the docs folder, with `/` separators.
    pub path: String,
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct Page {
    pub path: String,
    pub title: String,
    pub markdown: String,
    pub html: String,
}

/// One entity's docs site.
pub struct Site {
    /// Canonical docs folder; nothing outside it is read.
    docs_dir: PathBuf,
    nav: Vec<PageInfo>,
}

/// The part of `mkdocs.yml` the site needs.
#[derive(Deserialize, Default)]
struct MkDocs {
    docs_dir: Option<String>,
    #[serde(default)]
    nav: Vec<serde_yaml::Value>,
}

impl Site {
    /// The site an entity's annotations point at. The site folder must lie inside the folder of
    /// the entity's catalog file.
    pub fn of(entity: &Value) -> Result<Self, String> {
        let annotations = &entity["metadata"]["annotations"];
        let reference = annotations[TECHDOCS_REF]
            .as_str()
            .ok_or_else(|| format!("the entity has no {TECHDOCS_REF} annotation"))?;
        let dir = reference.strip_prefix("dir:").ok_or_else(|| {
            format!("{TECHDOCS_REF} '{reference}': only dir:<path> sites are supported")
        })?;
        let catalog_file = annotations[MANAGED_BY_LOCATION]
            .as_str()
            .and_then(|l| l.strip_prefix("file:"))
            .ok_or_else(|| "the entity does not come from a catalog file".to_string())?;
        let base = Path::new(catalog_file)
            .parent()
            .and_then(|p| p.canonicalize().ok())
            .ok_or_else(|| format!("the folder of {catalog_file} cannot be read"))?;
        let site = paths::within(&base, &base.join(dir)).map_err(|e| format!("docs site: {e}"))?;
        let mkdocs: MkDocs = match std::fs::read_to_string(site.join("mkdocs.yml")) {
            Ok(text) => serde_yaml::from_str(&text).map_err(|e| format!("mkdocs.yml: {e}"))?,
            Err(_) => MkDocs::default(),
        };
        let docs_dir = paths::within(
            &site,
            &site.join(mkdocs.docs_dir.as_deref().unwrap_or("docs")),
        )
        .map_err(|e| format!("docs folder: {e}"))?;
        let nav = if mkdocs.nav.is_empty() {
            discovered(&docs_dir)
        } else {
            let mut nav = Vec::new();
            flatten_nav(&mkdocs.nav, &mut nav);
            nav
        };
        Ok(Self { docs_dir, nav })
    }

    pub fn pages(&self) -> &[PageInfo] {
        &self.nav
    }

    /// One page by its path in the docs folder.
    pub fn page(&self, path: &str) -> Result<Page, String> {
        if !path.ends_with(".md") {
            return Err(format!("'{path}' is not a markdown page"));
        }
        let file = paths::within(&self.docs_dir, &self.docs_dir.join(path))
            .map_err(|e| format!("page '{path}': {e}"))?;
        let markdown = std::fs::read_to_string(&file).map_err(|e| format!("page '{path}': {e}"))?;
        let title = self
            .nav
            .iter()
            .find(|p| p.path == path)
            .map(|p| p.title.clone())
            .unwrap_or_else(|| title_of(&markdown, path));
        Ok(Page {
            path: path.to_string(),
            title,
            html: super::markdown::to_safe_html(&markdown),
            markdown,
        })
    }
}

/// `nav:` entries are `- path.md`, `- Title: path.md` or `- Section: [entries...]`.
fn flatten_nav(entries: &[serde_yaml::Value], out: &mut Vec<PageInfo>) {
    for entry in entries {
        match entry {
            serde_yaml::Value::String(path) => out.push(PageInfo {
                path: path.clone(),
                title: stem(path),
            }),
            serde_yaml::Value::Mapping(map) => {
                for (title, target) in map {
                    match (title.as_str(), target) {
                        (Some(title), serde_yaml::Value::String(path)) if !path.contains("://") => {
                            out.push(PageInfo {
                                path: path.clone(),
                                title: title.to_string(),
                            })
                        }
                        (_, serde_yaml::Value::Sequence(children)) => flatten_nav(children, out),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
}

/// Without a nav: every markdown file, `index.md` first, then by path.
fn discovered(docs_dir: &Path) -> Vec<PageInfo> {
    let mut files = Vec::new();
    collect_markdown(docs_dir, docs_dir, &mut files);
    files.sort_by_key(|path| (path != "index.md", path.clone()));
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(docs_dir.join(&path)).unwrap_or_default();
            PageInfo {
                title: title_of(&text, &path),
                path,
            }
        })
        .collect()
}

fn collect_markdown(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect_markdown(root, &path, out);
        } else if kind.is_file()
            && path.extension().is_some_and(|e| e == "md")
            && let Ok(relative) = path.strip_prefix(root)
        {
            out.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The first `# ` heading, else the file name.
fn title_of(markdown: &str, path: &str) -> String {
    markdown
        .lines()
        .find_map(|line| line.strip_prefix("# "))
        .map(|t| t.trim().to_string())
        .unwrap_or_else(|| stem(path))
}

fn stem(path: &str) -> String {
    Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn site_fixture() -> (tempfile::TempDir, Value) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("svc/docs/guides")).unwrap();
        std::fs::write(root.join("svc/catalog-info.yaml"), "").unwrap();
        std::fs::write(
            root.join("svc/mkdocs.yml"),
            "site_name: svc\nnav:\n  - Home: index.md\n  - Guides:\n      - Setup: guides/setup.md\n",
        )
        .unwrap();
        std::fs::write(
            root.join("svc/docs/index.md"),
            "# Welcome\n<script>x</script>hi",
        )
        .unwrap();
        std::fs::write(root.join("svc/docs/guides/setup.md"), "# Set up\nsteps").unwrap();
        std::fs::write(root.join("secret.md"), "# secret").unwrap();
        let entity = json!({"metadata": {"annotations": {
            TECHDOCS_REF: "dir:.",
            MANAGED_BY_LOCATION: format!("file:{}", root.join("svc/catalog-info.yaml").display()),
        }}});
        (tmp, entity)
    }

    #[test]
    fn pages_follow_the_mkdocs_nav_and_render_sanitized() {
        let (_tmp, entity) = site_fixture();
        let site = Site::of(&entity).unwrap();
        let titles: Vec<_> = site.pages().iter().map(|p| p.title.as_str()).collect();
        assert_eq!(titles, ["Home", "Setup"]);
        let page = site.page("guides/setup.md").unwrap();
        assert_eq!(page.title, "Setup");
        assert!(page.html.contains("<h1>Set up</h1>"), "{}", page.html);
        let index = site.page("index.md").unwrap();
        assert!(!index.html.contains("<script"), "{}", index.html);
    }

    #[test]
    fn paths_cannot_leave_the_docs_folder() {
        let (_tmp, mut entity) = site_fixture();
        let site = Site::of(&entity).unwrap();
        let err = site.page("../../secret.md").unwrap_err();
        assert!(err.contains("outside"), "{err}");
        entity["metadata"]["annotations"][TECHDOCS_REF] = json!("dir:..");
        let err = Site::of(&entity).err().unwrap();
        assert!(err.contains("outside"), "{err}");
        entity["metadata"]["annotations"][TECHDOCS_REF] = json!("url:https://x");
        assert!(Site::of(&entity).err().unwrap().contains("dir:"));
    }
}
