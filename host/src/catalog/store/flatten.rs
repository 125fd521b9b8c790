//! An entity as searchable rows: lowercased dotted keys with their values as written, and
//! the relations its body implies.

use std::borrow::Cow;
use std::fmt::Write;
use std::ops::Range;

use serde_json::{Map, Value};

use super::super::relations::Relation;
use greenroom_api::EntityRef;

/// Values longer than this are not indexed (as in Backstage): nobody filters on them.
const MAX_SEARCH_VALUE_LEN: usize = 200;

/// What a row says of its key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// An object, an array, a null, or a value too long to index.
    Exists,
    /// A value, as written.
    Value(&'a str),
    /// The array at the key holds this string, lowercased: Backstage's `<key>.<item> = true`
    /// row (what makes `metadata.tags.java` work), kept as the item so that every distinct
    /// item is not a key of its own.
    Holds(&'a str),
}

/// Flattens an entity into lowercased dotted keys with their original values, as Backstage's
/// search table does, calling `row` for each: arrays give one row per element under the same
/// key, plus a [`Cell::Holds`] row per string item; objects, arrays and nulls give a row with
/// no value so that existence filters match them; values longer than 200 characters keep
/// only that existence row; keys longer than that are skipped (for an item, the key it
/// stands for). `status` is not searchable. A row may repeat.
pub fn for_each_row(body: &Value, row: &mut impl FnMut(&str, Cell)) {
    let mut key = String::new();
    if let Value::Object(map) = body {
        walk_map(&mut key, map, row);
    }
}

fn walk(key: &mut String, value: &Value, row: &mut impl FnMut(&str, Cell)) {
    let mut emit = |key: &str, value: Option<&str>| {
        if key.len() <= MAX_SEARCH_VALUE_LEN {
            let value = value.filter(|v| v.len() <= MAX_SEARCH_VALUE_LEN);
            row(key, value.map_or(Cell::Exists, Cell::Value));
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
                        let lower = lowercase(s);
                        if key.len() + 1 + lower.len() <= MAX_SEARCH_VALUE_LEN {
                            row(key, Cell::Holds(&lower));
                        }
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

fn walk_map(key: &mut String, map: &Map<String, Value>, row: &mut impl FnMut(&str, Cell)) {
    let top = key.is_empty();
    for (k, v) in map {
        if top && k == "status" || key == "metadata" && k == "etag" {
            continue;
        }
        let len = key.len();
        if !top {
            key.push('.');
        }
        key.push_str(&lowercase(k));
        walk(key, v, row);
        key.truncate(len);
    }
}

/// An entity flattened for the index: its rows and relations as slices of one string. It is
/// built away from the thread that inserts it (which then only interns and sets bits), and
/// lets the parsed body go where it was parsed.
pub struct Flattened {
    pub entity_ref: String,
    text: String,
    rows: Vec<FlatRow>,
    /// (key, item) of each [`Cell::Holds`] row.
    items: Vec<(Range<u32>, Range<u32>)>,
    relations: Vec<(Range<u32>, &'static str, Range<u32>)>,
}

struct FlatRow {
    key: Range<u32>,
    /// The value lowercased, and as written where that differs.
    value: Option<(Range<u32>, Option<Range<u32>>)>,
}

/// A flattened row: key, and the value lowercased with its original spelling if different.
pub type Row<'a> = (&'a str, Option<(&'a str, Option<&'a str>)>);

impl Flattened {
    pub fn new(entity_ref: String, body: &Value, relations: &[Relation]) -> Self {
        let mut text = String::new();
        let push = |text: &mut String, part: &str| {
            let start = text.len();
            text.push_str(part);
            offset(start)..offset(text.len())
        };
        let mut rows = Vec::new();
        let mut items = Vec::new();
        for_each_row(body, &mut |key, cell| {
            let key = push(&mut text, key);
            let value = match cell {
                Cell::Exists => None,
                Cell::Value(original) => {
                    let lower = lowercase(original);
                    let original = (lower != original).then(|| push(&mut text, original));
                    Some((push(&mut text, &lower), original))
                }
                Cell::Holds(item) => {
                    items.push((key, push(&mut text, item)));
                    return;
                }
            };
            rows.push(FlatRow { key, value });
        });
        let push_ref = |text: &mut String, entity_ref: &EntityRef| {
            let start = text.len();
            write!(text, "{entity_ref}").expect("writing to a String");
            offset(start)..offset(text.len())
        };
        let relations = relations
            .iter()
            .map(|r| {
                let source = push_ref(&mut text, &r.source);
                (source, r.relation_type, push_ref(&mut text, &r.target))
            })
            .collect();
        Self {
            entity_ref,
            text,
            rows,
            items,
            relations,
        }
    }

    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(|row| {
            (
                self.slice(&row.key),
                row.value.as_ref().map(|(lower, original)| {
                    (self.slice(lower), original.as_ref().map(|o| self.slice(o)))
                }),
            )
        })
    }

    /// (key, lowercased item) of each string an array holds.
    pub fn items(&self) -> impl Iterator<Item = (&str, &str)> {
        self.items
            .iter()
            .map(|(key, item)| (self.slice(key), self.slice(item)))
    }

    /// (source, type, target) of each relation.
    pub fn relations(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.relations
            .iter()
            .map(|(source, kind, target)| (self.slice(source), *kind, self.slice(target)))
    }

    fn slice(&self, range: &Range<u32>) -> &str {
        &self.text[range.start as usize..range.end as usize]
    }
}

fn offset(at: usize) -> u32 {
    u32::try_from(at).expect("an entity's flattened text is under 4 GiB")
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
            &mut |k, cell| rows.push((k.to_string(), format!("{cell:?}"))),
        );
        let has = |key: &str, cell: Cell| rows.contains(&(key.into(), format!("{cell:?}")));
        assert!(has("kind", Cell::Value("Component")));
        assert!(has("metadata.tags", Cell::Value("java")));
        assert!(has("metadata.tags", Cell::Value("Web")));
        assert!(has("spec.replicas", Cell::Value("3")));
        assert!(has("metadata.tags", Cell::Exists));
        assert!(has("metadata.tags", Cell::Holds("web")));
        assert!(has("spec", Cell::Exists));
        assert!(!rows.iter().any(|(k, _)| k.starts_with("status")));
    }
}
