//! A plugin project: which language it is written in, which world it targets, and building
//! it into a component with its manifest embedded.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

use crate::wasm_section::append_custom_section;
use crate::{Tools, contract, js, python, rust, stage};

/// Rust plugins build as wasip2 components directly.
pub const RUST_TARGET: &str = "wasm32-wasip2";

/// The manifest a project keeps beside its sources; the build embeds it in the component as
/// the `greenroom:manifest` custom section.
pub const MANIFEST: &str = "greenroom.toml";

/// A plugin's source language, told by its entry file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    Python,
    JavaScript,
}

impl Language {
    /// `Cargo.toml` → Rust, `app.py` → Python, `app.js` → JavaScript.
    pub fn detect(project: &Path) -> anyhow::Result<Self> {
        let candidates = [
            ("Cargo.toml", Self::Rust),
            ("app.py", Self::Python),
            ("app.js", Self::JavaScript),
        ];
        candidates
            .into_iter()
            .find(|(file, _)| project.join(file).is_file())
            .map(|(_, language)| language)
            .with_context(|| {
                format!(
                    "{} is not a plugin project: it has no Cargo.toml, app.py or app.js",
                    project.display()
                )
            })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Rust => "rust",
            Self::Python => "python",
            Self::JavaScript => "js",
        }
    }
}

/// The part of `greenroom.toml` the build reads; `[capabilities]` is the host's.
#[derive(Deserialize, Default)]
struct BuildSection {
    /// The world a Python or JavaScript plugin targets (Rust code names its own), or
    /// several that its own world includes, e.g. `["entity-tabs-plugin", "interactive"]`.
    world: Option<Worlds>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Worlds {
    One(String),
    Several(Vec<String>),
}

#[derive(Deserialize, Default)]
struct ManifestFile {
    #[serde(default)]
    build: BuildSection,
}

/// The rule for plugin ids, shared by the host (which refuses a plugin whose `meta.info` id
/// breaks it) and `plugin new`: lowercase letters and digits in words joined by single
/// `-`, at most 63 characters, so an id is safe as a file name, URL segment and log field.
pub fn check_plugin_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 63
        && id.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "id '{id}' must be lowercase letters and digits separated by single '-'"
        ))
    }
}

/// Where a build writes.
pub struct BuildOptions {
    pub tools: Tools,
    /// Intermediate files (cargo's target folder, staged sources).
    pub work_dir: PathBuf,
    /// The component to write.
    pub out: PathBuf,
}

impl BuildOptions {
    /// The defaults for a project built on its own: `$CARGO_TARGET_DIR` or
    /// `<project>/target` for intermediate files, the component at
    /// `<project>/target/<folder name>.wasm`.
    pub fn for_project(project: &Path) -> Self {
        // Absolute: tools run inside the project folder, so relative paths would move.
        let project = std::path::absolute(project).unwrap_or_else(|_| project.to_path_buf());
        let target = project.join("target");
        Self {
            tools: Tools::for_user(),
            out: target.join(format!("{}.wasm", project_name(&project))),
            work_dir: std::env::var_os("CARGO_TARGET_DIR")
                .and_then(|dir| std::path::absolute(dir).ok())
                .unwrap_or(target),
        }
    }
}

/// The project folder's name: the plugin's file name without `.wasm`.
pub fn project_name(project: &Path) -> String {
    std::fs::canonicalize(project)
        .ok()
        .as_deref()
        .unwrap_or(project)
        .file_name()
        .map_or_else(|| "plugin".into(), |n| n.to_string_lossy().into_owned())
}

/// Builds the project into `options.out`, with `greenroom.toml` (if any) embedded.
///
/// A Python or JavaScript project whose inputs have not changed since it was last built
/// into `options.out` (and whose component there is still the one that build wrote) is not
/// built again: componentize-py and componentize-js snapshot a pre-initialised interpreter
/// that has seen random numbers, clocks and file metadata, so two runs on the same
/// sources give different bytes, and a rebuild would look like a new plugin.
pub fn build(project: &Path, options: &BuildOptions) -> anyhow::Result<Language> {
    let project = &std::path::absolute(project)?;
    let language = Language::detect(project)?;
    let manifest = read_manifest(project)?;
    if let Some(dir) = options.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut stamp = None;
    match language {
        Language::Rust => build_rust(project, options)?,
        Language::Python | Language::JavaScript => {
            let worlds = worlds(project, manifest.as_deref())?;
            // The contract and helper module sit beside the sources the tool reads.
            let stage = options
                .work_dir
                .join("greenroom-stage")
                .join(project_name(project));
            let wit = stage.join("wit");
            let world = contract::write_wit_for(&wit, &worlds)?;
            let inputs = inputs_fingerprint(project, language, &world, manifest.as_deref(), &wit)?;
            let stamp_file = stage.join("built-from");
            if is_up_to_date(&stamp_file, &inputs, &options.out) {
                return Ok(language);
            }
            stamp = Some((stamp_file, inputs));
            let (tools, out) = (&options.tools, &options.out);
            match language {
                Language::Python => python::build(tools, project, &world, &wit, &stage, out)?,
                _ => js::build(tools, project, &world, &wit, &stage, out)?,
            }
        }
    }
    if let Some(text) = manifest {
        let mut wasm = std::fs::read(&options.out)?;
        append_custom_section(&mut wasm, "greenroom:manifest", text.as_bytes());
        std::fs::write(&options.out, wasm)?;
    }
    if let Some((file, inputs)) = stamp {
        let built = stage::fingerprint([std::fs::read(&options.out)?.as_slice()]);
        std::fs::write(file, format!("{inputs} {built}\n"))?;
    }
    Ok(language)
}

