//! `/create/templates/:namespace/:name`: the template's wizard. One page per parameter
//! page; Next asks the server to validate that page and shows each error beside its field;
//! then a review of every value (secrets masked), Create (a task) or a dry run (both only
//! for those who may create tasks, `scaffolder.task.create`).

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use serde_json::{Map, Value, json};
use wasm_bindgen::JsCast;

use super::TemplateId;
use super::dry_run::DryRunResult;
use super::fields::{Form, field_view, text_of};
use super::schema::{self, Choice, Field, Kind, Page, check_entity_name};
use crate::api::{Failure, encode, get_json, post_json};
use crate::permissions::{TASK_CREATE, may};

#[component]
pub fn TemplateFormPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    move || {
        let template = params.with(|p| TemplateId {
            namespace: p.get("namespace").unwrap_or_default(),
            name: p.get("name").unwrap_or_default(),
        });
        // Starting over from a task: its parameters, as Backstage passes them.
        let initial: Map<String, Value> = query
            .with_untracked(|q| q.get("formData"))
            .and_then(|data| serde_json::from_str(&data).ok())
            .unwrap_or_default();
        view! { <TemplateForm template=template initial=initial/> }
    }
}

#[component]
fn TemplateForm(template: TemplateId, initial: Map<String, Value>) -> impl IntoView {
    let url = format!("{}/parameter-schema", template.api());
    let schema = LocalResource::new(move || {
        let url = url.clone();
        async move { get_json::<Value>(&url).await }
    });
    view! {
        <p class="breadcrumbs"><a href="/create">"Create"</a>" › "{template.entity_ref()}</p>
        // Not in a Transition: it would also wait for the pickers' suggestions, which are
        // read inside the form, before showing the form.
        {move || match schema.get() {
            None => view! { <p class="loading">"Loading…"</p> }.into_any(),
            Some(Err(message)) => view! { <div class="error" id="form-error">{message}</div> }.into_any(),
            Some(Ok(schema)) => view! {
                <Wizard template=template.clone() schema=schema initial=initial.clone()/>
            }.into_any(),
        }}
    }
}

/// A validation error: the top-level property it belongs to (when it names one) and the
/// message for people.
struct Problem {
    field: Option<String>,
    message: String,
}

