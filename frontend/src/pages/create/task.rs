//! `/create/tasks/:id`: a task followed live. The task is read once; its events (`log`,
//! `completion`, `cancelled`, `recovered`) come over Server-Sent Events and drive the steps'
//! statuses, the log and the output. The stream replays a task's events from its start, so
//! the page shows the same whether it was opened during the run or after; events are told
//! apart by id, so a replay after a reconnect adds nothing twice.

use std::collections::{HashMap, HashSet};

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_params_map;
use serde_json::{Value, json};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{EventSource, MessageEvent};

use super::output::output_view;
use super::{TemplateId, local_time, status_badge};
use crate::api::{encode, get_json, post, post_json, text};
use crate::permissions::{TASK_CREATE, may};

#[component]
pub fn TaskPage() -> impl IntoView {
    let params = use_params_map();
    move || {
        let id = params.with(|p| p.get("id").unwrap_or_default());
        view! { <Task id=id/> }
    }
}

/// A step's run as its events tell it; times in milliseconds since the epoch.
#[derive(Clone, Default)]
struct StepRun {
    status: String,
    started: Option<f64>,
    ended: Option<f64>,
}

#[derive(Clone)]
struct LogLine {
    step: Option<String>,
    time: String,
    message: String,
}

/// The task as its events tell it.
#[derive(Clone, Copy)]
struct Live {
    status: RwSignal<String>,
    runs: RwSignal<HashMap<String, StepRun>>,
    log: RwSignal<Vec<LogLine>>,
    output: RwSignal<Option<Value>>,
    error: RwSignal<Option<String>>,
    /// Ids of the events applied, and the last one (the stream's `after` on reconnecting).
    seen: StoredValue<HashSet<String>>,
    last_id: StoredValue<Option<String>>,
}

const FINISHED: [&str; 3] = ["completed", "failed", "cancelled"];

fn finished(status: &str) -> bool {
    FINISHED.contains(&status)
}

impl Live {
    fn new() -> Self {
        Self {
            status: RwSignal::new(String::new()),
            runs: RwSignal::new(HashMap::new()),
            log: RwSignal::new(Vec::new()),
            output: RwSignal::new(None),
            error: RwSignal::new(None),
            seen: StoredValue::new(HashSet::new()),
            last_id: StoredValue::new(None),
        }
    }

    /// A retried or resumed task runs again from the first step that did not complete.
    fn restart(&self, status: &str) {
        self.status.set(status.into());
        self.runs.update(|runs| {
            runs.retain(|_, run| matches!(run.status.as_str(), "completed" | "skipped"))
        });
        self.output.set(None);
        self.error.set(None);
    }

