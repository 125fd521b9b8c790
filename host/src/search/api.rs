//! `/api/search`: Backstage's `GET query` (`term`, `types`, `filters`, `pageCursor`,
//! `pageLimit`; its validation and response shape, highlights marked with tags made for
//! each response) and Greenroom's `GET facets` (match counts per type and kind) and
//! `GET types` (the document types there are, with their titles).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{FromRef, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Value, json};

use super::{DocumentType, FILTERS, Request, Search, text};
use crate::catalog::permissions::readable;
use crate::http::{ApiError, blocking};
use crate::permissions::Access;

const MAX_TERM: usize = 100;
const MAX_PAGE: usize = 100;
const DEFAULT_PAGE: usize = 25;
/// Characters of a document's text shown around its first match.
const TEXT_WINDOW: usize = 240;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Search>: FromRef<S>,
{
    Router::new()
        .route("/query", get(query))
        .route("/facets", get(facets))
        .route("/types", get(types))
}

/// `types[0]=x`, `types[]=x`, `types=x`; `filters[kind]=x`, `filters[kind][0]=x`.
fn request(raw: Option<&str>, types: &[DocumentType]) -> Result<Request, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::input(format!("query: {e}")))?;
    let mut request = Request {
        limit: DEFAULT_PAGE,
        ..Request::default()
    };
    let mut filters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, value) in pairs {
        let base = key.split('[').next().unwrap_or_default();
        match base {
            "term" => request.term = value,
            "types" => request.types.push(value),
            "pageLimit" => {
                request.limit = value
                    .parse()
                    .map_err(|_| ApiError::input("pageLimit must be a whole number"))?;
            }
            "pageCursor" => request.offset = decode_cursor(&value)?,
            "filters" => {
                let name = key
                    .strip_prefix("filters[")
                    .and_then(|rest| rest.split(']').next())
                    .unwrap_or_default();
                if !FILTERS.contains(&name) {
                    return Err(ApiError::input(format!(
                        "{key}: not a filter (filters: {})",
                        FILTERS.join(", ")
                    )));
                }
                filters.entry(name.to_string()).or_default().push(value);
            }
            _ => {}
        }
    }
    if request.term.chars().count() > MAX_TERM {
        return Err(ApiError::input(format!(
            "term must be at most {MAX_TERM} characters"
        )));
    }
    if request.limit == 0 || request.limit > MAX_PAGE {
        return Err(ApiError::input(format!(
            "pageLimit must be between 1 and {MAX_PAGE}"
        )));
    }
    if let Some(unknown) = request
        .types
        .iter()
        .find(|t| !types.iter().any(|known| known.name == **t))
    {
        let names: Vec<&str> = types.iter().map(|t| t.name.as_str()).collect();
        return Err(ApiError::input(format!(
            "types: '{unknown}' is not a document type ({})",
            names.join(", ")
        )));
    }
    request.filters = filters;
    Ok(request)
}

fn encode_cursor(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_cursor(cursor: &str) -> Result<usize, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("offset:")?.parse().ok())
        .ok_or_else(|| ApiError::input("pageCursor is not a cursor this server gave"))
}

/// Only relative paths and http(s) addresses are links.
fn safe_location(location: &str) -> bool {
    (location.starts_with('/') && !location.starts_with("//"))
        || location.starts_with("https://")
        || location.starts_with("http://")
}

async fn query(
    State(search): State<Arc<Search>>,
    access: Access,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let request = request(raw.as_deref(), &search.types())?;
    let visible = readable(&access)?;
    blocking(move || {
        let results = search.search(&request, visible.as_ref())?;
        // Tags no document can contain: made fresh for each answer.
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let (pre, post) = (format!("<{tag}>"), format!("</{tag}>"));
        let items: Vec<Value> = results
            .hits
            .into_iter()
            .filter(|(stored, _)| {
                stored["document"]["location"]
                    .as_str()
                    .is_some_and(safe_location)
            })
            .map(|(stored, rank)| {
                let document = &stored["document"];
                let field = |name: &str, window: usize| {
                    text::highlight(
                        document[name].as_str().unwrap_or_default(),
                        &results.terms,
                        &pre,
                        &post,
                        window,
                    )
                };
                let fields = json!({"title": field("title", usize::MAX), "text": field("text", TEXT_WINDOW)});
                json!({
                    "type": stored["type"],
                    "document": document,
                    "highlight": {"preTag": pre, "postTag": post, "fields": fields},
                    "rank": rank,
                })
            })
            .collect();
        let next = request.offset + request.limit;
        Ok(Json(json!({
            "results": items,
            "nextPageCursor": (next < results.total).then(|| encode_cursor(next)),
            "previousPageCursor": (request.offset > 0)
                .then(|| encode_cursor(request.offset.saturating_sub(request.limit))),
            "numberOfResults": results.total,
        })))
    })
    .await
}

/// Greenroom's: how many matches per type and per kind, for the search page's filters.
async fn facets(
    State(search): State<Arc<Search>>,
    access: Access,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let request = request(raw.as_deref(), &search.types())?;
    let visible = readable(&access)?;
    blocking(move || Ok(Json(search.facets(&request.term, visible.as_ref())?))).await
}

/// Greenroom's: the document types there are (`type`, `title`, `source`), in the order the
/// UI lists them.
async fn types(State(search): State<Arc<Search>>) -> Json<Vec<DocumentType>> {
    Json(search.types())
}
