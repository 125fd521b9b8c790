//! `cargo xtask bench …`: each benchmark starts the real server, measures it from outside
//! (wrk, HTTP, /proc), prints a table and keeps it in its own section of BENCHMARKS.md.

pub mod catalog;
pub mod docs;
pub mod plugins;
pub mod scaffolder;
pub mod search;
pub mod ui;

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::toolchain;

pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Starts `greenroom serve` quietly on `addr` with a data folder, one catalog location, a
/// plugins folder (created when missing) and any `extra` flags.
pub fn start(
    binary: &Path,
    addr: SocketAddr,
    data: &Path,
    catalog: &Path,
    plugins: &Path,
    extra: &[&std::ffi::OsStr],
) -> anyhow::Result<Child> {
    std::fs::create_dir_all(plugins)?;
    Command::new(binary)
        .args(["serve", "--listen", &addr.to_string()])
        .args(extra)
        .arg("--catalog")
        .arg(catalog)
        .arg("--data")
        .arg(data)
        .arg("--plugins")
        .arg(plugins)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start greenroom")
}

/// Polls every millisecond (benchmarks measure how soon it holds) until `ready`, failing
/// when the server exits or `limit` passes.
pub fn wait_for(
    server: &mut Child,
    limit: Duration,
    mut ready: impl FnMut() -> bool,
) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if let Some(status) = server.try_wait()? {
            bail!("greenroom exited early: {status}");
        }
        if ready() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    bail!("not ready within {limit:?}")
}

pub fn stop(child: &mut Child) {
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
}

pub fn free_address() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// GET that answers the body of a 200 response, else `None`.
pub fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    http(addr, "GET", path, &[])
        .filter(|(status, _)| *status == 200)
        .map(|(_, body)| body)
}

/// One HTTP/1.1 request; returns the status and body.
pub fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .ok()?;
    stream.write_all(body).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.get(9..12)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())?;
    Some((status, body))
}

/// Runs of a measurement before settling for the least disturbed.
const ATTEMPTS: usize = 4;
/// Stolen CPU, as a share of all CPUs' time over the run, above which a measurement is
/// taken again: on a shared host a neighbour's bursts stop our vCPUs for 10–100 ms and land
/// in whatever the server is doing, so percentiles and start-up times would measure the
/// neighbour. A lone short burst in a long run stays under it and shows in the stolen column.
const QUIET_STOLEN_PCT: f64 = 1.0;

