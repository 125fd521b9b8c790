//! Entities from provider plugins. Each provider's latest answer is kept as a catalog file of
//! its own (`<data>/providers/<id>.yaml`, one JSON document per entity) behind a location the
//! catalog owns, so provided entities go through exactly what file entities go through:
//! validation, relations, first-claimant conflicts, orphaning of what a later answer drops,
//! and errors naming the file and document.

use std::path::{Path, PathBuf};

use super::{Catalog, location_id};

/// The `source` of a provider's location row.
const SOURCE: &str = "provider";

impl Catalog {
    fn provider_file(&self, provider: &str) -> PathBuf {
        self.providers_dir.join(format!("{provider}.yaml"))
    }

    /// Replaces what `provider` offers with `documents` (Backstage entities as JSON) and
    /// reconciles. Nothing changes when a document is not JSON: the last good answer stays.
    pub fn provide(&self, provider: &str, documents: &[String]) -> anyhow::Result<()> {
        let mut text =
            format!("# Entities offered by the plugin '{provider}'; rewritten on every run.\n");
        for (index, document) in documents.iter().enumerate() {
            let value: serde_json::Value = serde_json::from_str(document)
                .map_err(|e| anyhow::anyhow!("document {} is not JSON: {e}", index + 1))?;
            // One line per document, so nothing inside can start a new YAML document.
            text.push_str("---\n");
            text.push_str(&serde_json::to_string(&value)?);
            text.push('\n');
        }
        let file = self.provider_file(provider);
        let changed = std::fs::read_to_string(&file).map_or(true, |old| old != text);
        if changed {
            std::fs::create_dir_all(&self.providers_dir)?;
            write_atomically(&file, &text)?;
        }
        let target = file.display().to_string();
        let id = location_id("file", &target);
        let added = self.location(&id)?.is_none()
            && self
                .store
                .write(|w| w.add_location(&id, "file", &target, SOURCE))?;
        if changed || added {
            self.reconcile()?;
        }
        Ok(())
    }

    /// Forgets every provider not in `active`: its location and file go, and what only it
    /// offered is orphaned or deleted like any entity whose file went away.
    pub fn retain_providers(&self, active: &[String]) -> anyhow::Result<()> {
        let keep: Vec<String> = active
            .iter()
            .map(|p| self.provider_file(p).display().to_string())
            .collect();
        let stale: Vec<_> = self
            .store
            .locations()?
            .into_iter()
            .filter(|l| l.source == SOURCE && !keep.contains(&l.target))
            .collect();
        if stale.is_empty() {
            return Ok(());
        }
        self.store.write(|w| {
            for location in &stale {
                w.delete_location(&location.id)?;
            }
            Ok(())
        })?;
        for location in &stale {
            let _ = std::fs::remove_file(&location.target);
        }
        self.reconcile()?;
        Ok(())
    }
}

fn write_atomically(file: &Path, text: &str) -> std::io::Result<()> {
    let partial = file.with_extension("partial");
    std::fs::write(&partial, text)?;
    std::fs::rename(&partial, file)
}

#[cfg(test)]
mod tests {
    use super::super::{CatalogSettings, DEFAULT_READ_LIMIT, EntityRef, OrphanStrategy};
    use super::*;

    fn catalog(data: &Path) -> Catalog {
        Catalog::open(
            data,
            CatalogSettings {
                locations: Vec::new(),
                file_name: "catalog-info.yaml".into(),
                orphan_strategy: OrphanStrategy::Delete,
                registration_roots: Vec::new(),
                read_limit: DEFAULT_READ_LIMIT,
            },
        )
        .unwrap()
    }

    fn component(name: &str) -> String {
        format!(
            r#"{{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{{"name":"{name}"}},"spec":{{"type":"service","lifecycle":"production","owner":"team"}}}}"#
        )
    }

    #[test]
    fn a_non_json_answer_changes_nothing_and_a_retired_provider_takes_its_entities_along() {
        let tmp = tempfile::tempdir().unwrap();
        let catalog = catalog(tmp.path());
        let a = EntityRef::new("Component", "default", "a");
        catalog.provide("feed", &[component("a")]).unwrap();
        assert!(catalog.get(&a).unwrap().is_some());

        let err = catalog
            .provide("feed", &[component("b"), "{not json".into()])
            .unwrap_err();
        assert!(err.to_string().contains("document 2 is not JSON"), "{err}");
        assert!(
            catalog.get(&a).unwrap().is_some(),
            "the last good answer stays"
        );

        catalog.retain_providers(&["other".into()]).unwrap();
        assert!(catalog.get(&a).unwrap().is_none());
        assert!(!tmp.path().join("providers/feed.yaml").exists());
    }
}
