//! The registry of search document types: the built-in ones and, through the plugin
//! contract, those plugins provide. A type's name is what `types[]` filters on; its title
//! is what the UI shows.

use std::sync::RwLock;

/// A type of search document: its name (Backstage's `types[]` value), its title in the UI,
/// and who provides its documents (`greenroom`, or the plugin that registered it).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DocumentType {
    #[serde(rename = "type")]
    pub name: String,
    pub title: String,
    pub source: String,
}

impl DocumentType {
    pub fn builtin(name: &str, title: &str) -> Self {
        Self {
            name: name.into(),
            title: title.into(),
            source: super::BUILTIN_SOURCE.into(),
        }
    }

    pub fn is_builtin(&self) -> bool {
        self.source == super::BUILTIN_SOURCE
    }
}

/// The types in the order they were registered.
#[derive(Default)]
pub struct Registry(RwLock<Vec<DocumentType>>);

impl Registry {
    pub fn list(&self) -> Vec<DocumentType> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Who provides the type `name`, if it is registered.
    pub fn source_of(&self, name: &str) -> Option<String> {
        let types = self.0.read().unwrap_or_else(|e| e.into_inner());
        types
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.source.clone())
    }

    /// Keeps the types `keep` accepts; returns the others, removed.
    pub fn retain(&self, keep: impl Fn(&DocumentType) -> bool) -> Vec<DocumentType> {
        let mut types = self.0.write().unwrap_or_else(|e| e.into_inner());
        let (kept, gone) = std::mem::take(&mut *types)
            .into_iter()
            .partition(|t| keep(t));
        *types = kept;
        gone
    }

    /// Adds a type; its source registering it again may change its title. A name another
    /// source provides is refused, so no source can take over another's documents.
    pub fn register(&self, document_type: DocumentType) -> Result<(), String> {
        let mut types = self.0.write().unwrap_or_else(|e| e.into_inner());
        match types.iter_mut().find(|t| t.name == document_type.name) {
            Some(known) if known.source != document_type.source => Err(format!(
                "search document type '{}' is already provided by {}",
                document_type.name, known.source
            )),
            Some(known) => {
                *known = document_type;
                Ok(())
            }
            None => {
                types.push(document_type);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(source: &str, name: &str, title: &str) -> DocumentType {
        DocumentType {
            name: name.into(),
            title: title.into(),
            source: source.into(),
        }
    }

    #[test]
    fn a_type_belongs_to_the_source_that_registered_it() {
        let registry = Registry::default();
        registry
            .register(DocumentType::builtin("techdocs", "Documentation"))
            .unwrap();
        registry
            .register(from("pagerduty", "incident", "Incidents"))
            .unwrap();
        // The source may retitle its own type; nobody else may take it.
        registry
            .register(from("pagerduty", "incident", "Open incidents"))
            .unwrap();
        assert_eq!(
            registry.register(from("evil", "techdocs", "Docs")),
            Err("search document type 'techdocs' is already provided by greenroom".into())
        );
        assert_eq!(
            registry.list(),
            [
                DocumentType::builtin("techdocs", "Documentation"),
                from("pagerduty", "incident", "Open incidents"),
            ]
        );
    }
}
