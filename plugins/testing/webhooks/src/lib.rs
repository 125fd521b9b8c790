//! Test plugin `webhooks` (contract 0.2.0): HTTP routes under `/api/plugins/webhooks/http/`.
//! `GET /hello` greets the viewer; `POST /echo` answers its body; `POST /hook` is a webhook
//! that checks GitHub's `X-Hub-Signature-256` against the granted `secret` and keeps each
//! delivery in storage; `GET /deliveries` lists them; `GET /stream` answers a body that never
//! ends and `GET /loop` never answers (both hostile, for the host to contain).

use greenroom_sdk::bindings::wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use greenroom_sdk::routes::{self, Reply, Request};
use greenroom_sdk::{config, storage};
use serde_json::json;

greenroom_sdk::bind_world!("http-plugin", "../../../wit/v0.2.0");

use exports::greenroom::plugin::meta::{self, PluginInfo};
use exports::wasi::http::incoming_handler;

struct Webhooks;

impl meta::Guest for Webhooks {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "webhooks".into(),
            name: "Webhooks".into(),
            version: "0.2.0".into(),
            description: "Test plugin: HTTP routes, a signed webhook, hostile routes.".into(),
        }
    }
}

impl incoming_handler::Guest for Webhooks {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        match request.path_with_query().as_deref() {
            Some("/stream") => return stream_forever(out),
            Some("/loop") => loop {
                std::hint::black_box(());
            },
            _ => {}
        }
        routes::serve(request, out, route);
    }
}

fn route(request: Request) -> Reply {
    match (request.method.as_str(), request.route()) {
        ("GET", "/hello") => Reply::text(
            200,
            format!("hello {}", request.viewer().unwrap_or("anonymous")),
        ),
        ("POST", "/echo") => Reply {
            status: 200,
            headers: vec![(
                "content-type".into(),
                request.header("content-type").unwrap_or("application/octet-stream").into(),
            )],
            body: request.body,
        },
        ("POST", "/hook") => hook(&request),
        ("GET", "/deliveries") => match deliveries() {
            Ok(list) => Reply::json(200, &json!(list)),
            Err(message) => Reply::text(500, message),
        },
        (method, path) => Reply::text(404, format!("no route {method} {path}")),
    }
}

/// A GitHub-style delivery: accepted only with a valid signature of its body.
fn hook(request: &Request) -> Reply {
    let secret = match config::get("secret") {
        Ok(Some(secret)) => secret,
        _ => return Reply::text(500, "no secret is configured"),
    };
    if let Err(message) = request.verify_github_signature(&secret) {
        return Reply::text(401, message);
    }
    let id = request.header("x-github-delivery").unwrap_or("unnamed");
    let event = request.header("x-github-event").unwrap_or("unknown");
    match storage::set(&format!("delivery/{id}"), event.as_bytes()) {
        Ok(()) => Reply::empty(204),
        Err(message) => Reply::text(507, message),
    }
}

fn deliveries() -> Result<Vec<(String, String)>, String> {
    storage::list_keys("delivery/", None, 100)?
        .into_iter()
        .map(|key| {
            let event = storage::get(&key)?.unwrap_or_default();
            let id = key.trim_start_matches("delivery/").to_string();
            Ok((id, String::from_utf8_lossy(&event).into_owned()))
        })
        .collect()
}

/// Answers 200 and then writes forever.
fn stream_forever(out: ResponseOutparam) {
    let response = OutgoingResponse::new(Fields::new());
    let body = response.body().expect("the body is ours");
    ResponseOutparam::set(out, Ok(response));
    let stream = body.write().expect("the stream is ours");
    let chunk = [b'x'; 4096];
    while stream.blocking_write_and_flush(&chunk).is_ok() {}
    drop(stream);
    let _ = OutgoingBody::finish(body, None);
}

export!(Webhooks);
