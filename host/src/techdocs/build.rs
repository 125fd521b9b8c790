//! Building a site: its configuration, files, navigation and every page rendered, natively
//! and incrementally — a page whose file (and the site's set of files and configuration) did
//! not change keeps its rendering. Nothing outside the site folder is read: files are found
//! by a walk that follows links only where they really lead inside the site.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};

use super::config::{self, Config};
use super::markdown::{self, Heading, PageLinks, Sanitizer};
use super::nav::{self, NavItem, SiteFile};
use crate::support::files::read_bounded;
use crate::support::walk::{Folders, Walk};

/// Largest page read.
const MAX_PAGE_BYTES: u64 = 4 << 20;
/// Most files a site may have.
const MAX_FILES: usize = 10_000;

/// A page built.
#[derive(Debug, Clone)]
pub struct BuiltPage {
    pub title: String,
    pub html: String,
    pub headings: Vec<Heading>,
    /// The first level-1 heading, or the front matter's title (what the nav title falls
    /// back on).
    own_title: Option<String>,
    /// Size and modification time of its file when rendered.
    stamp: Stamp,
    /// The snippet files it looked for, with their stamps then (`None`: missing).
    snippet_stamps: Vec<(PathBuf, Option<Stamp>)>,
}

impl BuiltPage {
    fn snippets_unchanged(&self) -> bool {
        self.snippet_stamps
            .iter()
            .all(|(path, stamp)| Stamp::of(path) == *stamp)
    }
}

/// Where the reader shows a site file of URL `url` (`./setup/` → `setup/`).
pub fn reader_path(url: &str) -> String {
    url.strip_prefix("./").unwrap_or(url).to_string()
}

/// One section of a page: its heading's id and text (none for the page's opening) and its
/// text.
#[derive(Debug, PartialEq)]
pub struct Section {
    pub src: String,
    pub heading: Option<(String, String)>,
    pub text: String,
}

/// A site built.
#[derive(Debug, Clone)]
pub struct Built {
    /// The site folder (links resolved).
    pub root: PathBuf,
    pub docs_dir: PathBuf,
    pub config: Config,
    pub files: Vec<SiteFile>,
    pub nav: Vec<NavItem>,
    /// By source path.
    pub pages: BTreeMap<String, BuiltPage>,
    /// Problems that did not stop the build, each naming its file.
    pub warnings: Vec<String>,
    /// When it was built, in milliseconds since the epoch (Backstage's `build_timestamp`).
    pub build_timestamp: u64,
    /// Changes whenever any input does.
    pub etag: String,
    pub took: Duration,
    /// Pages rendered by this build (the rest were kept from the previous one).
    pub rendered: usize,
    /// What the build read: the configuration and every file, with their stamps.
    inputs: BTreeMap<String, Stamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: u128,
}

impl Stamp {
    fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Some(Self {
            len: meta.len(),
            modified,
        })
    }
}

impl Built {
    /// Whether the files on disk are still what this build read (a walk and a stat of each,
    /// and of the snippet files pages looked for).
    pub fn is_current(&self) -> bool {
        inputs(&self.root, &self.docs_dir).is_ok_and(|now| now == self.inputs)
            && self.pages.values().all(BuiltPage::snippets_unchanged)
    }

    /// A page by the path it is served at (`guides/setup/`, `guides/setup/index.html`,
    /// `guides/setup.md` or `` for the home page).
    pub fn page_at(&self, path: &str) -> Option<(&SiteFile, &BuiltPage)> {
        let path = path.trim_start_matches('/');
        let file = self.files.iter().filter(|f| f.is_page).find(|f| {
            f.src == path
                || f.dest == path
                || f.url == path
                || (f.url == "./" && path.is_empty())
                || f.url.trim_end_matches('/') == path
        })?;
        Some((file, self.pages.get(&file.src)?))
    }

    /// A page's markdown as written, read again from its file (inside the site).
    pub fn markdown_of(&self, src: &str) -> Result<String, String> {
        if !self.pages.contains_key(src) {
            return Err(format!("the docs site has no page '{src}'"));
        }
        let file = crate::support::paths::within(&self.root, &self.docs_dir.join(src))
            .map_err(|e| e.to_string())?;
        let bytes = read_bounded(&file, MAX_PAGE_BYTES).map_err(|e| format!("{src} {e}"))?;
        String::from_utf8(bytes).map_err(|_| format!("{src} is not UTF-8 text"))
    }

