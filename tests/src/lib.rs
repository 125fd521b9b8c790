//! A harness that runs the real `greenroom serve` on a free loopback port with a temporary
//! data folder, for end-to-end tests.
//!
//! Built artefacts come from `GREENROOM_BIN` / `GREENROOM_PLUGINS` (set by `cargo xtask
//! test`), or from their default places under `target/` after `cargo xtask build`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a server may take to start before the test fails.
const START_DEADLINE: Duration = Duration::from_secs(60);

fn artefact(variable: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(default)
        });
    assert!(
        path.exists(),
        "{} is missing: run `cargo xtask test` (or `cargo xtask build` before `cargo test`)",
        path.display()
    );
    path
}

/// The built `greenroom` binary.
pub fn greenroom_binary() -> PathBuf {
    artefact("GREENROOM_BIN", "target/release/greenroom")
}

/// The folder of built first-party plugins.
pub fn built_plugins() -> PathBuf {
    artefact("GREENROOM_PLUGINS", "target/plugins")
}

/// The folder of plugins built only for tests (`plugins/testing/`).
pub fn test_plugins() -> PathBuf {
    artefact("GREENROOM_TEST_PLUGINS", "target/test-plugins")
}

/// The fixture catalog shared by the end-to-end tests.
pub fn fixture_catalog() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/catalog")
}

/// Compiled plugin code shared by every test server and `greenroom plugin` command:
/// Python and JavaScript components take seconds to compile, and the cache is keyed by
/// content and engine, so sharing is safe. `cargo xtask test` fills it before the tests.
pub fn shared_plugin_cache() -> PathBuf {
    std::env::var_os("GREENROOM_PLUGIN_CACHE").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/tmp/plugin-cache"),
        PathBuf::from,
    )
}

/// A plugins folder under `root` with the named built plugins (first-party or test), each
/// `(name, manifest)` getting the manifest as a `.toml` beside it.
pub fn plugins_folder(root: &Path, plugins: &[(&str, Option<String>)]) -> PathBuf {
    let dir = root.join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, manifest) in plugins {
        let built = [built_plugins(), test_plugins()]
            .into_iter()
            .map(|d| d.join(format!("{name}.wasm")))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("plugin {name} is not built"));
        std::fs::copy(built, dir.join(format!("{name}.wasm"))).unwrap();
        if let Some(manifest) = manifest {
            std::fs::write(dir.join(format!("{name}.toml")), manifest).unwrap();
        }
    }
    dir
}

/// Starts a server on the fixture catalog plus `catalogs` with `plugins`, configured by the
/// YAML `config` (written to `root/greenroom.yaml`), its data in `root/data`.
pub fn start_with_config(
    root: &Path,
    catalogs: &[PathBuf],
    plugins: &Path,
    config: &str,
) -> Server {
    let config_file = root.join("greenroom.yaml");
    std::fs::write(&config_file, config).unwrap();
    let mut all = vec![fixture_catalog()];
    all.extend_from_slice(catalogs);
    Server::start_with_args(
        &all,
        plugins,
        &root.join("data"),
        &["--config", config_file.to_str().unwrap()],
    )
}

/// What a stand-in for GitHub's Actions API answers: two workflow runs of acme/billing.
pub const GITHUB_RUNS: &str = r#"{"total_count": 2, "workflow_runs": [
  {"id": 2, "name": "CI", "run_number": 42, "head_branch": "main", "head_sha": "a1b2c3d4e5f6",
   "status": "completed", "conclusion": "failure", "created_at": "2026-11-20T10:00:00Z",
   "html_url": "https://github.com/acme/billing/actions/runs/2"},
  {"id": 1, "name": "CI", "run_number": 41, "head_branch": "fix/rounding", "head_sha": "0f9e8d7c6b5a",
   "status": "in_progress", "conclusion": null, "created_at": "2026-11-19T09:00:00Z",
   "html_url": "https://github.com/acme/billing/actions/runs/1"}
]}"#;

