//! Python plugins: `componentize-py` from PyPI, pinned, in a venv under the tools folder.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::Tools;
use crate::command::{output, run};
use crate::contract;

/// The pinned componentize-py.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// The componentize-py to use: `$GREENROOM_COMPONENTIZE_PY` if set, else the pinned version
/// in `<tools>/python`, installed there with pip on first use.
pub fn componentize_py(tools: &Tools) -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("GREENROOM_COMPONENTIZE_PY") {
        return Ok(path.into());
    }
    let venv = tools.dir.join("python");
    let binary = venv.join("bin/componentize-py");
    let wanted = format!("componentize-py {COMPONENTIZE_PY_VERSION}");
    if output(Command::new(&binary).arg("--version")).as_deref() == Some(wanted.as_str()) {
        return Ok(binary);
    }
    println!("installing {wanted} into {}", venv.display());
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv (is python3 installed?)",
    )?;
    run(
        Command::new(venv.join("bin/pip")).args([
            "install",
            "--quiet",
            &format!("componentize-py=={COMPONENTIZE_PY_VERSION}"),
        ]),
        "pip install componentize-py",
    )?;
    Ok(binary)
}

/// Builds the Python plugin in `project` (module `app`) for `world` into `out`, against the
/// contract in `wit`. The `greenroom` helper module is written to `stage` first.
pub fn build(
    tools: &Tools,
    project: &Path,
    world: &str,
    wit: &Path,
    stage: &Path,
    out: &Path,
) -> anyhow::Result<()> {
    let componentize = componentize_py(tools)?;
    let sdk = stage.join("sdk");
    std::fs::create_dir_all(&sdk)?;
    std::fs::write(sdk.join("greenroom.py"), contract::PYTHON_SDK)?;
    run(
        Command::new(componentize)
            .arg("--wit-path")
            .arg(wit)
            .args(["--world", world, "componentize", "app", "--python-path"])
            .arg(project)
            .arg("--python-path")
            .arg(&sdk)
            .arg("--output")
            .arg(out)
            // A venv the author has active would add its site-packages; the plugin gets only
            // what is in the project and the SDK.
            .env_remove("VIRTUAL_ENV"),
        &format!("componentize-py for {}", project.display()),
    )
    .context("building the Python plugin")
}
