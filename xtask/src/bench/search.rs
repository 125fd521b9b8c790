//! `cargo xtask bench search [--entities N]`: the synthetic organisation of the catalog
//! benchmark (100k entities by default) plus 100 documented components of 100 docs pages
//! each (10k pages), the real server, and its search: start-up with the index built, peak
//! memory, query latency (wrk, one connection) and throughput (16 connections) for a name, a
//! common word, a typo, a filtered query and a docs word, and how soon a new entity written
//! to disk is found. Prints a table and writes it to BENCHMARKS.md.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::catalog::{generate, wait_for_total};
use super::{
    Latency, free_address, http_get, peak_rss_mb, quiet_latency, start, stop, wait_for,
    write_section, wrk,
};
use crate::{build, toolchain};

const DEFAULT_SIZE: usize = 100_000;
/// Documented components, and pages in each one's docs.
const SITES: usize = 100;
const PAGES: usize = 100;
/// New entities timed from written file to search answer.
const FRESHNESS_RUNS: usize = 5;

pub fn search(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let size = match args {
        [] => DEFAULT_SIZE,
        [flag, n] if flag == "--entities" => n.replace('_', "").parse()?,
        _ => bail!("unknown arguments {args:?} (expected --entities N)"),
    };
    toolchain::system::ensure_debian_packages(&["wrk"], true)?;
    let binary = build::host(root, false)?;
    let work = std::env::temp_dir().join(format!("greenroom-bench-search-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let catalog = work.join("catalog");
    generate(&catalog, size)?;
    docs_sites(&catalog.join("docs-sites"))?;
    // The generated entities, the documented components and the location's own entity.
    let total = size + SITES + 1;
    let (data, plugins) = (work.join("data"), work.join("no-plugins"));
    let addr = free_address()?;
    println!("search benchmark: {size} entities");
    let started = Instant::now();
    let mut server = start(&binary, addr, &data, &catalog, &plugins, &[])?;
    wait_for_total(addr, total, &mut server)?;
    let first_start = started.elapsed();
    stop(&mut server);
    // The catalog is stored now: a restart reads it back and builds the search index.
    let restarted = Instant::now();
    let mut server = start(&binary, addr, &data, &catalog, &plugins, &[])?;
    wait_for_total(addr, total, &mut server)?;
    let restart = restarted.elapsed();
    let mut rows = Vec::new();
    for (name, query) in [
        ("an exact name", "term=service-42-3"),
        ("a common word", "term=service"),
        ("a typo", "term=sevrice"),
        (
            "filtered (kind, lifecycle)",
            "term=service&filters[kind]=component&filters[lifecycle]=production",
        ),
        ("a docs word (10k pages)", "term=rollout&types[0]=techdocs"),
    ] {
        let url = format!("http://{addr}/api/search/query?{query}");
        let (single, stolen) = quiet_latency(&url)?;
        let (_, rate) = wrk(&url, 16, 4)?;
        println!(
            "  {name}: p50 {:.2} ms, p99 {:.2} ms ({stolen:.1} % stolen), {rate:.0} queries/s at 16 connections",
            single.p50_ms, single.p99_ms
        );
        rows.push((name, single, stolen, rate));
    }
    let rss = peak_rss_mb(server.id())?;
    let freshness = freshness(addr, &catalog, &mut server);
    stop(&mut server);
    let _ = std::fs::remove_dir_all(&work);
    let freshness = freshness?;
    let table = table(size, first_start, restart, rss, &rows, &freshness);
    println!("\n{table}");
    write_section(
        root,
        "search",
        "Search (`cargo xtask bench search`)",
        "The catalog benchmark's synthetic organisation, plus 100 documented components with 100 docs pages each (10k pages, 20k sections). Start-up times are from process start until the catalog and the search index answer (the first on an empty data folder, the restart with the catalog stored: it reads it back and builds the index). Latency: wrk, 1 connection, 4 s, the least disturbed of up to 4 runs; throughput: wrk, 16 connections, 4 s. Freshness: a new entity's file written into the catalog folder until search finds it (file watch, reconcile and index), five times.",
        &table,
    )
}

/// `SITES` documented components, each with a docs site of `PAGES` pages of two sections.
fn docs_sites(dir: &Path) -> anyhow::Result<()> {
    for site in 0..SITES {
        let root = dir.join(format!("site-{site}"));
        std::fs::create_dir_all(root.join("docs"))?;
        std::fs::write(
            root.join("catalog-info.yaml"),
            format!(
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: docs-site-{site}\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec:\n  type: documentation\n  lifecycle: production\n  owner: team-{site}\n"
            ),
        )?;
        std::fs::write(root.join("mkdocs.yml"), format!("site_name: Site {site}\n"))?;
        for page in 0..PAGES {
            std::fs::write(
                root.join(format!("docs/page-{page}.md")),
                format!(
                    "# Page {page} of site {site}\n\nHow the service {page} is run, watched and paged.\n\n## Rollout\n\nEach rollout of release {page} goes through staging, then production, with a canary first.\n"
                ),
            )?;
        }
    }
    Ok(())
}

/// How long each new entity took from its file to a search answer.
fn freshness(
    addr: SocketAddr,
    catalog: &Path,
    server: &mut Child,
) -> anyhow::Result<Vec<Duration>> {
    let mut took = Vec::new();
    for run in 0..FRESHNESS_RUNS {
        let name = format!("fresh-entity-{run}");
        let folder = catalog.join(format!("fresh-{run}"));
        std::fs::create_dir_all(&folder)?;
        let written = Instant::now();
        std::fs::write(
            folder.join("catalog-info.yaml"),
            format!(
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-0\n"
            ),
        )?;
        let needle = format!("\"name\":\"{name}\"");
        wait_for(server, Duration::from_secs(30), || {
            http_get(addr, &format!("/api/search/query?term={name}"))
                .is_some_and(|body| body.contains(&needle))
        })
        .with_context(|| format!("{name} never became searchable"))?;
        took.push(written.elapsed());
    }
    took.sort();
    Ok(took)
}

fn table(
    size: usize,
    first_start: Duration,
    restart: Duration,
    rss: u64,
    rows: &[(&str, Latency, f64, f64)],
    freshness: &[Duration],
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| entities | measure | p50 (1 conn) | p99 (1 conn) | stolen | queries/s (16 conn) |"
    );
    let _ = writeln!(out, "|---:|---|---:|---:|---:|---:|");
    let _ = writeln!(
        out,
        "| {size} | start-up, empty data folder, to searchable | {:.2} s | | | |",
        first_start.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "| {size} | restart (catalog read back, index built) | {:.2} s | | | |",
        restart.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "| {size} | peak RSS (catalog and search) | {rss} MB | | | |"
    );
    for (name, latency, stolen, rate) in rows {
        let _ = writeln!(
            out,
            "| {size} | query: {name} | {:.2} ms | {:.2} ms | {stolen:.1} % | {rate:.0} |",
            latency.p50_ms, latency.p99_ms
        );
    }
    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    let _ = writeln!(
        out,
        "| {size} | new entity's file to search answer (median, worst of {}) | {:.0} ms | {:.0} ms | | |",
        freshness.len(),
        freshness.get(freshness.len() / 2).map_or(0.0, ms),
        freshness.last().map_or(0.0, ms)
    );
    out
}
