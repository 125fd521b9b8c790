//! Predicates, full-text terms and orderings as SQL over `entities e`.
//!
//! Field tests are answered from the `search` table (flattened, lowercased fields);
//! `relations.<type>` from the `relations` table, so they see relations that other entities
//! originate.

use super::super::query::{FullText, OrderField, Predicate};
use super::super::relations::canonical_relation_type;

/// Fields a full-text term searches when the query names none.
pub const DEFAULT_FULL_TEXT_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.title",
    "metadata.description",
    "spec.profile.displayname",
];

/// SQL text with its positional arguments.
#[derive(Default)]
pub struct Sql {
    pub text: String,
    pub args: Vec<String>,
}

impl Sql {
    pub fn arg(&mut self, value: impl Into<String>) -> &'static str {
        self.args.push(value.into());
        "?"
    }

    fn list(&mut self, values: &[String]) -> String {
        values
            .iter()
            .map(|v| self.arg(v.clone()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The condition for `predicate`, appended to `sql`.
pub fn predicate(sql: &mut Sql, p: &Predicate) {
    match p {
        Predicate::All(items) | Predicate::Any(items) if items.is_empty() => {
            sql.text.push_str(if matches!(p, Predicate::All(_)) {
                "1"
            } else {
                "0"
            });
        }
        Predicate::All(items) | Predicate::Any(items) => {
            let joiner = if matches!(p, Predicate::All(_)) {
                " AND "
            } else {
                " OR "
            };
            sql.text.push('(');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    sql.text.push_str(joiner);
                }
                predicate(sql, item);
            }
            sql.text.push(')');
        }
        Predicate::Not(inner) => {
            sql.text.push_str("NOT ");
            predicate(sql, inner);
        }
        Predicate::Exists(key) | Predicate::In(key, _) | Predicate::HasPrefix(key, _) => {
            field_test(sql, key, p)
        }
    }
}

fn field_test(sql: &mut Sql, key: &str, p: &Predicate) {
    let (column, table, key_column, value_column, id) = match key.strip_prefix("relations.") {
        Some(relation) => {
            sql.args.push(canonical_relation_type(relation).to_string());
            (
                "e.entity_ref",
                "relations",
                "type",
                "target_ref",
                "source_ref",
            )
        }
        None => {
            sql.args.push(key.to_string());
            ("e.id", "search", "key", "value", "entity_id")
        }
    };
    let test = match p {
        Predicate::In(_, values) => format!(" AND {value_column} IN ({})", sql.list(values)),
        Predicate::HasPrefix(_, prefix) => {
            let low = sql.arg(prefix.clone());
            let high = sql.arg(format!("{prefix}\u{10FFFF}"));
            format!(" AND {value_column} >= {low} AND {value_column} < {high}")
        }
        _ => String::new(),
    };
    sql.text.push_str(&format!(
        "{column} IN (SELECT {id} FROM {table} WHERE {key_column} = ?{test})"
    ));
}

/// The condition for a full-text term: a case-insensitive substring of any of the fields.
pub fn full_text(sql: &mut Sql, full_text: &FullText) {
    let fields: Vec<String> = if full_text.fields.is_empty() {
        DEFAULT_FULL_TEXT_FIELDS
            .iter()
            .map(|f| f.to_string())
            .collect()
    } else {
        full_text.fields.clone()
    };
    let keys = sql.list(&fields);
    let escaped = full_text
        .term
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pattern = sql.arg(format!("%{escaped}%"));
    sql.text.push_str(&format!(
        "e.id IN (SELECT entity_id FROM search WHERE key IN ({keys}) AND value LIKE {pattern} ESCAPE '\\')"
    ));
}

/// Sort columns for a query: the `SELECT` list that computes them as `sv0, sv1, ...` (the
/// entity ref last, as tie-breaker), and the column names with their direction.
pub fn sort_columns(sql: &mut Sql, order: &[OrderField]) -> (String, Vec<(String, bool)>) {
    let mut select = Vec::new();
    let mut columns = Vec::new();
    for (i, o) in order.iter().enumerate() {
        let key = sql.arg(o.field.clone());
        select.push(format!(
            "(SELECT min(s.value) FROM search s WHERE s.entity_id = e.id AND s.key = {key}) AS sv{i}"
        ));
        columns.push((format!("sv{i}"), o.descending));
    }
    columns.push(("entity_ref".into(), false));
    (select.join(", "), columns)
}

/// Rows strictly after `boundary` in the order of `columns` (before it when `backward`).
pub fn after(sql: &mut Sql, columns: &[(String, bool)], boundary: &[String], backward: bool) {
    let mut alternatives = Vec::new();
    for i in 0..columns.len().min(boundary.len()) {
        let mut parts = Vec::new();
        for (column, value) in columns[..i].iter().zip(boundary) {
            parts.push(format!("{} = {}", column.0, sql.arg(value.clone())));
        }
        let (column, descending) = &columns[i];
        let op = if *descending != backward { "<" } else { ">" };
        parts.push(format!("{column} {op} {}", sql.arg(boundary[i].clone())));
        alternatives.push(format!("({})", parts.join(" AND ")));
    }
    if alternatives.is_empty() {
        sql.text.push('1');
    } else {
        sql.text
            .push_str(&format!("({})", alternatives.join(" OR ")));
    }
}

/// `ORDER BY` terms for `columns`, reversed when walking backward.
pub fn order_by(columns: &[(String, bool)], backward: bool) -> String {
    columns
        .iter()
        .map(|(column, descending)| {
            let direction = if *descending != backward {
                "DESC"
            } else {
                "ASC"
            };
            format!("{column} {direction}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}
