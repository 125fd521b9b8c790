//! The plugin contract this build of Greenroom serves, embedded so builds and new projects
//! use exactly it: the WIT files and the helper module each non-Rust language imports as
//! `greenroom` (Rust has the `greenroom-sdk` crate).

use std::path::Path;

/// The contract version, as in the WIT package `greenroom:plugin@VERSION`.
pub const VERSION: &str = "0.1.0";

/// The world a plugin targets when its `greenroom.toml` names none.
pub const DEFAULT_WORLD: &str = "entity-tabs-plugin";

/// The worlds a plugin may target, each with the contribution interface it exports.
pub const WORLDS: &[(&str, &str)] = &[
    ("entity-tabs-plugin", "entity-tabs"),
    ("scaffolder-plugin", "scaffolder-actions"),
    ("provider-plugin", "entity-provider"),
];

/// The contribution a world exports, or None for a name that is not a world.
pub fn contribution_of(world: &str) -> Option<&'static str> {
    WORLDS.iter().find(|(w, _)| *w == world).map(|(_, c)| *c)
}

/// The world that exports a contribution interface, or None for an unknown one.
pub fn world_of(contribution: &str) -> Option<&'static str> {
    WORLDS
        .iter()
        .find(|(_, c)| *c == contribution)
        .map(|(w, _)| *w)
}

const WIT_FILES: &[(&str, &str)] = &[
    ("plugin.wit", include_str!("../../wit/v0.1.0/plugin.wit")),
    (
        "deps/cli/package.wit",
        include_str!("../../wit/v0.1.0/deps/cli/package.wit"),
    ),
    (
        "deps/clocks/package.wit",
        include_str!("../../wit/v0.1.0/deps/clocks/package.wit"),
    ),
    (
        "deps/filesystem/package.wit",
        include_str!("../../wit/v0.1.0/deps/filesystem/package.wit"),
    ),
    (
        "deps/http/package.wit",
        include_str!("../../wit/v0.1.0/deps/http/package.wit"),
    ),
    (
        "deps/io/package.wit",
        include_str!("../../wit/v0.1.0/deps/io/package.wit"),
    ),
    (
        "deps/random/package.wit",
        include_str!("../../wit/v0.1.0/deps/random/package.wit"),
    ),
    (
        "deps/sockets/package.wit",
        include_str!("../../wit/v0.1.0/deps/sockets/package.wit"),
    ),
];

/// The Python helper module (`import greenroom`).
pub const PYTHON_SDK: &str = include_str!("../../sdk/python/greenroom.py");

/// The JavaScript helper module (`import * as greenroom from './greenroom.js'`).
pub const JS_SDK: &str = include_str!("../../sdk/js/greenroom.js");

/// Writes the contract's WIT files (with their WASI dependencies) into `dir`.
pub fn write_wit(dir: &Path) -> anyhow::Result<()> {
    for (path, text) in WIT_FILES {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().expect("WIT paths have a parent"))?;
        std::fs::write(&file, text)?;
    }
    Ok(())
}
