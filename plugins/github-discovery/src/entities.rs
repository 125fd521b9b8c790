//! A repository's catalog file as entities, the way Backstage reads a discovered
//! `catalog-info.yaml`: every YAML document is an entity; a document that is not valid YAML or
//! not an entity is skipped alone (the caller logs why, naming the repository, file and
//! document); `$text`, `$json` and `$yaml` placeholders read files of the same repository
//! relative to the file; a `Location`'s relative targets are read from the repository too
//! (the Location itself is not offered: the portal would look for its targets on its own
//! disk). Each entity gets the annotations Backstage's processors give an entity read from
//! GitHub, unless it sets them itself: `backstage.io/view-url`, `backstage.io/edit-url`,
//! `backstage.io/source-location` and, on Components, `github.com/project-slug`.
//! `backstage.io/managed-by-location` and `managed-by-origin-location` are left to the
//! portal, which sets them on every provided entity.
//!
//! No I/O here: files are read through the `read` function the caller passes.

use serde_json::{Map, Value};

/// Files one repository's discovery may read: catalog files and placeholders together.
pub const MAX_READS: usize = 32;
/// How deep `Location` targets are followed from the catalog file.
const MAX_LOCATION_DEPTH: usize = 3;
/// Deepest nesting of YAML flow collections (`[`, `{`) read. The YAML scanner's time grows
/// with the square of it; real catalog files stay under ten.
const MAX_FLOW_DEPTH: usize = 64;

/// Where a catalog file comes from.
pub struct Repository<'a> {
    /// The organisation as configured.
    pub org: &'a str,
    pub name: &'a str,
    /// `https://github.com/<org>/<name>`, or the Enterprise server's.
    pub html_url: &'a str,
    pub branch: &'a str,
}

/// What reading a repository's catalog files gave.
#[derive(Default, Debug)]
pub struct Discovered {
    /// Each entity as JSON, in the order of the files and their documents.
    pub entities: Vec<String>,
    /// One line per skipped document or file, naming it and saying why.
    pub problems: Vec<String>,
}

/// Reads a file of the repository by path: `Ok(Ok(None))` when there is none, `Ok(Err(message))`
/// when that one file cannot be read, `Err(stop)` to stop the whole discovery.
pub type Read<'r, E> = dyn FnMut(&str) -> Result<Result<Option<Vec<u8>>, String>, E> + 'r;

/// The entities of `repository`'s catalog file at `path`, reading files through `read` (see
/// [`Read`]; a file that cannot be read costs what needs it, a stop ends the discovery). The
/// catalog file itself missing gives no entities.
pub fn discover<E>(
    repository: &Repository,
    path: &str,
    read: &mut Read<'_, E>,
) -> Result<Discovered, E> {
    let mut discovered = Discovered::default();
    let mut reads = 0usize;
    // (path, depth, whether it may be missing) of each catalog file still to read.
    let mut files = vec![(path.to_string(), 0usize, true)];
    let mut seen = vec![path.to_string()];
    while let Some((file, depth, optional)) = files.pop() {
        let where_ = format!("{}/{}: {file}", repository.org, repository.name);
        reads += 1;
        if reads > MAX_READS {
            discovered.problems.push(format!(
                "{where_} not read: more than {MAX_READS} files for one repository"
            ));
            continue;
        }
        let bytes = match read(&file)? {
            Ok(Some(bytes)) => bytes,
            Ok(None) if optional => continue,
            Ok(None) => {
                discovered
                    .problems
                    .push(format!("{where_} not found (a Location's target)"));
                continue;
            }
            Err(message) => {
                discovered.problems.push(format!("{where_}: {message}"));
                continue;
            }
        };
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                discovered
                    .problems
                    .push(format!("{where_} is not UTF-8 text"));
                continue;
            }
        };
        let mut targets = Vec::new();
        for (index, document) in documents(&text) {
            let at = format!("{where_} document {index}");
            let mut entity = match parse_yaml(&document).and_then(check_entity) {
                Ok(Some(entity)) => entity,
                Ok(None) => continue,
                Err(message) => {
                    discovered.problems.push(format!("{at} skipped: {message}"));
                    continue;
                }
            };
            let mut context = Placeholders {
                file: &file,
                reads: &mut reads,
                read: &mut *read,
            };
            match context.resolve(&mut entity)? {
                Ok(()) => {}
                Err(message) => {
                    discovered.problems.push(format!("{at} skipped: {message}"));
                    continue;
                }
            }
            if kind(&entity).eq_ignore_ascii_case("location") {
                let (found, refused) = location_targets(&entity, repository, &file);
                for message in refused {
                    discovered.problems.push(format!("{at}: {message}"));
                }
                if depth + 1 > MAX_LOCATION_DEPTH && !found.is_empty() {
                    discovered.problems.push(format!(
                        "{at}: targets not followed: Locations nest deeper than \
                         {MAX_LOCATION_DEPTH}"
                    ));
                } else {
                    targets.extend(found);
                }
                continue;
            }
            annotate(&mut entity, repository, &file);
            discovered.entities.push(entity.to_string());
        }
        // Read in the order written: the stack takes the last first.
        for (target, optional) in targets.into_iter().rev() {
            if !seen.contains(&target) {
                seen.push(target.clone());
                files.push((target, depth + 1, optional));
            }
        }
    }
    Ok(discovered)
}

