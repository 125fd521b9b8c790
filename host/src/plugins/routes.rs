//! Plugins' HTTP routes (`/api/plugins/<id>/http/<path>`): a request handed to the plugin's
//! `wasi:http/incoming-handler` on a fresh instance, with the caller's identity in headers
//! the host sets (never the caller's own credentials), bounded in size both ways and ended
//! at the plugin's deadline, and answered with headers that keep its body from running as
//! the portal's own page.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, header};
use http_body_util::{BodyExt, Full, Limited};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;

use super::{PluginError, PluginHost, Viewer};
use crate::catalog::Predicate;

/// Largest request body a route is handed.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;
/// Largest response body a route may answer; a longer one fails the call.
const MAX_RESPONSE_BYTES: usize = 4 << 20;

/// Who is calling, as the plugin sees it.
const VIEWER_HEADER: &str = "x-greenroom-viewer";
const OWNERSHIP_HEADER: &str = "x-greenroom-ownership";

/// A request to a plugin's route, its body read.
pub struct RouteRequest {
    pub method: Method,
    /// Below the plugin's `/http`, with the query: `/hook?x=1`.
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl PluginHost {
    /// Serves one request with the plugin's HTTP routes, for `viewer`.
    pub async fn serve_route(
        self: &Arc<Self>,
        plugin_id: &str,
        request: RouteRequest,
        visible: Option<Predicate>,
        viewer: Viewer,
    ) -> Result<Response<Bytes>, PluginError> {
        let path = request.path.split('?').next().unwrap_or_default();
        let dotted = path.split('/').any(|s| s == ".." || s == ".");
        if dotted || path.to_ascii_lowercase().contains("%2e") {
            return Err(PluginError::Invalid(format!(
                "route path '{}' has a '.' or '..' segment",
                request.path
            )));
        }
        let plugin_id = plugin_id.to_string();
        self.on_plugin_runtime(move |host| async move {
            let plugin = host.callable(&plugin_id)?;
            let Some(indices) = plugin.exports.http.clone() else {
                return Err(PluginError::NotOffered {
                    plugin: plugin_id,
                    what: "HTTP routes".into(),
                    entity: String::new(),
                });
            };
            let call = format!("http {} {}", request.method, request.path);
            let request = incoming(request, &viewer)?;
            host.call(
                &plugin,
                &call,
                visible,
                move |store, instance| {
                    Box::pin(async move {
                        let (sender, receiver) = tokio::sync::oneshot::channel();
                        let mut http = store.data_mut().http();
                        let request = http.new_incoming_request(Scheme::Http, request)?;
                        let out = http.new_response_outparam(sender)?;
                        let handler = indices.load(&mut *store, instance)?;
                        // The body is read while the handler writes it, so a large one flows.
                        let answered = async {
                            let response = receiver
                                .await
                                .map_err(|_| "did not answer the request".to_string())?
                                .map_err(|e| format!("answered with an error: {e:?}"))?;
                            let (parts, body) = response.into_parts();
                            let body = Limited::new(body, MAX_RESPONSE_BYTES)
                                .collect()
                                .await
                                .map_err(|e| {
                                    format!(
                                        "its response body failed or passed {} MiB: {e}",
                                        MAX_RESPONSE_BYTES >> 20
                                    )
                                })?
                                .to_bytes();
                            Ok::<_, String>(Response::from_parts(parts, body))
                        };
                        let (called, answer) =
                            tokio::join!(handler.call_handle(&mut *store, request, out), answered);
                        // An answer stands even if the handler failed after giving it.
                        match answer {
                            Ok(response) => Ok(Ok(response)),
                            Err(reason) => called.map(|()| Err(reason)),
                        }
                    })
                },
                |answer| answer.map(contained),
            )
            .await
        })
        .await
    }
}

/// The request as the plugin gets it: the caller's credentials removed, the viewer set.
fn incoming(
    request: RouteRequest,
    viewer: &Viewer,
) -> Result<
    Request<http_body_util::combinators::BoxBody<Bytes, wasmtime_wasi_http::Error>>,
    PluginError,
> {
    let mut headers = request.headers;
    for name in [
        header::AUTHORIZATION,
        header::COOKIE,
        HeaderName::from_static(VIEWER_HEADER),
        HeaderName::from_static(OWNERSHIP_HEADER),
    ] {
        headers.remove(name);
    }
    let value = |text: &str| {
        HeaderValue::from_str(text).map_err(|e| PluginError::Invalid(format!("viewer: {e}")))
    };
    headers.insert(VIEWER_HEADER, value(&viewer.user_ref)?);
    headers.insert(OWNERSHIP_HEADER, value(&viewer.ownership_refs.join(","))?);
    let authority = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let body = Full::new(request.body)
        .map_err(|never: std::convert::Infallible| -> wasmtime_wasi_http::Error { match never {} })
        .boxed();
    let mut built = Request::builder()
        .method(request.method)
        .uri(format!("http://{authority}{}", request.path))
        .body(body)
        .map_err(|e| PluginError::Invalid(format!("route request: {e}")))?;
    *built.headers_mut() = headers;
    Ok(built)
}

/// The plugin's answer, unable to act as a page of the portal: no cookies, no sniffing, and a
/// sandbox that keeps any HTML it sends from running script with the portal's origin.
fn contained(mut response: Response<Bytes>) -> Response<Bytes> {
    let headers = response.headers_mut();
    for name in [
        header::SET_COOKIE,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
    ] {
        headers.remove(name);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
