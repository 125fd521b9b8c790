//! `cargo xtask bench docs`: TechDocs builds on generated sites of 50 and 500 pages (nested
//! nav, admonitions, tabs, code, tables, links between pages), measured as the server reports
//! them (`build.tookMs` of `/api/docs/site`): the first build, and a rebuild after one page
//! changed; then a page served over HTTP. Writes a table to BENCHMARKS.md.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

use super::{free_address, http_get, quiet_latency, start, stop, wait_for, write_section};
use crate::build;

const SIZES: [usize; 2] = [50, 500];
/// Rebuilds measured per site.
const EDITS: usize = 10;

pub fn docs(root: &Path) -> anyhow::Result<()> {
    crate::toolchain::system::ensure_debian_packages(&["wrk"], true)?;
    let built = build::all(root, false)?;
    let work = std::env::temp_dir().join(format!("greenroom-bench-docs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let mut rows = Vec::new();
    for pages in SIZES {
        let site = work.join(format!("site-{pages}"));
        generate(&site, pages)?;
        let addr = free_address()?;
        let mut server = start(
            &built.host_binary,
            addr,
            &work.join(format!("data-{pages}")),
            &site.join("catalog-info.yaml"),
            &work.join("no-plugins"),
            &[],
        )?;
        let measured = (|| -> anyhow::Result<Vec<String>> {
            wait_for(&mut server, Duration::from_secs(60), || {
                http_get(
                    addr,
                    "/api/catalog/entities/by-name/component/default/docs-bench",
                )
                .is_some()
            })?;
            let first = site_build(addr)?;
            if first.rendered != pages {
                bail!(
                    "the first build rendered {} of {pages} pages",
                    first.rendered
                );
            }
            let mut edits = Vec::new();
            for edit in 0..EDITS {
                let page = site.join(format!("docs/section-{}/page-{}.md", edit % 5, edit / 5));
                let mut text = std::fs::read_to_string(&page)?;
                let _ = writeln!(text, "\nEdited {edit}.");
                std::fs::write(&page, text)?;
                // The watcher or sync rebuilds it (sync looks at the files at once).
                http_get(addr, "/api/techdocs/sync/default/component/docs-bench")
                    .context("sync did not answer")?;
                let rebuilt = site_build(addr)?;
                if rebuilt.rendered != 1 {
                    bail!("a one-page edit rendered {} pages", rebuilt.rendered);
                }
                edits.push(rebuilt.took_ms);
            }
            edits.sort_by(f64::total_cmp);
            let url = format!(
                "http://{addr}/api/docs/page/default/component/docs-bench/section-1/page-3/"
            );
            let (latency, _) = quiet_latency(&url)?;
            println!(
                "  {pages} pages: first build {:.1} ms, one-page rebuild {:.1} ms (median), page p50 {:.2} ms",
                first.took_ms,
                edits[EDITS / 2],
                latency.p50_ms
            );
            Ok(vec![
                format!(
                    "| {pages}-page site: first build | {:.1} ms | |",
                    first.took_ms
                ),
                format!(
                    "| {pages}-page site: one page changed → rebuilt | {:.1} ms | {:.1} ms (max) |",
                    edits[EDITS / 2],
                    edits[EDITS - 1]
                ),
                format!(
                    "| {pages}-page site: a page over HTTP (reader JSON) | {:.2} ms | {:.2} ms |",
                    latency.p50_ms, latency.p99_ms
                ),
            ])
        })();
        stop(&mut server);
        rows.extend(measured?);
    }
    let _ = std::fs::remove_dir_all(&work);
    let mut table = String::from("| measure | p50 | p99 |\n|---|---:|---:|\n");
    for row in rows {
        let _ = writeln!(table, "{row}");
    }
    println!("\n{table}");
    write_section(
        root,
        "docs",
        "Docs (`cargo xtask bench docs`)",
        "Generated sites of 50 and 500 pages in five sections (explicit nav; each page about 4 KB of markdown with headings, an admonition, tabs, a code block, a table and links to other pages). Build times are what the server reports for the build (`build.tookMs` of `/api/docs/site`): the first view's full build, and the rebuild after one page's file changed, by the site's watcher or by `/api/techdocs/sync`, whichever comes first (median and worst of 10 edits). A page over HTTP: wrk on one connection for 4 s against `/api/docs/page/...`. Targets: a 50-page site in ≤ 100 ms, a one-file change in ≤ 20 ms.",
        &table,
    )
}

struct Build {
    took_ms: f64,
    rendered: usize,
}

/// The site's current build, as the server reports it (building it when needed).
fn site_build(addr: SocketAddr) -> anyhow::Result<Build> {
    let body = http_get(addr, "/api/docs/site/default/component/docs-bench")
        .context("the docs site did not answer")?;
    let site: Value = serde_json::from_str(&body)?;
    Ok(Build {
        took_ms: site["build"]["tookMs"].as_f64().context("no tookMs")?,
        rendered: site["build"]["rendered"].as_u64().context("no rendered")? as usize,
    })
}

/// A documented component and its site of `pages` pages in five sections.
fn generate(site: &Path, pages: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(site.join("docs"))?;
    std::fs::write(
        site.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: docs-bench\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec:\n  type: service\n  lifecycle: production\n  owner: platform\n",
    )?;
    let mut nav = String::from("site_name: Docs bench\nnav:\n  - Home: index.md\n");
    std::fs::write(
        site.join("docs/index.md"),
        "# Docs bench\n\nStart [here](section-0/page-0.md).\n",
    )?;
    let per_section = (pages - 1).div_ceil(5);
    let mut written = 1;
    for section in 0..5 {
        let _ = writeln!(nav, "  - Section {section}:");
        std::fs::create_dir_all(site.join(format!("docs/section-{section}")))?;
        for page in 0..per_section {
            if written == pages {
                break;
            }
            written += 1;
            let _ = writeln!(nav, "      - section-{section}/page-{page}.md");
            std::fs::write(
                site.join(format!("docs/section-{section}/page-{page}.md")),
                page_text(section, page),
            )?;
        }
    }
    std::fs::write(site.join("mkdocs.yml"), nav)?;
    Ok(())
}

fn page_text(section: usize, page: usize) -> String {
    let mut text = format!(
        "# Page {page} of section {section}\n\nAn overview of this part of the system.\n\n"
    );
    for part in 0..4 {
        let _ = write!(
            text,
            "## Part {part}\n\nSome *emphasis*, some `code`, a [link to the next page](page-{}.md#part-{part}) and one [home](../index.md).\n\n!!! note \"Remember\"\n    Admonitions hold **markdown** too.\n\n=== \"Rust\"\n    ```rust\n    fn main() {{ println!(\"hello\"); }}\n    ```\n\n=== \"Python\"\n    ```python\n    print(\"hello\")\n    ```\n\n| Key | Value |\n|-----|------:|\n| a | 1 |\n| b | 2 |\n\n- [x] done\n- [ ] to do\n\n",
            page + 1
        );
    }
    text
}
