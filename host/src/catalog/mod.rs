//! The software catalog: Backstage-compatible entities from YAML sources, stored in SQLite,
//! read by the REST API, the web UI and plugins through [`Catalog`].

pub mod api;
mod entity_ref;
mod ingest;
mod model;
mod query;
mod relations;
mod store;

use std::path::{Path, PathBuf};

use serde_json::Value;

pub use entity_ref::EntityRef;
pub use ingest::IngestError;
pub use query::{Cursor, EntityFilter};

use store::CatalogStore;

/// Most entities one page may hold.
pub const MAX_PAGE_SIZE: u64 = 1000;

/// A page of entities and where the neighbouring pages start.
pub struct EntityPage {
    pub items: Vec<Value>,
    pub total_items: u64,
    pub next_cursor: Option<Cursor>,
    pub prev_cursor: Option<Cursor>,
}

/// The catalog service. Every reader (REST handlers, plugin host functions) goes through it.
pub struct Catalog {
    store: CatalogStore,
}

impl Catalog {
    /// Opens (or creates) the catalog database in `data_dir`.
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            anyhow::anyhow!("cannot create data folder {}: {e}", data_dir.display())
        })?;
        Ok(Self {
            store: CatalogStore::open(&data_dir.join("catalog.sqlite"))?,
        })
    }

    /// Reads the catalog sources and makes the store match them. Returns the problems found;
    /// valid entities are stored regardless.
    pub fn ingest(&self, paths: &[PathBuf]) -> anyhow::Result<Vec<IngestError>> {
        let ingested = ingest::read_sources(paths);
        self.store.replace_all(&ingested.entities)?;
        tracing::info!(
            entities = ingested.entities.len(),
            errors = ingested.errors.len(),
            "catalog ingested"
        );
        for error in &ingested.errors {
            tracing::warn!("catalog: {error}");
        }
        Ok(ingested.errors)
    }

    pub fn get(&self, entity_ref: &EntityRef) -> anyhow::Result<Option<Value>> {
        self.store.get(entity_ref)
    }

    /// Entities matching the cursor's filter, from its offset, `limit` at most.
    pub fn query(&self, cursor: &Cursor, limit: u64) -> anyhow::Result<EntityPage> {
        let limit = limit.clamp(1, MAX_PAGE_SIZE);
        let page = self.store.query(&cursor.filter, cursor.offset, limit)?;
        let next = cursor.offset + page.items.len() as u64;
        let at = |offset| Cursor {
            filter: cursor.filter.clone(),
            offset,
        };
        Ok(EntityPage {
            next_cursor: (next < page.total_items).then(|| at(next)),
            prev_cursor: (cursor.offset > 0).then(|| at(cursor.offset.saturating_sub(limit))),
            items: page.items,
            total_items: page.total_items,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalog ingested from `yaml`; the temp dir must outlive the test's use of it.
    fn catalog_with(yaml: &str) -> (Catalog, PathBuf, tempfile::TempDir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let file = dir.join("catalog-info.yaml");
        std::fs::write(&file, yaml).unwrap();
        let catalog = Catalog::open(&dir.join("data")).unwrap();
        assert!(
            catalog
                .ingest(std::slice::from_ref(&file))
                .unwrap()
                .is_empty()
        );
        (catalog, file, tmp)
    }

    const ORG: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: payments}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: checkout, tags: [java]}
spec: {type: service, owner: payments, lifecycle: production}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: web}
spec: {type: website, owner: payments, lifecycle: experimental}
";

    #[test]
    fn relations_originated_by_others_show_on_the_target() {
        let (catalog, _, _tmp) = catalog_with(ORG);
        let group = catalog
            .get(&EntityRef::new("group", "default", "payments"))
            .unwrap()
            .unwrap();
        let owned: Vec<&str> = group["relations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["type"] == "ownerOf")
            .map(|r| r["targetRef"].as_str().unwrap())
            .collect();
        assert_eq!(
            owned,
            ["component:default/checkout", "component:default/web"]
        );
        assert!(group["metadata"]["uid"].is_string());
    }

    #[test]
    fn filters_and_cursors_page_through_matches() {
        let (catalog, _, _tmp) = catalog_with(ORG);
        let filter = EntityFilter::from_params(&[
            "kind=component".into(),
            "relations.ownedby=group:default/nobody".into(),
        ])
        .unwrap();
        let first = catalog.query(&Cursor { filter, offset: 0 }, 1).unwrap();
        assert_eq!(first.total_items, 2);
        assert_eq!(first.items[0]["metadata"]["name"], "checkout");
        let second = catalog.query(&first.next_cursor.unwrap(), 1).unwrap();
        assert_eq!(second.items[0]["metadata"]["name"], "web");
        assert!(second.next_cursor.is_none());
        assert_eq!(second.prev_cursor.unwrap().offset, 0);
        let tagged = EntityFilter::from_params(&["metadata.tags=JAVA".into()]).unwrap();
        assert_eq!(
            catalog
                .query(
                    &Cursor {
                        filter: tagged,
                        offset: 0
                    },
                    10
                )
                .unwrap()
                .total_items,
            1
        );
    }

    #[test]
    fn reingesting_keeps_uids_of_unchanged_entities_and_drops_removed_ones() {
        let (catalog, file, _tmp) = catalog_with(ORG);
        let checkout = EntityRef::new("component", "default", "checkout");
        let before = catalog.get(&checkout).unwrap().unwrap();
        std::fs::write(
            &file,
            ORG.replace("lifecycle: experimental", "lifecycle: production")
                .split("---")
                .take(2)
                .collect::<Vec<_>>()
                .join("---"),
        )
        .unwrap();
        catalog.ingest(std::slice::from_ref(&file)).unwrap();
        let after = catalog.get(&checkout).unwrap().unwrap();
        assert_eq!(before["metadata"]["uid"], after["metadata"]["uid"]);
        assert_eq!(before["metadata"]["etag"], after["metadata"]["etag"]);
        assert!(
            catalog
                .get(&EntityRef::new("component", "default", "web"))
                .unwrap()
                .is_none()
        );
    }
}
