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
use serde_json::{Map, Value, json};

use super::{DocumentType, Request, Search, SearchSettings, text};
use crate::catalog::permissions::readable;
use crate::http::{ApiError, blocking};
use crate::permissions::Access;

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

/// `types[0]=x`, `types[]=x`, `types=x`; `filters[kind]=x`, `filters[kind][0]=x`. Types of
/// plugins the caller may not see are hidden, as if they were not there.
fn request(raw: Option<&str>, search: &Search, access: &Access) -> Result<Request, ApiError> {
    let types = shown_types(search, access);
    let SearchSettings {
        max_term_length,
        max_page_limit,
    } = search.settings;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| ApiError::input(format!("query: {e}")))?;
    let mut request = Request {
        limit: DEFAULT_PAGE,
        ..Request::default()
    };
    let mut filters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut page = 0;
    for (key, value) in pairs {
        let base = key.split('[').next().unwrap_or_default();
        match base {
            "term" => request.term = value,
            "types" => request.types.push(value),
            // As Backstage: at most the maximum; zero or less asks for the default.
            "pageLimit" => {
                let limit: i64 = value
                    .parse()
                    .map_err(|_| ApiError::input("pageLimit must be a whole number"))?;
                if limit > i64::try_from(max_page_limit).unwrap_or(i64::MAX) {
                    return Err(ApiError::input(format!(
                        "pageLimit must be at most {max_page_limit}"
                    )));
                }
                request.limit = usize::try_from(limit)
                    .ok()
                    .filter(|l| *l > 0)
                    .unwrap_or(DEFAULT_PAGE);
            }
            "pageCursor" => page = decode_cursor(&value)?,
            // Any field may be asked for; one a document does not have matches nothing.
            "filters" => {
                let name = key
                    .strip_prefix("filters[")
                    .and_then(|rest| rest.split(']').next())
                    .unwrap_or_default();
                filters.entry(name.to_string()).or_default().push(value);
            }
            _ => {}
        }
    }
    request.offset = page.saturating_mul(request.limit);
    // Counted as Backstage counts (JavaScript's string length: UTF-16 code units).
    if request.term.encode_utf16().count() > max_term_length {
        return Err(ApiError::input(format!(
            "term must be at most {max_term_length} characters"
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
    request.hidden_sources = search
        .types()
        .into_iter()
        .filter(|t| !types.contains(t))
        .map(|t| t.source)
        .collect();
    Ok(request)
}

/// The document types the caller may see: the built-in ones, and those of plugins whose UI
/// they may see.
fn shown_types(search: &Search, access: &Access) -> Vec<DocumentType> {
    search
        .types()
        .into_iter()
        .filter(|t| t.is_builtin() || access.may_see_plugin(&t.source))
        .collect()
}

/// Backstage's page cursor: the page number (from 0) in base64, which its search page
/// also makes itself.
fn encode_cursor(page: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(page.to_string())
}

/// A cursor's page; an empty cursor is the first page (Backstage's TechDocs search sends
/// one).
fn decode_cursor(cursor: &str) -> Result<usize, ApiError> {
    if cursor.is_empty() {
        return Ok(0);
    }
    base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.trim().parse().ok())
        .ok_or_else(|| ApiError::input("pageCursor is not a page cursor"))
}

/// Only relative paths and http(s) addresses are links.
pub fn safe_location(location: &str) -> bool {
    (location.starts_with('/') && !location.starts_with("//"))
        || location.starts_with("https://")
        || location.starts_with("http://")
}

async fn query(
    State(search): State<Arc<Search>>,
    access: Access,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let request = request(raw.as_deref(), &search, &access)?;
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
                // As Backstage: only the fields the words matched in.
                let mut fields = Map::new();
                for (name, window) in [("title", usize::MAX), ("text", TEXT_WINDOW)] {
                    let marked = field(name, window);
                    if marked.contains(&pre) {
                        fields.insert(name.into(), json!(marked));
                    }
                }
                json!({
                    "type": stored["type"],
                    "document": document,
                    "highlight": {"preTag": pre, "postTag": post, "fields": fields},
                    "rank": rank,
                })
            })
            .collect();
        // A cursor there is no page for is left out, as Backstage leaves it.
        let page = request.offset / request.limit;
        let mut answer = Map::new();
        answer.insert("results".into(), json!(items));
        if request.offset + request.limit < results.total {
            answer.insert("nextPageCursor".into(), json!(encode_cursor(page + 1)));
        }
        if page > 0 {
            answer.insert("previousPageCursor".into(), json!(encode_cursor(page - 1)));
        }
        answer.insert("numberOfResults".into(), json!(results.total));
        Ok(Json(Value::Object(answer)))
    })
    .await
}

/// Greenroom's: how many matches per type and per kind, for the search page's filters.
async fn facets(
    State(search): State<Arc<Search>>,
    access: Access,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let request = request(raw.as_deref(), &search, &access)?;
    let visible = readable(&access)?;
    blocking(move || Ok(Json(search.facets(&request, visible.as_ref())?))).await
}

/// Greenroom's: the document types there are (`type`, `title`, `source`) that the caller may
/// see, in the order the UI lists them.
async fn types(State(search): State<Arc<Search>>, access: Access) -> Json<Vec<DocumentType>> {
    Json(shown_types(&search, &access))
}
