//! Building every part: wasm plugins, the wasm frontend, the native host.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use greenroom_toolchain::command::{output, run};
use greenroom_toolchain::project::{self, Language, RUST_TARGET};
use greenroom_toolchain::rust::WasmCargo;
use greenroom_toolchain::{self as toolchain, Tools};

use crate::steps::step;

/// Where the built parts are.
pub struct Built {
    pub host_binary: PathBuf,
    pub plugins_dir: PathBuf,
    /// Plugins built only for tests (hostile ones among them).
    pub test_plugins_dir: PathBuf,
    pub ui_dir: PathBuf,
}

/// Builds every part; with `tests`, the test binaries too. Three lanes run at once (the host;
/// the UI; the plugins), because each has long single-threaded stretches (the UI's
/// whole-program optimisation, a crate's last codegen unit, a link, a componentize run) that
/// the others fill. The wasm builds have target folders of their own, so no lane waits for
/// another's cargo lock.
pub fn all(root: &Path, tests: bool) -> anyhow::Result<Built> {
    // Before the lanes: the wasm toolchain may need Debian packages, and apt installs one
    // set at a time.
    let (plugin_cargo, ui_cargo) = step("wasm toolchain", || {
        let install = tools(root).install_system_packages;
        Ok((
            toolchain::rust::wasm_cargo(RUST_TARGET, install)?,
            toolchain::rust::wasm_cargo(UI_TARGET, install)?,
        ))
    })?;
    std::thread::scope(|lanes| {
        let host = lanes.spawn(|| host(root, tests));
        let ui = lanes.spawn(|| frontend(root, &ui_cargo));
        let plugins = plugins(root, &plugin_cargo);
        let ui_dir = ui.join().expect("the UI lane does not panic")?;
        let host_binary = host.join().expect("the host lane does not panic")?;
        let (plugins_dir, test_plugins_dir) = plugins?;
        Ok(Built {
            host_binary,
            plugins_dir,
            test_plugins_dir,
            ui_dir,
        })
    })
}

/// The plugins' target folder: every Rust plugin, and authors' projects built by the tests,
/// share it, so std and common crates build once.
fn wasm_target_dir(root: &Path) -> PathBuf {
    root.join("target/wasm")
}

/// The UI's own target folder (another target triple, so it shares nothing with the
/// plugins' folder but its lock).
fn ui_target_dir(root: &Path) -> PathBuf {
    root.join("target/wasm-ui")
}

/// Builds every plugin and gathers the components in `target/plugins/` (first-party) and
/// `target/test-plugins/` (tests only). Rust plugins build together as the `plugins/` cargo
/// workspace; Python and JavaScript plugins one by one, the way `greenroom plugin build`
/// builds an author's project.
fn plugins(root: &Path, cargo: &WasmCargo) -> anyhow::Result<(PathBuf, PathBuf)> {
    let tools = tools(root);
    step("plugins: rust", || {
        run(
            &mut cargo.build(&root.join("plugins"), RUST_TARGET, &wasm_target_dir(root)),
            "building plugins",
        )
    })?;
    step("plugins: python and javascript", || {
        gather_plugins(root, &tools)
    })?;
    Ok((
        root.join("target/plugins"),
        root.join("target/test-plugins"),
    ))
}

/// Gathers the components in their folders: Rust ones as cargo built them, with their
/// manifest embedded; Python and JavaScript ones built here when their sources changed.
fn gather_plugins(root: &Path, tools: &Tools) -> anyhow::Result<()> {
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
            } else {
                let stamp = wasm_target_dir(root).join(format!("stamps/{name}.sources"));
                // The toolchain crate pins the componentize versions and drives them.
                let sources = sources_hash(&[
                    &project,
                    &sdk_helpers(root, language),
                    &root.join("wit"),
                    &root.join("toolchain/src"),
                ])?;
                if dest.is_file() && std::fs::read_to_string(&stamp).ok() == Some(sources.clone()) {
                    println!("plugin {name} ({}): up to date", language.name());
                    continue;
                }
                let options = project::BuildOptions {
                    tools: tools.clone(),
                    work_dir: wasm_target_dir(root),
                    out: dest.clone(),
                };
                project::build(&project, &options)?;
                std::fs::create_dir_all(stamp.parent().expect("stamps have a folder"))?;
                std::fs::write(&stamp, sources)?;
            }
            let size = std::fs::metadata(&dest)?.len();
            println!("plugin {name} ({}): {size} bytes", language.name());
        }
    }
    Ok(())
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

