//! `greenroom plugin new`: a ready-to-build plugin project in Rust, Python or JavaScript
//! that `greenroom plugin build` turns into a component as it stands: an entity tab, or an
//! interactive plugin (a card whose button counts in storage, a page, an HTTP route).

use std::path::Path;

use anyhow::{Context, bail};

use crate::contract;
use crate::project::{Language, MANIFEST, check_plugin_id};

const GITIGNORE: &str = include_str!("../templates/gitignore");
type Files = &'static [(&'static str, &'static str)];
const TAB_RUST: Files = &[
    ("Cargo.toml", include_str!("../templates/rust/Cargo.toml")),
    ("src/lib.rs", include_str!("../templates/rust/src/lib.rs")),
    (MANIFEST, include_str!("../templates/greenroom.toml")),
];
const TAB_PYTHON: Files = &[
    ("app.py", include_str!("../templates/python/app.py")),
    (MANIFEST, include_str!("../templates/greenroom.toml")),
];
const TAB_JS: Files = &[
    ("app.js", include_str!("../templates/js/app.js")),
    (MANIFEST, include_str!("../templates/greenroom.toml")),
];
const INTERACTIVE_MANIFEST: &str = include_str!("../templates/interactive/greenroom.toml");
const INTERACTIVE_RUST: Files = &[
    (
        "Cargo.toml",
        include_str!("../templates/interactive/rust/Cargo.toml"),
    ),
    (
        "src/lib.rs",
        include_str!("../templates/interactive/rust/src/lib.rs"),
    ),
    (MANIFEST, INTERACTIVE_MANIFEST),
];
const INTERACTIVE_PYTHON: Files = &[
    (
        "app.py",
        include_str!("../templates/interactive/python/app.py"),
    ),
    (MANIFEST, INTERACTIVE_MANIFEST),
];
const INTERACTIVE_JS: Files = &[
    ("app.js", include_str!("../templates/interactive/js/app.js")),
    (MANIFEST, INTERACTIVE_MANIFEST),
];

/// What a new project contributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// An entity tab for every Component.
    Tab,
    /// A card whose button counts visits in the plugin's storage, a page listing the counts
    /// and an HTTP route answering one.
    Interactive,
}

impl Template {
    /// `tab` or `interactive`.
    pub fn parse(name: &str) -> anyhow::Result<Self> {
        Ok(match name {
            "tab" => Self::Tab,
            "interactive" => Self::Interactive,
            other => bail!("unknown template '{other}': use tab or interactive"),
        })
    }

    fn files(self, language: Language) -> Files {
        match (self, language) {
            (Self::Tab, Language::Rust) => TAB_RUST,
            (Self::Tab, Language::Python) => TAB_PYTHON,
            (Self::Tab, Language::JavaScript) => TAB_JS,
            (Self::Interactive, Language::Rust) => INTERACTIVE_RUST,
            (Self::Interactive, Language::Python) => INTERACTIVE_PYTHON,
            (Self::Interactive, Language::JavaScript) => INTERACTIVE_JS,
        }
    }
}

impl Language {
    /// `rust`, `python` (or `py`), `js` (or `javascript`).
    pub fn parse(name: &str) -> anyhow::Result<Self> {
        Ok(match name {
            "rust" | "rs" => Self::Rust,
            "python" | "py" => Self::Python,
            "js" | "javascript" => Self::JavaScript,
            other => bail!("unknown language '{other}': use rust, python or js"),
        })
    }
}

/// Where a new Rust project keeps its copy of the SDK.
const VENDORED_SDK: &str = "greenroom";