    /// Applies one event; true when it ends the run (`completion`).
    fn apply(&self, kind: &str, event: &Value) -> bool {
        let id = match &event["id"] {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        if let Some(id) = &id {
            if !self
                .seen
                .try_update_value(|seen| seen.insert(id.clone()))
                .unwrap_or(true)
            {
                return false;
            }
            self.last_id.set_value(Some(id.clone()));
        }
        let body = &event["body"];
        let created = text(&event["createdAt"]);
        let at = time_of(&created);
        let step = body["stepId"].as_str().map(str::to_string);
        let mut ends = false;
        match kind {
            "log" => {
                if let (Some(step), Some(status)) = (&step, body["status"].as_str()) {
                    self.runs.update(|runs| {
                        let run = runs.entry(step.clone()).or_default();
                        match status {
                            "processing" => {
                                run.started = Some(at);
                                run.ended = None;
                            }
                            "open" => *run = StepRun::default(),
                            _ => run.ended = Some(at),
                        }
                        run.status = status.to_string();
                    });
                    if self.status.get_untracked() == "open" {
                        self.status.set("processing".into());
                    }
                }
            }
            "completion" => {
                let error = body["error"]["message"].as_str().map(str::to_string);
                // Backstage's body says how the run ended in its message only.
                let said = text(&body["message"]);
                let status = match body["status"].as_str() {
                    Some(s) if finished(s) => s.to_string(),
                    _ => match said.rsplit("status: ").next() {
                        Some(s) if said.contains("status: ") && finished(s) => s.to_string(),
                        _ if error.is_some() => "failed".into(),
                        _ => "completed".into(),
                    },
                };
                self.status.set(status);
                self.error.set(error);
                self.output
                    .set(Some(body["output"].clone()).filter(Value::is_object));
                ends = true;
            }
            "cancelled" => self.status.set("cancelled".into()),
            "recovered" => self.restart("processing"),
            _ => {}
        }
        let message = text(&body["message"]);
        if !message.is_empty() {
            self.log.update(|log| {
                log.push(LogLine {
                    step,
                    time: clock(&created),
                    message,
                })
            });
        }
        ends
    }
}

/// An open event stream and its handlers; dropping it closes the stream.
struct Stream {
    source: EventSource,
    _handlers: Vec<Closure<dyn FnMut(JsValue)>>,
}

impl Drop for Stream {
    fn drop(&mut self) {
        self.source.close();
    }
}

type StreamSlot = StoredValue<Option<Stream>, LocalStorage>;

/// Opens the task's event stream (after the last event seen, when there is one), replacing
/// any stream open before.
fn connect(id: &str, live: Live, slot: StreamSlot, on_end: Callback<()>, stopped: RwSignal<bool>) {
    slot.set_value(None);
    let mut url = format!("/api/scaffolder/v2/tasks/{}/eventstream", encode(id));
    if let Some(after) = live.last_id.get_value() {
        url.push_str(&format!("?after={}", encode(&after)));
    }
    let Ok(source) = EventSource::new(&url) else {
        stopped.set(true);
        return;
    };
    stopped.set(false);
    let mut handlers = Vec::new();
    // Named events, and unnamed ones carrying their type in the data.
    for name in ["log", "completion", "cancelled", "recovered", "message"] {
        let stream = source.clone();
        let handler = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
            let Some(event) = ev
                .unchecked_into::<MessageEvent>()
                .data()
                .as_string()
                .and_then(|data| serde_json::from_str::<Value>(&data).ok())
            else {
                return;
            };
            let kind = match name {
                "message" => text(&event["type"]),
                _ => name.to_string(),
            };
            if live.apply(&kind, &event) {
                stream.close();
                on_end.run(());
            }
        });
        let _ = source.add_event_listener_with_callback(name, handler.as_ref().unchecked_ref());
        handlers.push(handler);
    }
    // The browser reconnects by itself; a stream it gave up on, or one the server ends after
    // the run, is closed here.
    let stream = source.clone();
    let on_error = Closure::<dyn FnMut(JsValue)>::new(move |_| {
        if finished(&live.status.get_untracked()) {
            stream.close();
        } else if stream.ready_state() == EventSource::CLOSED {
            stopped.set(true);
        }
    });
    let _ = source.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
    handlers.push(on_error);
    slot.set_value(Some(Stream {
        source,
        _handlers: handlers,
    }));
}