/// Takes a measurement again (up to [`ATTEMPTS`] runs) while the hypervisor stole more than
/// [`QUIET_STOLEN_PCT`] of the machine's CPU during it; answers the least disturbed run with
/// the share stolen during it.
pub fn least_disturbed<T>(
    mut measure: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<(T, f64)> {
    let mut best: Option<(T, f64)> = None;
    for _ in 0..ATTEMPTS {
        let before = cpu_times()?;
        let run = measure()?;
        let stolen = cpu_times()?.stolen_pct_since(&before);
        if best.as_ref().is_none_or(|(_, least)| stolen < *least) {
            best = Some((run, stolen));
        }
        if best
            .as_ref()
            .is_some_and(|(_, least)| *least <= QUIET_STOLEN_PCT)
        {
            break;
        }
    }
    best.context("no measurement ran")
}

/// Latency at one connection over 4 s, the least disturbed of up to [`ATTEMPTS`] runs, with
/// the share of CPU stolen during it.
pub fn quiet_latency(url: &str) -> anyhow::Result<(Latency, f64)> {
    quiet_latency_as(url, None)
}

/// [`quiet_latency`], each request with the `header` (`Name: value`).
pub fn quiet_latency_as(url: &str, header: Option<&str>) -> anyhow::Result<(Latency, f64)> {
    least_disturbed(|| Ok(wrk_as(url, header, 1, 4)?.0))
}

/// Latency at one connection: the run with the median p99 of `runs` runs of 4 s, for
/// comparing tails that other programs on the machine disturb now and then.
pub fn median_latency(url: &str, runs: usize) -> anyhow::Result<Latency> {
    let mut all = (0..runs)
        .map(|_| Ok(wrk(url, 1, 4)?.0))
        .collect::<anyhow::Result<Vec<Latency>>>()?;
    all.sort_by(|a, b| a.p99_ms.total_cmp(&b.p99_ms));
    all.into_iter().nth(runs / 2).context("no measurement ran")
}

/// Runs wrk; returns its latency percentiles and requests per second.
pub fn wrk(url: &str, connections: usize, seconds: u64) -> anyhow::Result<(Latency, f64)> {
    wrk_as(url, None, connections, seconds)
}

/// [`wrk`], each request with the `header` (`Name: value`).
pub fn wrk_as(
    url: &str,
    header: Option<&str>,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<(Latency, f64)> {
    let args: Vec<&OsStr> = header
        .map(|h| ["-H".as_ref(), h.as_ref()])
        .into_iter()
        .flatten()
        .collect();
    run_wrk(url, &args, connections, seconds)
}

/// [`quiet_latency`] of POSTing the JSON `body`.
pub fn quiet_post_latency(url: &str, body: &str) -> anyhow::Result<(Latency, f64)> {
    least_disturbed(|| Ok(wrk_post(url, body, 1, 4)?.0))
}

/// [`wrk`], each request a POST of the JSON `body`.
pub fn wrk_post(
    url: &str,
    body: &str,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<(Latency, f64)> {
    let script = std::env::temp_dir().join(format!("greenroom-wrk-{}.lua", std::process::id()));
    // A Lua long string holds the body as it is (no escapes are read in it).
    anyhow::ensure!(!body.contains("]==]"), "the body cannot be quoted for wrk");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = [==[{body}]==]\n"
        ),
    )?;
    let measured = run_wrk(
        url,
        &["-s".as_ref(), script.as_os_str()],
        connections,
        seconds,
    );
    let _ = std::fs::remove_file(&script);
    measured
}

fn run_wrk(
    url: &str,
    args: &[&OsStr],
    connections: usize,
    seconds: u64,
) -> anyhow::Result<(Latency, f64)> {
    let threads = connections.min(2);
    let out = Command::new("wrk")
        .args(args)
        .args([
            "--latency",
            "-t",
            &threads.to_string(),
            "-c",
            &connections.to_string(),
            "-d",
            &format!("{seconds}s"),
            url,
        ])
        .output()
        .context("cannot run wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.contains("Non-2xx") {
        bail!("wrk saw failed responses for {url}:\n{text}");
    }
    let field = |prefix: &str| -> anyhow::Result<&str> {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
            .with_context(|| format!("wrk output has no '{prefix}':\n{text}"))
    };
    Ok((
        Latency {
            p50_ms: millis(field("50%")?)?,
            p99_ms: millis(field("99%")?)?,
        },
        field("Requests/sec:")?.parse()?,
    ))
}

/// The machine's CPU time so far, from the first line of `/proc/stat`.
struct CpuTimes {
    total: u64,
    steal: u64,
}

impl CpuTimes {
    fn stolen_pct_since(&self, earlier: &CpuTimes) -> f64 {
        let total = self.total.saturating_sub(earlier.total).max(1);
        100.0 * self.steal.saturating_sub(earlier.steal) as f64 / total as f64
    }
}

fn cpu_times() -> anyhow::Result<CpuTimes> {
    let stat = std::fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
    // cpu user nice system idle iowait irq softirq steal guest guest_nice
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("cpu "))
        .context("no cpu line in /proc/stat")?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    Ok(CpuTimes {
        // Guest time is already counted in user time.
        total: ticks.iter().take(8).sum(),
        steal: ticks.get(7).copied().unwrap_or(0),
    })
}

/// wrk's `123.45us`, `1.23ms` or `1.02s` in milliseconds.
fn millis(text: &str) -> anyhow::Result<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        bail!("cannot read wrk latency '{text}'")
    };
    Ok(number.parse::<f64>()? * scale)
}

pub fn peak_rss_mb(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc status")?;
    Ok(kb / 1024)
}

/// Replaces one benchmark's section of BENCHMARKS.md (between `<!-- key:start -->` and
/// `<!-- key:end -->`) with the latest table, stamped with the date and machine.
pub fn write_section(
    root: &Path,
    key: &str,
    heading: &str,
    method: &str,
    table: &str,
) -> anyhow::Result<()> {
    let path: PathBuf = root.join("BENCHMARKS.md");
    let existing = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let start = format!("<!-- {key}:start -->");
    let end = format!("<!-- {key}:end -->");
    let machine = format!(
        "{} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| c.lines().find_map(|l| l
                .strip_prefix("model name")
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())))
            .unwrap_or_else(|| "unknown CPU".into())
    );
    let date = toolchain::command::output(Command::new("date").arg("-u").arg("+%Y-%m-%d"))
        .unwrap_or_default();
    let section =
        format!("{start}\n## {heading}\n\nMeasured {date} on {machine}. {method}\n\n{table}{end}");
    let updated = match (existing.find(&start), existing.find(&end)) {
        (Some(a), Some(b)) => format!("{}{section}{}", &existing[..a], &existing[b + end.len()..]),
        _ => format!("{}\n\n{section}\n", existing.trim_end()),
    };
    std::fs::write(&path, updated)?;
    println!("wrote {}", path.display());
    Ok(())
}