#[component]
fn Wizard(template: TemplateId, schema: Value, initial: Map<String, Value>) -> impl IntoView {
    let pages = schema::pages(&schema);
    let form = Form::new(schema::initial_values(&pages, &schema, &initial));
    let count = pages.len();
    let pages = StoredValue::new(pages);
    let template = StoredValue::new(template);
    let page = RwSignal::new(0usize);
    let busy = RwSignal::new(false);
    // Problems that belong to no field, and failures.
    let banner = RwSignal::new(Vec::<String>::new());
    let dry_run = RwSignal::new(None::<Result<Value, String>>);
    // Create and Dry run show only to those who may run templates.
    let may_create = LocalResource::new(|| may(TASK_CREATE));
    let label = |key: &str, fallback: &str| {
        schema["presentation"]["buttonLabels"][key]
            .as_str()
            .unwrap_or(fallback)
            .to_string()
    };
    let (back_label, review_label, create_label) = (
        label("backButtonText", "Back"),
        label("reviewButtonText", "Review"),
        label("createButtonText", "Create"),
    );

    // Shows problems beside their fields (the first per field) and the rest in the banner.
    let show = move |problems: Vec<Problem>| {
        let mut by_field = std::collections::HashMap::new();
        let mut loose = Vec::new();
        let known = |name: &str| pages.with_value(|p| page_of(p, name).is_some());
        for Problem { field, message } in problems {
            match field.filter(|f| known(f)) {
                Some(field) => {
                    by_field.entry(field).or_insert(message);
                }
                None => loose.push(message),
            }
        }
        form.errors.set(by_field);
        banner.set(loose);
    };

    let next = move |_| {
        let index = page.get_untracked();
        let fields = pages.with_value(|p| p[index].fields.clone());
        busy.set(true);
        banner.set(Vec::new());
        spawn_local(async move {
            let url = format!("{}/validate", template.with_value(TemplateId::api));
            let outcome = check_page(&url, index, &fields, form).await;
            busy.set(false);
            match outcome {
                Ok(problems) if problems.is_empty() => {
                    form.errors.set(Default::default());
                    page.set(index + 1);
                }
                Ok(problems) => show(problems),
                Err(message) => banner.set(vec![message]),
            }
        });
    };

    let navigate = use_navigate();
    let create = move |_| {
        busy.set(true);
        banner.set(Vec::new());
        let navigate = navigate.clone();
        spawn_local(async move {
            let body = json!({
                "templateRef": template.with_value(TemplateId::entity_ref),
                "values": form.values.get_untracked(),
                "secrets": form.secrets.get_untracked(),
            });
            let answer = post_json::<Value>("/api/scaffolder/v2/tasks", &body).await;
            busy.set(false);
            match answer {
                Ok(task) => match task["id"].as_str() {
                    Some(id) => {
                        navigate(&format!("/create/tasks/{}", encode(id)), Default::default())
                    }
                    None => banner.set(vec!["The server answered without a task id.".into()]),
                },
                Err(failure) => match field_problems(&failure, &pages.get_value(), form) {
                    Some(problems) => {
                        // Back to the first page holding a field in error.
                        let first = problems
                            .iter()
                            .filter_map(|p| p.field.as_deref())
                            .filter_map(|f| pages.with_value(|p| page_of(p, f)))
                            .min();
                        show(problems);
                        if let Some(first) = first {
                            page.set(first);
                        }
                    }
                    None => banner.set(vec![failure.message]),
                },
            }
        });
    };

    let run_dry = move |_| {
        busy.set(true);
        dry_run.set(None);
        spawn_local(async move {
            let outcome = dry_run_of(&template.get_value(), form, &pages.get_value()).await;
            busy.set(false);
            dry_run.set(Some(outcome));
        });
    };

    // Each page's autofocus field takes the focus as the page shows.
    Effect::new(move |_| {
        page.track();
        request_animation_frame(focus_autofocus);
    });

    let steps = move || {
        let current = page.get();
        let titles: Vec<String> = pages.with_value(|p| p.iter().map(|p| p.title.clone()).collect());
        titles
            .into_iter()
            .chain(std::iter::once("Review".to_string()))
            .enumerate()
            .map(|(i, title)| {
                let state = match i.cmp(&current) {
                    std::cmp::Ordering::Less => "done",
                    std::cmp::Ordering::Equal => "active",
                    std::cmp::Ordering::Greater => "",
                };
                // Earlier pages can be gone back to; later ones only through Next.
                view! {
                    <li class=state data-step=i>
                        {if i < current {
                            view! { <button type="button" class="link" on:click=move |_| page.set(i)>{title}</button> }.into_any()
                        } else {
                            view! { <span>{title}</span> }.into_any()
                        }}
                    </li>
                }
            })
            .collect_view()
    };
    let body = move || {
        let index = page.get();
        if index < count {
            let current = pages.with_value(|p| p[index].clone());
            page_view(current, form).into_any()
        } else {
            review(&pages.get_value(), form).into_any()
        }
    };
    let buttons = move || {
        let index = page.get();
        if index < count {
            let label = if index + 1 == count {
                review_label.clone()
            } else {
                "Next".to_string()
            };
            view! {
                <button id="wizard-next" class="primary" disabled=move || busy.get() on:click=next>{label}</button>
            }
            .into_any()
        } else {
            match may_create.get() {
                Some(true) => view! {
                    <button id="dry-run-submit" disabled=move || busy.get() on:click=run_dry>"Dry run"</button>
                    <button id="create-submit" class="primary" disabled=move || busy.get() on:click=create.clone()>{create_label.clone()}</button>
                }
                .into_any(),
                Some(false) => view! {
                    <span class="muted" id="create-not-allowed">"You may not run templates (scaffolder.task.create)."</span>
                }
                .into_any(),
                None => ().into_any(),
            }
        }
    };
    view! {
        <h1>{text_of(&schema["title"])}</h1>
        <p class="subtitle">{text_of(&schema["description"])}</p>
        <ol class="wizard-steps" id="wizard-steps">{steps}</ol>
        {move || {
            let messages = banner.get();
            (!messages.is_empty()).then(|| view! {
                <div class="error" id="form-error">
                    {messages.into_iter().map(|m| view! { <div>{m}</div> }).collect_view()}
                </div>
            })
        }}
        <div class="card" id="template-form" data-page=move || page.get()>
            {body}
            <div class="wizard-buttons">
                <button id="wizard-back" disabled=move || page.get() == 0 || busy.get()
                    on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>{back_label}</button>
                {buttons}
            </div>
        </div>
        {move || dry_run.get().map(|outcome| match outcome {
            Ok(result) => view! { <DryRunResult result=result/> }.into_any(),
            Err(message) => view! { <div class="error" id="dry-run-error">{message}</div> }.into_any(),
        })}
    }
}

