//! Tasks: created from a template and the form's values, stored with their events, run by a
//! bounded pool of worker threads, cancelled, retried from the step that failed, and resumed
//! after a restart from the last step that completed. Secrets stay in memory.

mod run;
mod secrets;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde_json::{Map, Value, json};

use super::actions::Stop;
use super::template::Template;
use super::{ScaffolderError, Workspace};
use crate::scaffolder::Scaffolder;
use run::{Ended, Run, Sink};
use secrets::Redactor;
pub use store::TaskQuery;
use store::{EventRow, TaskRow};

/// How often a running task's heartbeat is written.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// Most a dry run's `directoryContents` may hold, and most it returns.
const MAX_DRY_RUN_BYTES: usize = 32 << 20;
/// Dry runs at once; more are told to come back.
const MAX_DRY_RUNS: usize = 4;
/// Longest a dry run may take: someone is waiting for its answer.
const DRY_RUN_TIME: Duration = Duration::from_secs(60);

/// A file a dry run produced.
pub struct DryRunFile {
    pub path: String,
    pub contents: Vec<u8>,
    pub executable: bool,
}

/// What a dry run did: its log, the files it left, its output and the steps it had.
pub struct DryRun {
    pub log: Vec<Value>,
    pub files: Vec<DryRunFile>,
    pub output: Value,
    pub steps: Vec<Value>,
}

/// A running task's events: redacted, capped, stored and sent to live streams.
struct TaskSink<'a> {
    scaffolder: &'a Scaffolder,
    task_id: &'a str,
    redactor: &'a Redactor,
    log_bytes: usize,
    truncated: bool,
}

impl Sink for TaskSink<'_> {
    fn emit(&mut self, kind: &str, body: Value) {
        let body = self.redactor.json(&body);
        let message_len = body["message"].as_str().map_or(0, str::len);
        // A step's status changes always go out; plain log lines stop at the cap.
        if body.get("status").is_none() {
            if self.truncated {
                return;
            }
            self.log_bytes += message_len;
            if self.log_bytes > self.scaffolder.limits.max_log_bytes {
                self.truncated = true;
                let note = json!({"message": format!(
                    "The log is longer than {} KiB; further lines are left out",
                    self.scaffolder.limits.max_log_bytes >> 10
                )});
                self.scaffolder.emit(self.task_id, "log", &note);
                return;
            }
        }
        self.scaffolder.emit(self.task_id, kind, &body);
    }
}

/// A dry run's events, kept in order, plain lines up to a cap.
struct Collect {
    events: Vec<Value>,
    bytes_left: usize,
}

impl Sink for Collect {
    fn emit(&mut self, _kind: &str, body: Value) {
        let size = body["message"].as_str().map_or(0, str::len);
        if body.get("status").is_none() {
            if size > self.bytes_left {
                return;
            }
            self.bytes_left -= size;
        }
        self.events.push(json!({"body": body}));
    }
}

/// Secrets are strings, as Backstage types them: each can then be masked wherever it goes.
fn check_secrets(secrets: &Map<String, Value>) -> Result<(), ScaffolderError> {
    match secrets.iter().find(|(_, v)| !v.is_string()) {
        Some((name, _)) => Err(ScaffolderError::Input(format!(
            "secrets.{name} must be a string"
        ))),
        None => Ok(()),
    }
}

impl Scaffolder {
    fn emit(&self, task_id: &str, kind: &str, body: &Value) {
        let sent = self
            .store
            .add_event(task_id, kind, body, |event| self.send(event));
        if let Err(e) = sent {
            tracing::error!(task = task_id, "cannot store a task event: {e:#}");
        }
    }

    /// Called while the store still holds its lock, so streams get events in id order.
    fn send(&self, event: EventRow) {
        let _ = self.events.send(Arc::new(event));
    }

    /// Puts tasks a stopped server left running back in the queue and starts the workers.
    /// Call from within the tokio runtime: plugin actions are driven on it.
    pub fn start(self: &Arc<Self>) -> anyhow::Result<()> {
        let _ = self.runtime.set(tokio::runtime::Handle::current());
        for id in self.store.recover()? {
            self.emit(
                &id,
                "recovered",
                &json!({"message": "The server restarted while this task ran; it resumes from its last completed step"}),
            );
        }
        for n in 0..self.workers {
            let me = self.clone();
            std::thread::Builder::new()
                .name(format!("scaffolder-{n}"))
                .spawn(move || me.work())?;
        }
        let me = self.clone();
        std::thread::Builder::new()
            .name("scaffolder-heartbeat".into())
            .spawn(move || me.beat())?;
        Ok(())
    }

