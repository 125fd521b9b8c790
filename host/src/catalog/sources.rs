//! Reading catalog sources: turning one file into validated entities with their relations,
//! the locations it points at, and its problems. Nothing here touches the store; one bad
//! document costs only itself.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::model::{Entity, FieldError, claimed_ref, validate};
use super::placeholders::Resolver;
use super::relations::relations_of;
use super::yaml;
use crate::support::files::{SharedBudget, read_bounded};
use greenroom_api::EntityRef;

/// Largest catalog file read.
pub const MAX_FILE_BYTES: u64 = 32 << 20;
/// Largest entity: its document's text plus what its placeholders read. A larger one would
/// be served in every page that holds it.
const MAX_ENTITY_BYTES: usize = 4 << 20;

pub const MANAGED_BY_LOCATION: &str = "backstage.io/managed-by-location";
pub const MANAGED_BY_ORIGIN_LOCATION: &str = "backstage.io/managed-by-origin-location";

/// A problem found while reading the catalog, precise enough to fix it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessingError {
    pub file: PathBuf,
    /// 1-based index of the YAML document in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<usize>,
    /// The entity the document claims to be, when that much could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_ref: Option<String>,
    /// Dotted path of the offending field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl ProcessingError {
    pub fn of_file(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            document: None,
            entity_ref: None,
            field: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ProcessingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(document) = self.document {
            write!(f, ": document {document}")?;
        }
        if let Some(entity_ref) = &self.entity_ref {
            write!(f, " ({entity_ref})")?;
        }
        if let Some(field) = self.field.as_deref().filter(|f| !f.is_empty()) {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A valid entity read from a file, ready to be stored.
#[derive(Debug, Clone)]
pub struct StagedEntity {
    pub entity_ref: EntityRef,
    /// The validated body as compact JSON: a walk holds every entity it read until they are
    /// stored, and a parsed body with its relations takes ten times the memory (700 MB for
    /// 100k entities).
    pub json: String,
    /// The document it came from, for conflict reports.
    pub document: usize,
}

impl StagedEntity {
    pub fn new(entity: &Entity, document: usize) -> Self {
        Self {
            entity_ref: entity.entity_ref.clone(),
            json: entity.body.to_string(),
            document,
        }
    }

    /// The entity again, parsed; its relations follow from it with `relations_of`.
    pub fn entity(&self) -> anyhow::Result<Entity> {
        Ok(Entity {
            entity_ref: self.entity_ref.clone(),
            body: serde_json::from_str(&self.json)?,
        })
    }
}

/// A place a Location entity points at: a file, a folder or a glob pattern.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    /// The Location entity that names it; the parent of what is found there.
    pub parent: String,
    pub path: PathBuf,
    /// `spec.presence: optional` targets may be missing without an error.
    pub optional: bool,
}

/// Everything one catalog file yields.
#[derive(Debug, Default)]
pub struct FileOutcome {
    pub entities: Vec<StagedEntity>,
    pub errors: Vec<ProcessingError>,
    pub targets: Vec<Target>,
    /// Files read by placeholders.
    pub dependencies: Vec<PathBuf>,
    /// A placeholder found the reconcile's read budget spent (see [`FileContext::budget`]).
    pub over_budget: bool,
}

impl FileOutcome {
    /// True when some document could not even say which entity it is; what the file used to
    /// define must then be kept rather than orphaned, since it may be in that document.
    pub fn has_unidentified_failure(&self) -> bool {
        self.errors
            .iter()
            .any(|e| e.document.is_some() && e.entity_ref.is_none())
            || self.errors.iter().any(|e| e.document.is_none())
    }
}

/// Where a file sits: the location that reached it, for annotations and confinement.
pub struct FileContext<'a> {
    /// `file:<abs path>` of the root location, for `managed-by-origin-location`.
    pub origin: &'a str,
    /// Placeholders may not read outside this folder.
    pub root: &'a Path,
    /// What the reconcile may still read, placeholders included.
    pub budget: &'a SharedBudget,
}

