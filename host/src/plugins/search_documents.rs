//! Search documents from plugins that export `search-documents`. The scheduler (`schedule`)
//! has each type the plugin lists collected page by page: every document is checked against
//! the contract's limits (one over them is left out, logged with its type, id and field), and
//! the collection reaches search in one step when its last page arrives, so a failed page
//! leaves the documents there were. A type's checkpoint is kept for the version that gave it:
//! a new version collects in full.

use std::collections::HashMap;
use std::sync::Arc;

use super::bindings::search_documents as wit;
use super::registry::LoadedPlugin;
use super::{PluginError, PluginHost};
use crate::catalog::EntityRef;
use crate::search::{Collected, DocumentType, Search, SourceDocument};

/// Most documents of one type, and in one page.
const MAX_DOCUMENTS: usize = 10_000;
const MAX_PAGE: usize = 1_000;
/// Most pages in one collection: a plugin that always has a next page is stopped.
const MAX_PAGES: usize = 100;
const MAX_ID_BYTES: usize = 256;
const MAX_TITLE_CHARS: usize = 1_000;
const MAX_TEXT_BYTES: usize = 64 << 10;
const MAX_FIELDS: usize = 16;
const MAX_FIELD_NAME_BYTES: usize = 64;
const MAX_FIELD_VALUE_BYTES: usize = 4 << 10;
/// Names a plugin's own fields may not take: the answer's own.
const RESERVED_FIELDS: &[&str] = &["title", "text", "location", "entityRef", "plugin"];

/// The checkpoint of each (plugin, type), with the content hash of the version that gave it.
pub type Checkpoints = HashMap<(Arc<str>, String), (String, String)>;

impl PluginHost {
    /// Collects every type `plugin` lists into search; answers the shortest interval its
    /// types ask for. Types it no longer lists are removed; a type that fails does not stop
    /// the others (the first failure is answered).
    pub(super) fn collect_documents(
        self: &Arc<Self>,
        plugin: &Arc<LoadedPlugin>,
        search: &Search,
        checkpoints: &mut Checkpoints,
    ) -> Result<u32, PluginError> {
        let types = self.block_on(self.document_types(plugin.clone()))?;
        let mut listed: Vec<String> = Vec::new();
        let mut failed = None;
        let mut interval = u32::MAX;
        for document_type in types {
            let name = document_type.name.clone();
            let registered = check_type(&document_type)
                .and_then(|()| {
                    if listed.contains(&name) {
                        return Err("listed twice".into());
                    }
                    search.register_type(DocumentType {
                        name: name.clone(),
                        title: document_type.title.clone(),
                        source: plugin.id.to_string(),
                    })
                })
                .map_err(|why| {
                    PluginError::Invalid(format!(
                        "plugin '{}': search-documents.document-types: type '{name}': {why}",
                        plugin.id
                    ))
                });
            let collected =
                registered.and_then(|()| self.collect_type(plugin, search, &name, checkpoints));
            listed.push(name);
            interval = interval.min(document_type.refresh_interval_seconds);
            if let Err(e) = collected {
                tracing::warn!(plugin = %plugin.id, "{e}");
                failed.get_or_insert(e);
            }
        }
        search
            .retain_types(|t| t.source != *plugin.id || listed.contains(&t.name))
            .map_err(PluginError::Internal)?;
        failed.map_or(Ok(interval), Err)
    }

