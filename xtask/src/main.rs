//! `cargo xtask`: build the wasm parts, run the portal, run every test.
//!
//! - `cargo xtask build` — plugins (wasm32-wasip2), frontend (wasm32-unknown-unknown +
//!   wasm-bindgen) and the host binary.
//! - `cargo xtask run` — build, then serve the demo portal on http://127.0.0.1:7007.
//! - `cargo xtask test` — build, then unit, integration and browser tests.
//! - `cargo xtask bench catalog [--entities N]` — catalog benchmark into BENCHMARKS.md.
//! - `cargo xtask bench plugins` — plugin runtime benchmark into BENCHMARKS.md.
//! - `cargo xtask bench ui [--entities N]` — catalog page in Chromium on a large catalog.

mod bench;
mod build;
use greenroom_toolchain as toolchain;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = project_root();
    match args.first().map(String::as_str) {
        Some("build") => build::all(&root).map(|_| ()),
        Some("run") => run(&root, &args[1..]),
        Some("test") => test(&root),
        Some("bench") if args.get(1).map(String::as_str) == Some("catalog") => {
            bench::catalog::catalog(&root, &args[2..])
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("plugins") => {
            bench::plugins::plugins(&root)
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("ui") => {
            bench::ui::ui(&root, &args[2..])
        }
        _ => {
            eprintln!(
                "usage: cargo xtask <build|run|test|bench catalog [--entities N]...|bench plugins|bench ui [--entities N]>"
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
    let built = build::all(root)?;
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
    let built = build::all(root)?;
    let artefacts = [
        ("GREENROOM_BIN", built.host_binary.clone()),
        ("GREENROOM_PLUGINS", built.plugins_dir.clone()),
        ("GREENROOM_TEST_PLUGINS", built.test_plugins_dir.clone()),
        ("GREENROOM_UI", built.ui_dir.clone()),
        ("GREENROOM_TOOLS", build::tools(root).dir),
    ];
    toolchain::command::run(
        toolchain::rust::host_cargo()
            .current_dir(root)
            .args(["test", "--release", "--workspace"])
            .envs(artefacts.clone()),
        "cargo test",
    )?;
    let browser_tests = browser_tests(root)?;
    toolchain::command::run(
        Command::new("node")
            .current_dir(&browser_tests)
            .args(["--test", "--test-concurrency=1"])
            .envs(artefacts),
        "browser tests",
    )?;
    println!("all tests passed");
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