/// The non-blank documents of a multi-document YAML text, each with its 1-based index, split
/// at `---` and `...` lines before parsing so one broken document never hides its siblings.
pub fn documents(text: &str) -> Vec<(usize, String)> {
    let mut chunks = vec![String::new()];
    for line in text.lines() {
        let start = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        if start {
            let rest = line[3..].trim_start();
            let mut chunk = String::new();
            if !rest.is_empty() && !rest.starts_with('#') {
                chunk.push_str(rest);
                chunk.push('\n');
            }
            chunks.push(chunk);
        } else if line == "..." {
            chunks.push(String::new());
        } else if let Some(chunk) = chunks.last_mut() {
            chunk.push_str(line);
            chunk.push('\n');
        }
    }
    // A leading chunk with nothing in it (the text starts with `---`) is not a document.
    if chunks.len() > 1 && is_blank(&chunks[0]) {
        chunks.remove(0);
    }
    chunks
        .into_iter()
        .enumerate()
        .filter(|(_, chunk)| !is_blank(chunk))
        .map(|(i, chunk)| (i + 1, chunk))
        .collect()
}

/// Only whitespace and comments.
fn is_blank(chunk: &str) -> bool {
    chunk
        .lines()
        .all(|line| line.trim().is_empty() || line.trim_start().starts_with('#'))
}

/// One YAML document as JSON: keys that are numbers or booleans become text, tags are
/// dropped, merge keys (`<<`) are applied.
pub fn parse_yaml(text: &str) -> Result<Value, String> {
    if let Some(depth) = flow_depth_over(text, MAX_FLOW_DEPTH) {
        return Err(format!(
            "not read: YAML nested deeper than {MAX_FLOW_DEPTH} levels ({depth} at least)"
        ));
    }
    let mut value: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    value
        .apply_merge()
        .map_err(|e| format!("not valid YAML: {e}"))?;
    to_json(value)
}

