//! Docs routes: Backstage's TechDocs API (`/api/techdocs/...`: metadata, static site files,
//! sync) so its clients work, and the reader's JSON (`/api/docs/...`).

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use greenroom_api::docs::{DocsBuild, DocsHeading, DocsLink, DocsNavItem, DocsPage, DocsSite};
use serde_json::{Value, json};

use super::build::reader_path;
use super::{DocsError, NavItem, Site, TechDocs, nav};
use crate::catalog::EntityRef;
use crate::http::{ApiError, blocking};
use crate::support::files::read_bounded;

/// Largest asset served.
const MAX_ASSET_BYTES: u64 = 32 << 20;

/// What a page elsewhere can do with a file served from a site: nothing runs, nothing loads
/// but the site's own images and styles.
const CSP: &str = "default-src 'none'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; font-src 'self' data:; sandbox";

pub fn techdocs_routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<TechDocs>: FromRef<S>,
{
    Router::new()
        .route(
            "/metadata/techdocs/{namespace}/{kind}/{name}",
            get(techdocs_metadata),
        )
        .route(
            "/metadata/entity/{namespace}/{kind}/{name}",
            get(entity_metadata),
        )
        .route("/static/docs/{namespace}/{kind}/{name}", get(static_root))
        .route("/static/docs/{namespace}/{kind}/{name}/", get(static_root))
        .route(
            "/static/docs/{namespace}/{kind}/{name}/{*path}",
            get(static_file),
        )
        .route("/sync/{namespace}/{kind}/{name}", get(sync))
}

pub fn docs_routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<TechDocs>: FromRef<S>,
{
    Router::new()
        .route("/site/{namespace}/{kind}/{name}", get(site))
        .route("/page/{namespace}/{kind}/{name}", get(home_page))
        .route("/page/{namespace}/{kind}/{name}/", get(home_page))
        .route("/page/{namespace}/{kind}/{name}/{*path}", get(page))
}

impl From<DocsError> for ApiError {
    fn from(error: DocsError) -> Self {
        match error {
            DocsError::NoEntity(_) | DocsError::NoSite(_) => ApiError::not_found(error.to_string()),
            DocsError::Build(message) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "DocsBuildError",
                format!("the docs site cannot be built: {message}"),
            ),
            DocsError::Store(e) => ApiError::internal(e),
        }
    }
}

type Triplet = (String, String, String);

fn entity_ref((namespace, kind, name): &Triplet) -> EntityRef {
    EntityRef::new(kind, namespace, name)
}

async fn current(docs: Arc<TechDocs>, triplet: Triplet) -> Result<Site, ApiError> {
    blocking(move || Ok(docs.site(&entity_ref(&triplet))?)).await
}

/// `GET metadata/techdocs/...`: what Backstage keeps in `techdocs_metadata.json`.
async fn techdocs_metadata(
    State(docs): State<Arc<TechDocs>>,
    Path(triplet): Path<Triplet>,
) -> Result<Json<Value>, ApiError> {
    let site = current(docs, triplet).await?;
    Ok(Json(metadata_json(&site)))
}

fn metadata_json(site: &Site) -> Value {
    let built = &site.built;
    let mut files: Vec<&str> = built.files.iter().map(|f| f.dest.as_str()).collect();
    files.push("techdocs_metadata.json");
    json!({
        "site_name": site_name(site),
        // techdocs-core writes Python's str(None) when there is none, and Backstage's reader
        // looks for that.
        "site_description": built.config.site_description.clone().unwrap_or_else(|| "None".into()),
        "etag": built.etag,
        "build_timestamp": built.build_timestamp,
        "files": files,
    })
}

fn site_name(site: &Site) -> String {
    site.built
        .config
        .site_name
        .clone()
        .unwrap_or_else(|| site.owner.name.clone())
}

/// `GET metadata/entity/...`: the entity, with where its docs come from.
async fn entity_metadata(
    State(docs): State<Arc<TechDocs>>,
    Path(triplet): Path<Triplet>,
) -> Result<Json<Value>, ApiError> {
    blocking(move || {
        let entity_ref = entity_ref(&triplet);
        let mut entity = docs
            .catalog()
            .get(&entity_ref)?
            .ok_or_else(|| ApiError::not_found(format!("no entity {entity_ref}")))?;
        let target = entity["metadata"]["annotations"][super::TECHDOCS_REF]
            .as_str()
            .and_then(|r| r.split_once(':'))
            .map(|(kind, target)| json!({"type": kind, "target": target}));
        if let (Some(location), Some(body)) = (target, entity.as_object_mut()) {
            body.insert("locationMetadata".into(), location);
        }
        Ok(Json(entity))
    })
    .await
}

