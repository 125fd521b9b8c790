//! `greenroom catalog validate`: reads catalog files as the server would, stores nothing,
//! and lists every problem.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::reconcile::{self, Root};
use super::sources::ProcessingError;
use super::store::LocationRow;

/// What a lint found.
pub struct LintReport {
    pub files: usize,
    pub entities: usize,
    pub problems: Vec<ProcessingError>,
}

/// Reads `paths` (files, folders scanned for `file_name`, globs) and the locations they
/// point at. Duplicate definitions across the files are problems too.
pub fn lint(paths: &[PathBuf], file_name: &str) -> LintReport {
    let roots: Vec<Root> = paths
        .iter()
        .map(|path| {
            let target = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            Root::new(&LocationRow {
                id: target.display().to_string(),
                kind: "file".into(),
                target: target.display().to_string(),
                source: "cli".into(),
            })
        })
        .collect();
    let scope = reconcile::Scope {
        file_name,
        registration_roots: &[],
        read_limit: super::DEFAULT_READ_LIMIT,
    };
    let walk = reconcile::walk(&roots, &scope, &HashMap::new(), &HashSet::new());
    let mut problems = walk.errors.clone();
    problems.extend(walk.deferred.iter().map(|file| {
        ProcessingError::of_file(
            file,
            format!(
                "not read: the files before it came to the {} MiB one check reads",
                scope.read_limit >> 20
            ),
        )
    }));
    let mut defined: HashMap<String, &Path> = HashMap::new();
    let mut entities = 0;
    for (record, outcome) in walk.processed() {
        problems.extend(outcome.errors.iter().cloned());
        for staged in &outcome.entities {
            entities += 1;
            let entity_ref = staged.entity_ref.to_string();
            if let Some(first) = defined.get(&entity_ref) {
                problems.push(ProcessingError {
                    file: record.path.clone(),
                    document: Some(staged.document),
                    entity_ref: Some(entity_ref.clone()),
                    field: Some("metadata.name".into()),
                    message: format!("{entity_ref} is already defined in {}", first.display()),
                });
            } else {
                defined.insert(entity_ref, &record.path);
            }
        }
    }
    problems.sort_by(|a, b| (&a.file, a.document).cmp(&(&b.file, b.document)));
    LintReport {
        files: walk.visited.len(),
        entities,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lint_follows_locations_and_reports_every_problem_and_duplicate() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::create_dir_all(dir.join("teams")).unwrap();
        std::fs::write(
            dir.join("all.yaml"),
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: all}\nspec: {targets: [./teams/a.yaml, ./teams/missing.yaml]}\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("teams/a.yaml"),
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: a}\nspec: {type: team, children: []}\n---\napiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {name: A, tags: [Bad]}\nspec: {type: team}\n",
        )
        .unwrap();
        let report = lint(&[dir.join("all.yaml")], "catalog-info.yaml");
        assert_eq!((report.files, report.entities), (2, 2));
        let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].contains(
                "all.yaml (location:default/all): spec.target: location target: cannot read"
            ),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("a.yaml: document 2 (group:default/a): metadata.tags[0]"),
            "{problems:?}"
        );
        assert!(
            problems[2]
                .contains("a.yaml: document 2 (group:default/a): spec.children: is required"),
            "{problems:?}"
        );
    }
}
