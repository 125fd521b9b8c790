//! `cargo xtask bench plugins`: the plugin runtime measured through the real server — startup
//! with the compile cache cold and warm, upload (compile + link + `meta.info`), hot-reload
//! latency, tab renders (host-side time for a fresh instance plus the render, from the admin
//! API's stats; HTTP latency on one connection and throughput on sixteen; Rust, JavaScript
//! and Python plugins), new plugins dropped
//! into the folder with a cold compile cache, and catalog reads while plugins loop and wait.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::{
    Latency, free_address, http, http_get, median_latency, quiet_latency, quiet_post_latency,
    start, stop, wait_for, write_section, wrk, wrk_post,
};

/// How long the server may take to become ready.
const READY: Duration = Duration::from_secs(60);
use crate::{build, toolchain};

const ENTITY: &str = "entity=component:default/checkout";
/// An entity with a GitHub repository, for the Python plugin's CI tab.
const REPOSITORY_ENTITY: &str = "entity=component:default/billing";
/// The probe plugin's build marker, patched to make distinct versions.
const MARKER: &[u8] = b"build-000000";

/// Every case, kept in BENCHMARKS.md; with `--load`, only the load case, printed (for
/// working on it).
pub fn plugins(root: &Path, args: &[String]) -> anyhow::Result<()> {
    toolchain::system::ensure_debian_packages(&["wrk"], true)?;
    let built = build::all(root, false)?;
    let work = std::env::temp_dir().join(format!("greenroom-bench-plugins-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let catalog = root.join("tests/fixtures/catalog");
    if args.iter().any(|a| a == "--load") {
        let rows = under_plugin_load(&built, &work, &catalog)?;
        let _ = std::fs::remove_dir_all(&work);
        println!("\n{}", table(&rows));
        return Ok(());
    }
    let plugins = work.join("plugins");
    std::fs::create_dir_all(&plugins)?;
    std::fs::copy(
        built.plugins_dir.join("ownership.wasm"),
        plugins.join("ownership.wasm"),
    )?;
    let probe = std::fs::read(built.test_plugins_dir.join("probe.wasm"))?;
    std::fs::write(plugins.join("probe.wasm"), &probe)?;
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

    // Python and JavaScript plugins join after the start-up rows (which time the Rust
    // ones): js-probe renders with one catalog call, ci-status (Python) with one request to
    // a loopback stand-in for GitHub.
    let github = greenroom_e2e::FakeApi::start(greenroom_e2e::GITHUB_RUNS);
    let repositories = work.join("repositories");
    std::fs::create_dir_all(&repositories)?;
    std::fs::write(
        repositories.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: billing\n  annotations:\n    github.com/project-slug: acme/billing\nspec:\n  type: service\n  lifecycle: production\n  owner: payments\n",
    )?;
    let config = work.join("greenroom.yaml");
    std::fs::write(
        &config,
        format!(
            "plugins:\n  ci-status:\n    allowedHosts: ['127.0.0.1:{port}']\n    config: {{api-url: 'http://127.0.0.1:{port}'}}\n  widgets:\n    limits: {{actionsPerSecond: 1000000}}\n",
            port = github.port
        ),
    )?;
    for name in ["js-probe", "py-follower", "widgets", "webhooks"] {
        std::fs::copy(
            built.test_plugins_dir.join(format!("{name}.wasm")),
            plugins.join(format!("{name}.wasm")),
        )?;
    }
    for name in ["ci-status", "template-file"] {
        std::fs::copy(
            built.plugins_dir.join(format!("{name}.wasm")),
            plugins.join(format!("{name}.wasm")),
        )?;
    }
    let mut server = start(
        &built.host_binary,
        addr,
        &data,
        &catalog,
        &plugins,
        &[
            "--config".as_ref(),
            config.as_os_str(),
            "--catalog".as_ref(),
            repositories.as_os_str(),
        ],
    )?;
    // Every plugin on its optimised code before anything is timed.
    wait_for(&mut server, READY, || {
        http_get(addr, "/api/plugins")
            .is_some_and(|b| b.matches("\"tier\":\"optimized\"").count() == 8)
    })?;
    // Paced too: the Python tabs (their instances are made ahead when a core is idle), and
    // the Rust and JavaScript ones to show what the pause alone costs a call (cold caches).
    for (label, plugin, tab, entity, paced) in [
        ("probe tab (render only)", "probe", "build", ENTITY, true),
        (
            "ownership tab (render + 2 catalog calls)",
            "ownership",
            "ownership",
            ENTITY,
            false,
        ),
        (
            "JavaScript tab (js-probe: render + 1 catalog call)",
            "js-probe",
            "owner",
            ENTITY,
            true,
        ),
        (
            "Python tab (py-follower: render + 1 catalog call)",
            "py-follower",
            "owner",
            ENTITY,
            true,
        ),
        (
            "Python tab (ci-status: render + 1 request to a loopback API)",
            "ci-status",
            "ci",
            REPOSITORY_ENTITY,
            true,
        ),
    ] {
        let path = format!("/api/plugins/{plugin}/tabs/{tab}?{entity}");
        let url = format!("http://{addr}{path}");
        // The tab renders what it should (not an error) before it is timed.
        let body =
            http_get(addr, &path).with_context(|| format!("{plugin} tab {tab} did not render"))?;
        if body.contains("\"error\"") {
            bail!("{plugin} tab {tab} failed: {body}");
        }
        rows.extend(call_rows(
            addr,
            label,
            plugin,
            "render",
            || quiet_latency(&url),
            || wrk(&url, 16, 4),
        )?);
        if paced {
            rows.push(paced_row(addr, label, plugin, "render", &path)?);
        }
    }
    // The tab listing asks every plugin's tabs-for; the Python one's host-side time is the
    // cost of a Python call doing little.
    let label = "tab listing (each plugin's tabs-for; host-side: ci-status, Python)";
    let path = format!("/api/plugins/tabs?{REPOSITORY_ENTITY}");
    let url = format!("http://{addr}{path}");
    rows.extend(call_rows(
        addr,
        label,
        "ci-status",
        "tabs-for",
        || quiet_latency(&url),
        || wrk(&url, 16, 4),
    )?);
    rows.push(paced_row(addr, label, "ci-status", "tabs-for", &path)?);
    // An action call: template-file:write renders a template into a scratch workspace.
    let path = "/api/plugins/template-file/actions/write";
    let body = r##"{"input": {"path": "README.md", "template": "# {{ name }}\n\nOwned by {{ owner }}.\n", "values": {"name": "billing", "owner": "payments"}}, "files": {}}"##;
    match http(addr, "POST", path, body.as_bytes()) {
        Some((200, answer)) if answer.contains("Owned by payments.") => {}
        other => bail!("the template-file action failed: {other:?}"),
    }
    let url = format!("http://{addr}{path}");
    rows.extend(call_rows(
        addr,
        "Rust action (template-file:write: a template rendered into the workspace)",
        "template-file",
        "call",
        || quiet_post_latency(&url, body),
        || wrk_post(&url, body, 16, 4),
    )?);
    // A button press: widgets answers `ping` with a notice (the rate limit set out of reach).
    let path = "/api/plugins/widgets/ui-actions";
    let body = r#"{"surface": {"kind": "page", "id": "board"}, "actionId": "ping"}"#;
    match http(addr, "POST", path, body.as_bytes()) {
        Some((200, answer)) if answer.contains("pong") => {}
        other => bail!("the widgets action failed: {other:?}"),
    }
    let url = format!("http://{addr}{path}");
    rows.extend(call_rows(
        addr,
        "UI action (widgets: a button answered with a notice)",
        "widgets",
        "handle-action",
        || quiet_post_latency(&url, body),
        || wrk_post(&url, body, 16, 4),
    )?);
    // An HTTP route: webhooks answers `GET /hello` through wasi:http's incoming handler.
    let path = "/api/plugins/webhooks/http/hello";
    match http(addr, "GET", path, b"") {
        Some((200, answer)) if answer.contains("hello") => {}
        other => bail!("the webhooks route failed: {other:?}"),
    }
    let url = format!("http://{addr}{path}");
    rows.extend(call_rows(
        addr,
        "HTTP route (webhooks: GET /hello)",
        "webhooks",
        "handle",
        || quiet_latency(&url),
        || wrk(&url, 16, 4),
    )?);

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

    rows.extend(new_plugins(&built, &work, &catalog)?);
    rows.extend(event_batch(&built, &work, &catalog)?);
    rows.extend(under_plugin_load(&built, &work, &catalog)?);
    let _ = std::fs::remove_dir_all(&work);

    let table = table(&rows);
    println!("\n{table}");
    write_section(
        root,
        "plugins",
        "Plugins (`cargo xtask bench plugins`)",
        "Rust plugins built for wasm32-wasip2 (probe: 118 KB, ownership: 75 KB); JavaScript: js-probe (componentize-js), Python: py-follower and ci-status (componentize-py, 18 MB), the latter with a loopback stand-in for GitHub's API. Host-side time is what the admin API's stats record for a call: a fresh store and instance, the call, and checking the output, over the latest 1024 calls of a one-connection wrk run. A plugin whose instantiation costs 0.15 ms or more (the Python ones: about 0.35 ms, with the vendored wasmtime's patches; 1 ms without) has each call's fresh instance made ahead, after the call before, on a thread that runs only when the plugin workers' core is idle; its host-side time is then the call on that instance, and the row after shows the CPU time making one took. Back to back (wrk) leaves that thread little idle time, so tabs are also measured with a 5 ms pause after each answer (1100 requests, more than the stats' window); the pause alone makes a call slower (its caches go cold: see the Rust probe's paced row). HTTP: wrk, 1 connection, 4 s (taken again, up to 4 runs, while the hypervisor steals over 1 % of the CPU); calls/s: wrk, 16 connections, 4 s. The action: `POST .../actions/write` (the trial route, a scratch workspace per call). The UI action: `POST /api/plugins/widgets/ui-actions` (a `ping` button on a page: the plugin's pages are checked, then `handle-action`). The HTTP route: `GET /api/plugins/webhooks/http/hello` (a fresh instance's `wasi:http` incoming handler, the answer read back). Catalog events: a file of 100 new components written into a watched folder until the `follower` test plugin's storage holds all 100 (read from the admin API; the watcher's batching, a reconcile, up to 200 ms of gathering, then `on-changes`, which stores each change), and the host-side p50 of its calls. Upload and reload: 5 and 10 distinct versions. New plugins: the file renamed into the plugins folder of a running server with an empty compile cache, until the admin API lists it loaded (ci-status: Python, 18 MB; techdocs: JavaScript), served from Winch's baseline code, and until its Cranelift code replaced that. Under load: 100 clients rendering a tab that loops until its 2 s deadline and 100 rendering one that waits 1 s on a loopback API (granted 100 calls at once), each client waiting the Retry-After of a 503 (the clients stand in for remote users: on this 2-core machine they run at nice 10); catalog by-name over wrk on 1 connection, the median of three 4 s runs, idle and then under that load (the load's stand-in API at nice 10 too); the target is a loaded p99 within 2× of the idle one with no failed read.",
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
        String::from("| measure | p50 | p99 | calls/s (16 conn) |\n|---|---:|---:|---:|\n");
    for row in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            row.measure, row.p50, row.p99, row.rate
        );
    }
    out
}

/// A call's rows: host-side time (from the plugin's stats, read while their window of the
/// latest 1024 calls holds only the one-connection run's), latency over HTTP on one
/// connection (`one`) and calls per second on sixteen (`many`). For a plugin whose instances
/// are made ahead of its calls, the share of calls that found one, and how long making one
/// took (off the calls' path).
fn call_rows(
    addr: SocketAddr,
    label: &str,
    plugin: &str,
    call: &str,
    one: impl FnOnce() -> anyhow::Result<(Latency, f64)>,
    many: impl FnOnce() -> anyhow::Result<(Latency, f64)>,
) -> anyhow::Result<Vec<Row>> {
    let (host, one) = HostSide::of(addr, plugin, || Ok(one()?.0))?;
    let (_, rate) = many()?;
    println!(
        "  {label}: host p50 {:.3} ms, HTTP p50 {:.2} ms, {rate:.0} calls/s, {}",
        host.p50_ms,
        one.p50_ms,
        host.summary()
    );
    let host_measure = match host.made_ahead() {
        Some(percent) => format!(
            "{label}: host-side, {call} on a fresh instance made ahead ({percent:.0} % of calls)"
        ),
        None => format!("{label}: host-side, fresh instance + {call}"),
    };
    let mut rows = vec![
        host.row(host_measure),
        Row {
            measure: format!("{label}: over HTTP"),
            p50: format!("{:.2} ms", one.p50_ms),
            p99: format!("{:.2} ms", one.p99_ms),
            rate: format!("{rate:.0}"),
        },
    ];
    if host.made_ahead().is_some() {
        rows.push(Row {
            measure: format!(
                "{label}: CPU time making that instance (instantiation, off the call's path)"
            ),
            p50: format!("{:.0} µs", host.prepare_p50_ms * 1000.0),
            p99: String::new(),
            rate: String::new(),
        });
    }
    Ok(rows)
}

/// A plugin's host-side figures over one run, from its stats before and after.
struct HostSide {
    p50_ms: f64,
    p99_ms: f64,
    calls: f64,
    /// Of those calls, the ones that ran on an instance made ahead.
    ahead: f64,
    prepare_p50_ms: f64,
}

impl HostSide {
    /// Runs `run` and reads the plugin's stats around it.
    fn of<T>(
        addr: SocketAddr,
        plugin: &str,
        run: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<(Self, T)> {
        let stats = || http_get(addr, &format!("/api/plugins/{plugin}")).context("plugin stats");
        let before = stats()?;
        let ran = run()?;
        let after = stats()?;
        let grew = |key| Ok::<_, anyhow::Error>(number(&after, key)? - number(&before, key)?);
        let host = Self {
            p50_ms: number(&after, "p50Ms")?,
            p99_ms: number(&after, "p99Ms")?,
            calls: grew("calls")?,
            ahead: grew("prepared")?,
            prepare_p50_ms: number(&after, "prepareP50Ms")?,
        };
        Ok((host, ran))
    }

    /// The percentage of calls on instances made ahead, when there is a real share (a cold
    /// first instantiation can make one or two ahead for any plugin).
    fn made_ahead(&self) -> Option<f64> {
        (self.ahead >= 0.01 * self.calls).then(|| 100.0 * self.ahead / self.calls)
    }

    fn summary(&self) -> String {
        format!("{} of {} on instances made ahead", self.ahead, self.calls)
    }

    fn row(&self, measure: String) -> Row {
        Row {
            measure,
            p50: format!("{:.0} µs", self.p50_ms * 1000.0),
            p99: format!("{:.0} µs", self.p99_ms * 1000.0),
            rate: String::new(),
        }
    }
}

/// Requests in a paced run: more than the stats' window of 1024 calls, so their percentiles
/// are this run's alone.
const PACED_REQUESTS: usize = 1100;
/// The pause after each answer in a paced run.
const PACE: Duration = Duration::from_millis(5);

/// Host-side time of a plugin's calls when requests come one at a time with a pause between
/// them (a portal's users rather than a load test): the pause leaves a core idle, where the
/// next call's instance is made ahead.
fn paced_row(
    addr: SocketAddr,
    label: &str,
    plugin: &str,
    call: &str,
    path: &str,
) -> anyhow::Result<Row> {
    let (host, ()) = HostSide::of(addr, plugin, || {
        for _ in 0..PACED_REQUESTS {
            http_get(addr, path).with_context(|| format!("{path} failed"))?;
            std::thread::sleep(PACE);
        }
        Ok(())
    })?;
    println!(
        "  {label}, paced: host p50 {:.3} ms, {}",
        host.p50_ms,
        host.summary()
    );
    let share = host
        .made_ahead()
        .map(|percent| format!(" ({percent:.0} % on instances made ahead)"))
        .unwrap_or_default();
    Ok(host.row(format!(
        "{label}: host-side, {call}, a request {} ms after each answer{share}",
        PACE.as_millis()
    )))
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

/// How long each new plugin takes from its file landing in the plugins folder to serving, with
/// a cold compile cache: a Python one, a JavaScript one, and a small Rust one dropped just
/// after the Python one.
fn new_plugins(built: &build::Built, work: &Path, catalog: &Path) -> anyhow::Result<Vec<Row>> {
    let python = built.plugins_dir.join("ci-status.wasm");
    let javascript = built.plugins_dir.join("techdocs.wasm");
    let rust = built.plugins_dir.join("ownership.wasm");
    let cases: [(&str, &[&Path], &str); 3] = [
        (
            "new Python plugin, cold compile cache: dropped → serving",
            &[&python],
            "ci-status",
        ),
        (
            "new JavaScript plugin, cold compile cache: dropped → serving",
            &[&javascript],
            "techdocs",
        ),
        (
            "small Rust plugin dropped right after a Python one: → serving",
            &[&python, &rust],
            "ownership",
        ),
    ];
    let mut rows = Vec::new();
    for (run, (label, files, waited)) in cases.into_iter().enumerate() {
        let case = work.join(format!("new-{run}"));
        let plugins = case.join("plugins");
        let (addr, mut server) = start_in(built, &case, catalog, &[])?;
        wait_for(&mut server, READY, || {
            http_get(addr, "/api/plugins").is_some()
        })?;
        let started = Instant::now();
        for file in files {
            drop_in(file, &plugins)?;
        }
        let path = format!("/api/plugins/{waited}");
        wait_for(&mut server, READY, || {
            http_get(addr, &path).is_some_and(|b| b.contains("\"state\":\"loaded\""))
        })?;
        rows.push(Row::single(label, started.elapsed()));
        if files.len() == 1 {
            wait_for(&mut server, READY, || {
                http_get(addr, &path).is_some_and(|b| b.contains("\"tier\":\"optimized\""))
            })?;
            rows.push(Row::single(
                "  … its optimised code swapped in",
                started.elapsed(),
            ));
        }
        stop(&mut server);
    }
    Ok(rows)
}

/// A catalog file of 100 new components written into a watched folder: the time until the
/// `follower` test plugin has stored them all, and the host-side time of its calls.
fn event_batch(built: &build::Built, work: &Path, catalog: &Path) -> anyhow::Result<Vec<Row>> {
    let case = work.join("events");
    let watched = case.join("watched");
    std::fs::create_dir_all(case.join("plugins"))?;
    std::fs::create_dir_all(&watched)?;
    std::fs::copy(
        built.test_plugins_dir.join("follower.wasm"),
        case.join("plugins/follower.wasm"),
    )?;
    let (addr, mut server) = start_in(
        built,
        &case,
        catalog,
        &["--catalog".as_ref(), watched.as_os_str()],
    )?;
    wait_for(&mut server, READY, || {
        http_get(addr, "/api/plugins/follower")
            .is_some_and(|b| b.contains("\"tier\":\"optimized\""))
    })?;
    let documents: Vec<String> = (0..100)
        .map(|i| format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: arrival-{i}\nspec:\n  type: service\n  lifecycle: production\n  owner: payments\n"))
        .collect();
    let started = Instant::now();
    std::fs::write(watched.join("catalog-info.yaml"), documents.join("---\n"))?;
    // Each change is a key in its storage, beside its counter: read from the admin API, so
    // no plugin call but `on-changes` is counted.
    wait_for(&mut server, READY, || {
        http_get(addr, "/api/plugins/follower").is_some_and(|b| b.contains("\"keys\":101"))
    })?;
    let delivered = started.elapsed();
    // A call's stats are recorded once it has returned, a moment after its last write.
    wait_for(&mut server, READY, || {
        http_get(addr, "/api/plugins/follower")
            .is_some_and(|b| number(&b, "calls").is_ok_and(|calls| calls >= 1.0))
    })?;
    let stats = http_get(addr, "/api/plugins/follower").context("follower stats")?;
    let calls = number(&stats, "calls")?;
    let p50 = number(&stats, "p50Ms")?;
    stop(&mut server);
    Ok(vec![
        Row::single(
            "catalog events: 100 new entities in a file → all delivered to a plugin",
            delivered,
        ),
        Row {
            measure: format!(
                "  … host-side per on-changes call ({calls:.0} calls, batches of ≤ 100)"
            ),
            p50: format!("{:.0} µs", p50 * 1000.0),
            p99: String::new(),
            rate: String::new(),
        },
    ])
}

/// Starts a server on a free address with its data and plugins folders in `case`.
fn start_in(
    built: &build::Built,
    case: &Path,
    catalog: &Path,
    extra: &[&std::ffi::OsStr],
) -> anyhow::Result<(SocketAddr, std::process::Child)> {
    let addr = free_address()?;
    let plugins = case.join("plugins");
    let server = start(
        &built.host_binary,
        addr,
        &case.join("data"),
        catalog,
        &plugins,
        extra,
    )?;
    Ok((addr, server))
}

/// Copies `file` into `plugins` under a temporary name and renames it, as an operator's
/// deployment would, so the watcher never sees half a file.
fn drop_in(file: &Path, plugins: &Path) -> anyhow::Result<()> {
    let name = file.file_name().context("plugin file name")?;
    let partial = plugins.join(name).with_extension("partial");
    std::fs::copy(file, &partial)?;
    std::fs::rename(&partial, plugins.join(name))?;
    Ok(())
}

/// Catalog read latency idle and while 100 clients render a looping tab and 100 a tab that
/// waits on a slow API; how those renders ended.
fn under_plugin_load(
    built: &build::Built,
    work: &Path,
    catalog: &Path,
) -> anyhow::Result<Vec<Row>> {
    // The slow API stands in for a service elsewhere: its threads (made by one that
    // inherits the priority it is given here) run at nice 10 like the load clients.
    let api = std::thread::spawn(|| {
        lower_own_priority();
        greenroom_e2e::FakeApi::start_slow("slow-ok", Duration::from_secs(1))
    })
    .join()
    .map_err(|_| anyhow::anyhow!("cannot start the slow API"))?;
    let port = api.port;
    let case = work.join("load");
    let plugins = case.join("plugins");
    std::fs::create_dir_all(&plugins)?;
    for name in ["hostile", "probe"] {
        std::fs::copy(
            built.test_plugins_dir.join(format!("{name}.wasm")),
            plugins.join(format!("{name}.wasm")),
        )?;
    }
    std::fs::write(
        plugins.join("probe.toml"),
        format!("[capabilities]\nhosts = [\"127.0.0.1:{port}\"]\nconfig = [\"echo-url\"]\n"),
    )?;
    let config = case.join("greenroom.yaml");
    std::fs::write(
        &config,
        format!(
            "plugins:\n  probe:\n    allowedHosts: ['127.0.0.1:{port}']\n    config: {{echo-url: 'http://127.0.0.1:{port}/slow'}}\n    limits: {{concurrency: 100}}\n"
        ),
    )?;
    let (addr, mut server) = start_in(
        built,
        &case,
        catalog,
        &["--config".as_ref(), config.as_os_str()],
    )?;
    wait_for(&mut server, READY, || {
        http_get(addr, "/api/plugins")
            .is_some_and(|b| b.matches("\"state\":\"loaded\"").count() == 2)
    })?;
    let read = format!("http://{addr}/api/catalog/entities/by-name/component/default/checkout");
    let idle = median_latency(&read, 3)?;

    let stop_load = Arc::new(AtomicBool::new(false));
    let outcomes: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let clients: Vec<_> = [("loop", "hostile", "loop"), ("wait", "probe", "imports")]
        .into_iter()
        .flat_map(|(kind, plugin, tab)| (0..100).map(move |_| (kind, plugin, tab)))
        .map(|(kind, plugin, tab)| {
            let (stop_load, outcomes) = (stop_load.clone(), outcomes.clone());
            std::thread::spawn(move || render_until(addr, kind, plugin, tab, &stop_load, &outcomes))
        })
        .collect();
    // The looping plugin holds its whole concurrency limit before reads are measured.
    let saturated = wait_for(&mut server, READY, || {
        http_get(addr, "/api/plugins/hostile").is_some_and(|b| b.contains("\"running\":32"))
    });
    let loaded = saturated.and_then(|()| median_latency(&read, 3));
    stop_load.store(true, Ordering::Relaxed);
    for client in clients {
        let _ = client.join();
    }
    stop(&mut server);
    let loaded = loaded?;
    let outcomes = outcomes.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let count = |key: &str| outcomes.get(key).copied().unwrap_or(0);
    println!(
        "  catalog p99 idle {:.2} ms, under plugin load {:.2} ms; renders: {outcomes:?}",
        idle.p99_ms, loaded.p99_ms
    );
    Ok(vec![
        Row {
            measure: "catalog by-name, idle".into(),
            p50: format!("{:.2} ms", idle.p50_ms),
            p99: format!("{:.2} ms", idle.p99_ms),
            rate: String::new(),
        },
        Row {
            measure: format!(
                "catalog by-name under 100 looping + 100 waiting renders ({:.1}× idle p99, 0 failed reads)",
                loaded.p99_ms / idle.p99_ms
            ),
            p50: format!("{:.2} ms", loaded.p50_ms),
            p99: format!("{:.2} ms", loaded.p99_ms),
            rate: String::new(),
        },
        Row {
            measure: format!(
                "those renders: waiting tab {} with its own answer, {} host timeouts, {} other; looping tab {} timed out at its deadline, {} refused 503",
                count("wait 200 own answer"),
                count("wait 502 timed out"),
                outcomes
                    .iter()
                    .filter(|(k, _)| k.starts_with("wait")
                        && !k.contains("own answer")
                        && !k.contains("timed out"))
                    .map(|(_, n)| n)
                    .sum::<usize>(),
                count("loop 502 timed out"),
                count("loop 503"),
            ),
            p50: String::new(),
            p99: String::new(),
            rate: String::new(),
        },
    ])
}

/// One load client: renders a tab again and again until told to stop, waiting out each 503's
/// Retry-After (1 s) as a polite client does, and counts how each render ended.
fn render_until(
    addr: SocketAddr,
    kind: &str,
    plugin: &str,
    tab: &str,
    stop_load: &AtomicBool,
    outcomes: &Mutex<BTreeMap<String, usize>>,
) {
    lower_own_priority();
    let path = format!("/api/plugins/{plugin}/tabs/{tab}?{ENTITY}");
    while !stop_load.load(Ordering::Relaxed) {
        let outcome = match http(addr, "GET", &path, &[]) {
            Some((200, body)) if body.contains("200 slow-ok") => "200 own answer".to_string(),
            Some((502, body)) if body.contains("timed out") => "502 timed out".to_string(),
            Some((status, _)) => status.to_string(),
            None => "no answer".to_string(),
        };
        let refused = outcome == "503";
        *outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(format!("{kind} {outcome}"))
            .or_default() += 1;
        if refused {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}

/// The load's clients stand in for users on other machines: on this one they run at a lower
/// CPU priority (renice of the calling thread), so they do not take the server's CPU as
/// remote users would not.
fn lower_own_priority() {
    let Ok(link) = std::fs::read_link("/proc/thread-self") else {
        return;
    };
    if let Some(tid) = link.file_name() {
        let _ = std::process::Command::new("renice")
            .args(["-n", "10", "-p"])
            .arg(tid)
            .stdout(std::process::Stdio::null())
            .status();
    }
}