#[component]
fn Task(id: String) -> impl IntoView {
    let task_url = format!("/api/scaffolder/v2/tasks/{}", encode(&id));
    let task = LocalResource::new({
        let url = task_url.clone();
        move || {
            let url = url.clone();
            async move { get_json::<Value>(&url).await }
        }
    });
    let live = Live::new();
    let filter = RwSignal::new(None::<String>);
    let stopped = RwSignal::new(false);
    let notice = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    // Retry runs the task again: only for those who may create tasks.
    let may_retry = LocalResource::new(|| may(TASK_CREATE));
    let slot: StreamSlot = StoredValue::new_local(None);
    on_cleanup(move || slot.set_value(None));
    // Once the run ends, the task is read again for its final state.
    let on_end = Callback::new(move |()| task.refetch());
    connect(&id, live, slot, on_end, stopped);

    // The task as read: the status until events say more, and a finished status always
    // (with the output a completed task keeps).
    Effect::new(move |_| {
        if let Some(Ok(task)) = task.get() {
            let status = text(&task["status"]);
            if live.status.get_untracked().is_empty() || finished(&status) {
                live.status.set(status);
            }
            if task["output"].is_object() && live.output.get_untracked().is_none() {
                live.output.set(Some(task["output"].clone()));
            }
        }
    });

    // Running steps' times tick.
    let now = RwSignal::new(js_sys::Date::now());
    if let Ok(handle) = set_interval_with_handle(
        move || {
            if live.runs.with_untracked(|r| {
                r.values()
                    .any(|run| run.ended.is_none() && run.started.is_some())
            }) {
                now.set(js_sys::Date::now());
            }
        },
        std::time::Duration::from_secs(1),
    ) {
        on_cleanup(move || handle.clear());
    }

    let cancel = {
        let url = format!("{task_url}/cancel");
        move |_| {
            let url = url.clone();
            busy.set(true);
            spawn_local(async move {
                let outcome = post::<Value>(&url, None).await;
                busy.set(false);
                notice.set(outcome.err());
            });
        }
    };
    let retry = {
        let (url, id) = (format!("{task_url}/retry"), id.clone());
        move |_| {
            let (url, id) = (url.clone(), id.clone());
            busy.set(true);
            spawn_local(async move {
                let outcome = post_json::<Value>(&url, &json!({})).await;
                busy.set(false);
                match outcome {
                    Ok(_) => {
                        notice.set(None);
                        live.restart("open");
                        connect(&id, live, slot, on_end, stopped);
                    }
                    Err(failure) => notice.set(Some(failure.message)),
                }
            });
        }
    };

    let status = move || live.status.get();
    let log_ref = NodeRef::<leptos::html::Pre>::new();
    // The log follows its end.
    Effect::new(move |_| {
        live.log.track();
        filter.track();
        if let Some(pre) = log_ref.get() {
            pre.set_scroll_top(pre.scroll_height());
        }
    });

    view! {
        <p class="breadcrumbs"><a href="/create">"Create"</a>" › "<a href="/create/tasks">"Tasks"</a>" › "{id.clone()}</p>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || task.get().map(|result| match result {
                Err(message) => view! { <div class="error" id="task-load-error">{message}</div> }.into_any(),
                Ok(task) => header(&task).into_any(),
            })}
        </Transition>
        <div class="task-toolbar">
            <span id="task-status" data-status=status>{move || status_badge(status())}</span>
            {move || matches!(status().as_str(), "open" | "processing").then(|| view! {
                <button id="task-cancel" class="danger" disabled=move || busy.get() on:click=cancel.clone()>"Cancel"</button>
            })}
            {move || (matches!(status().as_str(), "failed" | "cancelled") && may_retry.get() == Some(true)).then(|| view! {
                <button id="task-retry" disabled=move || busy.get() on:click=retry.clone()>"Retry"</button>
            })}
            <Transition fallback=|| ()>
                {move || task.get().and_then(Result::ok).and_then(|task| start_over(&task)).map(|href| view! {
                    <a class="button" id="task-start-over" href=href>"Start over"</a>
                })}
            </Transition>
            {move || stopped.get().then(|| view! { <span class="warning-text" id="task-stream-stopped">"Live updates stopped; reload to see the latest."</span> })}
        </div>
        {move || notice.get().map(|message| view! { <div class="error" id="task-notice">{message}</div> })}
        {move || live.error.get().map(|message| view! { <div class="error" id="task-error">{message}</div> })}
        <div class="task-layout">
            <div class="card">
                <h2>"Steps"</h2>
                <Transition fallback=|| ()>
                    {move || task.get().and_then(Result::ok).map(|task| steps(&task, live, filter, now))}
                </Transition>
            </div>
            <div class="card task-log-card">
                <h2>"Log"
                    {move || filter.get().map(|step| view! {
                        <span class="muted">" of "{step}" "</span>
                        <button type="button" class="link" id="task-log-all" on:click=move |_| filter.set(None)>"show all"</button>
                    })}
                </h2>
                <pre id="task-log" node_ref=log_ref>
                    {move || {
                        let only = filter.get();
                        live.log.get().into_iter()
                            .filter(|line| only.is_none() || line.step == only)
                            .map(|line| view! {
                                <span class="log-line" data-step-id=line.step.clone().unwrap_or_default()>
                                    {format!("{} {}\n", line.time, line.message)}
                                </span>
                            })
                            .collect_view()
                    }}
                </pre>
            </div>
        </div>
        {move || live.output.get().map(|output| view! {
            <div class="card"><h2>"Output"</h2>{output_view("task-output", &output)}</div>
        })}
    }
}

