//! `cargo xtask bench scaffolder`: dry runs of the demo's `rust-service` template and of a
//! generated 200-file skeleton (latency over HTTP, p50/p99), then 100 tasks of a 50-file
//! template created at once (all must complete; tasks per second from the first request to
//! the last completion). Writes a table to BENCHMARKS.md.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::{Value, json};

use super::{free_address, http, http_get, start, stop, wait_for, write_section};
use crate::build;

const DRY_RUNS: usize = 60;
const TASKS: usize = 100;

pub fn scaffolder(root: &Path) -> anyhow::Result<()> {
    let built = build::all(root, false)?;
    let work =
        std::env::temp_dir().join(format!("greenroom-bench-scaffolder-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    generate(&work.join("big"), "big", 200)?;
    generate(&work.join("fifty"), "fifty", 50)?;
    let demo = root.join("demo/templates/rust-service/template.yaml");
    let addr = free_address()?;
    let extra: Vec<std::ffi::OsString> = [
        work.join("big/template.yaml"),
        work.join("fifty/template.yaml"),
        demo.clone(),
    ]
    .iter()
    .flat_map(|t| ["--catalog".into(), t.clone().into_os_string()])
    .collect();
    let extra: Vec<&std::ffi::OsStr> = extra.iter().map(|s| s.as_os_str()).collect();
    let mut server = start(
        &built.host_binary,
        addr,
        &work.join("data"),
        &root.join("demo/catalog/org"),
        &work.join("no-plugins"),
        &extra,
    )?;
    let measured = (|| -> anyhow::Result<Vec<String>> {
        wait_for(&mut server, Duration::from_secs(60), || {
            http_get(addr, "/api/catalog/entities/by-name/template/default/fifty").is_some()
        })?;
        let demo_values =
            json!({"name": "bench-svc", "owner": "group:default/payments", "port": 8080});
        let demo_run = dry_runs(
            addr,
            "rust-service",
            &demo.with_file_name("skeleton"),
            "skeleton",
            demo_values,
        )?;
        let big_run = dry_runs(
            addr,
            "big",
            &work.join("big/skeleton"),
            "skeleton",
            json!({"name": "x"}),
        )?;
        let (tasks_per_s, took) = concurrent_tasks(addr)?;
        println!(
            "  demo dry run p50 {:.1} ms, 200-file dry run p50 {:.1} ms, {TASKS} tasks in {:.2} s ({tasks_per_s:.1} tasks/s)",
            demo_run.0, big_run.0, took
        );
        Ok(vec![
            format!(
                "| dry run, demo `rust-service` template (7 files) | {:.1} ms | {:.1} ms | ≤ 20 ms p50 |",
                demo_run.0, demo_run.1
            ),
            format!(
                "| dry run, generated 200-file skeleton | {:.1} ms | {:.1} ms | |",
                big_run.0, big_run.1
            ),
            format!(
                "| {TASKS} concurrent tasks of a 50-file template (all completed) | {tasks_per_s:.1} tasks/s | {took:.2} s in all | ≥ 20 tasks/s |"
            ),
        ])
    })();
    stop(&mut server);
    let rows = measured?;
    let _ = std::fs::remove_dir_all(&work);
    let mut table =
        String::from("| measure | p50 / rate | p99 / total | target |\n|---|---:|---:|---|\n");
    for row in rows {
        let _ = writeln!(table, "{row}");
    }
    println!("\n{table}");
    write_section(
        root,
        "scaffolder",
        "Scaffolder (`cargo xtask bench scaffolder`)",
        &format!(
            "Dry runs over HTTP (`POST /api/scaffolder/v2/dry-run` with the template entity and its skeleton as `directoryContents`, {DRY_RUNS} in a row after 5 warm-ups; the time includes sending and returning every file base64-encoded). Tasks: {TASKS} `POST /api/scaffolder/v2/tasks` sent at once from 8 threads for a template whose `fetch:template` renders 50 files, then `debug:log` lists the workspace; measured from the first request until every task reports `completed` (4 workers)."
        ),
        &table,
    )
}

/// A template `name` whose skeleton has `files` templated files in ten folders.
fn generate(dir: &Path, name: &str, files: usize) -> anyhow::Result<()> {
    for i in 0..files {
        let path = dir.join(format!(
            "skeleton/folder-{}/file-{i}-${{{{ values.name }}}}.md",
            i % 10
        ));
        std::fs::create_dir_all(path.parent().context("a folder")?)?;
        std::fs::write(
            path,
            format!(
                "# ${{{{ values.name | upper }}}} file {i}\n\n{{% for n in [1, 2, 3] %}}- item ${{{{ n }}}} of ${{{{ values.name }}}}\n{{% endfor %}}\nSome plain text to copy along with the rendered parts.\n"
            ),
        )?;
    }
    std::fs::write(
        dir.join("template.yaml"),
        format!(
            "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata:\n  name: {name}\nspec:\n  owner: group:default/payments\n  type: service\n  parameters:\n    required: [name]\n    properties:\n      name: {{type: string}}\n  steps:\n    - id: fetch\n      action: fetch:template\n      input:\n        url: ./skeleton\n        values: {{name: \"${{{{ parameters.name }}}}\"}}\n    - id: list\n      action: debug:log\n      input: {{listWorkspace: true}}\n"
        ),
    )?;
    Ok(())
}

/// p50 and p99 in ms of dry runs of the catalog's template `name` with the files under
/// `skeleton` sent as `<prefix>/...`.
fn dry_runs(
    addr: SocketAddr,
    name: &str,
    skeleton: &Path,
    prefix: &str,
    values: Value,
) -> anyhow::Result<(f64, f64)> {
    let entity: Value = serde_json::from_str(
        &http_get(
            addr,
            &format!("/api/catalog/entities/by-name/template/default/{name}"),
        )
        .context("the template is in the catalog")?,
    )?;
    let mut contents = Vec::new();
    let mut folders = vec![skeleton.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                let relative = path.strip_prefix(skeleton)?.to_string_lossy().into_owned();
                contents.push(json!({
                    "path": format!("{prefix}/{relative}"),
                    "base64Content": base64::engine::general_purpose::STANDARD.encode(std::fs::read(&path)?),
                }));
            }
        }
    }
    let body =
        json!({"template": entity, "values": values, "directoryContents": contents}).to_string();
    let mut times = Vec::new();
    for run in 0..DRY_RUNS + 5 {
        let began = Instant::now();
        let (status, answer) = http(addr, "POST", "/api/scaffolder/v2/dry-run", body.as_bytes())
            .context("the dry run answered")?;
        let took = began.elapsed().as_secs_f64() * 1000.0;
        if status != 200 {
            bail!("dry run of {name}: HTTP {status}: {answer}");
        }
        let answer: Value = serde_json::from_str(&answer)?;
        if answer["directoryContents"].as_array().map_or(0, Vec::len) != contents.len() {
            bail!(
                "dry run of {name} produced {} files, not {}",
                answer["directoryContents"],
                contents.len()
            );
        }
        if run >= 5 {
            times.push(took);
        }
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], times[times.len() * 99 / 100]))
}

