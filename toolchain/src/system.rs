//! Debian packages a build needs (the wasm Rust toolchain, chromium for browser tests).

use std::process::Command;

use anyhow::bail;

use crate::command::run;

/// Installs missing Debian packages with apt-get when allowed and running as root;
/// otherwise stops with the exact command to run.
pub fn ensure_debian_packages(packages: &[&str], may_install: bool) -> anyhow::Result<()> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !debian_package_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let install = format!("apt-get install -y {}", missing.join(" "));
    if !may_install || !is_root() {
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
