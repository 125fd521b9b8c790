//! Outgoing HTTP over `wasi:http`. The host sends a request only to hosts the operator granted
//! this plugin; anything else fails with `GET <url>: denied: host <host:port> is not granted
//! to plugin <id>`. Every error names the request and says what failed.

use std::time::Duration;

use crate::bindings::wasi::http::outgoing_handler;
pub use crate::bindings::wasi::http::types::Method;
use crate::bindings::wasi::http::types::{
    ErrorCode, Fields, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use crate::bindings::wasi::io::streams::{InputStream, OutputStream, StreamError};

/// A response with its whole body.
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The start of the body, trimmed, at most 200 characters: enough of an error page to
    /// say what went wrong in a message.
    pub fn excerpt(&self) -> String {
        self.text().trim().chars().take(200).collect()
    }
}

/// `text` with everything but unreserved characters percent-encoded, for a path segment or
/// a query value (`encode("a/b c")` is `a%2Fb%20c`).
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `GET url` (`http://` or `https://`), with optional headers, reading the body to the end.
/// Waits until the call's deadline at most; see [`get_with_timeout`] to give up sooner.
pub fn get(url: &str, headers: &[(&str, &str)]) -> Result<Response, String> {
    send(Method::Get, url, headers, None, None)
}

/// Like [`get`], failing with `no response within <timeout>` when connecting, the first
/// byte or any later one takes longer than `timeout`. Keep it shorter than the call's
/// deadline (2 s unless the operator sets another), so the plugin can still show its own
/// message when a server is slow.
pub fn get_with_timeout(
    url: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> Result<Response, String> {
    send(Method::Get, url, headers, None, Some(timeout))
}

/// Any request: `method url` with `headers` and an optional `body` (its `content-length` is
/// set), reading the response body to the end; `timeout` as in [`get_with_timeout`].
pub fn send(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
    timeout: Option<Duration>,
) -> Result<Response, String> {
    let call = format!("{} {url}", method_name(&method));
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
    let length = body.map(|b| b.len().to_string());
    let length = length.as_deref().map(|l| ("content-length", l));
    for (name, value) in headers.iter().copied().chain(length) {
        fields
            .append(name, value.as_bytes())
            .map_err(|e| format!("{call}: header {name}: {e:?}"))?;
    }
    let request = OutgoingRequest::new(fields);
    let set =
        |ok: Result<(), ()>, what: &str| ok.map_err(|()| format!("invalid {what} in '{url}'"));
    set(request.set_method(&method), "method")?;
    set(request.set_scheme(Some(&scheme)), "scheme")?;
    set(request.set_authority(Some(authority)), "host")?;
    set(request.set_path_with_query(Some(path)), "path")?;
    let options = match timeout {
        Some(timeout) => {
            let options = RequestOptions::new();
            let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
            let set = |ok: Result<(), ()>| ok.map_err(|()| format!("{call}: timeout refused"));
            set(options.set_connect_timeout(Some(nanos)))?;
            set(options.set_first_byte_timeout(Some(nanos)))?;
            set(options.set_between_bytes_timeout(Some(nanos)))?;
            Some(options)
        }
        None => None,
    };
    let outgoing = request
        .body()
        .map_err(|()| format!("{call}: body already taken"))?;
    let failed = |e: ErrorCode| format!("{call}: {}", describe(&e, timeout));
    let pending = outgoing_handler::handle(request, options).map_err(failed)?;
    {
        let stream = outgoing
            .write()
            .map_err(|()| format!("{call}: body stream already taken"))?;
        write_all(&stream, body.unwrap_or_default())
            .map_err(|e| format!("{call}: writing the body: {e:?}"))?;
    }
    OutgoingBody::finish(outgoing, None).map_err(failed)?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or_else(|| format!("{call}: no response"))?
        .map_err(|()| format!("{call}: response already taken"))?
        .map_err(failed)?;
    let status = response.status();
    let body = response
        .consume()
        .map_err(|()| format!("{call}: body already taken"))?;
    let stream = body
        .stream()
        .map_err(|()| format!("{call}: body stream already taken"))?;
    let bytes = read_all(&stream).map_err(|e| format!("{call}: reading the body: {e}"))?;
    Ok(Response {
        status,
        body: bytes,
    })
}

/// A body stream read to its end (a request's or a response's); the error in words.
pub(crate) fn read_all(stream: &InputStream) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes.extend(chunk),
            Err(StreamError::Closed) => return Ok(bytes),
            Err(StreamError::LastOperationFailed(e)) => return Err(e.to_debug_string()),
        }
    }
}

/// Writes all of `bytes` to a body stream.
pub(crate) fn write_all(stream: &OutputStream, bytes: &[u8]) -> Result<(), StreamError> {
    // `blocking-write-and-flush` takes at most 4096 bytes at once.
    for chunk in bytes.chunks(4096) {
        stream.blocking_write_and_flush(chunk)?;
    }
    Ok(())
}

fn method_name(method: &Method) -> &str {
    match method {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Delete => "DELETE",
        Method::Connect => "CONNECT",
        Method::Options => "OPTIONS",
        Method::Trace => "TRACE",
        Method::Patch => "PATCH",
        Method::Other(other) => other,
    }
}

/// What went wrong, in words: the host's own explanation when it gave one (a refused host),
/// else the error code described.
fn describe(error: &ErrorCode, timeout: Option<Duration>) -> String {
    let within = timeout.map_or_else(
        || "before the call's deadline".to_string(),
        |t| format!("within {t:?}"),
    );
    match error {
        ErrorCode::InternalError(Some(message)) => message.clone(),
        ErrorCode::HttpRequestDenied => "denied: the host is not granted to this plugin".into(),
        ErrorCode::DnsTimeout | ErrorCode::DnsError(_) | ErrorCode::DestinationNotFound => {
            "the host name does not resolve".into()
        }
        ErrorCode::ConnectionRefused => "connection refused".into(),
        ErrorCode::DestinationUnavailable | ErrorCode::DestinationIpUnroutable => {
            "the host cannot be reached".into()
        }
        ErrorCode::ConnectionTimeout => format!("no connection {within}"),
        ErrorCode::ConnectionReadTimeout | ErrorCode::HttpResponseTimeout => {
            format!("no response {within}")
        }
        ErrorCode::ConnectionTerminated => "the connection was closed early".into(),
        ErrorCode::TlsCertificateError => "the server's TLS certificate was not accepted".into(),
        ErrorCode::TlsProtocolError | ErrorCode::TlsAlertReceived(_) => "TLS failed".into(),
        other => format!("{other:?}"),
    }
}
