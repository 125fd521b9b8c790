//! `cargo xtask bench catalog [--entities N]...`: generates a synthetic organisation as
//! catalog YAML, starts the real server on it and measures ingestion, latency (wrk, one
//! connection), throughput (wrk, 16 connections) and peak memory. Prints a table and writes
//! it to BENCHMARKS.md.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::{
    Latency, free_address, http_get, least_disturbed, peak_rss_mb, quiet_latency_as, start, stop,
    wait_for, write_section, wrk_as,
};
use crate::{build, toolchain};

const DEFAULT_SIZES: &[usize] = &[10_000, 100_000];

pub fn catalog(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let mut sizes = Vec::new();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--entities" => sizes.push(
                rest.next()
                    .context("--entities needs a number")?
                    .replace('_', "")
                    .parse()?,
            ),
            other => bail!("unknown argument {other} (expected --entities N)"),
        }
    }
    if sizes.is_empty() {
        sizes = DEFAULT_SIZES.to_vec();
    }
    toolchain::system::ensure_debian_packages(&["wrk"], true)?;
    let binary = build::host(root, false)?;
    let mut results = Vec::new();
    for size in sizes {
        println!("catalog benchmark: {size} entities");
        results.push(run_one(&binary, size)?);
    }
    let table = table(&results);
    println!("\n{table}");
    write_section(
        root,
        "catalog",
        "Catalog (`cargo xtask bench catalog`)",
        "Ingest and latency (wrk, 1 connection, 4 s) are measured again, up to 4 runs, while the hypervisor steals over 1 % of the CPU; the stolen column is the share stolen during the run that counts. Throughput: wrk, 16 connections, 4 s. Ingest is from process start, on an empty data folder, until every entity is served with its relations.",
        &table,
    )
}

