//! A site's files and navigation, by MkDocs' rules: which files are pages, their URLs, the
//! explicit `nav` (sections, external links, titles) or, without one, the implicit order
//! (`index`/`README` first, files before folders, byte order, folder names as titles).

use std::collections::BTreeMap;

use serde_json::Value;

/// One file of the docs folder.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteFile {
    /// Relative to the docs folder, `/`-separated.
    pub src: String,
    /// Where it is served, relative to the site root: `guides/setup/` for a page with
    /// directory URLs, `img/logo.png` for an asset.
    pub url: String,
    /// The file it is built to: `guides/setup/index.html`, `img/logo.png`.
    pub dest: String,
    pub is_page: bool,
}

/// An entry of the navigation.
#[derive(Debug, Clone, PartialEq)]
pub enum NavItem {
    /// A page by its source path; the title is the nav's, else worked out from the page.
    Page {
        src: String,
        title: Option<String>,
    },
    Section {
        title: String,
        children: Vec<NavItem>,
    },
    Link {
        title: String,
        url: String,
    },
}

/// The files of a docs folder given its relative paths (in any order), as MkDocs sees them:
/// markdown files are pages, `README.md` stands for `index.md` unless both exist. Returns
/// them sorted the way MkDocs walks a folder, with warnings.
pub fn files(paths: Vec<String>, use_directory_urls: bool) -> (Vec<SiteFile>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut paths: Vec<String> = paths;
    paths.sort_by(|a, b| walk_key(a).cmp(&walk_key(b)));
    let all: std::collections::HashSet<String> = paths.iter().cloned().collect();
    let mut out = Vec::new();
    for src in paths {
        let is_page = src.ends_with(".md") || src.ends_with(".markdown");
        let (folder, name) = match src.rsplit_once('/') {
            Some((folder, name)) => (format!("{folder}/"), name),
            None => (String::new(), src.as_str()),
        };
        let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
        if is_page && stem == "README" && all.contains(&format!("{folder}index.md")) {
            warnings.push(format!(
                "{src} is left out: it conflicts with {folder}index.md"
            ));
            continue;
        }
        let (url, dest) = if !is_page {
            (src.clone(), src.clone())
        } else if stem == "index" || stem == "README" {
            let url = if folder.is_empty() {
                "./".to_string()
            } else {
                folder.clone()
            };
            (
                if use_directory_urls {
                    url
                } else {
                    format!("{folder}index.html")
                },
                format!("{folder}index.html"),
            )
        } else if use_directory_urls {
            (
                format!("{folder}{stem}/"),
                format!("{folder}{stem}/index.html"),
            )
        } else {
            (
                format!("{folder}{stem}.html"),
                format!("{folder}{stem}.html"),
            )
        };
        out.push(SiteFile {
            src,
            url,
            dest,
            is_page,
        });
    }
    (out, warnings)
}

/// MkDocs walks folders top down, sorted: in each folder `index`/`README` first, then the
/// other files by name (byte order), then its subfolders in order.
fn walk_key(path: &str) -> Vec<(u8, &str)> {
    let parts: Vec<&str> = path.split('/').collect();
    let (name, folders) = parts.split_last().expect("split gives one part at least");
    let stem = name.rsplit_once('.').map_or(*name, |(stem, _)| stem);
    let mut key: Vec<(u8, &str)> = folders.iter().map(|f| (2, *f)).collect();
    key.push((u8::from(!matches!(stem, "index" | "README")), name));
    key
}

/// The navigation: `nav` from the configuration, or MkDocs' implicit one from the pages.
/// Entries naming files that do not exist become links, with a warning, as in MkDocs.
pub fn navigation(
    nav: Option<&[Value]>,
    files: &[SiteFile],
    warnings: &mut Vec<String>,
) -> Vec<NavItem> {
    match nav {
        Some(entries) => explicit(entries, files, warnings),
        None => implicit(files),
    }
}

fn explicit(entries: &[Value], files: &[SiteFile], warnings: &mut Vec<String>) -> Vec<NavItem> {
    let mut out = Vec::new();
    for entry in entries {
        match entry {
            Value::String(target) => out.push(item(None, target, files, warnings)),
            Value::Object(map) => {
                for (title, value) in map {
                    match value {
                        Value::String(target) => {
                            out.push(item(Some(title.clone()), target, files, warnings))
                        }
                        Value::Array(children) => out.push(NavItem::Section {
                            title: title.clone(),
                            children: explicit(children, files, warnings),
                        }),
                        other => warnings.push(format!(
                            "mkdocs.yml: nav entry '{title}' must name a page or hold a list, not {other}"
                        )),
                    }
                }
            }
            other => warnings.push(format!("mkdocs.yml: nav entry {other} is not understood")),
        }
    }
    out
}