/// A fingerprint of what a Python or JavaScript build reads: this toolchain and the
/// componentize tool it runs, the world, the contract (as written to `wit`) and helper
/// module, the manifest and the project's files (as staged: without `target`,
/// `__pycache__` or hidden entries).
fn inputs_fingerprint(
    project: &Path,
    language: Language,
    world: &str,
    manifest: Option<&str>,
    wit: &Path,
) -> anyhow::Result<String> {
    let (tool, tool_override, sdk) = match language {
        Language::Python => (
            python::COMPONENTIZE_PY_VERSION,
            "GREENROOM_COMPONENTIZE_PY",
            contract::PYTHON_SDK,
        ),
        _ => (
            js::COMPONENTIZE_JS_VERSION,
            "GREENROOM_COMPONENTIZE_JS",
            contract::JS_SDK,
        ),
    };
    let mut parts: Vec<Vec<u8>> = vec![
        env!("CARGO_PKG_VERSION").into(),
        language.name().into(),
        tool.into(),
        std::env::var_os(tool_override)
            .unwrap_or_default()
            .to_string_lossy()
            .as_bytes()
            .to_vec(),
        world.into(),
        sdk.into(),
        manifest.unwrap_or_default().into(),
    ];
    parts.extend(stage::folder_parts(&[wit, project])?);
    Ok(stage::fingerprint(parts.iter().map(Vec::as_slice)))
}

/// Whether `stamp` records a build from `inputs` that wrote exactly what is now at `out`.
fn is_up_to_date(stamp: &Path, inputs: &str, out: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(stamp) else {
        return false;
    };
    let Some((recorded_inputs, recorded_out)) = text.trim().split_once(' ') else {
        return false;
    };
    recorded_inputs == inputs
        && std::fs::read(out)
            .is_ok_and(|wasm| stage::fingerprint([wasm.as_slice()]) == recorded_out)
}

/// The project's `greenroom.toml`, if it has one.
fn read_manifest(project: &Path) -> anyhow::Result<Option<String>> {
    let file = project.join(MANIFEST);
    match std::fs::read_to_string(&file) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).context(format!("reading {}", file.display())),
    }
}

/// The worlds named by `build.world` in the project's manifest, or the default.
fn worlds(project: &Path, manifest: Option<&str>) -> anyhow::Result<Vec<String>> {
    let file = project.join(MANIFEST);
    let parsed: ManifestFile = match manifest {
        Some(text) => toml::from_str(text)
            .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.message()))?,
        None => ManifestFile::default(),
    };
    let worlds = match parsed.build.world {
        None => vec![contract::DEFAULT_WORLD.to_string()],
        Some(Worlds::One(world)) => vec![world],
        Some(Worlds::Several(worlds)) => worlds,
    };
    let known = |world: &str| {
        contract::contribution_of(world).is_some()
            || (worlds.len() > 1 && contract::is_part_world(world))
    };
    if worlds.is_empty() || !worlds.iter().all(|w| known(w)) {
        let names: Vec<&str> = contract::WORLDS.iter().map(|(w, _)| *w).collect();
        bail!(
            "{}: build.world {worlds:?} is not one or several of {} (with {} beside another)",
            file.display(),
            names.join(", "),
            contract::part_world_names()
        );
    }
    Ok(worlds)
}

fn build_rust(project: &Path, options: &BuildOptions) -> anyhow::Result<()> {
    let cargo = rust::wasm_cargo(RUST_TARGET, options.tools.install_system_packages)?;
    crate::command::run(
        &mut cargo.build(project, RUST_TARGET, &options.work_dir),
        &format!("cargo build for {}", project.display()),
    )?;
    let built = rust_artifact(&options.work_dir, &crate_name(project)?);
    std::fs::copy(&built, &options.out)
        .with_context(|| format!("cargo did not produce {}", built.display()))?;
    Ok(())
}

/// Where cargo leaves a plugin crate's component.
pub fn rust_artifact(target_dir: &Path, crate_name: &str) -> PathBuf {
    target_dir
        .join(RUST_TARGET)
        .join("release")
        .join(format!("{}.wasm", crate_name.replace('-', "_")))
}

fn crate_name(project: &Path) -> anyhow::Result<String> {
    #[derive(Deserialize)]
    struct CargoToml {
        package: Package,
    }
    #[derive(Deserialize)]
    struct Package {
        name: String,
    }
    let file = project.join("Cargo.toml");
    let text = std::fs::read_to_string(&file)?;
    let parsed: CargoToml = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.message()))?;
    Ok(parsed.package.name)
}

/// Appends `greenroom.toml` from `project` (if any) to an already built component: for
/// plugins built together in one cargo workspace.
pub fn embed_manifest(project: &Path, wasm: &mut Vec<u8>) -> anyhow::Result<()> {
    if let Some(text) = read_manifest(project)? {
        append_custom_section(wasm, "greenroom:manifest", text.as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_language_by_entry_file() {
        let dir = std::env::temp_dir().join(format!("greenroom-detect-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let err = Language::detect(&dir).unwrap_err().to_string();
        assert!(err.contains("no Cargo.toml, app.py or app.js"), "{err}");
        std::fs::write(dir.join("app.js"), "").unwrap();
        assert_eq!(Language::detect(&dir).unwrap(), Language::JavaScript);
        std::fs::write(dir.join("app.py"), "").unwrap();
        assert_eq!(Language::detect(&dir).unwrap(), Language::Python);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
