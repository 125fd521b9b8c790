//! An entity as searchable rows: lowercased dotted keys with their values as written.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// Values longer than this are not indexed (as in Backstage): nobody filters on them.
const MAX_SEARCH_VALUE_LEN: usize = 200;

/// Flattens an entity into lowercased dotted keys with their original values, as Backstage's
/// search table does, calling `row` for each: arrays give one row per element under the same
/// key, plus a `<key>.<item> = true` row per string item (so `metadata.tags.java` works);
/// objects, arrays and nulls give a row with no value so that existence filters match them;
/// values longer than 200 characters keep only that existence row; keys longer than that are
/// skipped. `status` is not searchable. A row may repeat.
pub fn for_each_row(body: &Value, row: &mut impl FnMut(&str, Option<&str>)) {
    let mut key = String::new();
    if let Value::Object(map) = body {
        walk_map(&mut key, map, row);
    }
}

fn walk(key: &mut String, value: &Value, row: &mut impl FnMut(&str, Option<&str>)) {
    let mut emit = |key: &str, value: Option<&str>| {
        if key.len() <= MAX_SEARCH_VALUE_LEN {
            row(key, value.filter(|v| v.len() <= MAX_SEARCH_VALUE_LEN));
        }
    };
    match value {
        Value::Object(map) => {
            emit(key, None);
            walk_map(key, map, row);
        }
        Value::Array(items) => {
            emit(key, None);
            for item in items {
                match item {
                    Value::Object(map) => walk_map(key, map, row),
                    Value::Array(_) => {}
                    Value::String(s) => {
                        let len = key.len();
                        key.push('.');
                        push_lowercase(key, s);
                        walk(key, &Value::Bool(true), row);
                        key.truncate(len);
                        walk(key, item, row);
                    }
                    _ => walk(key, item, row),
                }
            }
        }
        Value::Null => emit(key, None),
        Value::String(s) => emit(key, Some(s)),
        other => emit(key, Some(&other.to_string())),
    }
}

fn walk_map(key: &mut String, map: &Map<String, Value>, row: &mut impl FnMut(&str, Option<&str>)) {
    let top = key.is_empty();
    for (k, v) in map {
        if top && k == "status" || key == "metadata" && k == "etag" {
            continue;
        }
        let len = key.len();
        if !top {
            key.push('.');
        }
        push_lowercase(key, k);
        walk(key, v, row);
        key.truncate(len);
    }
}

fn push_lowercase(out: &mut String, text: &str) {
    out.push_str(&lowercase(text));
}

/// `text` lowercased, borrowed when it already is (most keys and many values).
pub fn lowercase(text: &str) -> Cow<'_, str> {
    let already = if text.is_ascii() {
        !text.bytes().any(|b| b.is_ascii_uppercase())
    } else {
        !text.chars().any(char::is_uppercase)
    };
    if already {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattening_lowercases_keys_keeps_originals_and_expands_arrays() {
        let mut rows = Vec::new();
        for_each_row(
            &json!({"kind": "Component", "metadata": {"tags": ["java", "Web"]}, "spec": {"replicas": 3},
                    "status": {"items": []}}),
            &mut |k, v| rows.push((k.to_string(), v.map(str::to_string))),
        );
        assert!(rows.contains(&("kind".into(), Some("Component".into()))));
        assert!(rows.contains(&("metadata.tags".into(), Some("java".into()))));
        assert!(rows.contains(&("metadata.tags".into(), Some("Web".into()))));
        assert!(rows.contains(&("spec.replicas".into(), Some("3".into()))));
        assert!(rows.contains(&("metadata.tags".into(), None)));
        assert!(rows.contains(&("metadata.tags.web".into(), Some("true".into()))));
        assert!(rows.contains(&("spec".into(), None)));
        assert!(!rows.iter().any(|(k, _)| k.starts_with("status")));
    }
}