/// A hash of every file's path and contents under `sources` (toolchain code included, which
/// the toolchain's own up-to-date check does not cover): Python and JavaScript builds take
/// seconds, and content (unlike modification times) survives a fresh clone, so a CI run
/// reusing the target folder rebuilds nothing that did not change.
fn sources_hash(sources: &[&Path]) -> anyhow::Result<String> {
    // Paths relative to their source folder: a clone elsewhere has the same sources.
    let parts = greenroom_toolchain::stage::folder_parts(sources)?;
    Ok(greenroom_toolchain::stage::fingerprint(
        parts.iter().map(Vec::as_slice),
    ))
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

/// The web UI's wasm target.
const UI_TARGET: &str = "wasm32-unknown-unknown";

/// Builds the Leptos app, then binds and optimises it into `frontend/dist/`.
fn frontend(root: &Path, cargo: &WasmCargo) -> anyhow::Result<PathBuf> {
    let frontend = root.join("frontend");
    step("frontend: cargo build", || {
        run(
            &mut cargo.build(&frontend, UI_TARGET, &ui_target_dir(root)),
            "building the frontend",
        )
    })?;
    let wasm_bindgen = step("frontend: wasm-bindgen-cli", || wasm_bindgen(root))?;
    step("frontend: wasm-bindgen and wasm-opt", || {
        bind_and_optimise(root, &frontend, &wasm_bindgen)
    })
}

/// Runs wasm-bindgen on the built app and `wasm-opt` on the result, and assembles
/// `frontend/dist/` (index.html, style.css, boot.js, pkg/).
fn bind_and_optimise(root: &Path, frontend: &Path, wasm_bindgen: &Path) -> anyhow::Result<PathBuf> {
    let wasm = ui_target_dir(root)
        .join(UI_TARGET)
        .join("release/greenroom-frontend.wasm");
    let dist = frontend.join("dist");
    let _ = std::fs::remove_dir_all(&dist);
    std::fs::create_dir_all(&dist)?;
    run(
        Command::new(wasm_bindgen)
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(dist.join("pkg"))
            .arg(&wasm),
        "wasm-bindgen",
    )?;
    optimise(root, &dist.join("pkg/greenroom-frontend_bg.wasm"))?;
    for asset in ["index.html", "style.css", "boot.js"] {
        std::fs::copy(frontend.join(asset), dist.join(asset))
            .with_context(|| format!("copying frontend/{asset}"))?;
    }
    // Diagrams in docs are drawn in the browser by Mermaid, loaded only by pages that have one.
    let mermaid =
        toolchain::npm::package(&tools(root).dir.join("mermaid"), "mermaid", MERMAID_VERSION)?;
    std::fs::create_dir_all(dist.join("vendor"))?;
    std::fs::copy(
        mermaid.join("dist/mermaid.min.js"),
        dist.join("vendor/mermaid.min.js"),
    )
    .context("copying mermaid.min.js")?;
    print_bundle_size(&dist.join("pkg"))?;
    Ok(dist)
}

/// Mermaid from npm, for diagrams in docs.
const MERMAID_VERSION: &str = "12.3.0";

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
    let cache = ui_target_dir(root).join("wasm-opt");
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

/// The native host, release profile (shared with `cargo test --release`); with `tests`, the
/// test binaries too. Built with the whole workspace's feature resolution, the same one
/// `cargo test --workspace` makes: built for `-p greenroom` alone, the proc macros shared
/// with the SDK resolve other features, and the tests then compiled wasmtime a second time.
pub fn host(root: &Path, tests: bool) -> anyhow::Result<PathBuf> {
    step("host", || {
        run(
            toolchain::rust::host_cargo().current_dir(root).args([
                "build",
                "--release",
                "--workspace",
                "--bins",
            ]),
            "building the host",
        )
    })?;
    if tests {
        step("tests: compile", || {
            run(
                toolchain::rust::host_cargo().current_dir(root).args([
                    "test",
                    "--release",
                    "--workspace",
                    "--no-run",
                ]),
                "compiling the tests",
            )
        })?;
    }
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
