//! A harness that runs the real `greenroom serve` on a free loopback port with a temporary
//! data folder, for end-to-end tests.
//!
//! Built artefacts come from `GREENROOM_BIN` / `GREENROOM_PLUGINS` (set by `cargo xtask
//! test`), or from their default places under `target/` after `cargo xtask build`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
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
        command.args(extra_args);
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
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
            if self
                .agent
                .get(format!("{}/api/plugins", self.base_url))
                .call()
                .is_ok()
            {
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
    pub fn get_ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path} answered {status}: {body}");
        body
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
