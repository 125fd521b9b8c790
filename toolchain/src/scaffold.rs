//! `greenroom plugin new`: a ready-to-build plugin project in Rust, Python or JavaScript,
//! an entity tab that `greenroom plugin build` turns into a component as it stands.

use std::path::Path;

use anyhow::{Context, bail};

use crate::contract;
use crate::project::{Language, MANIFEST, check_plugin_id};

const MANIFEST_TEMPLATE: &str = include_str!("../templates/greenroom.toml");
const GITIGNORE: &str = include_str!("../templates/gitignore");
const RUST_FILES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../templates/rust/Cargo.toml")),
    ("src/lib.rs", include_str!("../templates/rust/src/lib.rs")),
];
const PYTHON_FILES: &[(&str, &str)] = &[("app.py", include_str!("../templates/python/app.py"))];
const JS_FILES: &[(&str, &str)] = &[("app.js", include_str!("../templates/js/app.js"))];

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
    rust_sdk: Option<&Path>,
) -> anyhow::Result<()> {
    check_id(id)?;
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    let files = match language {
        Language::Rust => RUST_FILES,
        Language::Python => PYTHON_FILES,
        Language::JavaScript => JS_FILES,
    };
    let sdk = match rust_sdk {
        Some(path) => path.display().to_string(),
        None => format!("{VENDORED_SDK}/{}", contract::RUST_SDK_CRATE),
    };
    let fill = |text: &str| text.replace("{{id}}", id).replace("{{sdk}}", &sdk);
    let all = files
        .iter()
        .copied()
        .chain([(MANIFEST, MANIFEST_TEMPLATE), (".gitignore", GITIGNORE)]);
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
        new_project(&dir, "hello-tab", Language::Rust, None).unwrap();
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
        let again = new_project(&dir, "hello-tab", Language::Rust, Some(Path::new("/sdk")));
        assert!(again.unwrap_err().to_string().contains("already exists"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