    /// One collection of `doc_type`: incremental from the checkpoint this version gave last
    /// time, full otherwise.
    fn collect_type(
        self: &Arc<Self>,
        plugin: &Arc<LoadedPlugin>,
        search: &Search,
        doc_type: &str,
        checkpoints: &mut Checkpoints,
    ) -> Result<(), PluginError> {
        let key = (plugin.id.clone(), doc_type.to_string());
        let since = checkpoints
            .get(&key)
            .filter(|(hash, _)| *hash == plugin.content_hash)
            .map(|(_, checkpoint)| checkpoint.clone());
        let invalid = |why: String| {
            PluginError::Invalid(format!(
                "plugin '{}': search-documents.collect({doc_type}): {why}",
                plugin.id
            ))
        };
        let mut full = since.is_none();
        let (mut documents, mut removed) = (Vec::new(), Vec::new());
        let mut page = None;
        let mut pages = 0;
        let checkpoint = loop {
            pages += 1;
            let answer = self.block_on(self.collect_page(
                plugin.clone(),
                doc_type.to_string(),
                since.clone(),
                page.clone(),
            ))?;
            if page.is_none() {
                full |= answer.full;
            }
            if answer.documents.len() > MAX_PAGE {
                return Err(invalid(format!(
                    "a page of {} documents; at most {MAX_PAGE}",
                    answer.documents.len()
                )));
            }
            for document in answer.documents {
                let id = document.id.clone();
                match check_document(document) {
                    Ok(document) => documents.push(document),
                    Err(why) => tracing::warn!(
                        plugin = %plugin.id,
                        "search document type '{doc_type}', document '{}': {why}; left out",
                        id.chars().take(MAX_ID_BYTES).collect::<String>()
                    ),
                }
            }
            removed.extend(answer.removed);
            if documents.len() > MAX_DOCUMENTS {
                return Err(invalid(format!(
                    "more than {MAX_DOCUMENTS} documents of one type"
                )));
            }
            match answer.next_page {
                None => break answer.checkpoint,
                Some(_) if pages >= MAX_PAGES => {
                    return Err(invalid(format!("more than {MAX_PAGES} pages")));
                }
                Some(next) => page = Some(next),
            }
        };
        // An id given twice: the later stands.
        let mut at: HashMap<String, usize> = HashMap::new();
        let mut unique: Vec<SourceDocument> = Vec::with_capacity(documents.len());
        for document in documents {
            match at.get(&document.id) {
                Some(&i) => unique[i] = document,
                None => {
                    at.insert(document.id.clone(), unique.len());
                    unique.push(document);
                }
            }
        }
        let collected = if full {
            Collected::Full(&unique)
        } else {
            Collected::Changes {
                documents: &unique,
                removed: &removed,
            }
        };
        search
            .apply(doc_type, collected)
            .map_err(PluginError::Internal)?;
        match checkpoint {
            Some(checkpoint) => {
                checkpoints.insert(key, (plugin.content_hash.clone(), checkpoint));
            }
            None => {
                checkpoints.remove(&key);
            }
        }
        Ok(())
    }

    /// `search-documents.document-types`.
    async fn document_types(
        self: &Arc<Self>,
        plugin: Arc<LoadedPlugin>,
    ) -> Result<Vec<wit::DocumentType>, PluginError> {
        self.on_plugin_runtime(move |host| async move {
            let indices = searchable(&plugin)?;
            host.call(
                &plugin,
                "search-documents.document-types",
                None,
                move |store, instance| {
                    Box::pin(async move {
                        indices
                            .load(&mut *store, instance)?
                            .call_document_types(&mut *store)
                            .await
                    })
                },
                Ok,
            )
            .await
        })
        .await
    }

    /// `search-documents.collect`: one page.
    async fn collect_page(
        self: &Arc<Self>,
        plugin: Arc<LoadedPlugin>,
        doc_type: String,
        since: Option<String>,
        page: Option<String>,
    ) -> Result<wit::DocumentsPage, PluginError> {
        self.on_plugin_runtime(move |host| async move {
            let indices = searchable(&plugin)?;
            host.call(
                &plugin,
                "search-documents.collect",
                None,
                move |store, instance| {
                    Box::pin(async move {
                        indices
                            .load(&mut *store, instance)?
                            .call_collect(&mut *store, &doc_type, since.as_deref(), page.as_deref())
                            .await
                    })
                },
                |answer| answer,
            )
            .await
        })
        .await
    }
}

fn searchable(plugin: &LoadedPlugin) -> Result<wit::GuestIndices, PluginError> {
    plugin.exports.search.clone().ok_or_else(|| {
        PluginError::Invalid(format!(
            "plugin '{}' provides no search documents",
            plugin.id
        ))
    })
}

/// A type's name and title against the contract.
fn check_type(document_type: &wit::DocumentType) -> Result<(), String> {
    greenroom_toolchain::project::check_plugin_id(&document_type.name)
        .map_err(|e| format!("name: {e}"))?;
    let title = document_type.title.trim();
    if title.is_empty() || title.chars().count() > 100 {
        return Err("title: must have 1 to 100 characters".into());
    }
    Ok(())
}

