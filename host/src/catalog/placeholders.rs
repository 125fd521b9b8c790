//! Backstage's `$text`, `$json` and `$yaml` placeholders: a mapping with one such key is
//! replaced by the content of the file it names, relative to the catalog file and confined to
//! the location's root folder.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::model::FieldError;
use crate::support::files::{SharedBudget, Taken, line_of, read_bounded};
use crate::support::paths::ConfineError;

/// Where placeholders are resolved from, and the files they read.
pub struct Resolver<'a> {
    /// The folder of the catalog file; paths are relative to it.
    pub base: &'a Path,
    /// No placeholder may read outside this folder (canonical).
    pub root: &'a Path,
    /// Every file read, so a change to it re-reads the catalog file.
    pub read: Vec<PathBuf>,
    /// Bytes the placeholders of the entity being resolved may still read: checked before a
    /// file is read, so a thousand placeholders at one large file allocate nothing.
    pub budget: usize,
    /// What the whole reconcile may still read; every placeholder takes its bytes from it.
    pub shared: &'a SharedBudget,
    /// Set when a placeholder found `shared` spent.
    pub over_shared: bool,
}

impl Resolver<'_> {
    /// Replaces every placeholder in `value`; `field` is the dotted path of `value`.
    pub fn resolve(&mut self, value: &mut Value, field: &str) -> Result<(), FieldError> {
        match value {
            Value::Object(map) => {
                let placeholder = (map.len() == 1)
                    .then(|| map.iter().next())
                    .flatten()
                    .filter(|(k, _)| k.starts_with('$'))
                    .map(|(k, v)| (k.clone(), v.clone()));
                if let Some((key, target)) = placeholder {
                    *value = self.substitute(&key, &target, field)?;
                    return Ok(());
                }
                for (key, child) in map.iter_mut() {
                    self.resolve(child, &join(field, key))?;
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter_mut().enumerate() {
                    self.resolve(child, &format!("{field}[{i}]"))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn substitute(&mut self, key: &str, target: &Value, field: &str) -> Result<Value, FieldError> {
        let fail = |message: String| FieldError::new(field, message);
        if !matches!(key, "$text" | "$json" | "$yaml") {
            return Err(fail(format!(
                "unknown placeholder {key} (known: $text, $json, $yaml)"
            )));
        }
        let Some(target) = target.as_str() else {
            return Err(fail(format!("{key} must name a file as a string")));
        };
        if target.contains("://") {
            return Err(fail(format!(
                "{key} '{target}': only paths relative to the catalog file are supported"
            )));
        }
        let resolved =
            crate::support::paths::within(self.root, &self.base.join(target)).map_err(|e| {
                fail(match e {
                    ConfineError::Outside { root, .. } => {
                        format!("{key} '{target}' leaves the location's root folder {root}")
                    }
                    unreadable => format!("{key} '{target}': {unreadable}"),
                })
            })?;
        let bytes = read_bounded(&resolved, self.budget as u64).map_err(|e| {
            fail(format!(
                "{key} '{target}' {e} (what is left of the entity's size limit)"
            ))
        })?;
        // Watched even when it is not text yet: fixing it re-reads the catalog file.
        self.read.push(resolved);
        if self.shared.take(bytes.len() as u64) == Taken::No {
            self.over_shared = true;
            return Err(fail(format!(
                "{key} '{target}': this reconcile has read its limit of {} MiB; the file is read again by the next one",
                self.shared.limit() >> 20
            )));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let line = line_of(e.as_bytes(), e.utf8_error().valid_up_to());
            fail(format!("{key} '{target}' is not UTF-8 text at line {line}"))
        })?;
        self.budget -= text.len();
        match key {
            "$json" => serde_json::from_str(&text)
                .map_err(|e| fail(format!("$json '{target}' is not valid JSON: {e}"))),
            "$yaml" => super::yaml::parse_one(&text)
                .map_err(|e| fail(format!("$yaml '{target}' is not valid YAML: {e}"))),
            _ => Ok(Value::String(text)),
        }
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_read_text_json_and_yaml_and_stay_inside_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap().join("root");
        let base = root.join("svc");
        std::fs::create_dir_all(&base).unwrap();
        std::fs::write(base.join("api.yaml"), "openapi: 3.0.0\n").unwrap();
        std::fs::write(base.join("extra.json"), r#"{"k": [1]}"#).unwrap();
        std::fs::write(base.join("extra.yaml"), "k: v\n").unwrap();
        std::fs::write(tmp.path().join("outside.txt"), "x").unwrap();
        // What the placeholders below read comes to 45 bytes; the reconcile may read 50.
        let shared = SharedBudget::new(50);
        let mut resolver = Resolver {
            base: &base,
            root: &root,
            read: Vec::new(),
            budget: 1 << 20,
            shared: &shared,
            over_shared: false,
        };
        let mut spec = json!({"definition": {"$text": "./api.yaml"},
            "j": {"$json": "extra.json"}, "y": [{"$yaml": "extra.yaml"}]});
        resolver.resolve(&mut spec, "spec").unwrap();
        assert_eq!(
            spec,
            json!({"definition": "openapi: 3.0.0\n", "j": {"k": [1]}, "y": [{"k": "v"}]})
        );
        assert_eq!(resolver.read.len(), 3);
        assert!(!resolver.over_shared);
        for (bad, message) in [
            (
                json!({"$text": "../../outside.txt"}),
                "leaves the location's root",
            ),
            (json!({"$text": "missing.txt"}), "cannot read"),
            (json!({"$json": "api.yaml"}), "is not valid JSON"),
            (json!({"$env": "HOME"}), "unknown placeholder $env"),
            (
                json!({"$text": "https://example.com/x"}),
                "only paths relative",
            ),
        ] {
            let mut spec = json!({ "definition": bad });
            let error = resolver.resolve(&mut spec, "spec").unwrap_err();
            assert_eq!(error.field, "spec.definition");
            assert!(error.message.contains(message), "{}", error.message);
        }
        // 15 more bytes would pass what the reconcile may read.
        let mut spec = json!({"again": {"$text": "api.yaml"}});
        let error = resolver.resolve(&mut spec, "spec").unwrap_err();
        assert!(
            error.message.contains("read its limit"),
            "{}",
            error.message
        );
        assert!(resolver.over_shared);
    }
}