    fn work(&self) {
        loop {
            let seen = *self.wake.0.lock().unwrap_or_else(|e| e.into_inner());
            match self.claim() {
                Ok(Some((task, stop))) => {
                    let id = task.id.clone();
                    // A bug in an action must cost its task, not this worker.
                    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        self.run_task(task, &stop)
                    }));
                    if ran.is_err() {
                        tracing::error!(task = id, "a scaffolder task panicked");
                        self.finish(
                            &id,
                            Ended::Failed(
                                "the task failed unexpectedly; the server log has details".into(),
                            ),
                        );
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::error!("cannot take a scaffolder task: {e:#}"),
            }
            // Wait for a new task; the timeout only guards against a missed wake-up.
            let generation = self.wake.0.lock().unwrap_or_else(|e| e.into_inner());
            if *generation == seen {
                let _ = self.wake.1.wait_timeout(generation, Duration::from_secs(5));
            }
        }
    }

    fn beat(&self) {
        loop {
            std::thread::sleep(HEARTBEAT);
            let ids: Vec<String> = self
                .running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .keys()
                .cloned()
                .collect();
            if let Err(e) = self.store.heartbeat(&ids) {
                tracing::error!("cannot write scaffolder heartbeats: {e:#}");
            }
        }
    }

    fn notify_workers(&self) {
        *self.wake.0.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.wake.1.notify_all();
    }

    /// Takes the next open task and registers its stop signal in one step, so a cancel
    /// always finds a processing task's signal.
    fn claim(&self) -> anyhow::Result<Option<(TaskRow, Arc<Stop>)>> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let Some(task) = self.store.claim()? else {
            return Ok(None);
        };
        let stop = Arc::new(Stop::new(self.limits.task_time));
        running.insert(task.id.clone(), stop.clone());
        Ok(Some((task, stop)))
    }

    fn run_task(&self, task: TaskRow, stop: &Stop) {
        let id = task.id.as_str();
        let secrets = self
            .secrets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned();
        let ended = match (task.has_secrets, secrets) {
            (true, None) => Ended::Failed(
                "This task's secrets were lost when the server restarted (they are never \
                 written to disk); retry it and give them again"
                    .into(),
            ),
            (_, secrets) => self.run_steps(&task, &secrets.unwrap_or_default(), stop),
        };
        self.finish(id, ended);
    }

    /// Records how a task ended and lets go of it. Under the `running` lock, so a retry or
    /// cancel sees the task either running or ended, never in between.
    fn finish(&self, id: &str, ended: Ended) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let (status, body, output) = match ended {
            Ended::Completed(output) => (
                "completed",
                json!({"message": "Run completed with status: completed", "output": output}),
                Some(output),
            ),
            Ended::Failed(message) => (
                "failed",
                json!({"message": "Run completed with status: failed",
                    "error": {"name": "Error", "message": message}}),
                None,
            ),
            Ended::Cancelled => (
                "cancelled",
                json!({"message": "Run completed with status: cancelled"}),
                None,
            ),
        };
        if status == "completed" {
            let _ = std::fs::remove_dir_all(self.workspace_dir(id));
            self.secrets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(id);
        }
        let ended = self.store.end(
            id,
            &["processing"],
            status,
            output.as_ref(),
            &body,
            |event| self.send(event),
        );
        if let Err(e) = ended {
            tracing::error!(task = id, "cannot record how a task ended: {e:#}");
        }
        running.remove(id);
    }

    fn workspace_dir(&self, id: &str) -> std::path::PathBuf {
        self.dir.join("tasks").join(id)
    }

    fn run_steps(&self, task: &TaskRow, secrets: &Map<String, Value>, stop: &Stop) -> Ended {
        let dir = self.workspace_dir(&task.id);
        let workspace = match std::fs::create_dir_all(&dir).and_then(|_| Workspace::new(&dir)) {
            Ok(w) => w,
            Err(e) => return Ended::Failed(format!("cannot create the task's workspace: {e}")),
        };
        let template_dir = task.spec["templateInfo"]["baseUrl"]
            .as_str()
            .and_then(|u| u.strip_prefix("file://"))
            .map(std::path::PathBuf::from);
        let redactor = Redactor::new(secrets);
        let mut run = Run {
            scaffolder: self,
            task_id: &task.id,
            spec: &task.spec,
            secrets,
            redactor: &redactor,
            workspace: &workspace,
            template_dir: template_dir.as_deref(),
            stop,
            dry_run: false,
            done: task.steps.as_object().cloned().unwrap_or_default(),
        };
        let mut sink = TaskSink {
            scaffolder: self,
            task_id: &task.id,
            redactor: &redactor,
            log_bytes: 0,
            truncated: false,
        };
        run.execute(&mut sink, &mut |done| {
            if let Err(e) = self
                .store
                .save_steps(&task.id, &Value::Object(done.clone()))
            {
                tracing::error!(task = task.id, "cannot record a finished step: {e:#}");
            }
        })
    }

    /// Checks values and steps before anything runs, then stores the task and wakes a
    /// worker. Returns the task's id.
    pub fn create_task(
        &self,
        template: &Template,
        values: Value,
        secrets: Map<String, Value>,
        user: &str,
    ) -> Result<String, ScaffolderError> {
        check_secrets(&secrets)?;
        self.precheck(template, &values, &secrets)?;
        let id = uuid::Uuid::new_v4().to_string();
        let steps: Vec<Value> = template.steps.iter().map(|s| s.to_json()).collect();
        let mut template_info = json!({
            "entityRef": template.entity_ref,
            "entity": {"metadata": template.entity["metadata"]},
        });
        if let Some(dir) = &template.base_dir {
            template_info["baseUrl"] = format!("file://{}/", dir.display()).into();
        }
        let spec = json!({
            "apiVersion": template.entity["apiVersion"],
            "steps": steps,
            "output": template.output,
            "parameters": values,
            "user": {"ref": user},
            "templateInfo": template_info,
        });
        if !secrets.is_empty() {
            self.secrets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.clone(), secrets.clone());
        }
        self.store.insert(&id, &spec, user, !secrets.is_empty())?;
        self.notify_workers();
        Ok(id)
    }

    /// What `POST /tasks` and dry runs refuse before anything runs: values that do not fit
    /// the parameters, unknown actions, expressions that do not parse, and inputs that do
    /// not fit their action (as far as they can be known before the steps run).
    fn precheck(
        &self,
        template: &Template,
        values: &Value,
        secrets: &Map<String, Value>,
    ) -> Result<(), ScaffolderError> {
        let mut checked = values.clone();
        if let Some(map) = checked.as_object_mut() {
            // Secret fields are part of the form, sent apart from the values.
            for name in template.secret_fields() {
                if let Some(secret) = secrets.get(&name) {
                    map.insert(name, secret.clone());
                }
            }
        }
        template
            .validate(&checked, None)
            .map_err(ScaffolderError::Invalid)?;
        let context = json!({
            "parameters": values, "steps": {}, "user": {"ref": super::GUEST},
            "secrets": secrets, "context": {"task": {"id": ""}},
        });
        let expressions = &self.services.expressions;
        for step in &template.steps {
            let named = |e: String| {
                ScaffolderError::Input(format!("step '{}' ({}): {e}", step.id, step.action))
            };
            let action = self.action(&step.action).ok_or_else(|| {
                named(format!(
                    "Template action with ID '{}' is not registered.",
                    step.action
                ))
            })?;
            // Inputs that depend on other steps or on `each` are only known when it runs.
            if step.each.is_some()
                || mentions_runtime(step.condition.as_ref().unwrap_or(&Value::Null))
            {
                continue;
            }
            if let Some(condition @ Value::String(_)) = &step.condition {
                let rendered = expressions
                    .render_value("if", condition, &context)
                    .map_err(named)?;
                if !super::Expressions::is_truthy(&rendered) {
                    continue;
                }
            }
            if step.condition == Some(Value::Bool(false)) || step.input.is_null() {
                continue;
            }
            let input = expressions
                .render_value("input", &step.input, &context)
                .map_err(named)?;
            let mut unknown = Vec::new();
            runtime_pointers(&step.input, String::new(), &mut unknown);
            check_known_input(&action, &action.id, &input, &unknown).map_err(named)?;
        }
        Ok(())
    }

    pub fn task(&self, id: &str) -> Result<Value, ScaffolderError> {
        self.store
            .get(id)?
            .map(|t| t.to_json())
            .ok_or_else(|| ScaffolderError::NotFound(format!("Task with id {id} does not exist")))
    }

    pub fn tasks(&self, query: &TaskQuery) -> Result<(Vec<Value>, u64), ScaffolderError> {
        let (rows, total) = self.store.list(query)?;
        Ok((rows.iter().map(TaskRow::to_json).collect(), total))
    }

    pub fn events_after(&self, id: &str, after: i64) -> Result<Vec<EventRow>, ScaffolderError> {
        self.task(id)?;
        Ok(self.store.events_after(id, after)?)
    }

    /// Every event from now on, of every task.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<EventRow>> {
        self.events.subscribe()
    }

    /// Cancels an open or running task; the running action is stopped.
    pub fn cancel(&self, id: &str) -> Result<(), ScaffolderError> {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let task = self.store.get(id)?.ok_or_else(|| {
            ScaffolderError::NotFound(format!("Task with id {id} does not exist"))
        })?;
        let note = json!({"message": format!("Step of task {id} has been cancelled.")});
        match task.status.as_str() {
            "open" => {
                self.emit(id, "cancelled", &note);
                self.store.end(
                    id,
                    &["open"],
                    "cancelled",
                    None,
                    &json!({"message": "Run completed with status: cancelled"}),
                    |event| self.send(event),
                )?;
                Ok(())
            }
            "processing" => {
                self.emit(id, "cancelled", &note);
                if let Some(stop) = running.get(id) {
                    stop.cancel();
                }
                Ok(())
            }
            "cancelled" => Ok(()),
            status => Err(ScaffolderError::Conflict(format!(
                "Task {id} has ended ({status}) and cannot be cancelled"
            ))),
        }
    }

    /// Runs a failed or cancelled task again from its first step that did not complete,
    /// with the workspace and outputs of those that did. `secrets` replace the task's.
    pub fn retry(
        &self,
        id: &str,
        secrets: Option<Map<String, Value>>,
    ) -> Result<(), ScaffolderError> {
        if let Some(secrets) = &secrets {
            check_secrets(secrets)?;
        }
        let _running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let task = self.store.get(id)?.ok_or_else(|| {
            ScaffolderError::NotFound(format!("Task with id {id} does not exist"))
        })?;
        if !self.store.reopen(id)? {
            return Err(ScaffolderError::Conflict(format!(
                "Task {id} is {}; only failed or cancelled tasks can be retried",
                task.status
            )));
        }
        if let Some(secrets) = secrets.filter(|s| !s.is_empty()) {
            self.secrets
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id.to_string(), secrets);
        }
        self.emit(
            id,
            "log",
            &json!({"message": "The task was retried; it resumes from the first step that did not complete"}),
        );
        self.notify_workers();
        Ok(())
    }

    /// Runs a template given whole (with its files as `contents`) in a scratch folder:
    /// actions that reach outside the workspace are skipped, nothing is kept.
    pub fn dry_run(
        &self,
        entity: &Value,
        values: Value,
        secrets: Map<String, Value>,
        contents: Vec<(String, Vec<u8>)>,
    ) -> Result<DryRun, ScaffolderError> {
        let mut template = Template::from_entity(entity)
            .map_err(|e| ScaffolderError::Input(format!("template: {e}")))?;
        check_secrets(&secrets)?;
        let slot = DryRunSlot::take(&self.dry_runs)?;
        let total: usize = contents.iter().map(|(_, c)| c.len()).sum();
        if total > MAX_DRY_RUN_BYTES {
            return Err(ScaffolderError::Input(format!(
                "directoryContents: more than {} MiB",
                MAX_DRY_RUN_BYTES >> 20
            )));
        }
        self.precheck(&template, &values, &secrets)?;
        let scratch = Scratch(
            self.dir
                .join("dry-run")
                .join(uuid::Uuid::new_v4().to_string()),
        );
        let (template_dir, work_dir) = (scratch.0.join("template"), scratch.0.join("workspace"));
        for dir in [&template_dir, &work_dir] {
            std::fs::create_dir_all(dir).map_err(anyhow::Error::from)?;
        }
        let template_files = Workspace::new(&template_dir).map_err(anyhow::Error::from)?;
        for (i, (path, bytes)) in contents.iter().enumerate() {
            template_files
                .write_file(path, bytes)
                .map_err(|e| ScaffolderError::Input(format!("directoryContents[{i}].path: {e}")))?;
        }
        template.base_dir = Some(template_dir.clone());
        let workspace = Workspace::new(&work_dir).map_err(anyhow::Error::from)?;
        let steps: Vec<Value> = template.steps.iter().map(|s| s.to_json()).collect();
        let spec = json!({
            "steps": steps, "output": template.output, "parameters": values,
            "user": {"ref": super::GUEST},
        });
        let redactor = Redactor::new(&secrets);
        let stop = Stop::new(DRY_RUN_TIME.min(self.limits.task_time));
        let mut run = Run {
            scaffolder: self,
            task_id: "dry-run",
            spec: &spec,
            secrets: &secrets,
            redactor: &redactor,
            workspace: &workspace,
            template_dir: Some(&template_dir),
            stop: &stop,
            dry_run: true,
            done: Map::new(),
        };
        let mut log = Collect {
            events: Vec::new(),
            bytes_left: self.limits.max_log_bytes,
        };
        let output = match run.execute(&mut log, &mut |_| {}) {
            Ended::Completed(output) => output,
            Ended::Failed(_) | Ended::Cancelled => Value::Null,
        };
        let mut files = Vec::new();
        let mut returned = 0;
        for path in workspace.list_files().map_err(ScaffolderError::Input)? {
            use std::os::unix::fs::PermissionsExt;
            let full = workspace.resolve(&path).map_err(ScaffolderError::Input)?;
            let executable = std::fs::metadata(&full)
                .map(|m| m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false);
            let contents = workspace.read_file(&path).map_err(ScaffolderError::Input)?;
            returned += contents.len();
            if returned > MAX_DRY_RUN_BYTES {
                return Err(ScaffolderError::Input(format!(
                    "the dry run wrote more than the {} MiB it may return",
                    MAX_DRY_RUN_BYTES >> 20
                )));
            }
            files.push(DryRunFile {
                path,
                contents,
                executable,
            });
        }
        drop(slot);
        Ok(DryRun {
            log: log.events,
            files,
            output,
            steps,
        })
    }
}