/// A document against the contract's limits; the error names the field.
fn check_document(document: wit::Document) -> Result<SourceDocument, String> {
    if document.id.is_empty() || document.id.len() > MAX_ID_BYTES {
        return Err(format!("id: must have 1 to {MAX_ID_BYTES} bytes"));
    }
    let title_chars = document.title.trim().chars().count();
    if title_chars == 0 || title_chars > MAX_TITLE_CHARS {
        return Err(format!(
            "title: must have 1 to {MAX_TITLE_CHARS} characters"
        ));
    }
    if document.text.len() > MAX_TEXT_BYTES {
        return Err(format!("text: more than {} KiB", MAX_TEXT_BYTES >> 10));
    }
    if !crate::search::api::safe_location(&document.location) {
        return Err(format!(
            "location: '{}' is neither a path in the portal nor an http(s) address",
            document.location.chars().take(200).collect::<String>()
        ));
    }
    let entity_ref = document
        .entity_ref
        .as_deref()
        .map(|r| EntityRef::parse(r, None, "default").map_err(|e| format!("entity-ref: {e}")))
        .transpose()?;
    if document.fields.len() > MAX_FIELDS {
        return Err(format!("fields: more than {MAX_FIELDS}"));
    }
    for (name, value) in &document.fields {
        if name.is_empty() || name.len() > MAX_FIELD_NAME_BYTES {
            return Err(format!(
                "fields: a name must have 1 to {MAX_FIELD_NAME_BYTES} bytes"
            ));
        }
        if RESERVED_FIELDS.contains(&name.as_str()) {
            return Err(format!("fields: '{name}' is the document's own field"));
        }
        if value.len() > MAX_FIELD_VALUE_BYTES {
            return Err(format!(
                "fields: '{name}' is longer than {} KiB",
                MAX_FIELD_VALUE_BYTES >> 10
            ));
        }
    }
    Ok(SourceDocument {
        id: document.id,
        title: document.title,
        text: document.text,
        location: document.location,
        entity_ref,
        fields: document.fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> wit::Document {
        wit::Document {
            id: "inc-1".into(),
            title: "Checkout is down".into(),
            text: "Payments fail".into(),
            location: "/p/pagerduty/incidents".into(),
            entity_ref: Some("component:checkout".into()),
            fields: vec![("status".into(), "triggered".into())],
        }
    }

    #[test]
    fn a_document_within_the_limits_is_kept_with_its_entity() {
        let checked = check_document(document()).unwrap();
        assert_eq!(
            checked.entity_ref.unwrap().to_string(),
            "component:default/checkout"
        );
        assert_eq!(checked.fields, [("status".into(), "triggered".into())]);
    }

    #[test]
    fn a_document_over_a_limit_names_the_field() {
        type Spoil = fn(&mut wit::Document);
        let cases: Vec<(Spoil, &str)> = vec![
            (|d| d.id.clear(), "id:"),
            (|d| d.title = " ".into(), "title:"),
            (|d| d.text = "x".repeat(MAX_TEXT_BYTES + 1), "text:"),
            (|d| d.location = "javascript:alert(1)".into(), "location:"),
            (|d| d.location = "//evil.example/x".into(), "location:"),
            (|d| d.entity_ref = Some("a:b:c:d".into()), "entity-ref:"),
            (
                |d| d.fields = vec![("title".into(), "spoofed".into())],
                "fields: 'title'",
            ),
            (
                |d| {
                    d.fields = (0..=MAX_FIELDS)
                        .map(|i| (format!("f{i}"), "v".into()))
                        .collect()
                },
                "fields: more than",
            ),
        ];
        for (spoil, field) in cases {
            let mut bad = document();
            spoil(&mut bad);
            let error = check_document(bad).unwrap_err();
            assert!(error.starts_with(field), "{error} should name {field}");
        }
    }

    #[test]
    fn a_type_needs_a_plain_name_and_a_title() {
        let of = |name: &str, title: &str| wit::DocumentType {
            name: name.into(),
            title: title.into(),
            refresh_interval_seconds: 60,
        };
        assert_eq!(check_type(&of("pagerduty-incident", "Incidents")), Ok(()));
        assert!(
            check_type(&of("Incidents!", "Incidents"))
                .unwrap_err()
                .starts_with("name:")
        );
        assert!(
            check_type(&of("incident", ""))
                .unwrap_err()
                .starts_with("title:")
        );
    }
}
