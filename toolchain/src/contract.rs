//! The plugin contract this build of Greenroom serves, embedded so builds and new projects
//! use exactly it: the WIT files and the helper module each non-Rust language imports as
//! `greenroom` (Rust has the `greenroom-sdk` crate).

use std::path::Path;

/// The contract version, as in the WIT package `greenroom:plugin@VERSION`.
pub const VERSION: &str = "0.2.0";

/// The world a plugin targets when its `greenroom.toml` names none.
pub const DEFAULT_WORLD: &str = "entity-tabs-plugin";

/// The worlds a plugin may target, each with the contribution interface it exports.
pub const WORLDS: &[(&str, &str)] = &[
    ("entity-tabs-plugin", "entity-tabs"),
    ("entity-cards-plugin", "entity-cards"),
    ("pages-plugin", "pages"),
    ("http-plugin", "http-routes"),
    ("catalog-events-plugin", "catalog-events"),
    ("search-plugin", "search-documents"),
    ("scaffolder-plugin", "scaffolder-actions"),
    ("provider-plugin", "entity-provider"),
];

/// The contribution a world exports, or None for a name that is not a world.
pub fn contribution_of(world: &str) -> Option<&'static str> {
    WORLDS.iter().find(|(w, _)| *w == world).map(|(_, c)| *c)
}

/// Worlds a plugin's own world includes beside one of [`WORLDS`], never targeted alone.
const PART_WORLDS: &[(&str, &str)] = &[
    ("interactive", "interactions"),
    ("http-routes", "http-routes"),
    ("catalog-follower", "catalog-events"),
    ("search-source", "search-documents"),
];

/// Whether `world` is one a plugin's own world includes beside another (see [`PART_WORLDS`]).
pub fn is_part_world(world: &str) -> bool {
    PART_WORLDS.iter().any(|(w, _)| *w == world)
}

/// The worlds of [`PART_WORLDS`], quoted, for messages.
pub fn part_world_names() -> String {
    let quoted: Vec<String> = PART_WORLDS
        .iter()
        .map(|(w, _)| format!("\"{w}\""))
        .collect();
    quoted.join(", ")
}

/// The world that exports a contribution interface, or None for an unknown one.
pub fn world_of(contribution: &str) -> Option<&'static str> {
    WORLDS
        .iter()
        .chain(PART_WORLDS)
        .find(|(_, c)| *c == contribution)
        .map(|(w, _)| *w)
}

const WIT_FILES: &[(&str, &str)] = &[
    ("plugin.wit", include_str!("../../wit/v0.2.0/plugin.wit")),
    (
        "deps/cli/package.wit",
        include_str!("../../wit/v0.2.0/deps/cli/package.wit"),
    ),
    (
        "deps/clocks/package.wit",
        include_str!("../../wit/v0.2.0/deps/clocks/package.wit"),
    ),
    (
        "deps/filesystem/package.wit",
        include_str!("../../wit/v0.2.0/deps/filesystem/package.wit"),
    ),
    (
        "deps/http/package.wit",
        include_str!("../../wit/v0.2.0/deps/http/package.wit"),
    ),
    (
        "deps/io/package.wit",
        include_str!("../../wit/v0.2.0/deps/io/package.wit"),
    ),
    (
        "deps/random/package.wit",
        include_str!("../../wit/v0.2.0/deps/random/package.wit"),
    ),
    (
        "deps/sockets/package.wit",
        include_str!("../../wit/v0.2.0/deps/sockets/package.wit"),
    ),
];

/// The Python helper module (`import greenroom`).
pub const PYTHON_SDK: &str = include_str!("../../sdk/python/greenroom.py");

/// The JavaScript helper module (`import * as greenroom from './greenroom.js'`).
pub const JS_SDK: &str = include_str!("../../sdk/js/greenroom.js");

/// The Rust SDK as a new Rust project gets it (`greenroom/` in the project), so the project
/// builds on any machine: the SDK crate, the API crate it shares with the host (so portal
/// paths cannot drift), and the contract's WIT, laid out as in this repository so the paths
/// between them hold. Their manifests inherit from this workspace's; `standalone` fills that in.
const RUST_SDK_FILES: &[(&str, &str)] = &[
    ("sdk/Cargo.toml", include_str!("../../sdk/Cargo.toml")),
    ("sdk/src/lib.rs", include_str!("../../sdk/src/lib.rs")),
    ("sdk/src/entity.rs", include_str!("../../sdk/src/entity.rs")),
    ("sdk/src/http.rs", include_str!("../../sdk/src/http.rs")),
    ("sdk/src/routes.rs", include_str!("../../sdk/src/routes.rs")),
    (
        "sdk/src/tab_plugin.rs",
        include_str!("../../sdk/src/tab_plugin.rs"),
    ),
    ("sdk/src/ui.rs", include_str!("../../sdk/src/ui.rs")),
    ("api/Cargo.toml", include_str!("../../api/Cargo.toml")),
    ("api/src/lib.rs", include_str!("../../api/src/lib.rs")),
    ("api/src/docs.rs", include_str!("../../api/src/docs.rs")),
    ("api/src/entity.rs", include_str!("../../api/src/entity.rs")),
];

