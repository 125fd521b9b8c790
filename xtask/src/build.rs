//! Building every part: wasm plugins, the wasm frontend, the native host.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use greenroom_toolchain::command::{output, run};
use greenroom_toolchain::project::{self, Language, RUST_TARGET};
use greenroom_toolchain::{self as toolchain, Tools};

/// Where the built parts are.
pub struct Built {
    pub host_binary: PathBuf,
    pub plugins_dir: PathBuf,
    /// Plugins built only for tests (hostile ones among them).
    pub test_plugins_dir: PathBuf,
    pub ui_dir: PathBuf,
}

pub fn all(root: &Path) -> anyhow::Result<Built> {
    let (plugins_dir, test_plugins_dir) = plugins(root)?;
    let ui_dir = frontend(root)?;
    let host_binary = host(root)?;
    Ok(Built {
        host_binary,
        plugins_dir,
        test_plugins_dir,
        ui_dir,
    })
}

/// All wasm crates share this target folder, so std and common crates build once.
fn wasm_target_dir(root: &Path) -> PathBuf {
    root.join("target/wasm")
}

/// Builds every plugin and gathers the components in `target/plugins/` (first-party) and
/// `target/test-plugins/` (tests only). Rust plugins build together as the `plugins/` cargo
/// workspace; Python and JavaScript plugins one by one, the way `greenroom plugin build`
/// builds an author's project.
fn plugins(root: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let tools = tools(root);
    let cargo = toolchain::rust::wasm_cargo(RUST_TARGET, tools.install_system_packages)?;
    run(
        &mut cargo.build(&root.join("plugins"), RUST_TARGET, &wasm_target_dir(root)),
        "building plugins",
    )?;
    // First-party plugins go where the demo portal loads them; test plugins (hostile ones
    // included) go elsewhere so they are never served by accident.
    for (folder, out) in [
        ("plugins", "target/plugins"),
        ("plugins/testing", "target/test-plugins"),
    ] {
        let out = root.join(out);
        std::fs::create_dir_all(&out)?;
        for (project, language) in plugin_projects(&root.join(folder))? {
            let name = project::project_name(&project);
            let dest = out.join(format!("{name}.wasm"));
            if language == Language::Rust {
                let built = project::rust_artifact(&wasm_target_dir(root), &name);
                let mut wasm = std::fs::read(&built).with_context(|| {
                    format!("plugin {name} was not built at {}", built.display())
                })?;
                project::embed_manifest(&project, &mut wasm)?;
                std::fs::write(&dest, &wasm)?;
            } else if newer_than_sources(
                &dest,
                &[&project, &sdk_helpers(root, language), &root.join("wit")],
            ) {
                println!("plugin {name} ({}): up to date", language.name());
                continue;
            } else {
                let options = project::BuildOptions {
                    tools: tools.clone(),
                    work_dir: wasm_target_dir(root),
                    out: dest.clone(),
                };
                project::build(&project, &options)?;
            }
            let size = std::fs::metadata(&dest)?.len();
            println!("plugin {name} ({}): {size} bytes", language.name());
        }
    }
    Ok((
        root.join("target/plugins"),
        root.join("target/test-plugins"),
    ))
}

/// The language tools live in `target/tools`; xtask may install Debian packages.
pub fn tools(root: &Path) -> Tools {
    Tools {
        dir: root.join("target/tools"),
        install_system_packages: true,
    }
}

/// The folder of the helper module a Python or JavaScript plugin is built with.
fn sdk_helpers(root: &Path, language: Language) -> PathBuf {
    root.join("sdk").join(match language {
        Language::Python => "python",
        _ => "js",
    })
}

/// Whether `file` was written after every file under `sources` changed: Python and
/// JavaScript builds take seconds and have no incremental mode of their own.
fn newer_than_sources(file: &Path, sources: &[&Path]) -> bool {
    fn newest(dir: &Path) -> Option<std::time::SystemTime> {
        let mut latest = std::fs::metadata(dir).ok()?.modified().ok()?;
        for entry in std::fs::read_dir(dir).ok()?.flatten() {
            let path = entry.path();
            let modified = if path.is_dir() {
                if entry.file_name() == "target" || entry.file_name() == "node_modules" {
                    continue;
                }
                newest(&path)?
            } else {
                entry.metadata().ok()?.modified().ok()?
            };
            latest = latest.max(modified);
        }
        Some(latest)
    }
    let Some(built) = std::fs::metadata(file).and_then(|m| m.modified()).ok() else {
        return false;
    };
    sources
        .iter()
        .all(|dir| newest(dir).is_some_and(|changed| changed < built))
}

/// Every plugin project directly under `dir`, with its language.
fn plugin_projects(dir: &Path) -> anyhow::Result<Vec<(PathBuf, Language)>> {
    let mut projects: Vec<(PathBuf, Language)> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter_map(|path| Language::detect(&path).ok().map(|l| (path, l)))
        .collect();
    projects.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(projects)
}