fn page_view(page: Page, form: Form) -> impl IntoView {
    view! {
        <h2>{page.title}</h2>
        {(!page.description.is_empty()).then(|| view! { <p class="muted">{page.description}</p> })}
        {page.fields.into_iter().map(|f| field_view(f, form)).collect_view()}
    }
}

/// Every value by page; secrets and passwords masked.
fn review(pages: &[Page], form: Form) -> impl IntoView + use<> {
    let rows = pages
        .iter()
        .map(|page| {
            let fields = page
                .fields
                .iter()
                .map(|field| {
                    let shown = if field.is_masked() {
                        let set = match field.kind {
                            Kind::Secret => !form.secret(&field.name).is_empty(),
                            _ => !form.value(&field.name).is_null(),
                        };
                        if set { "••••••" } else { "—" }.to_string()
                    } else {
                        shown(field, &form.value(&field.name))
                    };
                    view! {
                        <tr data-field=field.name.clone()><th>{field.label.clone()}</th><td>{shown}</td></tr>
                    }
                })
                .collect_view();
            view! {
                <tr class="review-page"><th colspan="2">{page.title.clone()}</th></tr>
                {fields}
            }
        })
        .collect_view();
    view! {
        <h2>"Review"</h2>
        <table id="review-table"><tbody>{rows}</tbody></table>
    }
}

/// A field's value as the review shows it: choices by their labels.
fn shown(field: &Field, value: &Value) -> String {
    let label = |choices: &[Choice], value: &Value| {
        choices
            .iter()
            .find(|c| c.value == *value)
            .map_or_else(|| display(value), |c| c.label.clone())
    };
    match (&field.kind, value) {
        (Kind::Choice(choices), value) if !value.is_null() => label(choices, value),
        (Kind::MultiChoice(choices), Value::Array(items)) => items
            .iter()
            .map(|item| label(choices, item))
            .collect::<Vec<_>>()
            .join(", "),
        _ => display(value),
    }
}

/// A value as the review shows it.
fn display(value: &Value) -> String {
    match value {
        Value::Null => "—".into(),
        Value::Bool(true) => "Yes".into(),
        Value::Bool(false) => "No".into(),
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
        Value::Object(_) => value.to_string(),
        other => text_of(other),
    }
}

/// The page holding a field.
fn page_of(pages: &[Page], field: &str) -> Option<usize> {
    pages
        .iter()
        .position(|p| p.fields.iter().any(|f| f.name == field))
}

/// The form's own checks of a page, then the server's.
async fn check_page(
    url: &str,
    index: usize,
    fields: &[Field],
    form: Form,
) -> Result<Vec<Problem>, String> {
    let mut problems = own_checks(fields, form);
    let body = json!({"values": form.values.get_untracked(), "step": index});
    let errors = match post_json::<Value>(url, &body).await {
        Ok(answer) => answer["errors"].clone(),
        Err(failure) if failure.body["errors"].is_array() => failure.body["errors"].clone(),
        Err(failure) => return Err(failure.message),
    };
    problems.extend(server_problems(&errors, fields, form));
    Ok(problems)
}

