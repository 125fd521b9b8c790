//! The one-shot commands: `greenroom catalog validate`, `greenroom plugin ...` and
//! `greenroom policy ...`. Each is a thin adapter over the same capability services the
//! server uses.

mod catalog;
mod plugin;
mod policy;
mod ui_text;

use std::path::PathBuf;
use std::sync::Arc;

pub use catalog::validate;
pub use plugin::{PluginCommand, run as plugin};
pub use policy::{PolicyCommand, run as policy};

use crate::catalog::{Catalog, CatalogSettings, DEFAULT_READ_LIMIT, OrphanStrategy};

/// A data folder and plugins folder that live as long as the command.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("greenroom-cli-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("plugins"))?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A catalog of `locations`, read into the scratch folder (never a server's own data).
fn empty_catalog(scratch: &Scratch, locations: Vec<PathBuf>) -> anyhow::Result<Arc<Catalog>> {
    let catalog = Catalog::open(
        &scratch.0.join("data"),
        CatalogSettings {
            locations,
            file_name: "catalog-info.yaml".into(),
            orphan_strategy: OrphanStrategy::Delete,
            registration_roots: Vec::new(),
            read_limit: DEFAULT_READ_LIMIT,
        },
    )?;
    catalog.reconcile()?;
    Ok(Arc::new(catalog))
}
