//! Entity endpoints: queries, lookups, facets, refresh, validation and processing errors.

use axum::Json;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::params::{DEFAULT_LIMIT, Params, full_text, project_json};
use std::sync::Arc;

use crate::catalog::permissions::readable;
use crate::catalog::store::without_waiting;
use crate::catalog::{
    Catalog, Cursor, EntityJson, EntityPage, EntityQuery, EntityRef, OrderField, Predicate,
};
use crate::http::{ApiError, JsonBody, JsonText, blocking, json_array};
use crate::permissions::{Access, ENTITY_DELETE, ENTITY_REFRESH, LOCATION_READ};

/// Legacy `GET entities`: a bare array. With `offset`, `limit` or `after` it is paged, and a
/// `Link: <...>; rel="next"` header points at the next page.
pub async fn list(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    OriginalUri(uri): OriginalUri,
    RawQuery(query): RawQuery,
) -> Result<(HeaderMap, JsonText), ApiError> {
    let params = Params::parse(query.as_deref())?;
    let visible = readable(&access)?;
    let fields = params.list("fields");
    let limit = params.number("limit")?;
    let offset = params.number("offset")?;
    let after = params.one("after");
    let cursor = match after {
        Some(after) => Cursor::decode(after).map_err(ApiError::input)?,
        None => {
            let order = params
                .all("order")
                .map(|o| {
                    let (direction, field) = o.split_once(':').ok_or_else(|| {
                        ApiError::input(format!(
                            "Invalid order parameter \"{o}\", expected \"<asc or desc>:<field name>\""
                        ))
                    })?;
                    OrderField::parse(&format!("{field},{direction}")).map_err(ApiError::input)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Cursor::first(EntityQuery {
                predicate: params.filter()?,
                order,
                full_text: None,
            })
        }
    };
    let paged = limit.is_some() || offset.is_some() || after.is_some();
    if limit == Some(0) {
        return Err(ApiError::input("Invalid limit, must be greater than zero"));
    }
    let (items, next) = blocking(move || {
        if paged {
            let page = catalog.query(
                &cursor,
                limit.unwrap_or(DEFAULT_LIMIT),
                offset.unwrap_or(0),
                visible.as_ref(),
            )?;
            return Ok((page.items, page.next_cursor));
        }
        let mut all = Vec::new();
        let mut cursor = Some(cursor);
        while let Some(current) = cursor.take() {
            let page =
                catalog.query(&current, crate::catalog::MAX_PAGE_SIZE, 0, visible.as_ref())?;
            all.extend(page.items);
            cursor = page.next_cursor;
        }
        Ok((all, None))
    })
    .await?;
    let mut headers = HeaderMap::new();
    if let Some(next) = next {
        let mut query: Vec<(String, String)> = Params::parse(uri.query())?
            .pairs()
            .filter(|(k, _)| k != "offset" && k != "after")
            .collect();
        query.push(("after".into(), next.encode()));
        let link = format!(
            "<{}?{}>; rel=\"next\"",
            uri.path(),
            serde_urlencoded::to_string(&query).map_err(ApiError::internal)?
        );
        headers.insert(
            header::LINK,
            HeaderValue::from_str(&link).map_err(ApiError::internal)?,
        );
    }
    Ok((headers, JsonText(projected_array(items, &fields)?)))
}

/// Entities as a JSON array, each with only `fields` (whole when none are named).
fn projected_array(items: Vec<EntityJson>, fields: &[String]) -> anyhow::Result<String> {
    Ok(json_array(
        items
            .into_iter()
            .map(|e| project_json(e, fields))
            .collect::<anyhow::Result<Vec<_>>>()?,
    ))
}

/// `GET entities/by-query`.
pub async fn by_query(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    RawQuery(query): RawQuery,
) -> Result<JsonText, ApiError> {
    let params = Params::parse(query.as_deref())?;
    let cursor = params.entity_query()?;
    let offset = if params.one("cursor").is_some() {
        0
    } else {
        params.number("offset")?.unwrap_or(0)
    };
    let limit = params.number("limit")?.unwrap_or(DEFAULT_LIMIT);
    page_response(
        catalog,
        &access,
        cursor,
        limit,
        offset,
        params.list("fields"),
    )
    .await
}

/// The body of `POST entities/by-query`: Backstage's predicate form.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryBody {
    query: Option<Value>,
    #[serde(default)]
    order_by: Vec<OrderBy>,
    full_text_filter: Option<FullTextBody>,
    #[serde(default)]
    fields: Vec<String>,
    limit: Option<u64>,
    offset: Option<u64>,
    cursor: Option<String>,
}

#[derive(Deserialize)]
pub struct OrderBy {
    field: String,
    #[serde(default)]
    order: Option<String>,
}

#[derive(Deserialize)]
pub struct FullTextBody {
    term: Option<String>,
    #[serde(default)]
    fields: Vec<String>,
}

/// `POST entities/by-query`.
pub async fn by_query_post(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    JsonBody(body): JsonBody<QueryBody>,
) -> Result<JsonText, ApiError> {
    let limit = body.limit.unwrap_or(DEFAULT_LIMIT);
    if let Some(cursor) = &body.cursor {
        if cursor.is_empty() {
            return Err(ApiError::input("Cursor cannot be empty"));
        }
        let cursor = Cursor::decode(cursor).map_err(ApiError::input)?;
        return page_response(catalog, &access, cursor, limit, 0, body.fields).await;
    }
    let predicate = body_predicate(body.query.as_ref())?;
    let order = body
        .order_by
        .iter()
        .map(|o| {
            OrderField::parse(&format!(
                "{},{}",
                o.field,
                o.order.as_deref().unwrap_or("asc")
            ))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::input)?;
    let full_text = body
        .full_text_filter
        .and_then(|f| full_text(f.term.as_deref(), f.fields));
    let cursor = Cursor::first(EntityQuery {
        predicate,
        order,
        full_text,
    });
    page_response(
        catalog,
        &access,
        cursor,
        limit,
        body.offset.unwrap_or(0),
        body.fields,
    )
    .await
}

/// A page of what the caller may read: totals and cursors count only that.
async fn page_response(
    catalog: Arc<Catalog>,
    access: &Access,
    cursor: Cursor,
    limit: u64,
    offset: u64,
    fields: Vec<String>,
) -> Result<JsonText, ApiError> {
    let visible = readable(access)?;
    let page: EntityPage =
        blocking(move || Ok(catalog.query(&cursor, limit, offset, visible.as_ref())?)).await?;
    let mut page_info = Map::new();
    if let Some(next) = page.next_cursor {
        page_info.insert("nextCursor".into(), json!(next.encode()));
    }
    if let Some(prev) = page.prev_cursor {
        page_info.insert("prevCursor".into(), json!(prev.encode()));
    }
    Ok(JsonText(format!(
        r#"{{"items":{},"totalItems":{},"pageInfo":{}}}"#,
        projected_array(page.items, &fields)?,
        page.total_items,
        Value::Object(page_info)
    )))
}

/// The entity with `uid` and its ref, if the caller may read it (else as if it were not).
fn readable_by_uid(
    catalog: &Catalog,
    access: &Access,
    uid: &str,
) -> Result<Option<(EntityJson, EntityRef)>, ApiError> {
    let Some(entity) = catalog.get_by_uid(uid)? else {
        return Ok(None);
    };
    let entity_ref = EntityRef::of(&entity.to_value()?);
    Ok(catalog
        .readable_by(access, &entity_ref)?
        .then_some((entity, entity_ref)))
}

pub async fn by_uid(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    Path(uid): Path<String>,
) -> Result<JsonText, ApiError> {
    point_read(move || {
        readable_by_uid(&catalog, &access, &uid)?
            .map(|(e, _)| JsonText(e.into_string()))
            .ok_or_else(|| ApiError::not_found(format!("No entity with uid {uid}")))
    })
    .await
}

/// A point read (one indexed row, tens of microseconds) answered on the request's own
/// worker: a hand-off to the blocking pool cost more than the read, and under plugin load
/// its wake-up was most of the tail. When every reader is busy it goes to the blocking pool
/// after all, so a worker never waits for one.
async fn point_read<T: Send + 'static>(
    read: impl FnOnce() -> Result<T, ApiError> + Clone + Send + 'static,
) -> Result<T, ApiError> {
    match without_waiting(read.clone()) {
        Some(answer) => answer,
        None => blocking(read).await,
    }
}

/// `DELETE entities/by-uid/:uid`: 204 whether or not it existed, as in Backstage.
/// Needs `catalog.entity.delete` on that entity.
pub async fn delete_by_uid(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    Path(uid): Path<String>,
) -> Result<StatusCode, ApiError> {
    blocking(move || {
        if let Some((_, entity_ref)) = readable_by_uid(&catalog, &access, &uid)? {
            access.require_on(ENTITY_DELETE, &entity_ref.to_string())?;
            catalog.delete_by_uid(&uid)?;
        }
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// An entity the caller may not read is answered as one that does not exist.
pub async fn by_name(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<JsonText, ApiError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    point_read(move || {
        let entity = match catalog.readable_by(&access, &entity_ref)? {
            true => catalog.get_json(&entity_ref)?,
            false => None,
        };
        entity.map(|e| JsonText(e.into_string())).ok_or_else(|| {
            ApiError::not_found(format!(
                "No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'"
            ))
        })
    })
    .await
}

/// `GET entities/by-name/:kind/:namespace/:name/ancestry`.
pub async fn ancestry(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Json<Value>, ApiError> {
    let entity_ref = EntityRef::new(&kind, &namespace, &name);
    blocking(move || {
        let missing = || ApiError::not_found(format!("No such entity {entity_ref}"));
        if !catalog.readable_by(&access, &entity_ref)? {
            return Err(missing());
        }
        let mut items = catalog.ancestry(&entity_ref)?.ok_or_else(missing)?;
        // Ancestors the caller may not read are left out.
        if let Some(visible) = readable(&access)? {
            let refs = items
                .iter()
                .map(|a| Ok(EntityRef::of(&a.entity.to_value()?).to_string()))
                .collect::<anyhow::Result<Vec<String>>>()?;
            let allowed = catalog.refs_matching(&refs, visible);
            let mut kept = refs.iter().map(|r| allowed.contains(&r.to_lowercase()));
            items.retain(|_| kept.next().unwrap_or(false));
        }
        let items: Vec<Value> = items
            .into_iter()
            .map(|a| {
                anyhow::Ok(
                    json!({"entity": a.entity.to_value()?, "parentEntityRefs": a.parent_refs}),
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(Json(
            json!({"rootEntityRef": entity_ref.to_string(), "items": items}),
        ))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ByRefsBody {
    entity_refs: Vec<String>,
    #[serde(default)]
    fields: Vec<String>,
    query: Option<Value>,
}

/// `POST entities/by-refs`: the entities in the order asked, `null` for missing ones and for
/// ones the optional `filter`/`query` leaves out.
pub async fn by_refs(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    RawQuery(query): RawQuery,
    JsonBody(body): JsonBody<ByRefsBody>,
) -> Result<JsonText, ApiError> {
    let params = Params::parse(query.as_deref())?;
    let mut fields = body.fields;
    fields.extend(params.list("fields"));
    let visible = readable(&access)?;
    // Only a given `filter` or `query`, or what the caller may not read, narrows the
    // answer; otherwise every ref is looked up.
    let narrowed = params.one("filter").is_some() || body.query.is_some() || visible.is_some();
    let mut predicate =
        Predicate::All(vec![params.filter()?, body_predicate(body.query.as_ref())?]);
    if let (Predicate::All(all), Some(visible)) = (&mut predicate, visible) {
        all.push(visible);
    }
    blocking(move || {
        let mut items = catalog.by_refs(&body.entity_refs)?;
        if narrowed {
            let allowed = catalog.refs_matching(&body.entity_refs, predicate);
            for (item, entity_ref) in items.iter_mut().zip(&body.entity_refs) {
                if !allowed.contains(&entity_ref.to_lowercase()) {
                    *item = None;
                }
            }
        }
        let items = items
            .into_iter()
            .map(|e| e.map_or(Ok("null".to_string()), |e| project_json(e, &fields)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(JsonText(format!(r#"{{"items":{}}}"#, json_array(items))))
    })
    .await
}

/// The predicate of a JSON body's `query`; everything when there is none.
fn body_predicate(query: Option<&Value>) -> Result<Predicate, ApiError> {
    query.map_or(Ok(Predicate::everything()), |query| {
        Predicate::from_json(query).map_err(|e| ApiError::input(format!("Invalid query: {e}")))
    })
}

/// `GET entity-facets?facet=kind&facet=spec.type&filter=...`.
pub async fn facets(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = Params::parse(query.as_deref())?;
    let facets: Vec<String> = params.all("facet").map(str::to_owned).collect();
    if facets.is_empty() {
        return Err(ApiError::input("Missing facet parameter"));
    }
    facets_response(catalog, &access, facets, params.filter()?).await
}

#[derive(Deserialize)]
pub struct FacetsBody {
    #[serde(default)]
    facets: Vec<String>,
    query: Option<Value>,
}

/// `POST entity-facets` with the predicate form.
pub async fn facets_post(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    JsonBody(body): JsonBody<FacetsBody>,
) -> Result<Json<Value>, ApiError> {
    if body.facets.is_empty() {
        return Err(ApiError::input("Missing or empty facets parameter"));
    }
    let predicate = body_predicate(body.query.as_ref())?;
    facets_response(catalog, &access, body.facets, predicate).await
}

/// Counts among what the caller may read.
async fn facets_response(
    catalog: Arc<Catalog>,
    access: &Access,
    facets: Vec<String>,
    predicate: Predicate,
) -> Result<Json<Value>, ApiError> {
    let predicate = match readable(access)? {
        None => predicate,
        Some(visible) => Predicate::All(vec![predicate, visible]),
    };
    blocking(move || {
        let counted = catalog.facets(&facets, predicate);
        let mut out = Map::new();
        for (facet, values) in counted {
            out.insert(facet, json!(values));
        }
        Ok(Json(json!({ "facets": out })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshBody {
    entity_ref: String,
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "accepted for Backstage compatibility; auth comes later"
    )]
    authorization_token: Option<String>,
}

/// `POST refresh`: has the entity's file re-read by the next reconcile, without waiting for
/// it (as Backstage schedules a refresh); 200 with an empty body.
pub async fn refresh(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
    JsonBody(body): JsonBody<RefreshBody>,
) -> Result<StatusCode, ApiError> {
    let entity_ref =
        EntityRef::parse(&body.entity_ref, None, "default").map_err(ApiError::input)?;
    blocking(move || {
        let allowed = catalog.readable_by(&access, &entity_ref)?
            && access
                .require_on(ENTITY_REFRESH, &entity_ref.to_string())?
                .is_some();
        if allowed && catalog.refresh(&entity_ref)? {
            Ok(StatusCode::OK)
        } else {
            Err(ApiError::not_found(format!(
                "Entity {entity_ref} not found"
            )))
        }
    })
    .await
}

#[derive(Deserialize)]
pub struct ValidateBody {
    entity: Value,
    location: String,
}

/// `POST validate-entity`: 200 when the entity would be accepted, else 400 with every
/// problem in `errors`.
pub async fn validate(
    State(catalog): State<Arc<Catalog>>,
    JsonBody(body): JsonBody<ValidateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let mut errors: Vec<Value> = Vec::new();
    if !body
        .location
        .split_once(':')
        .is_some_and(|(t, target)| !t.is_empty() && !target.is_empty())
    {
        errors.push(json!({"name": "InputError", "message": format!(
            "Unable to parse location ref '{}', expected '<type>:<target>', e.g. 'url:https://host/path'", body.location)}));
    }
    errors.extend(catalog.validate_entity(body.entity).into_iter().map(|e| {
        json!({"name": "InputError", "message": format!("{}: {}", e.field, e.message), "field": e.field})
    }));
    if errors.is_empty() {
        Ok((StatusCode::OK, Json(json!({}))))
    } else {
        Ok((StatusCode::BAD_REQUEST, Json(json!({ "errors": errors }))))
    }
}

/// `GET errors`: every current processing problem, with file, document and field.
/// Needs `catalog.location.read`: the problems name files.
pub async fn errors(
    State(catalog): State<Arc<Catalog>>,
    access: Access,
) -> Result<Json<Value>, ApiError> {
    access.require(LOCATION_READ)?;
    blocking(move || Ok(Json(json!({ "items": catalog.errors()? })))).await
}