/// Creates [`TASKS`] tasks at once; answers tasks per second and the seconds taken.
fn concurrent_tasks(addr: SocketAddr) -> anyhow::Result<(f64, f64)> {
    let began = Instant::now();
    let ids: Vec<String> = std::thread::scope(|scope| {
        let senders: Vec<_> = (0..8)
            .map(|t| {
                scope.spawn(move || -> anyhow::Result<Vec<String>> {
                    let mut ids = Vec::new();
                    for i in (t..TASKS).step_by(8) {
                        let body = json!({"templateRef": "template:default/fifty", "values": {"name": format!("svc-{i}")}});
                        let (status, answer) = http(addr, "POST", "/api/scaffolder/v2/tasks", body.to_string().as_bytes())
                            .context("POST tasks answered")?;
                        if status != 201 {
                            bail!("POST tasks: HTTP {status}: {answer}");
                        }
                        let answer: Value = serde_json::from_str(&answer)?;
                        ids.push(answer["id"].as_str().context("an id")?.to_string());
                    }
                    Ok(ids)
                })
            })
            .collect();
        senders
            .into_iter()
            .map(|s| s.join().expect("a sender thread"))
            .collect::<anyhow::Result<Vec<Vec<String>>>>()
            .map(|all| all.concat())
    })?;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let listed: Value = serde_json::from_str(
            &http_get(addr, "/api/scaffolder/v2/tasks?limit=1000").context("GET tasks")?,
        )?;
        let tasks = listed["tasks"].as_array().context("tasks")?;
        let failed = tasks.iter().filter(|t| t["status"] == "failed").count();
        if failed > 0 {
            bail!("{failed} tasks failed");
        }
        let done = tasks.iter().filter(|t| t["status"] == "completed").count();
        if done == ids.len() {
            let took = began.elapsed().as_secs_f64();
            return Ok((ids.len() as f64 / took, took));
        }
        if Instant::now() > deadline {
            bail!("only {done} of {} tasks completed in 300 s", ids.len());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