/// Builds the Leptos app for wasm32-unknown-unknown, runs wasm-bindgen, and assembles
/// `frontend/dist/` (index.html, style.css, pkg/).
fn frontend(root: &Path) -> anyhow::Result<PathBuf> {
    const TARGET: &str = "wasm32-unknown-unknown";
    let frontend = root.join("frontend");
    let cargo = toolchain::rust::wasm_cargo(TARGET, true)?;
    run(
        &mut cargo.build(&frontend, TARGET, &wasm_target_dir(root)),
        "building the frontend",
    )?;
    let wasm = wasm_target_dir(root)
        .join(TARGET)
        .join("release/greenroom-frontend.wasm");
    let dist = frontend.join("dist");
    let _ = std::fs::remove_dir_all(&dist);
    std::fs::create_dir_all(&dist)?;
    run(
        Command::new(wasm_bindgen(root)?)
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(dist.join("pkg"))
            .arg(&wasm),
        "wasm-bindgen",
    )?;
    optimise(root, &dist.join("pkg/greenroom-frontend_bg.wasm"))?;
    for asset in ["index.html", "style.css"] {
        std::fs::copy(frontend.join(asset), dist.join(asset))
            .with_context(|| format!("copying frontend/{asset}"))?;
    }
    print_bundle_size(&dist.join("pkg"))?;
    Ok(dist)
}

/// binaryen's `wasm-opt` from npm: Debian's (version 108) writes modules that fail in the
/// browser.
const BINARYEN_VERSION: &str = "132.0.0";

/// Shrinks the UI's wasm with `wasm-opt -Oz` (to about a third: less to fetch and compile
/// before the first page shows). The result is cached by the input's hash, since the
/// optimiser takes tens of seconds and the input is unchanged on most builds.
fn optimise(root: &Path, wasm: &Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(wasm)?;
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hash::hash(&bytes, &mut hasher);
    let cache = wasm_target_dir(root).join("wasm-opt");
    let optimised = cache.join(format!("{:016x}.wasm", std::hash::Hasher::finish(&hasher)));
    if !optimised.is_file() {
        let binaryen = toolchain::npm::package(
            &tools(root).dir.join("binaryen"),
            "binaryen",
            BINARYEN_VERSION,
        )?;
        std::fs::create_dir_all(&cache)?;
        let partial = optimised.with_extension("partial");
        // The features rustc enables for wasm32-unknown-unknown.
        run(
            Command::new(binaryen.join("bin/wasm-opt"))
                .args([
                    "-Oz",
                    "--enable-bulk-memory",
                    "--enable-sign-ext",
                    "--enable-mutable-globals",
                    "--enable-nontrapping-float-to-int",
                    "--enable-reference-types",
                    "--enable-multivalue",
                    "-o",
                ])
                .arg(&partial)
                .arg(wasm),
            "wasm-opt",
        )?;
        std::fs::rename(&partial, &optimised)?;
    }
    std::fs::copy(&optimised, wasm)?;
    Ok(())
}

/// wasm-bindgen-cli at exactly the version in frontend/Cargo.lock, installed into
/// `target/tools` on first use.
fn wasm_bindgen(root: &Path) -> anyhow::Result<PathBuf> {
    let lock = std::fs::read_to_string(root.join("frontend/Cargo.lock"))
        .context("reading frontend/Cargo.lock")?;
    let version =
        locked_version(&lock, "wasm-bindgen").context("frontend/Cargo.lock has no wasm-bindgen")?;
    let tools = root.join("target/tools");
    let binary = tools.join("bin/wasm-bindgen");
    let installed = output(Command::new(&binary).arg("--version"));
    if installed.as_deref() != Some(&format!("wasm-bindgen {version}")) {
        println!(
            "installing wasm-bindgen-cli {version} into {}",
            tools.display()
        );
        // Without --locked: the CLI's own lock file pins crates the registry no longer has.
        run(
            toolchain::rust::host_cargo()
                .args(["install", &format!("wasm-bindgen-cli@{version}"), "--root"])
                .arg(&tools),
            "cargo install wasm-bindgen-cli",
        )?;
    }
    Ok(binary)
}

fn locked_version(lock: &str, package: &str) -> Option<String> {
    let marker = format!("name = \"{package}\"\nversion = \"");
    let start = lock.find(&marker)? + marker.len();
    Some(lock[start..].split('"').next()?.to_string())
}

/// The UI's download size, raw and gzipped, as a budget check.
fn print_bundle_size(pkg: &Path) -> anyhow::Result<()> {
    let (raw, gzipped) = bundle_size(pkg)?;
    println!("frontend bundle: {raw} bytes, {gzipped} bytes gzipped");
    Ok(())
}

/// Bytes of the UI's wasm and JS, raw and gzipped.
pub fn bundle_size(pkg: &Path) -> anyhow::Result<(u64, u64)> {
    let (mut raw, mut gzipped) = (0, 0);
    for entry in std::fs::read_dir(pkg)?.flatten() {
        raw += entry.metadata()?.len();
        gzipped += gzip_len(&entry.path());
    }
    Ok((raw, gzipped))
}

fn gzip_len(file: &Path) -> u64 {
    Command::new("gzip")
        .args(["-9", "-c"])
        .arg(file)
        .output()
        .map_or(0, |o| o.stdout.len() as u64)
}

/// The native host, release profile (shared with `cargo test --release`).
pub fn host(root: &Path) -> anyhow::Result<PathBuf> {
    run(
        toolchain::rust::host_cargo().current_dir(root).args([
            "build",
            "--release",
            "-p",
            "greenroom",
        ]),
        "building the host",
    )?;
    let binary = root.join("target/release/greenroom");
    if !binary.is_file() {
        bail!("the host binary is missing at {}", binary.display());
    }
    Ok(binary)
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_a_locked_version() {
        let lock = "[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            super::locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
    }
}
