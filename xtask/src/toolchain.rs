//! Finding (and, as root, installing) the toolchains the wasm parts need.
//!
//! Wasm crates build with rustup's `wasm32-wasip2` / `wasm32-unknown-unknown` targets when
//! they are installed. Otherwise with Debian's `rustc-web` (a newer rustc that ships the std
//! sources) and `-Zbuild-std`, since rustup cannot download targets on offline machines.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

/// Debian packages for building wasm with `rustc-web`.
const RUSTC_WEB_PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "rust-web-llvm",
    "lld-22",
    "lld",
    "wasi-libc",
];

/// How to invoke cargo for one wasm target.
pub struct WasmCargo {
    program: PathBuf,
    envs: Vec<(&'static str, String)>,
    extra_args: Vec<&'static str>,
}

impl WasmCargo {
    /// A `cargo build --release --target TARGET` command for the crate in `dir`.
    pub fn build(
        &self,
        dir: &std::path::Path,
        target: &str,
        target_dir: &std::path::Path,
    ) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.current_dir(dir)
            .env("CARGO_TARGET_DIR", target_dir)
            .envs(self.envs.iter().map(|(k, v)| (*k, v.as_str())))
            .args(["build", "--release", "--target", target])
            .args(&self.extra_args);
        cmd
    }
}

/// The cargo that built xtask: the native toolchain.
pub fn host_cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Picks the toolchain for `target`, installing Debian's when needed and allowed.
pub fn wasm_cargo(target: &str) -> anyhow::Result<WasmCargo> {
    if rustup_has_target(target) {
        return Ok(WasmCargo {
            program: host_cargo().into(),
            envs: Vec::new(),
            extra_args: Vec::new(),
        });
    }
    ensure_debian_packages(RUSTC_WEB_PACKAGES)?;
    let mut envs = vec![
        ("RUSTC_BOOTSTRAP", "1".to_string()),
        ("RUSTC", "/usr/bin/rustc".to_string()),
    ];
    if target == "wasm32-wasip2" {
        envs.push(("RUSTFLAGS", "-L /usr/lib/wasm32-wasi".to_string()));
    } else {
        envs.push(("RUSTFLAGS", String::new()));
    }
    Ok(WasmCargo {
        program: "/usr/bin/cargo".into(),
        envs,
        extra_args: vec!["-Zbuild-std=std,panic_abort"],
    })
}

fn rustup_has_target(target: &str) -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|out| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == target)
        })
}

/// Installs missing Debian packages with apt-get when running as root; otherwise stops with
/// the exact command to run.
pub fn ensure_debian_packages(packages: &[&str]) -> anyhow::Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !debian_package_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let install = format!("apt-get install -y {}", missing.join(" "));
    if !is_root() {
        bail!(
            "missing Debian packages: {}\nrun as root:  apt-get update && {install}",
            missing.join(" ")
        );
    }
    println!("installing Debian packages: {}", missing.join(" "));
    run(
        Command::new("apt-get").args(["update", "-qq"]),
        "apt-get update",
    )?;
    run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-qq"])
            .args(&missing),
        &install,
    )
}

fn debian_package_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Runs a command, failing with `what` if it does not succeed.
pub fn run(cmd: &mut Command, what: &str) -> anyhow::Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Runs a command and returns its trimmed stdout, or None if it cannot run or fails.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