/// What the server cannot check: secrets (it never sees them) and the pickers' formats.
fn own_checks(fields: &[Field], form: Form) -> Vec<Problem> {
    fields
        .iter()
        .filter_map(|field| {
            let message = match &field.kind {
                Kind::Secret if field.required && form.secret(&field.name).is_empty() => {
                    format!("{} is required", field.label)
                }
                Kind::EntityName => match form.value(&field.name) {
                    Value::String(name) => check_entity_name(&name).err()?,
                    _ => return None,
                },
                _ => return None,
            };
            Some(Problem {
                field: Some(field.name.clone()),
                message,
            })
        })
        .collect()
}

/// Backstage's `errors[]`: `path` leads to the value; a `required` error's path is the
/// object missing the property, which `argument` names.
fn server_problems(errors: &Value, fields: &[Field], form: Form) -> Vec<Problem> {
    let errors = errors.as_array().cloned().unwrap_or_default();
    errors
        .iter()
        .filter_map(|error| {
            let mut path: Vec<String> = error["path"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text_of)
                .collect();
            let required = error["name"] == "required"
                || text_of(&error["message"]).starts_with("requires property");
            if required && path.is_empty() {
                path.push(
                    error["argument"]
                        .as_str()
                        .map(str::to_string)
                        .or_else(|| quoted(error["message"].as_str().unwrap_or_default()))?,
                );
            }
            let field = path.first().cloned();
            let known = field
                .as_ref()
                .and_then(|name| fields.iter().find(|f| f.name == *name));
            // A secret's value is checked by the form; the server never sees it.
            if let Some(f) = known
                && matches!(f.kind, Kind::Secret)
                && !form.secret(&f.name).is_empty()
            {
                return None;
            }
            let message = text_of(&error["message"]);
            let message = match (known, path.len()) {
                (Some(f), 1) if required => format!("{} is required", f.label),
                (_, 0 | 1) => message,
                (_, _) => format!("{}: {message}", path[1..].join(".")),
            };
            Some(Problem { field, message })
        })
        .collect()
}

/// `requires property "name"` → `name`.
fn quoted(message: &str) -> Option<String> {
    let start = message.find('"')? + 1;
    let end = start + message[start..].find('"')?;
    Some(message[start..end].to_string())
}

/// A failed create's field errors, when its body lists them.
fn field_problems(failure: &Failure, pages: &[Page], form: Form) -> Option<Vec<Problem>> {
    let fields: Vec<Field> = pages.iter().flat_map(|p| p.fields.clone()).collect();
    failure.body["errors"]
        .is_array()
        .then(|| server_problems(&failure.body["errors"], &fields, form))
        .filter(|problems| !problems.is_empty())
}

/// Runs the template without side effects on the values entered: the template entity from
/// the catalog, then `POST /dry-run`.
async fn dry_run_of(template: &TemplateId, form: Form, pages: &[Page]) -> Result<Value, String> {
    let entity = get_json::<Value>(&format!(
        "/api/catalog/entities/by-name/template/{}/{}",
        encode(&template.namespace),
        encode(&template.name)
    ))
    .await?;
    let body = json!({
        "template": entity,
        "values": form.values.get_untracked(),
        "secrets": form.secrets.get_untracked(),
        "directoryContents": [],
    });
    post_json::<Value>("/api/scaffolder/v2/dry-run", &body)
        .await
        .map_err(|failure| match field_problems(&failure, pages, form) {
            Some(problems) => problems
                .into_iter()
                .map(|p| match p.field {
                    Some(field) if !p.message.starts_with(&field) => {
                        format!("{field}: {}", p.message)
                    }
                    _ => p.message,
                })
                .collect::<Vec<_>>()
                .join("; "),
            None => failure.message,
        })
}

fn focus_autofocus() {
    let target = document()
        .query_selector("#template-form [data-autofocus]")
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(element) = target {
        let _ = element.focus();
    }
}