async fn static_root(
    state: State<Arc<TechDocs>>,
    triplet: Path<Triplet>,
) -> Result<Response, ApiError> {
    static_file(
        state,
        Path((triplet.0.0, triplet.0.1, triplet.0.2, String::new())),
    )
    .await
}

/// `GET static/docs/.../<path>`: a page as an HTML document, an asset of the docs folder, or
/// `techdocs_metadata.json`. Mixed-case entity names redirect to their lower-case form.
async fn static_file(
    State(docs): State<Arc<TechDocs>>,
    Path((namespace, kind, name, path)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    let lower = |s: &str| s.to_lowercase();
    if [&namespace, &kind, &name].iter().any(|s| **s != lower(s)) {
        let to = format!(
            "/api/techdocs/static/docs/{}/{}/{}/{path}",
            lower(&namespace),
            lower(&kind),
            lower(&name)
        );
        return Ok(Redirect::permanent(&to).into_response());
    }
    let site = current(docs, (namespace, kind, name)).await?;
    let (body, content_type) = blocking(move || static_body(&site, &path)).await?;
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    if content_type == "application/octet-stream" {
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
    }
    Ok(response)
}

fn static_body(site: &Site, path: &str) -> Result<(Vec<u8>, &'static str), ApiError> {
    if path == "techdocs_metadata.json" {
        return Ok((
            metadata_json(site).to_string().into_bytes(),
            "application/json",
        ));
    }
    let built = &site.built;
    if let Some((file, page)) = built.page_at(path) {
        let document = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} - {}</title></head>\n<body><div class=\"md-container\"><main class=\"md-main\"><div class=\"md-content\" data-md-component=\"content\"><article class=\"md-content__inner md-typeset\">\n{}</article></div></main></div></body></html>\n",
            escape(&page.title),
            escape(&site_name(site)),
            page.html
        );
        let _ = file;
        return Ok((document.into_bytes(), "text/html; charset=utf-8"));
    }
    let asset = built
        .files
        .iter()
        .find(|f| !f.is_page && f.dest == path)
        .ok_or_else(|| ApiError::not_found(format!("the docs site has no file '{path}'")))?;
    let file = crate::support::paths::within(&built.docs_dir, &built.docs_dir.join(&asset.src))
        .map_err(|e| ApiError::not_found(e.to_string()))?;
    let bytes = read_bounded(&file, MAX_ASSET_BYTES)
        .map_err(|e| ApiError::not_found(format!("{}: {e}", asset.src)))?;
    Ok((bytes, content_type(&asset.src)))
}