fn item(
    title: Option<String>,
    target: &str,
    files: &[SiteFile],
    warnings: &mut Vec<String>,
) -> NavItem {
    let lookup = target.trim_start_matches('/');
    if files.iter().any(|f| f.is_page && f.src == lookup) {
        return NavItem::Page {
            src: lookup.to_string(),
            title,
        };
    }
    let external =
        target.contains("://") || target.starts_with('/') || target.starts_with("mailto:");
    if !external {
        warnings.push(format!(
            "mkdocs.yml: nav names '{target}', which is not among the documentation files"
        ));
    }
    NavItem::Link {
        title: title.unwrap_or_else(|| target.to_string()),
        url: target.to_string(),
    }
}

/// Pages nested by folder, folders titled from their names, in walk order.
fn implicit(files: &[SiteFile]) -> Vec<NavItem> {
    #[derive(Default)]
    struct Folder {
        items: Vec<Entry>,
    }
    enum Entry {
        Page(String),
        Folder(String, Folder),
    }
    let mut root = Folder::default();
    for file in files.iter().filter(|f| f.is_page) {
        let mut folder = &mut root;
        let parts: Vec<&str> = file.src.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            let title = folder_title(part);
            let at = folder
                .items
                .iter()
                .position(|e| matches!(e, Entry::Folder(t, _) if *t == title));
            let at = at.unwrap_or_else(|| {
                folder.items.push(Entry::Folder(title, Folder::default()));
                folder.items.len() - 1
            });
            let Entry::Folder(_, inner) = &mut folder.items[at] else {
                unreachable!("the position found a folder")
            };
            folder = inner;
        }
        folder.items.push(Entry::Page(file.src.clone()));
    }
    fn convert(folder: Folder) -> Vec<NavItem> {
        folder
            .items
            .into_iter()
            .map(|entry| match entry {
                Entry::Page(src) => NavItem::Page { src, title: None },
                Entry::Folder(title, inner) => NavItem::Section {
                    title,
                    children: convert(inner),
                },
            })
            .collect()
    }
    convert(root)
}

/// MkDocs' title for a folder or file name: `-` and `_` become spaces, and an all-lowercase
/// name gets a capital first letter.
pub fn folder_title(name: &str) -> String {
    let title = name.replace(['-', '_'], " ");
    if title.to_lowercase() == title {
        let mut chars = title.chars();
        match chars.next() {
            // Python's capitalize() also lowercases the rest, which is lowercase already.
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => title,
        }
    } else {
        title
    }
}

/// The pages in reading order (the navigation's, then pages it leaves out are not in it).
pub fn reading_order(nav: &[NavItem]) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    fn walk<'a>(
        items: &'a [NavItem],
        out: &mut Vec<String>,
        seen: &mut std::collections::HashSet<&'a str>,
    ) {
        for item in items {
            match item {
                NavItem::Page { src, .. } if seen.insert(src) => out.push(src.clone()),
                NavItem::Section { children, .. } => walk(children, out, seen),
                _ => {}
            }
        }
    }
    walk(nav, &mut out, &mut seen);
    out
}

/// `url` relative to the page at `from` (both relative to the site root), as MkDocs writes
/// links: from `guides/intro/` to `guides/setup/` is `../setup/`.
pub fn relative_url(url: &str, from: &str) -> String {
    let from_dir: Vec<&str> = {
        let mut parts: Vec<&str> = from
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect();
        // A page served as a file (`a/b.html`) sits in its folder.
        if !from.ends_with('/') {
            parts.pop();
        }
        parts
    };
    let target: Vec<&str> = url
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let common = from_dir
        .iter()
        .zip(&target)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<&str> = vec![".."; from_dir.len() - common];
    parts.extend(&target[common..]);
    let mut relative = if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    };
    if url.ends_with('/') {
        relative.push('/');
    }
    relative
}

