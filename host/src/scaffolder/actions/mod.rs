//! The actions a template's steps run: Backstage's built-in ones (same ids, inputs and
//! outputs) and those plugins contribute. Each built-in action is a plain function of its
//! input and a [`Step`] (the task's workspace, the template's folder, limits, a stop signal,
//! a log); none reaches anything the step does not hand it.

mod catalog;
mod debug;
mod fetch;
mod fs;
pub mod git;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use super::Workspace;
use super::expr::Expressions;
use crate::catalog::Catalog;

/// An action's description for `GET /v2/actions`.
#[derive(Debug, Clone)]
pub struct ActionInfo {
    pub id: String,
    pub description: String,
    pub input: Value,
    pub output: Value,
    /// Dry runs skip actions that would reach outside the workspace.
    pub supports_dry_run: bool,
}

impl ActionInfo {
    /// Backstage's shape: `{id, description, schema: {input, output}, examples}`.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "description": self.description,
            "schema": {"input": self.input, "output": self.output},
            "examples": [],
        })
    }
}

/// What a plugin-contributed action returns: its output object, or a message for the log.
pub type ExternalRun = Pin<Box<dyn Future<Output = Result<Map<String, Value>, String>> + Send>>;

/// Actions contributed from outside the scaffolder (plugins), wired in by the application.
pub trait ExternalActions: Send + Sync {
    fn list(&self) -> Vec<ActionInfo>;
    /// Runs action `id` (`plugin:action`) on the task's workspace.
    fn run(&self, id: &str, input: Value, workspace: Workspace) -> ExternalRun;
}

/// Caps that keep one template from filling the disk or running forever.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_files: usize,
    pub max_file_bytes: u64,
    pub max_workspace_bytes: u64,
    pub max_each: usize,
    pub max_log_bytes: usize,
    pub task_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_files: 10_000,
            max_file_bytes: 64 << 20,
            max_workspace_bytes: 512 << 20,
            max_each: 1_000,
            max_log_bytes: 1 << 20,
            task_time: Duration::from_secs(15 * 60),
        }
    }
}

/// Stops a running task: cancelled by a person, or out of time.
pub struct Stop {
    cancelled: Mutex<bool>,
    woken: Condvar,
    /// Wakes async waiters (a plugin's action) when cancelled.
    notify: tokio::sync::Notify,
    deadline: Instant,
    allowed: Duration,
}

impl Stop {
    pub fn new(allowed: Duration) -> Self {
        Self {
            cancelled: Mutex::new(false),
            woken: Condvar::new(),
            notify: tokio::sync::Notify::new(),
            deadline: Instant::now() + allowed,
            allowed,
        }
    }