/// This repository's workspace manifest, whose `[workspace.package]` and
/// `[workspace.dependencies]` the SDK's manifests inherit.
const WORKSPACE_MANIFEST: &str = include_str!("../../Cargo.toml");

/// Where [`write_rust_sdk`] puts the SDK crate, relative to the folder it writes into.
pub const RUST_SDK_CRATE: &str = "sdk";

/// Writes the Rust SDK (see [`RUST_SDK_FILES`]) into `dir`.
pub fn write_rust_sdk(dir: &Path) -> anyhow::Result<()> {
    let workspace: toml::Table = WORKSPACE_MANIFEST.parse()?;
    for (path, text) in RUST_SDK_FILES {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().expect("SDK paths have a parent"))?;
        let text = if path.ends_with("Cargo.toml") {
            standalone(text, &workspace)?
        } else {
            text.to_string()
        };
        std::fs::write(&file, text)?;
    }
    write_wit(&dir.join("wit").join(format!("v{VERSION}")))
}

/// A member's manifest with every `workspace = true` replaced by the workspace's value.
fn standalone(manifest: &str, workspace: &toml::Table) -> anyhow::Result<String> {
    let inherited = |section: &str, key: &str| -> anyhow::Result<toml::Value> {
        workspace
            .get("workspace")
            .and_then(|w| w.get(section))
            .and_then(|s| s.get(key))
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("workspace.{section}.{key} is not set"))
    };
    let mut table: toml::Table = manifest.parse()?;
    for (section, from) in [("package", "package"), ("dependencies", "dependencies")] {
        let Some(entries) = table.get_mut(section).and_then(|s| s.as_table_mut()) else {
            continue;
        };
        for (key, value) in entries.iter_mut() {
            let inherits = value
                .as_table()
                .and_then(|t| t.get("workspace"))
                .and_then(toml::Value::as_bool)
                == Some(true);
            if inherits {
                *value = inherited(from, key)?;
            }
        }
    }
    Ok(toml::to_string(&table)?)
}

/// Writes the contract's WIT files (with their WASI dependencies) into `dir`.
pub fn write_wit(dir: &Path) -> anyhow::Result<()> {
    write_wit_for(dir, &[]).map(|_| ())
}

/// The world a plugin made of `worlds` targets: the one world itself, or for several a
/// world `plugin` that includes each, added to the contract as written into `dir` (the
/// contract's own files are never edited; this is the build's copy).
pub fn write_wit_for(dir: &Path, worlds: &[String]) -> anyhow::Result<String> {
    for (path, text) in WIT_FILES {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().expect("WIT paths have a parent"))?;
        let text = match (*path, worlds) {
            ("plugin.wit", [_, _, ..]) => {
                let includes: String = worlds
                    .iter()
                    .map(|w| format!("    include {w};\n"))
                    .collect();
                format!("{text}\n/// This plugin's own world.\nworld plugin {{\n{includes}}}\n")
            }
            _ => text.to_string(),
        };
        std::fs::write(&file, text)?;
    }
    Ok(match worlds {
        [one] => one.clone(),
        _ => "plugin".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_sdk_is_every_source_file_with_standalone_manifests() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for folder in ["sdk/src", "api/src"] {
            for entry in std::fs::read_dir(root.join(folder)).unwrap().flatten() {
                let path = format!("{folder}/{}", entry.file_name().to_string_lossy());
                // Written at the same path relative to `greenroom/` as here to the repository.
                let listed = RUST_SDK_FILES.iter().any(|(written, _)| *written == path);
                assert!(listed, "{path} is not written into new Rust projects");
            }
        }
        let dir = std::env::temp_dir().join(format!("greenroom-sdk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        write_rust_sdk(&dir).unwrap();
        for manifest in ["sdk/Cargo.toml", "api/Cargo.toml"] {
            let text = std::fs::read_to_string(dir.join(manifest)).unwrap();
            assert!(!text.contains("workspace"), "{manifest}:\n{text}");
            assert!(text.contains("edition = \"2024\""), "{manifest}:\n{text}");
        }
        let sdk = std::fs::read_to_string(dir.join("sdk/Cargo.toml")).unwrap();
        assert!(sdk.contains("path = \"../api\""), "{sdk}");
        assert!(dir.join("wit/v0.2.0/plugin.wit").is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
