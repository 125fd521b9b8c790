//! `/api/catalog`: Backstage's catalog REST API, as thin handlers over [`Catalog`].

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use super::{Cursor, EntityFilter, EntityRef};
use crate::web::{ApiError, AppState, blocking};

/// Page size when a query names none.
const DEFAULT_LIMIT: u64 = 20;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/entities/by-name/{kind}/{namespace}/{name}", get(by_name))
        .route("/entities/by-query", get(by_query))
}

async fn by_name(
    State(state): State<AppState>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    blocking(move || {
        state
            .catalog
            .get(&entity_ref)?
            .map(Json)
            .ok_or_else(|| ApiError::not_found(format!("No entity named '{entity_ref}' found")))
    })
    .await
}

/// `GET entities/by-query?filter=...&limit=...&cursor=...&fields=...`.
async fn by_query(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = QueryParams::parse(query.as_deref().unwrap_or(""))?;
    let page = blocking(move || Ok(state.catalog.query(&params.cursor, params.limit)?)).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|e| project(e, &params.fields))
        .collect();
    let mut page_info = Map::new();
    if let Some(next) = page.next_cursor {
        page_info.insert("nextCursor".into(), json!(next.encode()));
    }
    if let Some(prev) = page.prev_cursor {
        page_info.insert("prevCursor".into(), json!(prev.encode()));
    }
    Ok(Json(
        json!({"items": items, "totalItems": page.total_items, "pageInfo": page_info}),
    ))
}

struct QueryParams {
    cursor: Cursor,
    limit: u64,
    fields: Vec<String>,
}

impl QueryParams {
    /// `filter` may repeat; a `cursor` carries its own filter and replaces any given.
    fn parse(query: &str) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| ApiError::input(format!("malformed query string: {e}")))?;
        let all = |name: &'static str| {
            pairs
                .iter()
                .filter(move |(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let cursor = match all("cursor").next() {
            Some(cursor) => Cursor::decode(&cursor).map_err(ApiError::input)?,
            None => Cursor {
                filter: EntityFilter::from_params(&all("filter").collect::<Vec<_>>())
                    .map_err(ApiError::input)?,
                offset: 0,
            },
        };
        let limit = match all("limit").next() {
            Some(limit) => limit.parse().map_err(|_| {
                ApiError::input(format!("limit '{limit}' is not a positive number"))
            })?,
            None => DEFAULT_LIMIT,
        };
        let fields = all("fields")
            .flat_map(|f| {
                f.split(',')
                    .map(|s| s.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|f| !f.is_empty())
            .collect();
        Ok(Self {
            cursor,
            limit,
            fields,
        })
    }
}

/// Keeps only the dotted `fields` of an entity (all of it when none are named).
fn project(entity: &Value, fields: &[String]) -> Value {
    if fields.is_empty() {
        return entity.clone();
    }
    let mut out = json!({});
    for field in fields {
        let path: Vec<&str> = field.split('.').collect();
        let Some(value) = path.iter().try_fold(entity, |v, key| v.get(key)) else {
            continue;
        };
        let (last, parents) = path.split_last().expect("split gives at least one part");
        let mut slot = &mut out;
        for key in parents {
            slot = slot
                .as_object_mut()
                .expect("projection builds objects")
                .entry(*key)
                .or_insert(json!({}));
        }
        slot[*last] = value.clone();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_keeps_named_paths_only() {
        let e = json!({"kind": "Component", "metadata": {"name": "a", "tags": ["x"]}, "spec": {"type": "service"}});
        let fields = vec![
            "kind".to_string(),
            "metadata.name".into(),
            "spec.missing".into(),
        ];
        assert_eq!(
            project(&e, &fields),
            json!({"kind": "Component", "metadata": {"name": "a"}})
        );
    }

    #[test]
    fn bad_limits_and_cursors_are_input_errors() {
        assert_eq!(
            QueryParams::parse("limit=abc").err().unwrap().name,
            "InputError"
        );
        assert_eq!(
            QueryParams::parse("cursor=zzz").err().unwrap().name,
            "InputError"
        );
        let p =
            QueryParams::parse("filter=kind%3Dgroup&filter=kind%3Duser&fields=kind,metadata.name")
                .unwrap();
        assert_eq!(p.cursor.filter.any_of.len(), 2);
        assert_eq!(p.fields, ["kind", "metadata.name"]);
    }
}
