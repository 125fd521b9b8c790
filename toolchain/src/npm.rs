//! npm packages at exact versions, each in a folder of its own under the tools folder.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::command::run;

/// The folder of npm package `name` at `version`, installed into `dir` (a folder holding
/// only it) on first use or when another version is there.
pub fn package(dir: &Path, name: &str, version: &str) -> anyhow::Result<PathBuf> {
    let package = dir.join("node_modules").join(name);
    let installed = std::fs::read_to_string(package.join("package.json")).unwrap_or_default();
    if installed.contains(&format!("\"version\": \"{version}\"")) {
        return Ok(package);
    }
    println!("installing {name} {version} into {}", dir.display());
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("package.json"),
        format!("{{\"private\": true, \"dependencies\": {{\"{name}\": \"{version}\"}}}}\n"),
    )?;
    run(
        Command::new("npm").current_dir(dir).args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]),
        &format!("npm install {name}@{version} (are node and npm installed?)"),
    )?;
    Ok(package)
}