    pub fn cancel(&self) {
        *self.cancelled.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.woken.notify_all();
        self.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        *self.cancelled.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An error once cancelled or out of time; actions call it between pieces of work.
    pub fn check(&self) -> Result<(), String> {
        if self.is_cancelled() {
            Err("the task was cancelled".into())
        } else if Instant::now() >= self.deadline {
            Err(format!(
                "the task ran longer than its {} s limit",
                self.allowed.as_secs()
            ))
        } else {
            Ok(())
        }
    }

    /// Waits `time`, or less when cancelled or out of time (then an error).
    pub fn wait(&self, time: Duration) -> Result<(), String> {
        let until = (Instant::now() + time).min(self.deadline);
        let mut cancelled = self.cancelled.lock().unwrap_or_else(|e| e.into_inner());
        while !*cancelled {
            let now = Instant::now();
            if now >= until {
                break;
            }
            cancelled = self
                .woken
                .wait_timeout(cancelled, until - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(cancelled);
        self.check()
    }
}

impl Stop {
    /// `work`, unless the task is cancelled or runs out of time first.
    pub async fn until_stopped<T>(
        &self,
        work: impl Future<Output = Result<T, String>>,
    ) -> Result<T, String> {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        self.check()?;
        tokio::select! {
            done = work => done,
            _ = notified => Err("the task was cancelled".into()),
            _ = tokio::time::sleep_until(self.deadline.into()) => self.check().and(Err("the task ran out of time".into())),
        }
    }
}

/// Files and bytes a step may still write.
pub struct Budget {
    pub files: usize,
    pub bytes: u64,
    pub max_file_bytes: u64,
}

impl Budget {
    fn take(&mut self, path: &str, bytes: u64) -> Result<(), String> {
        if bytes > self.max_file_bytes {
            return Err(format!(
                "{path}: {bytes} bytes is more than the {} MiB a file may hold",
                self.max_file_bytes >> 20
            ));
        }
        if self.files == 0 {
            return Err(format!(
                "{path}: the task wrote more files than it may (the workspace limit)"
            ));
        }
        if bytes > self.bytes {
            return Err(format!(
                "{path}: the task wrote more bytes than its workspace may hold"
            ));
        }
        self.files -= 1;
        self.bytes -= bytes;
        Ok(())
    }
}

/// The services actions may use beyond their workspace.
pub struct Services {
    pub catalog: Arc<Catalog>,
    pub expressions: Expressions,
    pub git: git::GitHosts,
    pub remote: Remote,
}

/// One run of an action.
pub struct Step<'a> {
    pub input: &'a Map<String, Value>,
    pub workspace: &'a Workspace,
    /// The template's own folder; relative URLs resolve inside it.
    pub template_dir: Option<&'a Path>,
    pub services: &'a Services,
    pub stop: &'a Stop,
    pub budget: &'a mut Budget,
    pub log: &'a mut dyn FnMut(String),
    pub dry_run: bool,
}

impl Step<'_> {
    fn string(&self, name: &str) -> Option<&str> {
        self.input.get(name).and_then(Value::as_str)
    }

    fn required(&self, name: &str) -> Result<&str, String> {
        self.string(name)
            .ok_or_else(|| format!("input.{name} is required"))
    }

    fn flag(&self, name: &str) -> bool {
        self.input
            .get(name)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// A file's bytes written to `path` (relative to the workspace), within the budget.
    fn write(&mut self, path: &str, contents: &[u8]) -> Result<(), String> {
        self.stop.check()?;
        self.budget.take(path, contents.len() as u64)?;
        self.workspace.write_file(path, contents)
    }

    /// Resolves a `url` input naming a folder: a path relative to the template's folder that
    /// stays inside it. A template reads only what its author ships with it.
    fn source(&self, url: &str) -> Result<PathBuf, String> {
        if let Some(remote) = self.services.remote.check(url)? {
            return Err(format!(
                "'{remote}': only single files (fetch:plain:file, fetch:template:file) are \
                 fetched from allowed hosts; a folder comes from the template's own folder"
            ));
        }
        let Some(dir) = self.template_dir else {
            return Err(format!(
                "'{url}' cannot be resolved: the template was not read from a file"
            ));
        };
        let relative = super::workspace::normalize(url)
            .map_err(|_| format!("'{url}' is outside the template's folder"))?;
        let path = dir.join(relative);
        let root = dir
            .canonicalize()
            .map_err(|e| format!("template folder {}: {e}", dir.display()))?;
        crate::support::paths::within(&root, &path)
            .map_err(|_| format!("'{url}' is outside the template's folder or missing"))
    }

    /// The bytes of the file a `url` input names: in the template's folder, or on a host the
    /// operator allowed; within the per-file cap either way.
    fn fetch_file(&self, url: &str) -> Result<Vec<u8>, String> {
        match self.services.remote.check(url)? {
            Some(remote) => {
                self.stop.check()?;
                self.services
                    .remote
                    .get(&remote, self.budget.max_file_bytes)
            }
            None => {
                crate::support::files::read_bounded(&self.source(url)?, self.budget.max_file_bytes)
                    .map_err(|e| format!("{url}: {e}"))
            }
        }
    }
}

/// Remote files a template may fetch: only from the hosts in `scaffolder.allowedHosts`.
pub struct Remote {
    /// `host` or `host:port`, lowercase.
    pub allowed_hosts: Vec<String>,
}

impl Remote {
    /// `None` for a path (local), the URL when it is remote and allowed, else why not.
    fn check(&self, url: &str) -> Result<Option<url::Url>, String> {
        if !url.contains("://") && !url.starts_with("file:") {
            return Ok(None);
        }
        let parsed = url::Url::parse(url).map_err(|e| format!("'{url}': {e}"))?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_string(),
            (None, _) => String::new(),
        };
        let web = matches!(parsed.scheme(), "http" | "https");
        if !web
            || !self
                .allowed_hosts
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&host))
        {
            return Err(format!(
                "'{url}' is refused: templates fetch from their own folder (relative URLs \
                 such as ./skeleton) or from the hosts in scaffolder.allowedHosts, which \
                 does not list '{host}'"
            ));
        }
        Ok(Some(parsed))
    }

    /// GETs `url` (no redirects: they could lead off the allowed hosts).
    fn get(&self, url: &url::Url, limit: u64) -> Result<Vec<u8>, String> {
        let mut response = crate::support::outbound::agent(Duration::from_secs(30))
            .get(url.as_str())
            .call()
            .map_err(|e| format!("GET {url}: {e}"))?;
        if response.status() != 200 {
            return Err(format!("GET {url}: HTTP {}", response.status()));
        }
        let bytes = response
            .body_mut()
            .with_config()
            .limit(limit + 1)
            .read_to_vec()
            .map_err(|e| format!("GET {url}: {e}"))?;
        if bytes.len() as u64 > limit {
            return Err(format!(
                "GET {url}: more than the {} MiB a file may hold",
                limit >> 20
            ));
        }
        Ok(bytes)
    }
}