    /// Every page's source: the navigation's reading order, then the pages it leaves out.
    pub fn pages_in_order(&self) -> Vec<String> {
        let mut order = nav::reading_order(&self.nav);
        let listed: std::collections::HashSet<String> = order.iter().cloned().collect();
        order.extend(
            self.pages
                .keys()
                .filter(|src| !listed.contains(*src))
                .cloned(),
        );
        order
    }

    /// Every section of every page that has text (in reading order, then the rest): the
    /// text before the first heading below the title, then each heading's. What the portal's search
    /// index reads.
    pub fn sections(&self) -> Vec<Section> {
        static HEADING: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r#"<h[1-6] id="([^"]*)">"#).expect("a valid pattern")
        });
        let mut sections = Vec::new();
        for src in self.pages_in_order() {
            let Some(page) = self.pages.get(&src) else {
                continue;
            };
            let starts: Vec<(usize, &str)> = HEADING
                .captures_iter(&page.html)
                .filter_map(|c| Some((c.get(0)?.start(), c.get(1)?.as_str())))
                .collect();
            let mut bounds: Vec<(usize, Option<&str>)> = vec![(0, None)];
            bounds.extend(starts.iter().map(|(at, id)| (*at, Some(*id))));
            for (i, (start, id)) in bounds.iter().enumerate() {
                let end = bounds.get(i + 1).map_or(page.html.len(), |b| b.0);
                let heading = id.and_then(|id| {
                    let heading = page.headings.iter().find(|h| h.id == id)?;
                    (heading.level > 1).then(|| (id.to_string(), heading.text.clone()))
                });
                let text = plain_text(&page.html[*start..end]);
                if !text.is_empty() {
                    sections.push(Section {
                        src: src.clone(),
                        heading,
                        text,
                    });
                }
            }
        }
        sections
    }

    /// Where the reader shows a page: its URL within the site (`setup/install/`).
    pub fn reader_path(&self, src: &str) -> Option<String> {
        self.files
            .iter()
            .find(|f| f.src == src)
            .map(|f| reader_path(&f.url))
    }

    /// The title of a page: the nav's, else its own (front matter, first heading), else
    /// from its file name (`Home` for the home page), as MkDocs does.
    pub fn title_of(&self, src: &str) -> String {
        self.pages
            .get(src)
            .map_or_else(|| file_title(src), |p| p.title.clone())
    }
}

