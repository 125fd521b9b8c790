//! Documents of types other sources provide (plugins, through the contract's
//! `search-documents`): their types join the registry, and each collection is applied to the
//! index in one commit. Such a document is found like the built-in ones; one about an entity
//! is shown only to who may read the entity and matches its kind, namespace and name filters.

use serde_json::{Map, Value, json};
use tantivy::TantivyDocument;
use tantivy::Term;

use super::{BUILTIN_SOURCE, DocumentType, Search, text};
use crate::catalog::EntityRef;

/// A document from another source, already checked against the contract's limits.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceDocument {
    /// Unique within its type.
    pub id: String,
    pub title: String,
    pub text: String,
    pub location: String,
    pub entity_ref: Option<EntityRef>,
    /// More fields of the answer; none named like the ones above.
    pub fields: Vec<(String, String)>,
}

/// A collection of one type, as it changes the index.
pub enum Collected<'a> {
    /// Every document of the type: the others go.
    Full(&'a [SourceDocument]),
    /// What changed: documents new or changed, ids gone.
    Changes {
        documents: &'a [SourceDocument],
        removed: &'a [String],
    },
}

impl Search {
    /// Adds a type of another source's; refused when the name is taken.
    pub fn register_type(&self, document_type: DocumentType) -> Result<(), String> {
        self.types.register(document_type)
    }

    /// Applies a collection of `doc_type` (registered by its source) in one commit.
    pub fn apply(&self, doc_type: &str, collected: Collected<'_>) -> anyhow::Result<()> {
        let Some(source) = self.types.source_of(doc_type) else {
            anyhow::bail!("search document type '{doc_type}' is not registered");
        };
        anyhow::ensure!(
            source != BUILTIN_SOURCE,
            "search document type '{doc_type}' is built in"
        );
        let f = &self.fields;
        let mut writer = self.writer();
        let documents = match collected {
            Collected::Full(documents) => {
                writer.delete_term(Term::from_field_text(f.doc_type, doc_type));
                documents
            }
            Collected::Changes { documents, removed } => {
                let ids = removed.iter().chain(documents.iter().map(|d| &d.id));
                for id in ids {
                    writer.delete_term(Term::from_field_text(f.key, &key(doc_type, id)));
                }
                documents
            }
        };
        for document in documents {
            writer.add_document(self.source_document(doc_type, &source, document))?;
        }
        writer.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Removes the types other sources provide that `keep` refuses, and their documents
    /// (types of plugins removed or disabled, or a plugin no longer lists).
    pub fn retain_types(&self, keep: impl Fn(&DocumentType) -> bool) -> anyhow::Result<()> {
        let gone = self.types.retain(|t| t.is_builtin() || keep(t));
        if gone.is_empty() {
            return Ok(());
        }
        let mut writer = self.writer();
        for document_type in &gone {
            writer.delete_term(Term::from_field_text(
                self.fields.doc_type,
                &document_type.name,
            ));
        }
        writer.commit()?;
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// A source's document in the index: its answer (Backstage's `title`, `text` and
    /// `location`, its own fields, `entityRef` and `plugin`), words, and its entity's ref
    /// parts as filters.
    fn source_document(
        &self,
        doc_type: &str,
        source: &str,
        document: &SourceDocument,
    ) -> TantivyDocument {
        let f = &self.fields;
        let mut answer: Map<String, Value> = document
            .fields
            .iter()
            .map(|(name, value)| (name.clone(), json!(value)))
            .collect();
        answer.insert("title".into(), json!(document.title));
        answer.insert("text".into(), json!(document.text));
        answer.insert("location".into(), json!(document.location));
        answer.insert("plugin".into(), json!(source));
        let mut doc = TantivyDocument::default();
        if let Some(entity_ref) = &document.entity_ref {
            answer.insert("entityRef".into(), json!(entity_ref.to_string()));
            doc.add_text(f.entity_ref, entity_ref.to_string().to_lowercase());
            for (filter, value) in [
                ("kind", &entity_ref.kind),
                ("namespace", &entity_ref.namespace),
                ("name", &entity_ref.name),
            ] {
                doc.add_text(f.filters[filter], value.to_lowercase());
            }
        }
        doc.add_text(f.doc_type, doc_type);
        doc.add_text(f.source, source);
        doc.add_text(f.key, key(doc_type, &document.id));
        doc.add_text(
            f.document,
            json!({"type": doc_type, "document": answer}).to_string(),
        );
        doc.add_text(f.title_words, text::words(&document.title));
        let fields: Vec<&str> = document.fields.iter().map(|(_, v)| v.as_str()).collect();
        doc.add_text(f.tag_words, text::words(&fields.join(" ")));
        doc.add_text(f.text_words, text::words(&document.text));
        doc
    }
}

/// A document's identity in the index: its type and id.
fn key(doc_type: &str, id: &str) -> String {
    format!("{doc_type}\u{1f}{id}")
}
