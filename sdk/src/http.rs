//! Outgoing HTTP over `wasi:http`. The host sends a request only to hosts the operator granted
//! this plugin; anything else fails with `HTTP request denied`.

use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types::{Fields, Method, OutgoingRequest, Scheme};
use crate::bindings::wasi::io::streams::StreamError;

/// A response with its whole body.
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `GET url` (`http://` or `https://`), with optional headers, reading the body to the end.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Result<Response, String> {
    let (scheme, rest) = match url.split_once("://") {
        Some(("http", rest)) => (Scheme::Http, rest),
        Some(("https", rest)) => (Scheme::Https, rest),
        _ => return Err(format!("'{url}' is not an http(s) URL")),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let fields = Fields::new();
    for (name, value) in headers {
        fields
            .append(name, value.as_bytes())
            .map_err(|e| format!("header {name}: {e:?}"))?;
    }
    let request = OutgoingRequest::new(fields);
    let set =
        |ok: Result<(), ()>, what: &str| ok.map_err(|()| format!("invalid {what} in '{url}'"));
    set(request.set_method(&Method::Get), "method")?;
    set(request.set_scheme(Some(&scheme)), "scheme")?;
    set(request.set_authority(Some(authority)), "host")?;
    set(request.set_path_with_query(Some(path)), "path")?;
    let pending = outgoing_handler::handle(request, None).map_err(|e| format!("GET {url}: {e}"))?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or_else(|| format!("GET {url}: no response"))?
        .map_err(|()| format!("GET {url}: response already taken"))?
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    let body = response
        .consume()
        .map_err(|()| format!("GET {url}: body already taken"))?;
    let stream = body
        .stream()
        .map_err(|()| format!("GET {url}: body stream already taken"))?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes.extend(chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(format!(
                    "GET {url}: reading the body: {}",
                    e.to_debug_string()
                ));
            }
        }
    }
    Ok(Response {
        status,
        body: bytes,
    })
}