/// Builds the site at `root` (its folder, links resolved), reusing what `previous` rendered
/// where nothing it depends on changed, cleaning pages with `sanitizer`. The error says why there is no site at all.
pub fn build(
    root: &Path,
    previous: Option<&Built>,
    sanitizer: &Sanitizer,
) -> Result<Built, String> {
    let started = Instant::now();
    let config = config::read(root)?;
    let docs_dir = crate::support::paths::within(root, &root.join(&config.docs_dir))
        .map_err(|e| format!("docs_dir '{}': {e}", config.docs_dir))?;
    if !docs_dir.is_dir() {
        return Err(format!("docs_dir '{}' is not a folder", config.docs_dir));
    }
    let inputs = inputs(root, &docs_dir)?;
    let mut warnings = config.warnings.clone();
    let sources: Vec<String> = inputs
        .keys()
        .filter(|k| !k.starts_with('\0'))
        .cloned()
        .collect();
    let (files, file_warnings) = nav::files(sources, config.use_directory_urls);
    warnings.extend(file_warnings);
    let mut nav = nav::navigation(config.nav.as_deref(), &files, &mut warnings);
    // Pages are rendered again unless the site's shape (configuration, set of files) is the
    // previous build's and their own file is unchanged.
    let same_shape = previous.filter(|p| {
        p.config.docs_dir == config.docs_dir
            && p.files == files
            && p.inputs.get(CONFIG_KEY) == inputs.get(CONFIG_KEY)
    });
    let by_src = nav::by_src(&files);
    let mut pages = BTreeMap::new();
    let mut rendered = 0;
    for file in files.iter().filter(|f| f.is_page) {
        let stamp = inputs[&file.src];
        if let Some(kept) = same_shape
            .and_then(|p| p.pages.get(&file.src))
            .filter(|p| p.stamp == stamp && p.snippets_unchanged())
        {
            pages.insert(file.src.clone(), kept.clone());
            warnings.extend(kept_warnings(previous, &file.src));
            continue;
        }
        rendered += 1;
        let path = docs_dir.join(&file.src);
        let text = match read_bounded(&path, MAX_PAGE_BYTES)
            .map_err(|e| format!("{} {e}", file.src))
            .and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8 text", file.src))
            }) {
            Ok(text) => text,
            Err(message) => {
                warnings.push(message);
                String::new()
            }
        };
        let (front_title, body) = front_matter(&text, &file.src, &mut warnings);
        let mut snippets = Snippets {
            root,
            src: &file.src,
            warnings: &mut warnings,
            looked_for: Vec::new(),
        };
        let body = snippets.expand(body, 0);
        let snippet_stamps = snippets
            .looked_for
            .into_iter()
            .map(|path| {
                let stamp = Stamp::of(&path);
                (path, stamp)
            })
            .collect();
        let page = markdown::render_page(
            &body,
            &PageLinks {
                src: &file.src,
                url: &file.url,
                files: &by_src,
                permalink: config.permalink.as_deref(),
            },
            sanitizer,
            &mut warnings,
        );
        pages.insert(
            file.src.clone(),
            BuiltPage {
                title: String::new(),
                own_title: front_title.or(page.first_h1),
                html: page.html,
                headings: page.headings,
                stamp,
                snippet_stamps,
            },
        );
    }
    // Titles: the nav's, else the page's own, else the file name's.
    let nav_titles = nav_titles(&nav);
    for (src, page) in &mut pages {
        page.title = nav_titles
            .get(src.as_str())
            .cloned()
            .or_else(|| page.own_title.clone())
            .unwrap_or_else(|| file_title(src));
    }
    fill_titles(&mut nav, &pages);
    let etag = hex::encode(Sha256::digest(format!("{inputs:?}").as_bytes()));
    Ok(Built {
        root: root.to_path_buf(),
        docs_dir,
        config,
        files,
        nav,
        pages,
        warnings,
        build_timestamp: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        etag,
        took: started.elapsed(),
        rendered,
        inputs,
    })
}

/// The key the configuration file's stamp is kept under (no file is named so).
const CONFIG_KEY: &str = "\0mkdocs.yml";

/// The warnings the previous build gave for a page it rendered and this one keeps.
fn kept_warnings(previous: Option<&Built>, src: &str) -> Vec<String> {
    previous.map_or_else(Vec::new, |p| {
        p.warnings
            .iter()
            .filter(|w| w.starts_with(&format!("{src} ")))
            .cloned()
            .collect()
    })
}

/// Every file of the docs folder (relative, `/`-separated) and the configuration, with their
/// stamps. Hidden entries are skipped; links are followed only inside the site
/// (`support::walk`).
fn inputs(root: &Path, docs_dir: &Path) -> Result<BTreeMap<String, Stamp>, String> {
    let mut found = BTreeMap::new();
    for name in ["mkdocs.yml", "mkdocs.yaml"] {
        if let Some(stamp) = Stamp::of(&root.join(name)) {
            found.insert(CONFIG_KEY.to_string(), stamp);
        }
    }
    let site = Folders::new("the site folder", [root.to_path_buf()]);
    let walk = Walk {
        folders: &site,
        wanted: &|path| {
            !path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        },
        max_depth: usize::MAX,
        skip_hidden: true,
    };
    // Links leading out of the site, and loops, are left out (the walk names them).
    let listed = walk.run(docs_dir);
    if listed.files.len() > MAX_FILES {
        return Err(format!("the docs folder holds more than {MAX_FILES} files"));
    }
    for path in listed.files {
        if let (Ok(relative), Some(stamp)) = (path.strip_prefix(docs_dir), Stamp::of(&path)) {
            found.insert(relative.to_string_lossy().replace('\\', "/"), stamp);
        }
    }
    Ok(found)
}

