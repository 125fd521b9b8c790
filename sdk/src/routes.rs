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
//! part after `/http`, with its query. A public webhook checks its sender itself, e.g. GitHub's
//! signature with [`Request::verify_github_signature`].

use crate::bindings::wasi::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use hmac::{Hmac, Mac};

/// The header carrying the ref of the person calling (absent for an anonymous caller of a
/// public route).
pub const VIEWER_HEADER: &str = "x-greenroom-viewer";
/// The header carrying their ownership refs, comma-separated.
pub const OWNERSHIP_HEADER: &str = "x-greenroom-ownership";
/// The header GitHub signs a webhook delivery with: `sha256=` and the hex HMAC-SHA256 of the
/// body, keyed with the webhook's secret.
pub const GITHUB_SIGNATURE_HEADER: &str = "x-hub-signature-256";

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

    /// Checks GitHub's `X-Hub-Signature-256` of the body against the webhook's `secret` (in
    /// constant time). The error is what to answer with 401: `missing signature` (no header,
    /// or not `sha256=<hex>`) or `bad signature`; an empty `secret` is refused as
    /// `no secret to check the signature with`, since anyone can sign with it.
    ///
    /// ```ignore
    /// let secret = config::get("webhook-secret")?.ok_or("no secret configured")?;
    /// if let Err(message) = request.verify_github_signature(&secret) {
    ///     return Reply::text(401, message);
    /// }
    /// ```
    pub fn verify_github_signature(&self, secret: &str) -> Result<(), &'static str> {
        if secret.is_empty() {
            return Err("no secret to check the signature with");
        }
        let signature = self
            .header(GITHUB_SIGNATURE_HEADER)
            .and_then(|value| value.strip_prefix("sha256="))
            .and_then(|digits| hex::decode(digits).ok())
            .ok_or("missing signature")?;
        let mut mac =
            Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| "bad signature")?;
        mac.update(&self.body);
        mac.verify_slice(&signature).map_err(|_| "bad signature")
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
    let bytes = {
        let stream = body
            .stream()
            .map_err(|()| "the request body stream was already taken".to_string())?;
        crate::http::read_all(&stream).map_err(|e| format!("reading the request body: {e}"))?
    };
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
        // A caller gone away ends the answer early; nothing is left to tell.
        let _ = crate::http::write_all(&stream, &reply.body);
    }
    let _ = OutgoingBody::finish(body, None);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(signature: Option<&str>, body: &[u8]) -> Request {
        Request {
            method: "POST".into(),
            path: "/hook".into(),
            headers: signature
                .map(|s| ("X-Hub-Signature-256".to_string(), s.as_bytes().to_vec()))
                .into_iter()
                .collect(),
            body: body.to_vec(),
        }
    }

    #[test]
    fn a_github_signature_is_checked_against_the_body_and_secret() {
        // GitHub's documented example: secret "It's a Secret to Everybody", body "Hello, World!".
        let signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        let secret = "It's a Secret to Everybody";
        assert_eq!(
            delivery(Some(signature), b"Hello, World!").verify_github_signature(secret),
            Ok(())
        );
        assert_eq!(
            delivery(Some(signature), b"Hello, World?").verify_github_signature(secret),
            Err("bad signature")
        );
        assert_eq!(
            delivery(Some(signature), b"Hello, World!").verify_github_signature("other"),
            Err("bad signature")
        );
        for missing in [
            None,
            Some("757107ea"),
            Some("sha256=zz"),
            Some("sha1=757107ea"),
        ] {
            assert_eq!(
                delivery(missing, b"Hello, World!").verify_github_signature(secret),
                Err("missing signature"),
                "{missing:?}"
            );
        }
        assert_eq!(
            delivery(Some(signature), b"Hello, World!").verify_github_signature(""),
            Err("no secret to check the signature with")
        );
    }
}