struct Measured {
    entities: usize,
    files: usize,
    ingest: Duration,
    restart: Duration,
    peak_rss_mb: u64,
    ingest_stolen: f64,
    rows: Vec<(&'static str, Latency, f64, f64)>,
}

fn run_one(binary: &Path, size: usize) -> anyhow::Result<Measured> {
    let work = std::env::temp_dir().join(format!("greenroom-bench-{size}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let catalog = work.join("catalog");
    let files = generate(&catalog, size)?;
    let data = work.join("data");
    let addr = free_address()?;
    // Every attempt ingests the same catalog from nothing; the last one's server is measured
    // next, and the least disturbed attempt's time counts.
    let mut running: Option<Child> = None;
    let (ingest, ingest_stolen) = least_disturbed(|| {
        if let Some(mut previous) = running.take() {
            stop(&mut previous);
        }
        let _ = std::fs::remove_dir_all(&data);
        let started = Instant::now();
        let server = running.insert(start(
            binary,
            addr,
            &data,
            &catalog,
            &work.join("no-plugins"),
            &[],
        )?);
        // Every generated entity plus the location's own entity.
        if let Err(e) = wait_for_total(addr, size + 1, server) {
            stop(server);
            return Err(e);
        }
        Ok(started.elapsed())
    })?;
    let mut server = running.context("no server ran")?;
    let group = "group:default/team-0";
    let component = "component:default/service-0-0";
    let endpoints: Vec<(&'static str, String)> = vec![
        ("by-name", format!("/api/catalog/entities/by-name/component/default/{}", component.rsplit('/').next().unwrap_or_default())),
        ("by-query (filter, page of 100)", "/api/catalog/entities/by-query?filter=kind=component,spec.lifecycle=production&limit=100".into()),
        ("by-query (sorted by owner, page of 100)", "/api/catalog/entities/by-query?filter=kind=component&orderField=spec.owner,desc&limit=100".into()),
        ("by-query (relation filter)", format!("/api/catalog/entities/by-query?filter=relations.ownedBy={group}&limit=100")),
        ("entity-facets (kind, spec.type)", "/api/catalog/entity-facets?facet=kind&facet=spec.type".into()),
        ("full-text filter", "/api/catalog/entities/by-query?fullTextFilterTerm=service-42&fullTextFilterFields=metadata.name&limit=100".into()),
    ];
    let mut rows = measure(addr, &endpoints, None)?;
    let peak_rss_mb = peak_rss_mb(server.id())?;
    stop(&mut server);
    let restarted = Instant::now();
    let mut again = start(binary, addr, &data, &catalog, &work.join("no-plugins"), &[])?;
    wait_for_total(addr, size + 1, &mut again)?;
    let restart = restarted.elapsed();
    stop(&mut again);
    rows.extend(under_policy(binary, addr, &work, &data, &catalog, size)?);
    let _ = std::fs::remove_dir_all(&work);
    Ok(Measured {
        entities: size,
        files,
        ingest,
        ingest_stolen,
        restart,
        peak_rss_mb,
        rows,
    })
}

/// Each endpoint's latency at one connection and throughput at 16, every request with
/// `header`.
fn measure(
    addr: SocketAddr,
    endpoints: &[(&'static str, String)],
    header: Option<&str>,
) -> anyhow::Result<Vec<(&'static str, Latency, f64, f64)>> {
    let mut rows = Vec::new();
    for (name, path) in endpoints {
        let url = format!("http://{addr}{path}");
        let (single, stolen) = quiet_latency_as(&url, header)?;
        let many = wrk_as(&url, header, 16, 4)?;
        println!(
            "  {name}: p50 {:.2} ms, p99 {:.2} ms ({stolen:.1} % stolen), {:.0} req/s at 16 connections",
            single.p50_ms, single.p99_ms, many.1
        );
        rows.push((*name, single, stolen, many.1));
    }
    Ok(rows)
}

/// The catalog's reads under a permission policy: as a caller allowed everything, and as
/// one who may read only what a team (and its parent teams) owns, the condition compiled
/// into the index. Both send an API token, so the two differ only in the filter.
fn under_policy(
    binary: &Path,
    addr: SocketAddr,
    work: &Path,
    data: &Path,
    catalog: &Path,
    size: usize,
) -> anyhow::Result<Vec<(&'static str, Latency, f64, f64)>> {
    let config = work.join("permissions.yaml");
    std::fs::write(
        work.join("policy.yaml"),
        "roles:\n  admin:\n    members: [service:admin]\n    allow: ['*']\n  team:\n    members: [service:team]\n    allow:\n      - permission: catalog.entity.read\n        conditions: {rule: IS_ENTITY_OWNER, params: {claims: [group:default/team-5, group:default/team-1, group:default/team-0]}}\n",
    )?;
    std::fs::write(
        &config,
        "backend:\n  auth:\n    externalAccess:\n      - {type: static, options: {token: admin-token-0123, subject: admin}}\n      - {type: static, options: {token: team-token-0123, subject: team}}\npermission:\n  enabled: true\n  policyFile: policy.yaml\n",
    )?;
    let mut server = start(
        binary,
        addr,
        data,
        catalog,
        &work.join("no-plugins"),
        &["--config".as_ref(), config.as_os_str()],
    )?;
    let ready = wait_for(&mut server, Duration::from_secs(600), || {
        super::http(addr, "GET", "/api/catalog/entities", &[])
            .is_some_and(|(status, _)| status == 401)
    });
    if let Err(e) = ready {
        stop(&mut server);
        return Err(e.context(format!(
            "the server under a policy never served ({size} entities)"
        )));
    }
    let query = "/api/catalog/entities/by-query?filter=kind=component&limit=100";
    let facets = "/api/catalog/entity-facets?facet=kind&facet=spec.type";
    let admin = measure(
        addr,
        &[
            (
                "by-query (components, page of 100), allowed all",
                query.into(),
            ),
            (
                "entity-facets (kind, spec.type), allowed all",
                facets.into(),
            ),
        ],
        Some("Authorization: Bearer admin-token-0123"),
    );
    let team = measure(
        addr,
        &[
            (
                "by-query (components, page of 100), IS_ENTITY_OWNER",
                query.into(),
            ),
            (
                "entity-facets (kind, spec.type), IS_ENTITY_OWNER",
                facets.into(),
            ),
        ],
        Some("Authorization: Bearer team-token-0123"),
    );
    stop(&mut server);
    let mut rows = admin?;
    rows.extend(team?);
    Ok(rows)
}

/// Writes a synthetic organisation: per team a folder with one catalog-info.yaml holding the
/// team, its members, services, APIs and resources; domains and systems in their own file.
/// Returns the number of files.
pub fn generate(dir: &Path, size: usize) -> anyhow::Result<usize> {
    // Per team: 1 group + 5 users + 8 components + 3 APIs + 2 resources = 19, plus one
    // system per team and one domain per 10 teams in the shared file.
    const PER_TEAM: usize = 19;
    let teams = size.div_ceil(PER_TEAM + 1).max(1);
    let domains = teams.div_ceil(10);
    let mut written = 0usize;
    let mut shared = String::new();
    for d in 0..domains {
        doc(
            &mut shared,
            "Domain",
            &format!("domain-{d}"),
            &format!("owner: team-{}", d * 10),
        );
        written += 1;
    }
    for t in 0..teams {
        doc(
            &mut shared,
            "System",
            &format!("system-{t}"),
            &format!("owner: team-{t}\n  domain: domain-{}", t / 10),
        );
        written += 1;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("catalog-info.yaml"), shared)?;
    let mut files = 1;
    for t in 0..teams {
        if written >= size {
            break;
        }
        let mut text = String::new();
        let parent = if t == 0 {
            String::new()
        } else {
            format!("\n  parent: team-{}", (t - 1) / 4)
        };
        doc(
            &mut text,
            "Group",
            &format!("team-{t}"),
            &format!("type: team\n  children: []{parent}"),
        );
        written += 1;
        let lifecycles = ["production", "experimental", "deprecated"];
        let mut kinds: Vec<(&str, String, String)> = Vec::new();
        for u in 0..5 {
            kinds.push(("User", format!("user-{t}-{u}"), format!("memberOf: [team-{t}]\n  profile: {{displayName: User {t} {u}, email: user-{t}-{u}@example.com}}")));
        }
        for a in 0..3 {
            kinds.push(("API", format!("api-{t}-{a}"), format!("type: openapi\n  lifecycle: {}\n  owner: team-{t}\n  system: system-{t}\n  definition: \"openapi: 3.0.0\"", lifecycles[a % 3])));
        }
        for r in 0..2 {
            kinds.push((
                "Resource",
                format!("db-{t}-{r}"),
                format!("type: database\n  owner: team-{t}\n  system: system-{t}"),
            ));
        }
        for c in 0..8 {
            let other = (t + 1) % teams;
            kinds.push(("Component", format!("service-{t}-{c}"), format!(
                "type: {}\n  lifecycle: {}\n  owner: team-{t}\n  system: system-{t}\n  providesApis: [api-{t}-{}]\n  consumesApis: [api-{other}-0]\n  dependsOn: [resource:db-{t}-{}]",
                if c % 2 == 0 { "service" } else { "website" }, lifecycles[c % 3], c % 3, c % 2)));
        }
        for (kind, name, spec) in kinds {
            if written >= size {
                break;
            }
            doc(&mut text, kind, &name, &spec);
            written += 1;
        }
        let folder = dir.join(format!("teams/team-{t}"));
        std::fs::create_dir_all(&folder)?;
        std::fs::write(folder.join("catalog-info.yaml"), text)?;
        files += 1;
    }
    if written != size {
        bail!("generated {written} entities, wanted {size}");
    }
    Ok(files)
}

fn doc(out: &mut String, kind: &str, name: &str, spec: &str) {
    let _ = write!(
        out,
        "---\napiVersion: backstage.io/v1alpha1\nkind: {kind}\nmetadata:\n  name: {name}\n  description: The {name} {kind} of the synthetic organisation.\n  tags: [bench, {}]\nspec:\n  {spec}\n",
        kind.to_lowercase()
    );
}

/// Polls until the catalog serves `total` entities (deadline 10 minutes).
pub fn wait_for_total(addr: SocketAddr, total: usize, server: &mut Child) -> anyhow::Result<()> {
    let needle = format!("\"totalItems\":{total}");
    wait_for(server, Duration::from_secs(600), || {
        http_get(addr, "/api/catalog/entities/by-query?limit=1&fields=kind")
            .is_some_and(|b| b.contains(&needle))
    })
    .with_context(|| format!("the catalog never reached {total} entities"))
}

fn table(results: &[Measured]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| entities | files | measure | p50 (1 conn) | p99 (1 conn) | stolen | req/s (16 conn) |"
    );
    let _ = writeln!(out, "|---:|---:|---|---:|---:|---:|---:|");
    for m in results {
        let _ = writeln!(
            out,
            "| {} | {} | ingest, start to all served | {:.2} s | | {:.1} % | |",
            m.entities,
            m.files,
            m.ingest.as_secs_f64(),
            m.ingest_stolen
        );
        let _ = writeln!(
            out,
            "| {} | {} | restart, nothing changed | {:.2} s | | | |",
            m.entities,
            m.files,
            m.restart.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "| {} | {} | peak RSS | {} MB | | | |",
            m.entities, m.files, m.peak_rss_mb
        );
        for (name, latency, stolen, rate) in &m.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {name} | {:.2} ms | {:.2} ms | {stolen:.1} % | {rate:.0} |",
                m.entities, m.files, latency.p50_ms, latency.p99_ms
            );
        }
    }
    out
}
