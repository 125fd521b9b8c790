//! `cargo xtask bench plugins`: the plugin runtime measured through the real server — startup
//! with the compile cache cold and warm, upload (compile + link + `meta.info`), hot-reload
//! latency, and tab renders: host-side time for a fresh instance plus the render (from the
//! admin API's stats), HTTP latency on one connection and throughput on sixteen.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::{
    free_address, http, http_get, quiet_latency, start, stop, wait_for, write_section, wrk,
};

/// How long the server may take to become ready.
const READY: Duration = Duration::from_secs(60);
use crate::{build, toolchain};

const ENTITY: &str = "entity=component:default/checkout";
/// The probe plugin's build marker, patched to make distinct versions.
const MARKER: &[u8] = b"build-000000";

pub fn plugins(root: &Path) -> anyhow::Result<()> {
    toolchain::system::ensure_debian_packages(&["wrk"], true)?;
    let built = build::all(root, false)?;
    let work = std::env::temp_dir().join(format!("greenroom-bench-plugins-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let plugins = work.join("plugins");
    std::fs::create_dir_all(&plugins)?;
    std::fs::copy(
        built.plugins_dir.join("ownership.wasm"),
        plugins.join("ownership.wasm"),
    )?;
    let probe = std::fs::read(built.test_plugins_dir.join("probe.wasm"))?;
    std::fs::write(plugins.join("probe.wasm"), &probe)?;
    let catalog = root.join("tests/fixtures/catalog");
    let data = work.join("data");
    let addr = free_address()?;
    let launch = || start(&built.host_binary, addr, &data, &catalog, &plugins, &[]);

    let mut rows = Vec::new();
    for label in ["startup, compile cache cold", "startup, compile cache warm"] {
        let started = Instant::now();
        let mut server = launch()?;
        wait_for(&mut server, READY, || {
            http_get(addr, "/api/plugins")
                .is_some_and(|b| b.matches("\"state\":\"loaded\"").count() == 2)
        })?;
        rows.push(Row::single(label, started.elapsed()));
        stop(&mut server);
    }

    let mut server = launch()?;
    wait_for(&mut server, READY, || {
        http_get(addr, "/api/plugins/probe").is_some()
    })?;
    for (label, plugin, tab) in [
        ("probe tab (render only)", "probe", "build"),
        (
            "ownership tab (render + 2 catalog calls)",
            "ownership",
            "ownership",
        ),
    ] {
        let url = format!("http://{addr}/api/plugins/{plugin}/tabs/{tab}?{ENTITY}");
        let (one, _) = quiet_latency(&url)?;
        // The stats window holds the latest 1024 calls: all from the one-connection run.
        let stats = http_get(addr, &format!("/api/plugins/{plugin}")).context("plugin stats")?;
        let host = (number(&stats, "p50Ms")?, number(&stats, "p99Ms")?);
        let (_, rate) = wrk(&url, 16, 4)?;
        println!(
            "  {label}: host p50 {:.3} ms, HTTP p50 {:.2} ms, {rate:.0} renders/s",
            host.0, one.p50_ms
        );
        rows.push(Row {
            measure: format!("{label}: host-side, fresh instance + render"),
            p50: format!("{:.0} µs", host.0 * 1000.0),
            p99: format!("{:.0} µs", host.1 * 1000.0),
            rate: String::new(),
        });
        rows.push(Row {
            measure: format!("{label}: over HTTP"),
            p50: format!("{:.2} ms", one.p50_ms),
            p99: format!("{:.2} ms", one.p99_ms),
            rate: format!("{rate:.0}"),
        });
    }

    let mut uploads = Vec::new();
    for version in 1..=5 {
        let bytes = patched(&probe, version)?;
        let started = Instant::now();
        match http(addr, "POST", "/api/plugins", &bytes) {
            Some((201, _)) => uploads.push(started.elapsed()),
            other => bail!("upload of probe version {version} failed: {other:?}"),
        }
    }
    rows.push(Row::spread(
        "upload → serving (compile, link, meta.info)",
        &mut uploads,
    ));

    let mut reloads = Vec::new();
    for version in 100..110 {
        let bytes = patched(&probe, version)?;
        let expected = format!("probe build-{version:06}");
        let path = format!("/api/plugins/probe/tabs/build?{ENTITY}");
        let started = Instant::now();
        std::fs::write(plugins.join("probe.wasm"), &bytes)?;
        wait_for(&mut server, READY, || {
            http_get(addr, &path).is_some_and(|b| b.contains(&expected))
        })?;
        reloads.push(started.elapsed());
    }
    rows.push(Row::spread(
        "hot reload: file replaced → new version served",
        &mut reloads,
    ));
    stop(&mut server);
    let _ = std::fs::remove_dir_all(&work);

    let table = table(&rows);
    println!("\n{table}");
    write_section(
        root,
        "plugins",
        "Plugins (`cargo xtask bench plugins`)",
        "Rust plugins built for wasm32-wasip2 (probe: 118 KB, ownership: 75 KB). Host-side time is what the admin API's stats record for a call: a fresh store and instance, the call, and checking the output, over the latest 1024 calls of a one-connection wrk run. HTTP: wrk, 1 connection, 4 s (taken again, up to 4 runs, while the hypervisor steals over 1 % of the CPU); renders/s: wrk, 16 connections, 4 s. Upload and reload: 5 and 10 distinct versions. Python and JavaScript plugins arrive with the SDK issue.",
        &table,
    )
}

struct Row {
    measure: String,
    p50: String,
    p99: String,
    rate: String,
}

impl Row {
    fn single(measure: &str, took: Duration) -> Self {
        Self {
            measure: measure.into(),
            p50: format!("{:.2} s", took.as_secs_f64()),
            p99: String::new(),
            rate: String::new(),
        }
    }

    /// Median and worst of a few samples.
    fn spread(measure: &str, samples: &mut [Duration]) -> Self {
        samples.sort();
        let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
        Self {
            measure: measure.into(),
            p50: ms(samples[samples.len() / 2]),
            p99: format!("{} (max)", ms(samples[samples.len() - 1])),
            rate: String::new(),
        }
    }
}

fn table(rows: &[Row]) -> String {
    let mut out =
        String::from("| measure | p50 | p99 | renders/s (16 conn) |\n|---|---:|---:|---:|\n");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            row.measure, row.p50, row.p99, row.rate
        );
    }
    out
}

/// The probe component with its build marker replaced: a distinct, valid version.
fn patched(original: &[u8], version: u32) -> anyhow::Result<Vec<u8>> {
    let at = original
        .windows(MARKER.len())
        .position(|w| w == MARKER)
        .context("no build marker in probe.wasm")?;
    let mut bytes = original.to_vec();
    bytes[at..at + MARKER.len()].copy_from_slice(format!("build-{version:06}").as_bytes());
    Ok(bytes)
}

/// A number field of a JSON body, e.g. `"p50Ms":0.05`.
fn number(body: &str, key: &str) -> anyhow::Result<f64> {
    let needle = format!("\"{key}\":");
    let rest = &body[body
        .find(&needle)
        .with_context(|| format!("no {key} in {body}"))?
        + needle.len()..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Ok(rest[..end].trim().parse()?)
}