/// The template's title and ref, who started the task and when.
fn header(task: &Value) -> impl IntoView + use<> {
    let (entity_ref, title) = super::template_of(task);
    let created = local_time(&text(&task["createdAt"]));
    let by = text(&task["createdBy"]);
    let subtitle = [entity_ref, format!("started {created}"), by]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" · ");
    view! {
        <h1>{if title.is_empty() { "Task".to_string() } else { title }}</h1>
        <p class="subtitle">{subtitle}</p>
    }
}

/// The steps with their statuses and times; clicking one shows only its log.
fn steps(
    task: &Value,
    live: Live,
    filter: RwSignal<Option<String>>,
    now: RwSignal<f64>,
) -> impl IntoView + use<> {
    let steps = task["spec"]["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let items = steps
        .iter()
        .map(|step| {
            let id = text(&step["id"]);
            let name = text(&step["name"]);
            let run = {
                let id = id.clone();
                move || live.runs.with(|r| r.get(&id).cloned()).unwrap_or_default()
            };
            let status = {
                let run = run.clone();
                move || match run().status {
                    s if s.is_empty() => "open".to_string(),
                    s => s,
                }
            };
            let elapsed = move || {
                let run = run();
                run.started.map(|start| seconds(run.ended.unwrap_or_else(|| now.get()) - start))
            };
            let chosen = {
                let id = id.clone();
                move || filter.get().as_deref() == Some(id.as_str())
            };
            let toggle = {
                let id = id.clone();
                move |_| filter.update(|f| *f = if f.as_deref() == Some(id.as_str()) { None } else { Some(id.clone()) })
            };
            let badge = status.clone();
            view! {
                <li class="task-step" data-step-id=id.clone() data-status=status class:active=chosen>
                    <button type="button" class="step-button" on:click=toggle title="Show this step's log">
                        {move || status_badge(badge())}
                        <span class="step-name">{if name.is_empty() { id.clone() } else { name.clone() }}</span>
                        <span class="muted step-action">{text(&step["action"])}</span>
                        <span class="muted step-time">{elapsed}</span>
                    </button>
                </li>
            }
        })
        .collect_view();
    view! { <ol class="task-steps">{items}</ol> }
}

/// The template's wizard filled with this task's parameters.
fn start_over(task: &Value) -> Option<String> {
    let template = TemplateId::parse(task["spec"]["templateInfo"]["entityRef"].as_str()?)?;
    let parameters = &task["spec"]["parameters"];
    Some(if parameters.is_object() {
        format!(
            "{}?formData={}",
            template.form_path(),
            encode(&parameters.to_string())
        )
    } else {
        template.form_path()
    })
}

fn time_of(iso: &str) -> f64 {
    let parsed = js_sys::Date::parse(iso);
    if parsed.is_nan() {
        js_sys::Date::now()
    } else {
        parsed
    }
}

/// The time of day of an event, local.
fn clock(iso: &str) -> String {
    let date = js_sys::Date::new(&time_of(iso).into());
    String::from(date.to_locale_time_string("default"))
}

fn seconds(ms: f64) -> String {
    let s = (ms / 1000.0).max(0.0);
    if s < 60.0 {
        format!("{s:.1} s")
    } else {
        format!("{} min {} s", (s / 60.0).floor(), (s % 60.0).floor())
    }
}
