//! Reading catalog sources: files and folders of multi-document YAML, into validated entities
//! with their relations. Problems are collected, never fatal: one bad document costs only itself.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Value, json};

use super::model::{FieldError, validate};
use super::relations::relations_of;
use super::store::StagedEntity;

/// The file name looked for when a catalog path is a folder.
pub const CATALOG_FILE_NAME: &str = "catalog-info.yaml";

/// A problem with one catalog source, precise enough to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestError {
    pub file: PathBuf,
    /// 1-based index of the YAML document in the file.
    pub document: Option<usize>,
    /// Dotted path of the offending field.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(document) = self.document {
            write!(f, ": document {document}")?;
        }
        if let Some(field) = self.field.as_deref().filter(|f| !f.is_empty()) {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Everything read from the sources.
#[derive(Default)]
pub struct Ingested {
    pub entities: Vec<StagedEntity>,
    pub errors: Vec<IngestError>,
}

/// Reads every catalog path: a file is read as is, a folder is searched for
/// `catalog-info.yaml` files. When two documents define the same entity the first one read
/// keeps it and the other is reported.
pub fn read_sources(paths: &[PathBuf]) -> Ingested {
    let mut out = Ingested::default();
    let mut defined_in: HashMap<String, PathBuf> = HashMap::new();
    let files: Vec<PathBuf> = paths
        .iter()
        .flat_map(|p| catalog_files(p, &mut out.errors))
        .collect();
    for file in files {
        let location = json!(format!("file:{}", absolute(&file).display()));
        for (index, document) in read_documents(&file, &mut out.errors) {
            let error = |e: FieldError| IngestError {
                file: file.clone(),
                document: Some(index),
                field: Some(e.field),
                message: e.message,
            };
            let staged = validate(document).and_then(|mut entity| {
                let annotations = entity
                    .metadata_mut()
                    .entry("annotations")
                    .or_insert(json!({}));
                if let Some(map) = annotations.as_object_mut() {
                    map.insert("backstage.io/managed-by-location".into(), location.clone());
                    map.insert(
                        "backstage.io/managed-by-origin-location".into(),
                        location.clone(),
                    );
                }
                let relations = relations_of(&entity)?;
                Ok(StagedEntity {
                    entity_ref: entity.entity_ref,
                    body: entity.body,
                    relations,
                })
            });
            match staged {
                Err(e) => out.errors.push(error(e)),
                Ok(staged) => {
                    let key = staged.entity_ref.to_string();
                    if let Some(first) = defined_in.get(&key) {
                        out.errors.push(error(FieldError {
                            field: "metadata.name".into(),
                            message: format!(
                                "{key} is already defined in {}; the first definition is kept",
                                first.display()
                            ),
                        }));
                    } else {
                        defined_in.insert(key, file.clone());
                        out.entities.push(staged);
                    }
                }
            }
        }
    }
    out
}

/// The catalog files a path stands for, in a stable order.
fn catalog_files(path: &Path, errors: &mut Vec<IngestError>) -> Vec<PathBuf> {
    let fail = |message: String| IngestError {
        file: path.to_path_buf(),
        document: None,
        field: None,
        message,
    };
    match std::fs::metadata(path) {
        Err(e) => {
            errors.push(fail(format!("cannot read catalog path: {e}")));
            Vec::new()
        }
        Ok(meta) if meta.is_file() => vec![path.to_path_buf()],
        Ok(_) => {
            let mut found = Vec::new();
            let mut folders = vec![path.to_path_buf()];
            while let Some(folder) = folders.pop() {
                let entries = match std::fs::read_dir(&folder) {
                    Ok(entries) => entries,
                    Err(e) => {
                        errors.push(IngestError {
                            file: folder,
                            document: None,
                            field: None,
                            message: format!("cannot list folder: {e}"),
                        });
                        continue;
                    }
                };
                for entry in entries.flatten() {
                    let entry_path = entry.path();
                    let hidden = entry.file_name().to_string_lossy().starts_with('.');
                    match entry.file_type() {
                        Ok(t) if t.is_dir() && !hidden => folders.push(entry_path),
                        Ok(t) if t.is_file() && entry.file_name() == CATALOG_FILE_NAME => {
                            found.push(entry_path)
                        }
                        _ => {}
                    }
                }
            }
            found.sort();
            found
        }
    }
}

/// The YAML documents of a file, numbered from 1. Empty documents are skipped.
fn read_documents(file: &Path, errors: &mut Vec<IngestError>) -> Vec<(usize, Value)> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) => {
            errors.push(IngestError {
                file: file.to_path_buf(),
                document: None,
                field: None,
                message: format!("cannot read file: {e}"),
            });
            return Vec::new();
        }
    };
    let mut documents = Vec::new();
    for (index, document) in serde_yaml::Deserializer::from_str(&text).enumerate() {
        let index = index + 1;
        match Value::deserialize(document) {
            Ok(Value::Null) => {}
            Ok(value) => documents.push((index, value)),
            Err(e) => {
                // The YAML parser cannot resume after a syntax error, so later documents in
                // this file are unreadable; the error says where it stopped.
                errors.push(IngestError {
                    file: file.to_path_buf(),
                    document: Some(index),
                    field: None,
                    message: format!("invalid YAML: {e}"),
                });
                break;
            }
        }
    }
    documents
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_scanned_and_bad_documents_are_reported_without_losing_good_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        std::fs::create_dir_all(dir.join("svc")).unwrap();
        std::fs::write(
            dir.join("svc/catalog-info.yaml"),
            "\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: checkout}
spec: {type: service, owner: payments, lifecycle: production}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: Bad Name}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: payments}
spec: {type: team, children: []}
",
        )
        .unwrap();
        std::fs::write(dir.join("svc/other.yaml"), "not: scanned").unwrap();
        let ingested = read_sources(std::slice::from_ref(&dir));
        let refs: Vec<String> = ingested
            .entities
            .iter()
            .map(|e| e.entity_ref.to_string())
            .collect();
        assert_eq!(
            refs,
            ["component:default/checkout", "group:default/payments"]
        );
        assert_eq!(ingested.errors.len(), 1);
        let error = ingested.errors[0].to_string();
        assert!(
            error.contains("catalog-info.yaml: document 2: metadata.name:"),
            "{error}"
        );
        let annotations = &ingested.entities[0].body["metadata"]["annotations"];
        assert!(
            annotations["backstage.io/managed-by-location"]
                .as_str()
                .unwrap()
                .starts_with("file:/")
        );
    }

    #[test]
    fn malformed_yaml_and_duplicates_name_file_and_document() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let file = dir.join("a.yaml");
        std::fs::write(&file, "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: ann}\nspec: {}\n---\nkind: [unclosed\n").unwrap();
        let dup = dir.join("b.yaml");
        std::fs::write(
            &dup,
            "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: ANN}\nspec: {}\n",
        )
        .unwrap();
        let ingested = read_sources(&[file, dup, dir.join("missing.yaml")]);
        assert_eq!(ingested.entities.len(), 1);
        let errors: Vec<String> = ingested.errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].contains("missing.yaml: cannot read catalog path"),
            "{errors:?}"
        );
        assert!(
            errors[1].contains("a.yaml: document 2: invalid YAML"),
            "{errors:?}"
        );
        assert!(
            errors[2].contains(
                "b.yaml: document 1: metadata.name: user:default/ann is already defined in"
            ),
            "{errors:?}"
        );
    }
}