/// A page's front matter (`---` YAML `---` at its start): its title, and the text after it.
fn front_matter<'a>(
    text: &'a str,
    src: &str,
    warnings: &mut Vec<String>,
) -> (Option<String>, &'a str) {
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        return (None, text);
    };
    let end = rest.match_indices('\n').map(|(at, _)| at + 1).find(|&at| {
        let line = rest[at..].lines().next().unwrap_or("");
        line.trim_end() == "---" || line.trim_end() == "..."
    });
    let Some(end) = end else { return (None, text) };
    let yaml = &rest[..end];
    let after = rest[end..].split_once('\n').map_or("", |(_, after)| after);
    match crate::catalog::parse_yaml(yaml) {
        Ok(meta) => (meta["title"].as_str().map(str::to_string), after),
        Err(e) => {
            warnings.push(format!("{src} front matter: {e}"));
            (None, after)
        }
    }
}

/// The text of some HTML: tags dropped, the entities the renderer writes decoded, spaces
/// folded.
fn plain_text(html: &str) -> String {
    static TAG: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"<[^>]*>").expect("a valid pattern"));
    let text = TAG.replace_all(html, " ");
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .replace('¶', "");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How deep snippets may include snippets.
const MAX_SNIPPET_DEPTH: usize = 4;
/// Largest snippet file.
const MAX_SNIPPET_BYTES: u64 = 1 << 20;

/// pymdownx.snippets: a line `--8<-- "path"` (or a block of paths between two `--8<--`
/// lines) is replaced by the file's text, read from the site folder (MkDocs' working folder)
/// and never outside it; `;--8<--` is left as written without the `;`. A missing or refused
/// file is a warning naming the page. The files looked for are noted, so a change to one
/// rebuilds the page.
struct Snippets<'a> {
    root: &'a Path,
    /// The page being built.
    src: &'a str,
    warnings: &'a mut Vec<String>,
    looked_for: Vec<PathBuf>,
}

impl Snippets<'_> {
    fn expand(&mut self, text: &str, depth: usize) -> String {
        if !text.contains("--8<--") {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut block: Option<String> = None;
        for line in text.lines() {
            let trimmed = line.trim();
            if let Some(indent) = &block {
                if trimmed == "--8<--" {
                    block = None;
                } else if !trimmed.is_empty() {
                    let indent = indent.clone();
                    out.push_str(&self.include(trimmed, &indent, depth));
                }
                continue;
            }
            let indent = &line[..line.len() - line.trim_start().len()];
            if trimmed == "--8<--" {
                block = Some(indent.to_string());
                continue;
            }
            if let Some(escaped) = trimmed.strip_prefix(";--8<--") {
                out.push_str(&format!("{indent}--8<--{escaped}\n"));
                continue;
            }
            match trimmed.strip_prefix("--8<-- ") {
                Some(target) => {
                    let target = target.trim().trim_matches(|c| c == '"' || c == '\'');
                    out.push_str(&self.include(target, indent, depth));
                }
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out
    }

    /// One snippet file's text, each line indented like the line that named it.
    fn include(&mut self, target: &str, indent: &str, depth: usize) -> String {
        let src = self.src;
        if depth >= MAX_SNIPPET_DEPTH {
            self.warnings.push(format!(
                "{src} snippet '{target}': snippets nest deeper than {MAX_SNIPPET_DEPTH}"
            ));
            return String::new();
        }
        let wanted = self.root.join(target);
        let text = crate::support::paths::within(self.root, &wanted)
            .map_err(|e| e.to_string())
            .and_then(|file| {
                self.looked_for.push(file.clone());
                read_bounded(&file, MAX_SNIPPET_BYTES)
            })
            .and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| "is not UTF-8 text".to_string())
            });
        match text {
            Ok(text) => {
                let nested = self.expand(&text, depth + 1);
                nested.lines().map(|l| format!("{indent}{l}\n")).collect()
            }
            Err(message) => {
                // A missing file inside the site may appear later: looked for again.
                let inside = Path::new(target).components().all(|c| {
                    matches!(
                        c,
                        std::path::Component::Normal(_) | std::path::Component::CurDir
                    )
                });
                if inside && !wanted.exists() {
                    self.looked_for.push(wanted);
                }
                self.warnings
                    .push(format!("{src} snippet '{target}': {message}"));
                String::new()
            }
        }
    }
}

