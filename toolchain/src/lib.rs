//! Building Greenroom's wasm parts, shared by `cargo xtask` and `greenroom plugin new/build`
//! so a plugin author's build and the project's own are the same code.
//!
//! - [`rust`], [`python`], [`js`]: find (and, when allowed, install) each language's toolchain;
//! - [`project`]: detect a plugin project's language and build it into a component;
//! - [`scaffold`]: write a new, ready-to-build plugin project;
//! - [`contract`]: the WIT contract and per-language SDK helpers, embedded;
//! - [`stage`]: staging a plugin's sources for its componentize tool;
//! - [`npm`]: pinned npm packages (componentize-js, binaryen's wasm-opt for the UI).

pub mod command;
pub mod contract;
pub mod js;
pub mod npm;
pub mod project;
pub mod python;
pub mod rust;
pub mod scaffold;
pub mod stage;
pub mod system;
mod wasm_section;

use std::path::PathBuf;

/// Where language tools are installed, and whether system packages may be installed.
#[derive(Debug, Clone)]
pub struct Tools {
    /// Holds `python/` (a venv with componentize-py) and `node/` (componentize-js).
    pub dir: PathBuf,
    /// Install missing Debian packages with apt-get (when running as root). Off for
    /// `greenroom plugin build`: it prints the command instead.
    pub install_system_packages: bool,
}

impl Tools {
    /// `$GREENROOM_TOOLS`, else `tools` in [`user_cache_dir`]: a user-level folder, so no
    /// build needs root.
    pub fn for_user() -> Self {
        Self {
            dir: std::env::var_os("GREENROOM_TOOLS")
                .map_or_else(|| user_cache_dir().join("tools"), PathBuf::from),
            install_system_packages: false,
        }
    }
}

/// `$XDG_CACHE_HOME/greenroom`, else `~/.cache/greenroom`: language tools and compiled
/// plugin code for `greenroom plugin` commands.
pub fn user_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("greenroom")
}
