//! Serve the plugin's HTTP routes, `/api/plugins/<id>/http/<path>` on the portal: webhooks
//! and APIs other tools call. The plugin exports `wasi:http/incoming-handler` (include the
//! contract's `http-routes` world) and hands each request to [`serve`]:
//!
//! ```ignore
//! impl exports::wasi::http::incoming_handler::Guest for Plugin {
//!     fn handle(request: IncomingRequest, out: ResponseOutparam) {
//!         greenroom_sdk::routes::serve(request, out, |request| match request.route() {
//!             "/hello" => Reply::text(200, format!("hello {}", request.viewer().unwrap_or("anonymous"))),
//!             _ => Reply::text(404, "no such route"),
//!         });
//!     }
//! }
//! ```
//!
//! The host has already checked the caller (signed in, unless the operator made the route
//! public), limited the body's size and set the viewer headers; the request's `path` is the
//! part after `/http`, with its query.

use crate::bindings::wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use crate::bindings::wasi::io::streams::StreamError;

/// The header carrying the ref of the person calling (absent for an anonymous caller of a
/// public route).
pub const VIEWER_HEADER: &str = "x-greenroom-viewer";
/// The header carrying their ownership refs, comma-separated.
pub const OWNERSHIP_HEADER: &str = "x-greenroom-ownership";

/// A request with its whole body.
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path after the plugin's `/http` prefix, with the query, e.g. `/hooks/push?x=1`.
    pub path: String,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of a header (names compare case-insensitively), as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    /// The path without its query, e.g. `/hooks/push`: what to route on.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or_default()
    }

    /// Who is calling, e.g. `user:default/ada`; none for an anonymous caller.
    pub fn viewer(&self) -> Option<&str> {
        self.header(VIEWER_HEADER).filter(|v| !v.is_empty())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// What a route answers.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        Self::with_type(
            status,
            "text/plain; charset=utf-8",
            body.into().into_bytes(),
        )
    }

    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::with_type(status, "application/json", body.to_string().into_bytes())
    }

    /// No body, e.g. 204.
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn with_type(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: vec![("content-type".into(), content_type.into())],
            body,
        }
    }
}

/// Reads `request` whole, answers it with what `handle` returns.
pub fn serve(
    request: IncomingRequest,
    out: ResponseOutparam,
    handle: impl FnOnce(Request) -> Reply,
) {
    let reply = match read(&request) {
        Ok(request) => handle(request),
        Err(message) => Reply::text(400, message),
    };
    drop(request);
    write(out, reply);
}

fn read(request: &IncomingRequest) -> Result<Request, String> {
    let method = match request.method() {
        Method::Get => "GET".to_string(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Patch => "PATCH".into(),
        Method::Options => "OPTIONS".into(),
        Method::Connect => "CONNECT".into(),
        Method::Trace => "TRACE".into(),
        Method::Other(other) => other,
    };
    let headers = request.headers().entries();
    let body = request
        .consume()
        .map_err(|()| "the request body was already taken".to_string())?;
    let mut bytes = Vec::new();
    {
        let stream = body
            .stream()
            .map_err(|()| "the request body stream was already taken".to_string())?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => bytes.extend(chunk),
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    return Err(format!("reading the request body: {}", e.to_debug_string()));
                }
            }
        }
    }
    Ok(Request {
        method,
        path: request.path_with_query().unwrap_or_else(|| "/".into()),
        headers,
        body: bytes,
    })
}

fn write(out: ResponseOutparam, reply: Reply) {
    let fields = Fields::new();
    for (name, value) in &reply.headers {
        // A header the host refuses (e.g. a forbidden name) is left out, not fatal.
        let _ = fields.append(name, value.as_bytes());
    }
    let response = OutgoingResponse::new(fields);
    let _ = response.set_status_code(reply.status);
    let Ok(body) = response.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    if let Ok(stream) = body.write() {
        // `blocking-write-and-flush` takes at most 4096 bytes at a time.
        for chunk in reply.body.chunks(4096) {
            if stream.blocking_write_and_flush(chunk).is_err() {
                break;
            }
        }
    }
    let _ = OutgoingBody::finish(body, None);
}