/// The titles the nav gives pages, by source.
fn nav_titles(nav: &[NavItem]) -> BTreeMap<&str, String> {
    let mut out = BTreeMap::new();
    fn walk<'a>(items: &'a [NavItem], out: &mut BTreeMap<&'a str, String>) {
        for item in items {
            match item {
                NavItem::Page {
                    src,
                    title: Some(title),
                } => {
                    out.entry(src.as_str()).or_insert_with(|| title.clone());
                }
                NavItem::Section { children, .. } => walk(children, out),
                _ => {}
            }
        }
    }
    walk(nav, &mut out);
    out
}

/// Gives every page entry of the nav its page's title.
fn fill_titles(nav: &mut [NavItem], pages: &BTreeMap<String, BuiltPage>) {
    for item in nav {
        match item {
            NavItem::Page { src, title } if title.is_none() => {
                *title = Some(
                    pages
                        .get(src.as_str())
                        .map_or_else(|| file_title(src), |p| p.title.clone()),
                );
            }
            NavItem::Section { children, .. } => fill_titles(children, pages),
            _ => {}
        }
    }
}

/// MkDocs' title from a page's file name: `Home` for the home page, else the file's stem
/// turned into a title (`README` counting as `index`, so a folder's index is `Index`).
fn file_title(src: &str) -> String {
    let (folder, name) = src.rsplit_once('/').unwrap_or(("", src));
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let stem = if stem == "README" { "index" } else { stem };
    if stem == "index" && folder.is_empty() {
        return "Home".into();
    }
    nav::folder_title(stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    #[test]
    fn titles_come_from_nav_front_matter_heading_or_file_name() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        write(
            &root,
            &[
                (
                    "mkdocs.yml",
                    "site_name: S\nnav:\n  - index.md\n  - Named: named.md\n  - front.md\n  - heading.md\n  - getting_started.md\n  - Sub: [sub/index.md]\n",
                ),
                ("docs/index.md", "no heading\n"),
                ("docs/named.md", "# Ignored\n"),
                ("docs/front.md", "---\ntitle: From Front\n---\n# Heading\n"),
                ("docs/heading.md", "Intro\n\n## Second\n\n# First H1\n"),
                ("docs/getting_started.md", "text\n"),
                ("docs/sub/index.md", "text\n"),
            ],
        );
        let built = build(&root, None, &Sanitizer::default()).unwrap();
        let titles: Vec<String> = [
            "index.md",
            "named.md",
            "front.md",
            "heading.md",
            "getting_started.md",
            "sub/index.md",
        ]
        .iter()
        .map(|src| built.title_of(src))
        .collect();
        assert_eq!(
            titles,
            [
                "Home",
                "Named",
                "From Front",
                "First H1",
                "Getting started",
                "Index"
            ]
        );
        assert!(
            !built.pages["front.md"].html.contains("title:"),
            "front matter is not shown"
        );
        assert!(built.warnings.is_empty(), "{:?}", built.warnings);
    }

    #[test]
    fn an_unchanged_page_is_kept_and_a_changed_one_rendered_again() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        write(
            &root,
            &[
                ("docs/index.md", "# A\n"),
                ("docs/b.md", "# B\n[a](index.md)\n"),
            ],
        );
        let first = build(&root, None, &Sanitizer::default()).unwrap();
        assert_eq!(first.rendered, 2);
        assert!(first.is_current());
        // A different length, so the stamp changes even within the clock's resolution.
        std::fs::write(root.join("docs/b.md"), "# B, edited\n").unwrap();
        assert!(!first.is_current());
        let second = build(&root, Some(&first), &Sanitizer::default()).unwrap();
        assert_eq!(second.rendered, 1);
        assert_eq!(second.title_of("b.md"), "B, edited");
        assert_ne!(second.etag, first.etag);
        // A new file changes every page's links: all are rendered.
        write(&root, &[("docs/c.md", "# C\n")]);
        assert_eq!(
            build(&root, Some(&second), &Sanitizer::default())
                .unwrap()
                .rendered,
            3
        );
    }

    #[test]
    fn sections_follow_reading_order_with_their_headings() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        write(
            &root,
            &[
                ("mkdocs.yml", "nav:\n  - b.md\n  - a.md\n"),
                (
                    "docs/a.md",
                    "# Alpha\n\nNothing here.\n\n## Deploying\n\nUse the Pipeline & wait.\n",
                ),
                ("docs/b.md", "# Beta\n\nThe pipeline runs tests.\n"),
            ],
        );
        let built = build(&root, None, &Sanitizer::default()).unwrap();
        let section = |src: &str, heading: Option<(&str, &str)>, text: &str| Section {
            src: src.into(),
            heading: heading.map(|(id, text)| (id.into(), text.into())),
            text: text.into(),
        };
        assert_eq!(
            built.sections(),
            [
                section("b.md", None, "Beta The pipeline runs tests."),
                section("a.md", None, "Alpha Nothing here."),
                section(
                    "a.md",
                    Some(("deploying", "Deploying")),
                    "Deploying Use the Pipeline & wait."
                ),
            ]
        );
    }

    #[test]
    fn snippets_include_files_of_the_site_only() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let root = base.join("site");
        write(&base, &[("secret.txt", "SECRET\n")]);
        write(
            &root,
            &[
                (
                    "snippets/code.rs",
                    "fn main() {}\n--8<-- \"snippets/more.md\"\n",
                ),
                ("snippets/more.md", "// more\n"),
                (
                    "docs/index.md",
                    "# Home\n\n```rust\n--8<-- \"snippets/code.rs\"\n```\n\n;--8<-- \"kept\"\n\n--8<--\n../secret.txt\n/etc/passwd\nmissing.md\n--8<--\n",
                ),
            ],
        );
        let built = build(&root, None, &Sanitizer::default()).unwrap();
        let html = &built.pages["index.md"].html;
        assert!(html.contains("fn main() {}\n// more"), "{html}");
        assert!(html.contains("--8&lt;-- \"kept\""), "{html}");
        assert!(
            !html.contains("SECRET") && !html.contains("root:"),
            "{html}"
        );
        // A snippet file's change is a change of the page that includes it.
        assert!(built.is_current());
        write(&root, &[("snippets/more.md", "// changed more\n")]);
        assert!(!built.is_current());
        let again = build(&root, Some(&built), &Sanitizer::default()).unwrap();
        assert_eq!(again.rendered, 1);
        assert!(again.pages["index.md"].html.contains("// changed more"));
        write(&root, &[("missing.md", "now here\n")]);
        assert!(
            !again.is_current(),
            "a missing snippet that appears is a change"
        );
        let refused: Vec<&String> = built
            .warnings
            .iter()
            .filter(|w| w.contains("snippet"))
            .collect();
        assert_eq!(refused.len(), 3, "{:?}", built.warnings);
    }

    #[test]
    fn nothing_outside_the_site_is_read_and_bad_files_are_warnings() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let root = base.join("site");
        write(&base, &[("secret.md", "# Secret\n")]);
        write(
            &root,
            &[("docs/index.md", "# Home\n[s](../../secret.md)\n")],
        );
        std::os::unix::fs::symlink(base.join("secret.md"), root.join("docs/leak.md")).unwrap();
        std::os::unix::fs::symlink(&base, root.join("docs/up")).unwrap();
        std::fs::write(root.join("docs/binary.md"), [0xff, 0xfe, 0, 1]).unwrap();
        // 5 MiB without taking the disk.
        std::fs::File::create(root.join("docs/huge.md"))
            .unwrap()
            .set_len(5 << 20)
            .unwrap();
        let built = build(&root, None, &Sanitizer::default()).unwrap();
        let pages: Vec<&str> = built.pages.keys().map(String::as_str).collect();
        assert_eq!(pages, ["binary.md", "huge.md", "index.md"]);
        for warning in [
            "huge.md is 5.0 MiB; the limit is 4 MiB",
            "binary.md is not UTF-8 text",
            "index.md links to '../../secret.md'",
        ] {
            assert!(
                built.warnings.iter().any(|w| w.starts_with(warning)),
                "{warning} not in {:?}",
                built.warnings
            );
        }
        write(&root, &[("mkdocs.yml", "docs_dir: ../\n")]);
        assert!(
            build(&root, None, &Sanitizer::default())
                .unwrap_err()
                .contains("outside")
        );
        write(&root, &[("mkdocs.yml", "docs_dir: missing\n")]);
        assert!(
            build(&root, None, &Sanitizer::default())
                .unwrap_err()
                .contains("docs_dir 'missing'")
        );
    }
}
