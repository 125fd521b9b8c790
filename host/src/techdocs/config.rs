//! A site's `mkdocs.yml` (or `mkdocs.yaml`): the keys a TechDocs site relies on, read from
//! YAML that is size- and depth-checked first. Nothing in it is ever run: keys that would run
//! code (`hooks`, plugins other than techdocs-core, Python tags) are warned about and ignored.

use std::path::Path;

use serde_json::Value;

use crate::catalog::parse_yaml;
use crate::support::files::read_bounded;

/// Largest `mkdocs.yml` read.
const MAX_CONFIG_BYTES: u64 = 256 << 10;

/// Keys read below, and keys that only style or publish a site (nothing to honour here).
const KNOWN: &[&str] = &[
    "site_name",
    "site_description",
    "site_url",
    "site_author",
    "copyright",
    "docs_dir",
    "nav",
    "repo_url",
    "repo_name",
    "edit_uri",
    "use_directory_urls",
    "markdown_extensions",
    "plugins",
    "theme",
    "extra_css",
    "extra_javascript",
    "extra",
];

/// What a site's configuration says.
#[derive(Debug, Clone)]
pub struct Config {
    pub site_name: Option<String>,
    pub site_description: Option<String>,
    pub docs_dir: String,
    /// The `nav` entries as written, when given.
    pub nav: Option<Vec<Value>>,
    pub repo_url: Option<String>,
    /// Resolved against `repo_url`; `None` when pages have no edit link.
    pub edit_uri: Option<String>,
    pub use_directory_urls: bool,
    /// The text of heading permalinks (`toc`'s `permalink` option: techdocs-core turns them
    /// on, `¶`); `None` when turned off.
    pub permalink: Option<String>,
    /// Keys ignored, and why.
    pub warnings: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            site_name: None,
            site_description: None,
            docs_dir: "docs".into(),
            nav: None,
            repo_url: None,
            edit_uri: None,
            use_directory_urls: true,
            permalink: Some("¶".into()),
            warnings: Vec::new(),
        }
    }
}

/// The configuration in `site` (MkDocs' defaults when it has no `mkdocs.yml`); the error
/// names the file and says what is wrong.
pub fn read(site: &Path) -> Result<Config, String> {
    let Some(file) = ["mkdocs.yml", "mkdocs.yaml"]
        .iter()
        .map(|name| site.join(name))
        .find(|file| file.exists())
    else {
        return Ok(Config::default());
    };
    let name = file
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let bytes = read_bounded(&file, MAX_CONFIG_BYTES).map_err(|e| format!("{name} {e}"))?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{name} is not UTF-8 text"))?;
    let value = parse_yaml(&text).map_err(|e| format!("{name}: {e}"))?;
    let map = match value {
        Value::Object(map) => map,
        Value::Null => Default::default(),
        _ => return Err(format!("{name} must be a mapping of settings")),
    };
    let mut config = Config::default();
    let text = |key: &str, warnings: &mut Vec<String>| -> Option<String> {
        match map.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => {
                warnings.push(format!("{name}: {key} must be text, not {other}; ignored"));
                None
            }
        }
    };
    let mut warnings = Vec::new();
    config.site_name = text("site_name", &mut warnings);
    config.site_description = text("site_description", &mut warnings);
    if let Some(dir) = text("docs_dir", &mut warnings) {
        config.docs_dir = dir;
    }
    config.repo_url = text("repo_url", &mut warnings);
    let edit_uri = text("edit_uri", &mut warnings);
    match map.get("nav") {
        Some(Value::Array(items)) => config.nav = Some(items.clone()),
        None | Some(Value::Null) => {}
        Some(_) => warnings.push(format!("{name}: nav must be a list; ignored")),
    }
    match map.get("use_directory_urls") {
        Some(Value::Bool(b)) => config.use_directory_urls = *b,
        None | Some(Value::Null) => {}
        Some(other) => warnings.push(format!(
            "{name}: use_directory_urls must be true or false, not {other}; ignored"
        )),
    }
    if let Some(Value::Array(extensions)) = map.get("markdown_extensions") {
        let toc = extensions.iter().find_map(|e| e.get("toc"));
        match toc.and_then(|t| t.get("permalink")) {
            None => {}
            Some(Value::Bool(true)) => {}
            Some(Value::Bool(false)) => config.permalink = None,
            Some(Value::String(text)) => config.permalink = Some(text.clone()),
            Some(other) => warnings.push(format!(
                "{name}: toc permalink must be true, false or text, not {other}; ignored"
            )),
        }
    }
    for plugin in names(map.get("plugins")) {
        if !matches!(plugin.as_str(), "techdocs-core" | "search") {
            warnings.push(format!(
                "{name}: plugin '{plugin}' is not run (sites are built without Python)"
            ));
        }
    }
    for key in map.keys().filter(|k| !KNOWN.contains(&k.as_str())) {
        warnings.push(match key.as_str() {
            "hooks" => format!("{name}: hooks are never run"),
            _ => format!("{name}: '{key}' is not used"),
        });
    }
    config.edit_uri = edit_link_base(config.repo_url.as_deref(), edit_uri, &config.docs_dir);
    config.warnings = warnings;
    Ok(config)
}

