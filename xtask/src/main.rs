//! `cargo xtask`: build the wasm parts, run the portal, run every test.
//!
//! - `cargo xtask build` — plugins (wasm32-wasip2), frontend (wasm32-unknown-unknown +
//!   wasm-bindgen) and the host binary.
//! - `cargo xtask run` — build, then serve the demo portal on http://127.0.0.1:7007.
//! - `cargo xtask test` — build, then unit, integration and browser tests.
//! - `cargo xtask bench catalog [--entities N]` — catalog benchmark into BENCHMARKS.md.
//! - `cargo xtask bench plugins` — plugin runtime benchmark into BENCHMARKS.md.
//! - `cargo xtask bench ui [--entities N]` — catalog page in Chromium on a large catalog.
//! - `cargo xtask bench search [--entities N]` — search over a large catalog.

mod bench;
mod build;
mod steps;
use greenroom_toolchain as toolchain;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use steps::step;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    match args.first().map(String::as_str) {
        Some("build") => build::all(&root, false).map(|_| steps::print_summary()),
        Some("run") => run(&root, &args[1..]),
        Some("test") => test(&root),
        Some("bench") if args.get(1).map(String::as_str) == Some("catalog") => {
            bench::catalog::catalog(&root, &args[2..])
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("plugins") => {
            bench::plugins::plugins(&root, &args[2..])
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("docs") => {
            bench::docs::docs(&root)
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("scaffolder") => {
            bench::scaffolder::scaffolder(&root)
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("ui") => {
            bench::ui::ui(&root, &args[2..])
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("search") => {
            bench::search::search(&root, &args[2..])
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <build|run|test|bench catalog [--entities N]...|bench plugins [--load]|bench docs|bench scaffolder|bench ui [--entities N]|bench search [--entities N]>"
            );
            std::process::exit(2);
        }
    }
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the project root")
        .to_path_buf()
}

/// Builds everything, then serves the demo catalog with the first-party plugins. Extra
/// arguments go to `greenroom serve`.
fn run(root: &Path, extra: &[String]) -> anyhow::Result<()> {
    let built = build::all(root, false)?;
    println!("serving http://127.0.0.1:7007 (Ctrl-C stops)");
    let status = Command::new(&built.host_binary)
        .current_dir(root)
        .args(["serve", "--config", "demo/greenroom.yaml"])
        .args(extra)
        .status()
        .context("cannot start greenroom")?;
    if !status.success() {
        bail!("greenroom exited with {status}");
    }
    Ok(())
}

/// Every test: the native workspace's unit and integration tests, then the browser tests.
/// The end-to-end tests find the built artefacts through `GREENROOM_*` variables.
fn test(root: &Path) -> anyhow::Result<()> {
    steps::start_clock();
    // apt installs one set at a time: Chromium before the build's lanes start.
    step("debian packages", || {
        toolchain::system::ensure_debian_packages(&["chromium"], true)
    })?;
    let (built, browser_tests) = std::thread::scope(|s| {
        let npm = s.spawn(|| step("browser tests: npm ci", || browser_tests(root)));
        let built = build::all(root, true);
        let browser_tests = npm.join().expect("npm ci does not panic");
        anyhow::Ok((built?, browser_tests?))
    })?;
    let plugin_cache = root.join("target/tmp/plugin-cache");
    let artefacts = [
        ("GREENROOM_BIN", built.host_binary.clone()),
        ("GREENROOM_PLUGINS", built.plugins_dir.clone()),
        ("GREENROOM_TEST_PLUGINS", built.test_plugins_dir.clone()),
        ("GREENROOM_UI", built.ui_dir.clone()),
        ("GREENROOM_TOOLS", build::tools(root).dir),
        ("GREENROOM_PLUGIN_CACHE", plugin_cache.clone()),
    ];
    step("precompile plugins", || precompile(&built, &plugin_cache))?;
    step("tests: run", || {
        toolchain::command::run(
            toolchain::rust::host_cargo()
                .current_dir(root)
                .args(["test", "--release", "--workspace"])
                .envs(artefacts.clone()),
            "cargo test",
        )
    })?;
    step("browser tests: run", || {
        toolchain::command::run(
            Command::new("node")
                .current_dir(&browser_tests)
                .args(["--test", "--test-concurrency=1"])
                .envs(artefacts.clone()),
            "browser tests",
        )
    })?;
    steps::print_summary();
    println!("all tests passed");
    Ok(())
}

/// Compiles every built plugin into the cache the test servers and `greenroom plugin`
/// commands share (`greenroom plugin inspect` loads a component as a server would), so a
/// 13–19 MB Python or JavaScript component is compiled once per run, not once per test.
fn precompile(built: &build::Built, cache: &Path) -> anyhow::Result<()> {
    for dir in [&built.plugins_dir, &built.test_plugins_dir] {
        for entry in std::fs::read_dir(dir)?.flatten() {
            let file = entry.path();
            if file.extension().is_none_or(|e| e != "wasm") {
                continue;
            }
            let output = Command::new(&built.host_binary)
                .args(["plugin", "inspect", "--json"])
                .arg(&file)
                .env("GREENROOM_PLUGIN_CACHE", cache)
                .output()
                .with_context(|| format!("cannot run {}", built.host_binary.display()))?;
            // Test plugins that are meant not to load (missing-import) are reported, not
            // fatal: the tests say whether each loads as it should.
            if !output.status.success() {
                println!(
                    "precompile: {} does not load: {}",
                    file.display(),
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
        }
    }
    Ok(())
}

/// Chromium and the browser tests' npm packages, installed; returns `tests/browser`.
pub fn browser_tests(root: &Path) -> anyhow::Result<PathBuf> {
    toolchain::system::ensure_debian_packages(&["chromium"], true)?;
    let dir = root.join("tests/browser");
    toolchain::command::run(
        Command::new("npm")
            .current_dir(&dir)
            .args(["ci", "--no-audit", "--no-fund"]),
        "npm ci (browser tests)",
    )?;
    Ok(dir)
}