/// A path inside the docs folder for `link` (a relative link in the page at `src`), with
/// `.` and `..` folded; `None` when it climbs out.
pub fn resolve(src: &str, link: &str) -> Option<String> {
    let mut parts: Vec<&str> = src.split('/').collect();
    parts.pop();
    for part in link.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// The pages' sources by URL and the files by source, for lookups while building.
pub fn by_src(files: &[SiteFile]) -> BTreeMap<&str, &SiteFile> {
    files.iter().map(|f| (f.src.as_str(), f)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn srcs(paths: &[&str]) -> Vec<String> {
        paths.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn files_sort_and_get_urls_as_in_mkdocs() {
        let (files, warnings) = files(
            srcs(&[
                "z.md",
                "guides/b.md",
                "Alpha.md",
                "index.md",
                "README.md",
                "guides/README.md",
                "img/logo.png",
                "a_b.md",
            ]),
            true,
        );
        let order: Vec<(&str, &str)> = files
            .iter()
            .map(|f| (f.src.as_str(), f.url.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("index.md", "./"),
                ("Alpha.md", "Alpha/"),
                ("a_b.md", "a_b/"),
                ("z.md", "z/"),
                ("guides/README.md", "guides/"),
                ("guides/b.md", "guides/b/"),
                ("img/logo.png", "img/logo.png"),
            ]
        );
        assert_eq!(
            warnings,
            ["README.md is left out: it conflicts with index.md"]
        );
        let (flat, _) = super::files(srcs(&["a.md", "index.md"]), false);
        assert_eq!(flat[0].url, "index.html");
        assert_eq!(flat[1].url, "a.html");
    }

    #[test]
    fn the_implicit_nav_nests_folders_with_titles_and_explicit_entries_are_kept() {
        let (files, _) = files(
            srcs(&[
                "index.md",
                "my-guides/setup.md",
                "my-guides/index.md",
                "API_Docs/x.md",
                "b.md",
            ]),
            true,
        );
        let nav = navigation(None, &files, &mut Vec::new());
        assert_eq!(
            nav,
            [
                NavItem::Page {
                    src: "index.md".into(),
                    title: None
                },
                NavItem::Page {
                    src: "b.md".into(),
                    title: None
                },
                NavItem::Section {
                    title: "API Docs".into(),
                    children: vec![NavItem::Page {
                        src: "API_Docs/x.md".into(),
                        title: None
                    }],
                },
                NavItem::Section {
                    title: "My guides".into(),
                    children: vec![
                        NavItem::Page {
                            src: "my-guides/index.md".into(),
                            title: None
                        },
                        NavItem::Page {
                            src: "my-guides/setup.md".into(),
                            title: None
                        },
                    ],
                },
            ]
        );
        let mut warnings = Vec::new();
        let explicit = navigation(
            Some(&[
                json!("index.md"),
                json!({"Guides": [{"Setup": "my-guides/setup.md"}, {"Source": "https://git.example.com/x"}]}),
                json!({"Gone": "missing.md"}),
            ]),
            &files,
            &mut warnings,
        );
        assert_eq!(
            explicit[1],
            NavItem::Section {
                title: "Guides".into(),
                children: vec![
                    NavItem::Page {
                        src: "my-guides/setup.md".into(),
                        title: Some("Setup".into())
                    },
                    NavItem::Link {
                        title: "Source".into(),
                        url: "https://git.example.com/x".into()
                    },
                ],
            }
        );
        assert_eq!(
            explicit[2],
            NavItem::Link {
                title: "Gone".into(),
                url: "missing.md".into()
            }
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(reading_order(&explicit), ["index.md", "my-guides/setup.md"]);
    }

    #[test]
    fn relative_urls_are_written_as_mkdocs_writes_them() {
        assert_eq!(relative_url("guides/setup/", "guides/intro/"), "../setup/");
        assert_eq!(relative_url("guides/setup/", "./"), "guides/setup/");
        assert_eq!(relative_url("./", "guides/intro/"), "../../");
        assert_eq!(
            relative_url("img/a.png", "guides/intro/"),
            "../../img/a.png"
        );
        assert_eq!(relative_url("guides/a.html", "guides/b.html"), "a.html");
        assert_eq!(
            resolve("guides/intro.md", "../img/a.png").as_deref(),
            Some("img/a.png")
        );
        assert_eq!(resolve("intro.md", "../../etc/passwd"), None);
        assert_eq!(folder_title("api_v2-docs"), "Api v2 docs");
        assert_eq!(folder_title("HTTP-API"), "HTTP API");
    }
}