/// Writes a new project for plugin `id` into `dir`, which must not exist yet. A Rust project
/// depends on the SDK crate at `rust_sdk` when given (an SDK checkout), else on a copy of the
/// SDK written into the project, so it builds on any machine.
pub fn new_project(
    dir: &Path,
    id: &str,
    language: Language,
    template: Template,
    rust_sdk: Option<&Path>,
) -> anyhow::Result<()> {
    check_id(id)?;
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    // The SDK crate, and the contract's WIT beside it (the SDK's own `../wit/vX`).
    let (sdk, wit) = match rust_sdk {
        Some(path) => (path.to_path_buf(), path.join("..")),
        None => {
            let vendored = Path::new(VENDORED_SDK);
            (
                vendored.join(contract::RUST_SDK_CRATE),
                vendored.to_path_buf(),
            )
        }
    };
    let wit = wit.join("wit").join(format!("v{}", contract::VERSION));
    let (sdk, wit) = (sdk.display().to_string(), wit.display().to_string());
    let fill = |text: &str| {
        text.replace("{{id}}", id)
            .replace("{{sdk}}", &sdk)
            .replace("{{wit}}", &wit)
    };
    let all = template
        .files(language)
        .iter()
        .copied()
        .chain([(".gitignore", GITIGNORE)]);
    for (path, text) in all {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().expect("project files have a parent"))?;
        std::fs::write(&file, fill(text)).with_context(|| format!("writing {}", file.display()))?;
    }
    if language == Language::Rust && rust_sdk.is_none() {
        contract::write_rust_sdk(&dir.join(VENDORED_SDK))
            .with_context(|| format!("writing the SDK into {}", dir.display()))?;
    }
    Ok(())
}

/// A new project's id also names its crate, which cannot start with a digit.
fn check_id(id: &str) -> anyhow::Result<()> {
    check_plugin_id(id).map_err(anyhow::Error::msg)?;
    if id.starts_with(|c: char| c.is_ascii_digit()) {
        bail!("plugin id '{id}' must start with a letter");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_ids_the_host_would_refuse() {
        for bad in [
            "",
            "Hello",
            "1st",
            "has space",
            "under_score",
            "double--dash",
        ] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
        assert!(check_id("ci-status2").is_ok());
    }

    #[test]
    fn writes_every_template_with_the_id_filled_in() {
        let dir = std::env::temp_dir().join(format!("greenroom-new-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        new_project(&dir, "hello-tab", Language::Rust, Template::Tab, None).unwrap();
        let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        // The SDK is in the project: no path of this machine.
        assert!(cargo.contains("name = \"hello-tab\""));
        assert!(
            cargo.contains("greenroom-sdk = { path = \"greenroom/sdk\" }"),
            "{cargo}"
        );
        assert!(dir.join("greenroom/sdk/src/lib.rs").is_file());
        // The SDK's docs tell authors to parse `spec` into their own structs.
        assert!(cargo.contains("serde = { version = \"1\", features = [\"derive\"] }"));
        assert!(dir.join("src/lib.rs").is_file() && dir.join(MANIFEST).is_file());
        let ignored = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
        assert!(ignored.contains("__pycache__/") && ignored.contains("target/"));
        let again = new_project(
            &dir,
            "hello-tab",
            Language::Rust,
            Template::Tab,
            Some(Path::new("/sdk")),
        );
        assert!(again.unwrap_err().to_string().contains("already exists"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_interactive_rust_project_binds_its_world_from_the_contract_beside_the_sdk() {
        let dir = std::env::temp_dir().join(format!("greenroom-new-ui-{}", std::process::id()));
        for (sdk, wit) in [
            (None, "\"greenroom/wit/v0.2.0\""),
            (
                Some(Path::new("/src/greenroom/sdk")),
                "\"/src/greenroom/sdk/../wit/v0.2.0\"",
            ),
        ] {
            let _ = std::fs::remove_dir_all(&dir);
            new_project(&dir, "visits", Language::Rust, Template::Interactive, sdk).unwrap();
            let code = std::fs::read_to_string(dir.join("src/lib.rs")).unwrap();
            assert!(code.contains(wit), "{code}");
            assert!(!code.contains("{{"), "every placeholder filled: {code}");
            let manifest = std::fs::read_to_string(dir.join(MANIFEST)).unwrap();
            assert!(manifest.contains("\"http-routes\""), "{manifest}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(Template::parse("wizard").is_err());
    }
}