/// One of the [`MAX_DRY_RUNS`] dry runs that may go on at once, given back when dropped.
struct DryRunSlot<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> DryRunSlot<'a> {
    fn take(count: &'a std::sync::atomic::AtomicUsize) -> Result<Self, ScaffolderError> {
        use std::sync::atomic::Ordering;
        if count.fetch_add(1, Ordering::SeqCst) >= MAX_DRY_RUNS {
            count.fetch_sub(1, Ordering::SeqCst);
            return Err(ScaffolderError::Busy(format!(
                "{MAX_DRY_RUNS} dry runs are going on; try again in a moment"
            )));
        }
        Ok(Self(count))
    }
}

impl Drop for DryRunSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A dry run's folder, removed however the run ends.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl DryRunFile {
    pub fn to_json(&self) -> Value {
        json!({
            "path": self.path,
            "base64Content": base64::engine::general_purpose::STANDARD.encode(&self.contents),
            "executable": self.executable,
        })
    }
}

/// Whether a value holds an expression reading what is known only while a task runs.
fn mentions_runtime(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains("${{") && (s.contains("steps") || s.contains("each")),
        Value::Array(items) => items.iter().any(mentions_runtime),
        Value::Object(map) => map.values().any(mentions_runtime),
        _ => false,
    }
}

