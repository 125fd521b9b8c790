//! `cargo xtask bench ui [--entities N]`: the web UI on a large catalog. Starts the real
//! server on a synthetic organisation (100k entities by default), then has headless Chromium
//! open the catalog page repeatedly, each time in a fresh context, timing navigation to the
//! first table row visible. Also prints the UI bundle size. Writes a table to BENCHMARKS.md.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use super::catalog::{generate, wait_for_total};
use super::{free_address, start, stop, write_section};
use crate::build;

const DEFAULT_ENTITIES: usize = 100_000;
const RUNS: usize = 10;

pub fn ui(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let entities = match args {
        [] => DEFAULT_ENTITIES,
        [flag, n] if flag == "--entities" => n.replace('_', "").parse()?,
        _ => bail!("usage: cargo xtask bench ui [--entities N]"),
    };
    let built = build::all(root, false)?;
    let browser_tests = crate::browser_tests(root)?;
    let work = std::env::temp_dir().join(format!("greenroom-bench-ui-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let catalog = work.join("catalog");
    generate(&catalog, entities)?;
    let addr = free_address()?;
    let ui = built.ui_dir.as_os_str();
    let mut server = start(
        &built.host_binary,
        addr,
        &work.join("data"),
        &catalog,
        &work.join("no-plugins"),
        &["--ui".as_ref(), ui],
    )?;
    let measured = (|| {
        wait_for_total(addr, entities + 1, &mut server)?;
        println!("ui benchmark: {entities} entities served; timing the catalog page");
        let out = Command::new("node")
            .current_dir(&browser_tests)
            .args([
                "bench/first-page.mjs",
                &format!("http://{addr}"),
                &RUNS.to_string(),
            ])
            .output()
            .context("cannot run node")?;
        if !out.status.success() {
            bail!(
                "the browser run failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        first_page_times(&String::from_utf8_lossy(&out.stdout))
    })();
    stop(&mut server);
    let _ = std::fs::remove_dir_all(&work);
    let mut runs = measured?;
    runs.sort_by(f64::total_cmp);
    let (raw, gzipped) = build::bundle_size(&built.ui_dir.join("pkg"))?;
    let mut table = String::new();
    let _ = writeln!(table, "| measure | result | target |");
    let _ = writeln!(table, "|---|---|---|");
    let _ = writeln!(
        table,
        "| catalog page, first page visible ({entities} entities), median of {RUNS} | {:.0} ms | ≤ 1000 ms |",
        runs[runs.len() / 2]
    );
    let _ = writeln!(
        table,
        "| same, slowest run | {:.0} ms | |",
        runs[runs.len() - 1]
    );
    let _ = writeln!(
        table,
        "| UI bundle (wasm + JS), gzip | {:.0} KB ({:.0} KB raw) | ≤ 1024 KB |",
        gzipped as f64 / 1024.0,
        raw as f64 / 1024.0
    );
    println!("\n{table}");
    write_section(
        root,
        "ui",
        "Web UI (`cargo xtask bench ui`)",
        "Headless Chromium, a fresh browser context per run (the app's wasm and JS fetched and compiled each time), from navigation to the first catalog row visible; the server on loopback.",
        &table,
    )
}

/// The run times the browser script printed as `{"runs_ms": [...]}`.
fn first_page_times(stdout: &str) -> anyhow::Result<Vec<f64>> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.contains("runs_ms"))
        .context("the browser script printed no times")?;
    let printed: serde_json::Value = serde_json::from_str(line)?;
    let runs: Vec<f64> = printed["runs_ms"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_f64)
        .collect();
    if runs.is_empty() {
        bail!("the browser script printed no times: {line}");
    }
    Ok(runs)
}
