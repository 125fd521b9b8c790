//! Loading plugin components from the plugins folder: compile, link against the contract,
//! ask the plugin who it is. A file that fails is kept as a failed entry with its reason.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::{Component, HasSelf, Linker};

use super::bindings::{HostState, Plugin, PluginPre, meta};

/// A plugin ready to be called.
pub struct LoadedPlugin {
    pub info: meta::PluginInfo,
    pub file: PathBuf,
    pub content_hash: String,
    pub pre: PluginPre<HostState>,
}

/// A file in the plugins folder that could not be loaded.
pub struct FailedPlugin {
    pub file: PathBuf,
    pub content_hash: String,
    pub error: String,
}

pub enum PluginSlot {
    Loaded(Arc<LoadedPlugin>),
    Failed(FailedPlugin),
}

/// The linker every plugin is instantiated with: the contract's imports plus WASI p2 (whose
/// context is empty, so it grants nothing).
pub fn new_linker(engine: &Engine) -> anyhow::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(anyhow::Error::from)?;
    Plugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
        .map_err(anyhow::Error::from)?;
    Ok(linker)
}

/// The `.wasm` files of a folder, sorted. A missing folder holds no plugins.
pub fn wasm_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        tracing::warn!(
            "plugins folder {} cannot be read; no plugins loaded",
            dir.display()
        );
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "wasm") && p.is_file())
        .collect();
    files.sort();
    files
}

/// Compiles and links one file. `describe` calls the plugin's `meta.info` to learn its id.
pub fn load(
    engine: &Engine,
    linker: &Linker<HostState>,
    file: &Path,
    describe: impl FnOnce(&PluginPre<HostState>) -> Result<meta::PluginInfo, String>,
) -> PluginSlot {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        Err(e) => return failed(file, String::new(), format!("cannot read: {e}")),
    };
    let content_hash = hex::encode(Sha256::digest(&bytes));
    let pre = Component::new(engine, &bytes)
        .map_err(|e| format!("not a valid WebAssembly component: {e:#}"))
        .and_then(|component| {
            linker
                .instantiate_pre(&component)
                .map_err(|e| format!("does not fit the greenroom:plugin@0.1.0 contract: {e:#}"))
        })
        .and_then(|pre| {
            PluginPre::new(pre).map_err(|e| format!("does not export the plugin world: {e:#}"))
        });
    let pre = match pre {
        Ok(pre) => pre,
        Err(error) => return failed(file, content_hash, error),
    };
    match describe(&pre).and_then(|info| check_id(&info.id).map(|()| info)) {
        Ok(info) => PluginSlot::Loaded(Arc::new(LoadedPlugin {
            info,
            file: file.to_path_buf(),
            content_hash,
            pre,
        })),
        Err(error) => failed(file, content_hash, format!("meta.info failed: {error}")),
    }
}

fn failed(file: &Path, content_hash: String, error: String) -> PluginSlot {
    tracing::error!("plugin {}: {error}", file.display());
    PluginSlot::Failed(FailedPlugin {
        file: file.to_path_buf(),
        content_hash,
        error,
    })
}

/// Ids appear in URLs and config keys: lowercase letters, digits and single dashes.
fn check_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 63
        && id.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "id '{id}' must be lowercase letters and digits separated by single '-'"
        ))
    }
}

/// A second file claiming an id that is already loaded; the first keeps it.
pub fn failed_duplicate(file: &Path, plugin: &LoadedPlugin) -> PluginSlot {
    failed(
        file,
        plugin.content_hash.clone(),
        format!(
            "plugin id '{}' is already loaded from another file",
            plugin.info.id
        ),
    )
}