/// Content types for what sites hold; anything else is a download.
fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match extension.as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("webp") => "image/webp",
        Some("ico") => "image/x-icon",
        Some("css") => "text/css; charset=utf-8",
        Some("txt" | "md") => "text/plain; charset=utf-8",
        Some("json") => "application/json",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET sync/...`: Backstage's event stream, built before it answers: `log` lines, then
/// `finish` with whether the site changed, or `error`.
async fn sync(
    State(docs): State<Arc<TechDocs>>,
    Path(triplet): Path<Triplet>,
) -> Result<Response, ApiError> {
    let events = blocking(move || {
        let entity_ref = entity_ref(&triplet);
        let event = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
        Ok(match docs.sync(&entity_ref) {
            Ok((site, updated)) => {
                let built = &site.built;
                let mut out = event(
                    "log",
                    json!(format!(
                        "built {} pages ({} rendered) in {:.1} ms",
                        built.pages.len(),
                        built.rendered,
                        built.took.as_secs_f64() * 1000.0
                    )),
                );
                for warning in &built.warnings {
                    out.push_str(&event("log", json!(format!("warning: {warning}"))));
                }
                if let Some(failed) = &site.failed {
                    out.push_str(&event("error", json!(failed)));
                } else {
                    out.push_str(&event("finish", json!({"updated": updated})));
                }
                out
            }
            Err(error) => event("error", json!(error.to_string())),
        })
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        events,
    )
        .into_response())
}

/// `GET /api/docs/site/...`.
async fn site(
    State(docs): State<Arc<TechDocs>>,
    Path(triplet): Path<Triplet>,
) -> Result<Json<DocsSite>, ApiError> {
    let owner_docs = docs.clone();
    let site = current(docs, triplet).await?;
    let owner_ref = site.owner.clone();
    let owner_entity = blocking(move || Ok(owner_docs.catalog().get(&owner_ref)?)).await?;
    let spec_text = |key: &str| {
        owner_entity
            .as_ref()
            .and_then(|e| e["spec"][key].as_str())
            .map(str::to_string)
    };
    let built = &site.built;
    let nav = reader_nav(&built.nav, &built.files);
    let home = site
        .start_path
        .clone()
        .unwrap_or_else(|| first_page(&nav).unwrap_or_default());
    Ok(Json(DocsSite {
        entity_ref: site.owner.to_string(),
        owner: spec_text("owner"),
        lifecycle: spec_text("lifecycle"),
        site_name: site_name(&site),
        site_description: built.config.site_description.clone(),
        repo_url: built
            .config
            .repo_url
            .clone()
            .filter(|u| greenroom_api::entity::is_safe_link(u)),
        nav,
        home,
        build: DocsBuild {
            built_at: built.build_timestamp,
            took_ms: built.took.as_secs_f64() * 1000.0,
            rendered: built.rendered,
            source: built.root.display().to_string(),
            etag: built.etag.clone(),
            warnings: built.warnings.clone(),
            failed: site.failed.clone(),
        },
    }))
}

/// A page's path in the reader: its URL, the home page's being empty.
fn reader_nav(items: &[NavItem], files: &[nav::SiteFile]) -> Vec<DocsNavItem> {
    items
        .iter()
        .map(|item| match item {
            NavItem::Page { src, title } => DocsNavItem::Page {
                title: title.clone().unwrap_or_default(),
                path: files
                    .iter()
                    .find(|f| f.src == *src)
                    .map(|f| reader_path(&f.url))
                    .unwrap_or_default(),
            },
            NavItem::Section { title, children } => DocsNavItem::Section {
                title: title.clone(),
                children: reader_nav(children, files),
            },
            NavItem::Link { title, url } => DocsNavItem::Link {
                title: title.clone(),
                url: url.clone(),
            },
        })
        .collect()
}

fn first_page(nav: &[DocsNavItem]) -> Option<String> {
    nav.iter().find_map(|item| match item {
        DocsNavItem::Page { path, .. } => Some(path.clone()),
        DocsNavItem::Section { children, .. } => first_page(children),
        DocsNavItem::Link { .. } => None,
    })
}

async fn home_page(
    state: State<Arc<TechDocs>>,
    triplet: Path<Triplet>,
) -> Result<Json<DocsPage>, ApiError> {
    page(
        state,
        Path((triplet.0.0, triplet.0.1, triplet.0.2, String::new())),
    )
    .await
}

/// `GET /api/docs/page/.../<path>`. Links between pages stay relative (the reader's URLs
/// mirror the site's); links to the site's other files point at the static endpoint.
async fn page(
    State(docs): State<Arc<TechDocs>>,
    Path((namespace, kind, name, path)): Path<(String, String, String, String)>,
) -> Result<Json<DocsPage>, ApiError> {
    let site = current(docs, (namespace, kind, name)).await?;
    let static_base = format!(
        "/api/techdocs/static/docs/{}/{}/{}/",
        site.owner.namespace, site.owner.kind, site.owner.name
    );
    let built = &site.built;
    let (file, page) = built
        .page_at(&path)
        .ok_or_else(|| ApiError::not_found(format!("the docs site has no page '{path}'")))?;
    let order = nav::reading_order(&built.nav);
    let at = order.iter().position(|src| *src == file.src);
    let link = |src: Option<&String>| {
        let src = src?;
        let target = built.files.iter().find(|f| f.src == *src)?;
        Some(DocsLink {
            title: built.title_of(src),
            path: reader_path(&target.url),
        })
    };
    Ok(Json(DocsPage {
        path: reader_path(&file.url),
        title: page.title.clone(),
        html: with_asset_urls(&page.html, &file.url, &built.files, &static_base),
        toc: page
            .headings
            .iter()
            .map(|h| DocsHeading {
                level: h.level,
                id: h.id.clone(),
                text: h.text.clone(),
            })
            .collect(),
        prev: at.and_then(|i| link(i.checked_sub(1).and_then(|i| order.get(i)))),
        next: at.and_then(|i| link(order.get(i + 1))),
        edit_url: built
            .config
            .edit_uri
            .as_ref()
            .map(|base| format!("{base}{}", file.src)),
        source: file.src.clone(),
    }))
}

/// `html` of the page at `url` with every relative `src`/`href` that names one of the site's
/// files other than pages pointed at `base` (the static endpoint).
fn with_asset_urls(html: &str, url: &str, files: &[nav::SiteFile], base: &str) -> String {
    static ATTRIBUTE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r##"(src|href)="([^"#/:?][^":]*)""##).expect("a valid pattern")
    });
    let page = url.strip_prefix("./").unwrap_or(url);
    ATTRIBUTE
        .replace_all(html, |found: &regex::Captures| {
            let (attribute, target) = (&found[1], &found[2]);
            let asset = nav::resolve(&format!("{page}_"), target)
                .and_then(|path| files.iter().find(|f| !f.is_page && f.dest == path));
            match asset {
                Some(file) => format!("{attribute}=\"{base}{}\"", file.dest),
                None => found[0].to_string(),
            }
        })
        .into_owned()
}