/// The names in a list of extensions or plugins, each written as a name or as a mapping of
/// one name to its options.
fn names(list: Option<&Value>) -> Vec<String> {
    let Some(Value::Array(items)) = list else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match item {
            Value::String(name) => Some(name.clone()),
            Value::Object(map) => map.keys().next().cloned(),
            _ => None,
        })
        .collect()
}

/// Where a page's source is edited: `repo_url` joined with `edit_uri`, or MkDocs' default
/// for GitHub and GitLab (`edit/master/<docs_dir>/`) and Bitbucket (`src/default/<docs_dir>/`).
/// A full URL in `edit_uri` stands alone. Only http(s) links are kept.
fn edit_link_base(
    repo_url: Option<&str>,
    edit_uri: Option<String>,
    docs_dir: &str,
) -> Option<String> {
    let uri = match edit_uri {
        Some(uri) if uri.is_empty() => return None,
        Some(uri) => uri,
        None => {
            let repo = repo_url?;
            if repo.contains("github.com") || repo.contains("gitlab.com") {
                format!("edit/master/{docs_dir}/")
            } else if repo.contains("bitbucket.org") {
                format!("src/default/{docs_dir}/")
            } else {
                return None;
            }
        }
    };
    let joined = if uri.contains("://") {
        uri
    } else {
        let repo = repo_url?;
        let uri = uri.trim_start_matches('/');
        if uri.starts_with('?') || uri.starts_with('#') {
            format!("{}{uri}", repo.trim_end_matches('/'))
        } else {
            format!("{}/{uri}", repo.trim_end_matches('/'))
        }
    };
    let joined = if joined.ends_with('/') || joined.ends_with('=') {
        joined
    } else {
        format!("{joined}/")
    };
    (joined.starts_with("https://") || joined.starts_with("http://")).then_some(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Result<Config, String> {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("mkdocs.yml"), text).unwrap();
        read(tmp.path())
    }

    #[test]
    fn the_keys_that_matter_are_read_and_the_rest_warned_about() {
        let c = config(
            "site_name: Payments\nsite_description: How payments work\ndocs_dir: pages\n\
             repo_url: https://github.com/acme/payments\nuse_directory_urls: false\n\
             nav:\n  - index.md\nmarkdown_extensions:\n  - admonition\n  - toc:\n      permalink: true\n\
             plugins:\n  - techdocs-core\n  - macros\nhooks:\n  - evil.py\ntheme: material\n",
        )
        .unwrap();
        assert_eq!(c.site_name.as_deref(), Some("Payments"));
        assert_eq!(c.site_description.as_deref(), Some("How payments work"));
        assert_eq!(c.docs_dir, "pages");
        assert!(!c.use_directory_urls);
        assert_eq!(c.nav.unwrap().len(), 1);
        assert_eq!(c.permalink.as_deref(), Some("¶"));
        let hash = config("markdown_extensions:\n  - toc:\n      permalink: \"#\"\n").unwrap();
        assert_eq!(hash.permalink.as_deref(), Some("#"));
        let off = config("markdown_extensions:\n  - toc:\n      permalink: false\n").unwrap();
        assert_eq!(off.permalink, None);
        assert_eq!(
            c.edit_uri.as_deref(),
            Some("https://github.com/acme/payments/edit/master/pages/")
        );
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert!(
            c.warnings
                .iter()
                .any(|w| w.contains("plugin 'macros' is not run"))
        );
        assert!(c.warnings.iter().any(|w| w.contains("hooks are never run")));
    }

    #[test]
    fn no_file_gives_mkdocs_defaults_and_bad_files_name_themselves() {
        let tmp = tempfile::tempdir().unwrap();
        let c = read(tmp.path()).unwrap();
        assert_eq!(c.docs_dir, "docs");
        assert!(c.use_directory_urls && c.site_name.is_none());
        for (text, message) in [
            ("site_name: [unclosed\n", "mkdocs.yml: "),
            ("- a list\n", "must be a mapping"),
            (
                &format!("nav: {}{}\n", "[".repeat(10_000), "]".repeat(10_000)),
                "nested deeper",
            ),
        ] {
            let error = config(text).unwrap_err();
            assert!(error.contains(message), "{error}");
        }
        // Aliases that expand exponentially are refused, not expanded.
        let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..9 {
            let prev = (b'a' + level - 1) as char;
            let name = (b'a' + level) as char;
            laughs.push_str(&format!("{name}: &{name} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        laughs.push_str("site_name: *i\n");
        let error = config(&laughs).unwrap_err();
        assert!(error.contains("mkdocs.yml"), "{error}");
        let python = config("site_name: x\nnav: !!python/name:os.system\n").unwrap();
        assert!(python.nav.is_none());
    }
}