/// Reads and processes one catalog file.
pub fn process_file(file: &Path, context: &FileContext) -> FileOutcome {
    let mut outcome = FileOutcome::default();
    let bytes = match read_bounded(file, MAX_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(e) => {
            outcome.errors.push(ProcessingError::of_file(file, e));
            return outcome;
        }
    };
    let base = file.parent().unwrap_or(Path::new("/"));
    let location = format!("file:{}", file.display());
    let mut resolver = Resolver {
        base,
        root: context.root,
        read: Vec::new(),
        budget: 0,
        shared: context.budget,
        over_shared: false,
    };
    for document in yaml::documents(&bytes) {
        let fail = |entity_ref: Option<&EntityRef>, e: FieldError| ProcessingError {
            file: file.to_path_buf(),
            document: Some(document.index),
            entity_ref: entity_ref.map(ToString::to_string),
            field: Some(e.field).filter(|f| !f.is_empty()),
            message: e.message,
        };
        let mut body = match document.parsed {
            Ok(body) => body,
            Err(message) => {
                outcome
                    .errors
                    .push(fail(None, FieldError::new("", message)));
                continue;
            }
        };
        let claimed = claimed_ref(&body);
        if document.size > MAX_ENTITY_BYTES {
            let message = format!(
                "the entity is {:.1} MiB; the limit is {} MiB with what its placeholders read",
                document.size as f64 / (1 << 20) as f64,
                MAX_ENTITY_BYTES >> 20
            );
            outcome
                .errors
                .push(fail(claimed.as_ref(), FieldError::new("", message)));
            continue;
        }
        resolver.budget = MAX_ENTITY_BYTES - document.size;
        if let Err(e) = resolver.resolve(&mut body, "") {
            outcome.errors.push(fail(claimed.as_ref(), e));
            continue;
        }
        let mut entity = match validate(body) {
            Ok(entity) => entity,
            Err(errors) => {
                let claimed = claimed.as_ref();
                outcome
                    .errors
                    .extend(errors.into_iter().map(|e| fail(claimed, e)));
                continue;
            }
        };
        entity.annotate(MANAGED_BY_LOCATION, &location);
        entity.annotate(MANAGED_BY_ORIGIN_LOCATION, context.origin);
        let targets = match location_targets(&entity, base) {
            Ok(targets) => targets,
            Err(e) => {
                outcome.errors.push(fail(Some(&entity.entity_ref), e));
                continue;
            }
        };
        match relations_of(&entity) {
            Ok(_) => {
                outcome.targets.extend(targets);
                outcome
                    .entities
                    .push(StagedEntity::new(&entity, document.index));
            }
            Err(e) => outcome.errors.push(fail(Some(&entity.entity_ref), e)),
        }
    }
    resolver.read.sort();
    resolver.read.dedup();
    outcome.dependencies = resolver.read;
    outcome.over_budget = resolver.over_shared;
    outcome
}

/// The targets of a Location entity, resolved against the folder of its file.
fn location_targets(entity: &Entity, base: &Path) -> Result<Vec<Target>, FieldError> {
    if !entity.kind().eq_ignore_ascii_case("location") {
        return Ok(Vec::new());
    }
    let spec = entity.spec();
    let kind = spec["type"].as_str().unwrap_or("file");
    let optional = spec["presence"].as_str() == Some("optional");
    let mut found = Vec::new();
    let singles = spec["target"]
        .as_str()
        .map(|t| ("spec.target".to_string(), t));
    let many = spec["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, t)| Some((format!("spec.targets[{i}]"), t.as_str()?)));
    for (field, target) in singles.into_iter().chain(many) {
        if target.contains("://") {
            return Err(FieldError::new(
                field,
                format!(
                    "'{target}': only file targets are supported (no URL reader is configured)"
                ),
            ));
        }
        if !matches!(kind, "file" | "url") {
            return Err(FieldError::new(
                "spec.type",
                format!("location type '{kind}' is not supported (use file)"),
            ));
        }
        found.push(Target {
            parent: entity.entity_ref.to_string(),
            path: lexical_join(base, Path::new(target)),
            optional,
        });
    }
    Ok(found)
}

/// `base/relative` with `.` and `..` folded away, without touching the file system.
pub fn lexical_join(base: &Path, relative: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in base.join(relative).components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    static UNLIMITED: std::sync::LazyLock<SharedBudget> =
        std::sync::LazyLock::new(|| SharedBudget::new(u64::MAX));

    fn context(root: &Path) -> FileContext<'_> {
        FileContext {
            origin: "file:/origin",
            root,
            budget: &UNLIMITED,
        }
    }

    #[test]
    fn every_document_is_processed_on_its_own_and_problems_name_document_and_field() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let file = root.join("catalog-info.yaml");
        std::fs::write(
            &file,
            "\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: checkout}
spec: {type: service, owner: payments, lifecycle: production}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: Bad Name}
spec: {type: service, owner: payments, lifecycle: production}
---
kind: [broken
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: web}
spec: {type: website, lifecycle: production}
---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata: {name: more}
spec: {targets: [./teams/*.yaml, ../elsewhere], presence: optional}
",
        )
        .unwrap();
        let outcome = process_file(&file, &context(&root));
        let refs: Vec<String> = outcome
            .entities
            .iter()
            .map(|e| e.entity_ref.to_string())
            .collect();
        assert_eq!(
            refs,
            ["component:default/checkout", "location:default/more"]
        );
        let errors: Vec<String> = outcome.errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].ends_with("document 2 (component:default/bad name): metadata.name: 'Bad Name' must be 1-63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"), "{errors:?}");
        assert!(
            errors[1].contains("document 3: invalid YAML at line 11"),
            "{errors:?}"
        );
        assert!(
            errors[2].contains("document 4 (component:default/web): spec.owner: is required"),
            "{errors:?}"
        );
        assert!(outcome.has_unidentified_failure());
        assert_eq!(
            outcome.targets,
            [
                Target {
                    parent: "location:default/more".into(),
                    path: root.join("teams/*.yaml"),
                    optional: true
                },
                Target {
                    parent: "location:default/more".into(),
                    path: root.parent().unwrap().join("elsewhere"),
                    optional: true
                },
            ]
        );
        let entity = outcome.entities[0].entity().unwrap();
        let annotations = &entity.body["metadata"]["annotations"];
        assert_eq!(
            annotations[MANAGED_BY_LOCATION],
            format!("file:{}", file.display())
        );
        assert_eq!(annotations[MANAGED_BY_ORIGIN_LOCATION], "file:/origin");
    }
}
