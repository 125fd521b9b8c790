//! JavaScript plugins: `@bytecodealliance/componentize-js` from npm, pinned, under the tools
//! folder. Its API is called directly rather than through `jco componentize`: the jco 1.35
//! CLI fails to read files (its preview2-shim no longer preopens `/`), and components it
//! built answered calls ten times slower than the API's on the same source.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::Tools;
use crate::command::run;
use crate::stage::{self, StagedFile};
use crate::{contract, npm};

/// The pinned componentize-js.
pub const COMPONENTIZE_JS_VERSION: &str = "0.23.0";

/// Features componentize-js enables by default that would import a second, older
/// `wasi:http`; plugins use the contract's `wasi:http` through the helper module instead.
const DISABLED_FEATURES: &str = "['http', 'fetch-event']";

/// The componentize-js package folder: `$GREENROOM_COMPONENTIZE_JS` if set, else the pinned
/// version in `<tools>/node`, installed there with npm on first use.
pub fn componentize_js(tools: &Tools) -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("GREENROOM_COMPONENTIZE_JS") {
        return Ok(path.into());
    }
    npm::package(
        &tools.dir.join("node"),
        "@bytecodealliance/componentize-js",
        COMPONENTIZE_JS_VERSION,
    )
}

/// Builds the JavaScript plugin in `project` (entry `app.js`) for `world` into `out`, against
/// the contract in `wit`. The project's modules are copied to `stage` beside `greenroom.js`,
/// so `import ... from './greenroom.js'` resolves.
pub fn build(
    tools: &Tools,
    project: &Path,
    world: &str,
    wit: &Path,
    stage: &Path,
    out: &Path,
) -> anyhow::Result<()> {
    if project.join("greenroom.js").exists() {
        bail!(
            "{} has its own greenroom.js; that name is the SDK's helper module",
            project.display()
        );
    }
    let package = componentize_js(tools)?;
    // Written only when changed, with a fixed time: the snapshot keeps the `stat` of the
    // last module read (its inode, times and size).
    let source = stage.join("src");
    let mut files: Vec<StagedFile> = stage::project_files(project, &|path| {
        path.parent() == Some(project)
            && matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("js" | "mjs" | "json")
            )
    })?;
    files.push(("greenroom.js".into(), contract::JS_SDK.as_bytes().to_vec()));
    stage::sync(&source, &files)?;
    // componentize-js works in `$TMPDIR/<12 hex digits from Math.random()>/`, and the
    // initializer's path there is baked into the component: a seeded Math.random and a
    // temporary folder of our own make that path the same on every build (and the folder
    // is ours to clear if a build died and left it behind).
    let tmp = stage.join("tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let tmp = tmp
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", tmp.display()))?;
    // componentize-js initialises the component in wizer's WASI sandbox, which sees only the
    // working folder and refuses a path through a symlink out of it (a `target` linked to a
    // shared build folder): so it runs in the sources' real folder.
    let source = source
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", source.display()))?;
    let entry = package.join("src/componentize.js");
    let script = format!(
        "import {{ componentize }} from {entry};
import {{ writeFile }} from 'node:fs/promises';
const {{ component }} = await componentize({{
  sourcePath: {source}, witPath: {wit}, worldName: {world}, disableFeatures: {DISABLED_FEATURES},
}});
await writeFile({out}, component);",
        entry = js_string(&format!("file://{}", entry.display())),
        source = js_string(&source.join("app.js").display().to_string()),
        wit = js_string(&wit.display().to_string()),
        world = js_string(world),
        out = js_string(&out.display().to_string()),
    );
    run(
        Command::new("node")
            .current_dir(&source)
            .env("TMPDIR", &tmp)
            .args(["--random-seed=1", "--input-type=module", "-e", &script]),
        &format!("componentize-js for {}", project.display()),
    )
    .context("building the JavaScript plugin")
}

/// A JavaScript string literal (JSON's escaping is valid JavaScript).
fn js_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}