/// JSON pointers of the input's values that depend on other steps or `each`.
fn runtime_pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                runtime_pointers(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                runtime_pointers(item, format!("{at}/{key}"), out);
            }
        }
        other if mentions_runtime(other) => out.push(at),
        _ => {}
    }
}

/// Validates an input, leaving out errors at values that are only known at run time.
fn check_known_input(
    action: &super::ActionInfo,
    name: &str,
    input: &Value,
    unknown: &[String],
) -> Result<(), String> {
    let validator = jsonschema::validator_for(&action.input)
        .map_err(|e| format!("action {} has an invalid input schema: {e}", action.id))?;
    let covered = |pointer: &str| {
        unknown
            .iter()
            .any(|u| pointer == u || pointer.starts_with(&format!("{u}/")))
    };
    let problems: Vec<String> = validator
        .iter_errors(input)
        .filter(|e| {
            let at = e.instance_path().to_string();
            let missing = match e.kind() {
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    format!("{at}/{}", property.as_str().unwrap_or_default())
                }
                _ => at.clone(),
            };
            !covered(&at) && !covered(&missing)
        })
        .map(|e| {
            format!(
                "instance{} {e}",
                e.instance_path().to_string().replace('/', ".")
            )
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "Invalid input passed to action {name}, {}",
            problems.join(", ")
        ))
    }
}