/// A loopback HTTP server standing in for an external API (a CI server, a JSON endpoint):
/// answers every request with the current body and records each request's head.
pub struct FakeApi {
    pub port: u16,
    body: Arc<Mutex<String>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FakeApi {
    pub fn start(body: impl Into<String>) -> Self {
        Self::start_slow(body, Duration::ZERO)
    }

    /// Like [`FakeApi::start`], answering each request `delay` after it arrived: an external
    /// API under strain. Requests are answered concurrently, each on its own thread.
    pub fn start_slow(body: impl Into<String>, delay: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let body = Arc::new(Mutex::new(body.into()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (answer, record) = (body.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (answer, record) = (answer.clone(), record.clone());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 8192];
                    let read = stream.read(&mut buf).unwrap_or(0);
                    record
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&buf[..read]).into_owned());
                    // The stand-in's own latency, not synchronisation.
                    std::thread::sleep(delay);
                    let body = answer.lock().unwrap().clone();
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                });
            }
        });
        Self {
            port,
            body,
            requests,
        }
    }

    /// What later requests get.
    pub fn set_body(&self, body: impl Into<String>) {
        *self.body.lock().unwrap() = body.into();
    }

    /// How many requests arrived.
    pub fn hits(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// The request line and headers of each request so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// The pairs of a rendered tab whose tree is one key-values node (the probe's `imports`).
pub fn key_values(tab: &Value) -> std::collections::HashMap<String, String> {
    tab["tree"]["pairs"]
        .as_array()
        .unwrap_or_else(|| panic!("not key-values: {tab:#}"))
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_string(),
                pair[1].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A running server; killed when dropped.
pub struct Server {
    child: Child,
    pub base_url: String,
    log: PathBuf,
    agent: ureq::Agent,
}

impl Server {
    /// Starts `greenroom serve` with these catalog paths and plugins folder, storing its
    /// database in `data`.
    pub fn start(catalogs: &[PathBuf], plugins: &Path, data: &Path) -> Server {
        Server::start_with_args(catalogs, plugins, data, &[])
    }

    /// Like [`Server::start`], with extra `greenroom serve` flags (e.g.
    /// `["--orphan-strategy", "keep"]`).
    pub fn start_with_args(
        catalogs: &[PathBuf],
        plugins: &Path,
        data: &Path,
        extra_args: &[&str],
    ) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = data.with_extension("log");
        let mut command = Command::new(greenroom_binary());
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
            .arg(data)
            .arg("--plugins")
            .arg(plugins)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1");
        for catalog in catalogs {
            command.arg("--catalog").arg(catalog);
        }
        if !extra_args.contains(&"--plugin-cache") {
            command.arg("--plugin-cache").arg(shared_plugin_cache());
        }
        command.args(extra_args);
        // No pooled connections: the server may close an idle keep-alive connection just as
        // the next request is written on it, which fails that request ("Peer disconnected").
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_idle_connections(0)
            .build()
            .into();
        let mut server = Server {
            child: command.spawn().expect("cannot start greenroom"),
            base_url: format!("http://127.0.0.1:{port}"),
            log,
            agent,
        };
        server.wait_until_ready();
        server
    }

    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "greenroom exited with {status} before serving:\n{}",
                    self.log()
                );
            }
            // Plugins compile in the background: ready once none is still loading.
            let plugins = self
                .agent
                .get(format!("{}/api/plugins", self.base_url))
                .call()
                .ok()
                .and_then(|mut response| response.body_mut().read_to_string().ok());
            if plugins.is_some_and(|list| !list.contains("\"state\":\"loading\"")) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "greenroom did not serve within {START_DEADLINE:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// GETs a path; returns the status and the JSON body (Null when the body is not JSON).
    pub fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .agent
            .get(format!("{}{path}", self.base_url))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        read_response(response)
    }

    /// GETs a path; returns the status, the value of one response header (if present) and the
    /// JSON body (Null when the body is not JSON).
    pub fn get_with_header(&self, path: &str, header: &str) -> (u16, Option<String>, Value) {
        let response = self
            .agent
            .get(format!("{}{path}", self.base_url))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let value = response
            .headers()
            .get(header)
            .map(|v| v.to_str().unwrap().to_string());
        let (status, body) = read_response(response);
        (status, value, body)
    }

    /// GETs a path; returns the status, the response headers (names lowercased) and the body
    /// as bytes.
    pub fn get_bytes(&self, path: &str) -> (u16, BTreeMap<String, String>, Vec<u8>) {
        let mut response = self
            .agent
            .get(format!("{}{path}", self.base_url))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_lowercase(),
                    value.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let body = response.body_mut().read_to_vec().unwrap_or_default();
        (response.status().as_u16(), headers, body)
    }

    /// POSTs a JSON body to a path; returns the status and the JSON body (Null when the body
    /// is not JSON).
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .agent
            .post(format!("{}{path}", self.base_url))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        read_response(response)
    }

    /// POSTs raw bytes (e.g. a `.wasm` upload); returns the status and the JSON body.
    pub fn post_bytes(&self, path: &str, bytes: &[u8]) -> (u16, Value) {
        let response = self
            .agent
            .post(format!("{}{path}", self.base_url))
            .header("Content-Type", "application/wasm")
            .send(bytes)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        read_response(response)
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// DELETEs a path; returns the status and the JSON body (Null when there is none).
    pub fn delete(&self, path: &str) -> (u16, Value) {
        let response = self
            .agent
            .delete(format!("{}{path}", self.base_url))
            .call()
            .unwrap_or_else(|e| panic!("DELETE {path}: {e}"));
        read_response(response)
    }

    /// GETs a path that must answer 200 and returns its JSON.
    /// The tabs plugins offer for an entity, as `plugin/tab`.
    pub fn tab_ids(&self, entity_ref: &str) -> Vec<String> {
        self.get_ok(&format!("/api/plugins/tabs?entity={entity_ref}"))["tabs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                format!(
                    "{}/{}",
                    t["pluginId"].as_str().unwrap(),
                    t["tabId"].as_str().unwrap()
                )
            })
            .collect()
    }

    pub fn get_ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path} answered {status}: {body}");
        body
    }

    /// Sends one request written by hand, with exactly these headers (a browser's `Origin`,
    /// `Sec-Fetch-Site`, any `Host`): what an HTTP client library would not send as given.
    /// Returns the status and the JSON body (Null when there is none).
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Value) {
        let (status, _, body) = self.raw_text(method, path, headers, body);
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// Like [`Server::raw`], answering the status, the headers (names lowercased) and the
    /// body as text.
    pub fn raw_text(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, BTreeMap<String, String>, String) {
        let address = self.base_url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nconnection: close\r\ncontent-length: {}\r\n",
            body.len()
        );
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("host"))
        {
            head.push_str(&format!("host: {address}\r\n"));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).unwrap();
        let response = String::from_utf8_lossy(&response);
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("{method} {path}: not an HTTP response: {head}"));
        let headers = head
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_lowercase(), value.trim().to_string()))
            .collect();
        (status, headers, body.to_string())
    }

    /// A JSON request as `who`: a user signed in through a trusted proxy
    /// (`x-forwarded-user`), or the bearer of a static token when `who` is `Bearer <token>`.
    pub fn call_as(
        &self,
        who: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let identity = match who.strip_prefix("Bearer ") {
            Some(_) => ("authorization", who),
            None => ("x-forwarded-user", who),
        };
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        self.raw(
            method,
            path,
            &[identity, ("content-type", "application/json")],
            body.as_bytes(),
        )
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The status and JSON body (Null when the body is empty or not JSON) of a response.
fn read_response(mut response: ureq::http::Response<ureq::Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The `metadata.name` of each entity in a JSON array of entities.
pub fn names(items: &Value) -> Vec<String> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

/// Proxy sign-in for users on loopback (`x-forwarded-user` naming a User entity), as a
/// literal for `concat!`.
#[macro_export]
macro_rules! proxy_sign_in {
    () => {
        "auth:
  providers:
    proxy:
      trustedPeers: [127.0.0.1]
      signIn:
        resolvers: [{resolver: usernameMatchingUserEntityName}]
"
    };
}

/// One request a [`StandIn`] received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Names lowercased.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// A loopback stand-in for an external service's API: each request, read whole, is
/// recorded and answered with the (status, JSON body) `answer` gives, on a thread of its
/// own.
pub struct StandIn {
    pub port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl StandIn {
    pub fn start(answer: impl Fn(&Received) -> (u16, String) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let (record, answer) = (received.clone(), Arc::new(answer));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (record, answer) = (record.clone(), answer.clone());
                std::thread::spawn(move || {
                    let Some(request) = read_request(&mut stream) else {
                        return;
                    };
                    record.lock().unwrap().push(request.clone());
                    let (status, body) = answer(&request);
                    let reason = match status {
                        200 => "OK",
                        201 => "Created",
                        400 => "Bad Request",
                        401 => "Unauthorized",
                        404 => "Not Found",
                        _ => "Internal Server Error",
                    };
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} {reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                });
            }
        });
        Self { port, received }
    }

    /// Every request so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// Reads one HTTP/1.1 request: its head, then as many body bytes as `content-length` says.
fn read_request(stream: &mut std::net::TcpStream) -> Option<Received> {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let read = stream.read(&mut buf).ok().filter(|&n| n > 0)?;
        bytes.extend_from_slice(&buf[..read]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut request_line = lines.next()?.split(' ');
    let (method, target) = (request_line.next()?, request_line.next()?);
    let headers: BTreeMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_lowercase(), value.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = bytes[head_end + 4..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut buf).ok().filter(|&n| n > 0)?;
        body.extend_from_slice(&buf[..read]);
    }
    Some(Received {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// `%XX` escapes decoded (`escalation_policy_ids%5B%5D` is `escalation_policy_ids[]`).
pub fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Calls `check` every 20 ms until it returns `Some`, and returns that; fails the test with
/// `what` once `timeout` has passed. Use it instead of sleeping to wait for something the
/// server does asynchronously.
pub fn eventually<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
