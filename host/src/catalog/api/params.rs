//! Query-string parameters of the entity endpoints, and the `fields` projection.

use serde_json::{Value, json};

use crate::catalog::{Cursor, EntityJson, EntityQuery, FullText, OrderField, Predicate};
use crate::http::ApiError;

/// Page size when a query names none (Backstage's default).
pub const DEFAULT_LIMIT: u64 = 200;

/// The `key=value` pairs of a query string, in order (keys may repeat).
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        serde_urlencoded::from_str(query.unwrap_or(""))
            .map(Params)
            .map_err(|e| ApiError::input(format!("malformed query string: {e}")))
    }

    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn pairs(&self) -> impl Iterator<Item = (String, String)> + '_ {
        self.0.iter().cloned()
    }

    pub fn one<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.all(name).next()
    }

    /// Repeated or comma-separated values, trimmed, empties dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.all(name)
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    }

    pub fn number(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.one(name)
            .map(|v| {
                v.trim().parse::<u64>().map_err(|_| {
                    ApiError::input(format!("{name} '{v}' is not a number of zero or more"))
                })
            })
            .transpose()
    }

    /// The `filter` parameters as a predicate.
    pub fn filter(&self) -> Result<Predicate, ApiError> {
        let filters: Vec<String> = self.all("filter").map(str::to_owned).collect();
        Predicate::from_filter_params(&filters).map_err(ApiError::input)
    }

    /// `GET entities/by-query`: a `cursor` carries its own query and replaces any given.
    pub fn entity_query(&self) -> Result<Cursor, ApiError> {
        if let Some(cursor) = self.one("cursor") {
            return Cursor::decode(cursor).map_err(ApiError::input);
        }
        let order = self
            .all("orderField")
            .map(OrderField::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(ApiError::input)?;
        Ok(Cursor::first(EntityQuery {
            predicate: self.filter()?,
            order,
            full_text: full_text(
                self.one("fullTextFilterTerm"),
                self.list("fullTextFilterFields"),
            ),
        }))
    }
}

/// A full-text filter, if the term is not blank.
pub fn full_text(term: Option<&str>, fields: Vec<String>) -> Option<FullText> {
    let term = term.map(str::trim).filter(|t| !t.is_empty())?;
    Some(FullText {
        term: term.to_lowercase(),
        fields: fields.into_iter().map(|f| f.to_lowercase()).collect(),
    })
}

/// An entity as JSON text with only the dotted `fields` kept; all of it, as stored, when none
/// are named.
pub fn project_json(entity: EntityJson, fields: &[String]) -> anyhow::Result<String> {
    if fields.is_empty() {
        return Ok(entity.into_string());
    }
    Ok(project(entity.to_value()?, fields).to_string())
}

/// Keeps only the dotted `fields` of an entity (all of it when none are named). A path part
/// that is not a key is joined with the next one, so annotation keys with dots resolve
/// (`metadata.annotations.backstage.io/view-url`).
fn project(entity: Value, fields: &[String]) -> Value {
    if fields.is_empty() {
        return entity;
    }
    let mut out = json!({});
    for field in fields {
        let mut parts = field.split('.').peekable();
        let mut source = &entity;
        let mut path: Vec<String> = Vec::new();
        let mut pending = String::new();
        while let Some(part) = parts.next() {
            if !pending.is_empty() {
                pending.push('.');
            }
            pending.push_str(part);
            match source.get(&pending) {
                Some(child) => {
                    source = child;
                    path.push(std::mem::take(&mut pending));
                }
                None if parts.peek().is_some() => {}
                None => break,
            }
        }
        if !pending.is_empty() || path.is_empty() {
            continue;
        }
        let (last, parents) = path.split_last().expect("path is not empty");
        let mut slot = &mut out;
        for key in parents {
            slot = slot
                .as_object_mut()
                .expect("projection builds objects")
                .entry(key.as_str())
                .or_insert(json!({}));
        }
        slot[last.as_str()] = source.clone();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_keeps_named_paths_and_resolves_dotted_keys() {
        let e = json!({"kind": "Component", "metadata": {"name": "a", "tags": ["x"],
            "annotations": {"backstage.io/view-url": "u", "other": "o"}}, "spec": {"type": "service"}});
        let fields: Vec<String> = [
            "kind",
            "metadata.name",
            "spec.missing",
            "metadata.annotations.backstage.io/view-url",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            project(e, &fields),
            json!({"kind": "Component", "metadata": {"name": "a", "annotations": {"backstage.io/view-url": "u"}}})
        );
    }

    #[test]
    fn bad_numbers_orders_and_cursors_are_input_errors() {
        for query in [
            "limit=abc",
            "cursor=zzz",
            "orderField=kind,up",
            "filter=%3Dx",
        ] {
            let params = Params::parse(Some(query)).unwrap();
            let error = params
                .number("limit")
                .err()
                .or_else(|| params.entity_query().err())
                .unwrap();
            assert_eq!(error.name, "InputError", "{query}");
        }
        let p = Params::parse(Some(
            "filter=kind%3Dgroup&filter=kind%3Duser&fields=kind,metadata.name",
        ))
        .unwrap();
        assert!(
            matches!(p.entity_query().unwrap().query.predicate, Predicate::Any(ref v) if v.len() == 2)
        );
        assert_eq!(p.list("fields"), ["kind", "metadata.name"]);
    }
}