/// The nesting of `[` and `{`, counted without regard to quotes, once it passes `limit`.
fn flow_depth_over(text: &str, limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    for byte in text.bytes() {
        match byte {
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some(depth);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

fn to_json(value: serde_yaml::Value) -> Result<Value, String> {
    use serde_yaml::Value as Yaml;
    Ok(match value {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| format!("the number {n} has no JSON form"))?
            }
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Yaml::Mapping(mapping) => {
            let mut object = Map::new();
            for (key, value) in mapping {
                let key = match key {
                    Yaml::String(s) => s,
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    Yaml::Null => "null".into(),
                    _ => return Err("a mapping key is not a scalar".into()),
                };
                object.insert(key, to_json(value)?);
            }
            Value::Object(object)
        }
        Yaml::Tagged(tagged) => to_json(tagged.value)?,
    })
}

/// The document as an entity: none for an empty document (`~`), an error when it is not
/// shaped like one. The portal validates the rest.
fn check_entity(document: Value) -> Result<Option<Value>, String> {
    match &document {
        Value::Null => return Ok(None),
        Value::Object(_) => {}
        _ => return Err("not an entity (the document is not a mapping)".into()),
    }
    for field in ["apiVersion", "kind"] {
        if !document[field].is_string() {
            return Err(format!("not an entity: {field} is missing or not text"));
        }
    }
    if !document["metadata"]["name"].is_string() {
        return Err("not an entity: metadata.name is missing or not text".into());
    }
    Ok(Some(document))
}

fn kind(entity: &Value) -> &str {
    entity["kind"].as_str().unwrap_or_default()
}

/// Resolves placeholders inside one document, reading files relative to `file`.
struct Placeholders<'a, 'r, E> {
    file: &'a str,
    reads: &'a mut usize,
    read: &'a mut Read<'r, E>,
}

impl<E> Placeholders<'_, '_, E> {
    /// `Ok(Err(message))`: the document cannot be resolved and is skipped.
    fn resolve(&mut self, value: &mut Value) -> Result<Result<(), String>, E> {
        match value {
            Value::Object(object) => {
                if let Some((key, target)) = placeholder(object) {
                    let resolved = match self.substitute(&key, &target)? {
                        Ok(resolved) => resolved,
                        Err(message) => return Ok(Err(message)),
                    };
                    *value = resolved;
                    return Ok(Ok(()));
                }
                for child in object.values_mut() {
                    if let Err(message) = self.resolve(child)? {
                        return Ok(Err(message));
                    }
                }
            }
            Value::Array(items) => {
                for child in items {
                    if let Err(message) = self.resolve(child)? {
                        return Ok(Err(message));
                    }
                }
            }
            _ => {}
        }
        Ok(Ok(()))
    }

    fn substitute(&mut self, key: &str, target: &str) -> Result<Result<Value, String>, E> {
        let failed = |message: String| Ok(Err(format!("placeholder {key} '{target}': {message}")));
        if target.contains("://") || target.starts_with('/') {
            return failed(
                "only paths relative to the catalog file are read (from the same repository)"
                    .into(),
            );
        }
        let Some(path) = joined(self.file, target) else {
            return failed("the path leaves the repository".into());
        };
        *self.reads += 1;
        if *self.reads > MAX_READS {
            return failed(format!("more than {MAX_READS} files for one repository"));
        }
        let bytes = match (self.read)(&path)? {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return failed(format!("{path} not found")),
            Err(message) => return failed(message),
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let resolved = match key {
            "$text" => Ok(Value::String(text)),
            "$json" => serde_json::from_str(&text).map_err(|e| format!("not valid JSON: {e}")),
            _ => parse_yaml(&text),
        };
        // What a `$json` or `$yaml` file holds is data, not more placeholders: one left in it
        // would be read by the portal from its own disk.
        let resolved = resolved.and_then(|value| {
            if holds_placeholder(&value) {
                Err("the file it reads holds placeholders itself".into())
            } else {
                Ok(value)
            }
        });
        Ok(resolved.map_err(|message| format!("placeholder {key} '{target}': {message}")))
    }
}

/// An object that is a placeholder: one key, `$text`, `$json` or `$yaml`, with a text value.
fn placeholder(object: &Map<String, Value>) -> Option<(String, String)> {
    if object.len() != 1 {
        return None;
    }
    let (key, value) = object.iter().next()?;
    let target = value.as_str()?;
    matches!(key.as_str(), "$text" | "$json" | "$yaml").then(|| (key.clone(), target.into()))
}

fn holds_placeholder(value: &Value) -> bool {
    match value {
        Value::Object(object) => {
            placeholder(object).is_some() || object.values().any(holds_placeholder)
        }
        Value::Array(items) => items.iter().any(holds_placeholder),
        _ => false,
    }
}

/// `relative` resolved against the folder of `file` (paths inside the repository, `/`
/// separated); none when it climbs out of the repository.
pub fn joined(file: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = file.split('/').collect();
    parts.pop();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// The catalog files a Location names inside the repository, each with whether it may be
/// missing (`presence: optional`), and why each other target is not followed.
fn location_targets(
    entity: &Value,
    repository: &Repository,
    file: &str,
) -> (Vec<(String, bool)>, Vec<String>) {
    let spec = &entity["spec"];
    let optional = spec["presence"].as_str() == Some("optional");
    let singles = spec["target"].as_str().into_iter();
    let many = spec["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    let blob = format!("{}/blob/{}/", repository.html_url, repository.branch);
    let (mut found, mut refused) = (Vec::new(), Vec::new());
    for target in singles.chain(many) {
        let path = if let Some(path) = target.strip_prefix(&blob) {
            joined("", path)
        } else if target.contains("://") || target.starts_with('/') {
            refused.push(format!(
                "target '{target}' not followed: only targets in the same repository and \
                 branch are read"
            ));
            continue;
        } else {
            joined(file, target)
        };
        match path.filter(|p| !p.contains(['*', '?'])) {
            Some(path) => found.push((path, optional)),
            None => refused.push(format!(
                "target '{target}' not followed: it leaves the repository or is a pattern"
            )),
        }
    }
    (found, refused)
}

/// Backstage's annotations for an entity read from `file` of `repository`, where the entity
/// does not set them itself.
fn annotate(entity: &mut Value, repository: &Repository, file: &str) {
    // Backstage's AnnotateScmSlugEntityProcessor gives the slug to Components only.
    let component = kind(entity).eq_ignore_ascii_case("component");
    let Some(metadata) = entity.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let annotations = metadata
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(annotations) = annotations.as_object_mut() else {
        return;
    };
    let (base, branch) = (repository.html_url, repository.branch);
    let folder = match file.rsplit_once('/') {
        Some((folder, _)) => format!("{folder}/"),
        None => String::new(),
    };
    let mut defaults = vec![
        (
            "backstage.io/view-url",
            format!("{base}/blob/{branch}/{file}"),
        ),
        (
            "backstage.io/edit-url",
            format!("{base}/edit/{branch}/{file}"),
        ),
        (
            "backstage.io/source-location",
            format!("url:{base}/tree/{branch}/{folder}"),
        ),
    ];
    if component {
        defaults.push((
            "github.com/project-slug",
            format!("{}/{}", repository.org, repository.name),
        ));
    }
    for (key, value) in defaults {
        annotations
            .entry(key)
            .or_insert_with(|| Value::String(value));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const REPO: Repository = Repository {
        org: "acme",
        name: "billing",
        html_url: "https://github.com/acme/billing",
        branch: "main",
    };

    fn discovered(files: &[(&str, &str)]) -> Discovered {
        let files: HashMap<&str, &str> = files.iter().copied().collect();
        let mut read = |path: &str| -> Result<Result<Option<Vec<u8>>, String>, ()> {
            Ok(match path {
                "broken.txt" => Err("GitHub answered 500".into()),
                _ => Ok(files.get(path).map(|text| text.as_bytes().to_vec())),
            })
        };
        discover(&REPO, "catalog-info.yaml", &mut read).unwrap()
    }

    fn parsed(entities: &[String]) -> Vec<Value> {
        entities
            .iter()
            .map(|e| serde_json::from_str(e).unwrap())
            .collect()
    }

    #[test]
    fn documents_are_split_before_parsing_and_numbered_in_the_file() {
        let text = "---\na: 1\n--- # comment\n# only a comment\n---\nb: [\n...\n--- c: 3\n";
        assert_eq!(
            documents(text),
            vec![
                (1, "a: 1\n".to_string()),
                (3, "b: [\n".to_string()),
                (5, "c: 3\n".to_string())
            ]
        );
        assert!(
            parse_yaml("b: [\n")
                .unwrap_err()
                .starts_with("not valid YAML")
        );
        assert!(
            parse_yaml(&"[".repeat(65))
                .unwrap_err()
                .contains("deeper than 64")
        );
        assert_eq!(
            parse_yaml("1: x\ntrue: y\nbase: &b {k: v}\nmerged: {<<: *b, l: w}\n").unwrap(),
            serde_json::json!({"1": "x", "true": "y", "base": {"k": "v"},
                               "merged": {"k": "v", "l": "w"}})
        );
    }

    #[test]
    fn a_catalog_file_gives_annotated_entities_and_names_what_it_skips() {
        let found = discovered(&[
            (
                "catalog-info.yaml",
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: billing\n\
                 spec: {type: service}\n---\n\
                 apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: billing-api\n  \
                 annotations: {backstage.io/view-url: 'https://docs.example.com'}\n\
                 spec: {definition: {$text: ./api/openapi.yaml}}\n---\n\
                 kind: [broken\n---\n- just a list\n---\n\
                 apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: gone}\n\
                 spec: {definition: {$text: ../../etc/passwd}}\n---\n\
                 apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: more}\n\
                 spec: {targets: [./services/worker.yaml, 'https://github.com/acme/billing/blob/main/missing.yaml', 'https://elsewhere.example/x.yaml']}\n",
            ),
            ("api/openapi.yaml", "openapi: 3.0.3\n"),
            (
                "services/worker.yaml",
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: worker}\n\
                 spec: {definition: {$json: ../broken.txt}}\n",
            ),
        ]);
        let entities = parsed(&found.entities);
        let names: Vec<&str> = entities
            .iter()
            .map(|e| e["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["billing", "billing-api"], "{found:#?}");
        let annotations = &entities[0]["metadata"]["annotations"];
        assert_eq!(
            annotations,
            &serde_json::json!({
                "backstage.io/view-url": "https://github.com/acme/billing/blob/main/catalog-info.yaml",
                "backstage.io/edit-url": "https://github.com/acme/billing/edit/main/catalog-info.yaml",
                "backstage.io/source-location": "url:https://github.com/acme/billing/tree/main/",
                "github.com/project-slug": "acme/billing",
            })
        );
        // The entity's own annotation wins; only Components get the slug.
        let api = &entities[1];
        assert_eq!(
            api["metadata"]["annotations"]["backstage.io/view-url"],
            "https://docs.example.com"
        );
        assert!(api["metadata"]["annotations"]["github.com/project-slug"].is_null());
        assert_eq!(api["spec"]["definition"], "openapi: 3.0.3\n");
        let problems = found.problems.join("\n");
        for expected in [
            "acme/billing: catalog-info.yaml document 3 skipped: not valid YAML",
            "acme/billing: catalog-info.yaml document 4 skipped: not an entity",
            "acme/billing: catalog-info.yaml document 5 skipped: placeholder $text \
             '../../etc/passwd': the path leaves the repository",
            "acme/billing: catalog-info.yaml document 6: target 'https://elsewhere.example/x.yaml' \
             not followed",
            // The Location's other targets are read: one is missing, one fails a placeholder.
            "acme/billing: missing.yaml not found (a Location's target)",
            "acme/billing: services/worker.yaml document 1 skipped: placeholder $json \
             '../broken.txt': GitHub answered 500",
        ] {
            assert!(
                problems.contains(expected),
                "{expected}\nnot in\n{problems}"
            );
        }
        assert_eq!(found.problems.len(), 6, "{problems}");
    }

    #[test]
    fn a_locations_targets_in_the_repository_are_read_in_its_stead() {
        let found = discovered(&[
            (
                "catalog-info.yaml",
                "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: root}\n\
                 spec: {targets: [./services/a.yaml, 'https://github.com/acme/billing/blob/main/b.yaml', ./c.yaml]}\n",
            ),
            (
                "services/a.yaml",
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a}\n",
            ),
            (
                "b.yaml",
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: b}\n",
            ),
        ]);
        let entities = parsed(&found.entities);
        assert_eq!(entities.len(), 2, "{found:#?}");
        assert_eq!(entities[0]["metadata"]["name"], "a");
        assert_eq!(
            entities[0]["metadata"]["annotations"]["backstage.io/source-location"],
            "url:https://github.com/acme/billing/tree/main/services/"
        );
        assert_eq!(entities[1]["metadata"]["name"], "b");
        assert_eq!(
            found.problems,
            ["acme/billing: c.yaml not found (a Location's target)"]
        );
    }

    #[test]
    fn a_missing_catalog_file_is_no_entities_and_paths_stay_in_the_repository() {
        let found = discovered(&[]);
        assert!(found.entities.is_empty() && found.problems.is_empty());
        assert_eq!(
            joined("a/b/catalog.yaml", "../c.yaml").as_deref(),
            Some("a/c.yaml")
        );
        assert_eq!(
            joined("catalog.yaml", "./x/./y.yaml").as_deref(),
            Some("x/y.yaml")
        );
        assert_eq!(joined("catalog.yaml", "../x.yaml"), None);
    }
}
