//! `/create/tasks`: the latest tasks, the current user's ("Mine") or everyone's ("All",
//! `?view=all`), newest first.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde_json::Value;

use super::{TemplateId, local_time, status_badge};
use crate::api::{encode, get_json, text};

#[component]
pub fn TaskListPage() -> impl IntoView {
    let me = crate::session::current_user();
    let query = use_query_map();
    let all = Memo::new(move |_| query.read().get("view").as_deref() == Some("all"));
    let tasks = LocalResource::new(move || {
        let mut url = "/api/scaffolder/v2/tasks?order=desc:createdAt&limit=50".to_string();
        if !all.get() {
            url.push_str(&format!("&createdBy={}", encode(&me)));
        }
        async move { get_json::<Value>(&url).await }
    });
    view! {
        <p class="breadcrumbs"><a href="/create">"Create"</a>" › Tasks"</p>
        <h1>"Tasks"</h1>
        <p class="subtitle">"Templates run, newest first."</p>
        <nav class="tabs">
            <a href="/create/tasks" id="tasks-mine" class:active=move || !all.get()>"Mine"</a>
            <a href="/create/tasks?view=all" id="tasks-all" class:active=move || all.get()>"All"</a>
        </nav>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || tasks.get().map(|result| match result {
                Err(message) => view! { <div class="error">{message}</div> }.into_any(),
                Ok(answer) => table(&answer).into_any(),
            })}
        </Transition>
    }
}

fn table(answer: &Value) -> impl IntoView + use<> {
    let tasks = answer["tasks"].as_array().cloned().unwrap_or_default();
    if tasks.is_empty() {
        return view! { <p class="empty" id="tasks-empty">"No tasks yet."</p> }.into_any();
    }
    let total = answer["totalTasks"].as_u64().unwrap_or(tasks.len() as u64);
    let rows = tasks
        .iter()
        .map(|task| {
            let id = text(&task["id"]);
            let href = format!("/create/tasks/{}", encode(&id));
            let (entity_ref, title) = super::template_of(task);
            let template = match TemplateId::parse(&entity_ref) {
                Some(t) => {
                    view! { <a href=t.form_path() title=entity_ref.clone()>{title}</a> }.into_any()
                }
                None => title.into_any(),
            };
            view! {
                <tr data-task-id=id.clone()>
                    <td>{template}</td>
                    <td>{local_time(&text(&task["createdAt"]))}</td>
                    <td>{text(&task["createdBy"])}</td>
                    <td data-status=text(&task["status"])>{status_badge(text(&task["status"]))}</td>
                    <td><a class="task-link" href=href>{id.clone()}</a></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table id="tasks-table">
            <thead><tr><th>"Template"</th><th>"Created"</th><th>"By"</th><th>"Status"</th><th>"Task"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <p class="muted" id="tasks-total">{format!("{total} tasks")}</p>
    }
    .into_any()
}
