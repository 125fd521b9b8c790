//! Rust for wasm: rustup's `wasm32-wasip2` / `wasm32-unknown-unknown` targets when they are
//! installed, otherwise Debian's `rustc-web` (a newer rustc that ships the std sources) with
//! `-Zbuild-std`, since rustup cannot download targets on offline machines.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::system::ensure_debian_packages;

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
    pub fn build(&self, dir: &Path, target: &str, target_dir: &Path) -> Command {
        let mut cmd = cargo_command(&self.program);
        cmd.current_dir(dir)
            .env("CARGO_TARGET_DIR", target_dir)
            .envs(self.envs.iter().map(|(k, v)| (*k, v.as_str())))
            .args(["build", "--release", "--target", target])
            .args(&self.extra_args);
        cmd
    }
}

/// The native cargo: the one running xtask, else the first on PATH.
pub fn host_cargo() -> Command {
    cargo_command(Path::new(&host_cargo_program()))
}

fn host_cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// A cargo command without the variables `cargo run` set for xtask itself. Build scripts
/// such as ring's watch `CARGO_MANIFEST_DIR`, so inheriting xtask's made every switch between
/// a plain `cargo build` and `cargo xtask` rebuild ring, rustls, wasmtime-wasi-http and the
/// host (two minutes on two cores).
fn cargo_command(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_package_variable) {
            cmd.env_remove(name);
        }
    }
    cmd
}

fn is_package_variable(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || matches!(
            name,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
        )
}

/// Picks the toolchain for `target`, installing Debian's when needed and allowed.
pub fn wasm_cargo(target: &str, install_system_packages: bool) -> anyhow::Result<WasmCargo> {
    if rustup_has_target(target) {
        return Ok(WasmCargo {
            program: host_cargo_program().into(),
            envs: Vec::new(),
            extra_args: Vec::new(),
        });
    }
    ensure_debian_packages(RUSTC_WEB_PACKAGES, install_system_packages)?;
    let rustflags = if target == "wasm32-wasip2" {
        "-L /usr/lib/wasm32-wasi"
    } else {
        ""
    };
    Ok(WasmCargo {
        program: "/usr/bin/cargo".into(),
        envs: vec![
            ("RUSTC_BOOTSTRAP", "1".to_string()),
            ("RUSTC", "/usr/bin/rustc".to_string()),
            ("RUSTFLAGS", rustflags.to_string()),
        ],
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
