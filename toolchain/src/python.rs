//! Python plugins: `componentize-py` from PyPI, pinned, in a venv under the tools folder.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use crate::Tools;
use crate::command::{output, run};
use crate::contract;
use crate::stage::{self, StagedFile};

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
    // Cleared first: a venv that cannot answer is stale, e.g. made at another path (its
    // scripts' `#!` lines name the old one), and making it again over itself keeps those.
    run(
        Command::new("python3")
            .args(["-m", "venv", "--clear"])
            .arg(&venv),
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
/// contract in `wit`. The project's files are staged in `stage/app` and the `greenroom`
/// helper module in `stage/sdk`: componentize-py mounts its `--python-path` folders
/// writable, and the Python inside writes `__pycache__` into them (a project built once
/// had `__pycache__/app.cpython-314.pyc`), so a second build read bytecode the first one
/// wrote and snapshotted a different heap.
pub fn build(
    tools: &Tools,
    project: &Path,
    world: &str,
    wit: &Path,
    stage: &Path,
    out: &Path,
) -> anyhow::Result<()> {
    let componentize = componentize_py(tools)?;
    let app = stage.join("app");
    stage::sync(
        &app,
        &with_pycache_blockers(stage::project_files(project, &|_| true)?),
    )?;
    let sdk = stage.join("sdk");
    let helper = vec![(
        "greenroom.py".into(),
        contract::PYTHON_SDK.as_bytes().to_vec(),
    )];
    stage::sync(&sdk, &with_pycache_blockers(helper))?;
    // componentize-py adds the site-packages of `$VIRTUAL_ENV`, else of `pipenv --venv`,
    // else of whatever `python3` is on PATH: the plugin would see (and its snapshot would
    // list) the author's installed packages. An empty venv-shaped folder adds nothing.
    let no_site = stage.join("no-site");
    std::fs::create_dir_all(no_site.join("lib/site-packages"))?;
    run(
        Command::new(componentize)
            .arg("--wit-path")
            .arg(wit)
            .args(["--world", world, "componentize", "app", "--python-path"])
            .arg(&app)
            .arg("--python-path")
            .arg(&sdk)
            .arg("--output")
            .arg(out)
            .env("VIRTUAL_ENV", &no_site),
        &format!("componentize-py for {}", project.display()),
    )
    .context("building the Python plugin")
}

/// `files` plus an empty file named `__pycache__` in each of their folders: Python cannot
/// create its bytecode cache there, so every build compiles the sources the same way and
/// nothing is written into the staged folders.
fn with_pycache_blockers(mut files: Vec<StagedFile>) -> Vec<StagedFile> {
    let mut dirs: Vec<PathBuf> = files
        .iter()
        .map(|(path, _)| path.parent().unwrap_or(Path::new("")).to_path_buf())
        .collect();
    dirs.push(PathBuf::new());
    dirs.sort();
    dirs.dedup();
    files.extend(
        dirs.into_iter()
            .map(|dir| (dir.join("__pycache__"), Vec::new())),
    );
    files
}