pub type Output = Map<String, Value>;

/// The built-in actions, in the order `GET /v2/actions` lists them.
pub fn builtin() -> Vec<ActionInfo> {
    [
        fetch::infos(),
        fs::infos(),
        catalog::infos(),
        debug::infos(),
        vec![git::info()],
    ]
    .concat()
}

/// Runs built-in action `id`; `None` when no built-in action has that id.
pub fn run_builtin(id: &str, step: &mut Step) -> Option<Result<Output, String>> {
    Some(match id {
        "fetch:plain" => fetch::plain(step),
        "fetch:plain:file" => fetch::plain_file(step),
        "fetch:template" => fetch::template(step),
        "fetch:template:file" => fetch::template_file(step),
        "fs:delete" => fs::delete(step),
        "fs:rename" => fs::rename(step),
        "fs:readdir" => fs::readdir(step),
        "catalog:write" => catalog::write(step),
        "catalog:fetch" => catalog::fetch(step),
        "catalog:register" => catalog::register(step),
        "debug:log" => debug::log(step),
        "debug:wait" => debug::wait(step),
        "publish:git" => git::publish(step),
        _ => return None,
    })
}

/// Example output from an output schema, for actions a dry run skips (as Backstage does).
pub fn example_output(schema: &Value) -> Value {
    if let Some(example) = schema["examples"].as_array().and_then(|e| e.first()) {
        return example.clone();
    }
    match schema["type"].as_str() {
        Some("object") => Value::Object(
            schema["properties"]
                .as_object()
                .map(|p| {
                    p.iter()
                        .map(|(k, v)| (k.clone(), example_output(v)))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        Some("array") => json!([example_output(&schema["items"])]),
        Some("number" | "integer") => json!(0),
        Some("boolean") => json!(false),
        Some("string") => json!("<example>"),
        _ => Value::Null,
    }
}

/// A JSON Schema object with these properties (`name`, schema) and required names.
fn object_schema(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_wakes_a_wait_when_cancelled_and_reports_time_running_out() {
        let stop = Arc::new(Stop::new(Duration::from_secs(60)));
        let waiter = {
            let stop = stop.clone();
            std::thread::spawn(move || stop.wait(Duration::from_secs(600)))
        };
        stop.cancel();
        assert_eq!(
            waiter.join().unwrap().unwrap_err(),
            "the task was cancelled"
        );
        let short = Stop::new(Duration::from_millis(1));
        let err = short.wait(Duration::from_secs(600)).unwrap_err();
        assert!(err.contains("limit"), "{err}");
    }

    #[test]
    fn example_outputs_follow_the_schema() {
        let schema = json!({"type": "object", "properties": {
            "remoteUrl": {"type": "string"}, "n": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string", "examples": ["x"]}}}});
        assert_eq!(
            example_output(&schema),
            json!({"remoteUrl": "<example>", "n": 0, "tags": ["x"]})
        );
    }
}
