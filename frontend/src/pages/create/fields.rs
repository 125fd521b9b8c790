//! The form's state and one control per field kind. A value that is emptied is removed, as
//! the JSON Schema form Backstage uses does, so `required` catches it.

use std::collections::HashMap;

use leptos::prelude::*;
use serde_json::{Map, Value};

use super::pickers::{ChipList, EntityInput, entity_suggestions, tag_suggestions, to_ref};
use super::schema::{Choice, Field, Kind, check_tag};

/// What the user entered: `values` go to the task as its parameters, `secrets` separately;
/// `errors` are per top-level property, from the server or the form's own checks.
#[derive(Clone, Copy)]
pub struct Form {
    pub values: RwSignal<Map<String, Value>>,
    pub secrets: RwSignal<Map<String, Value>>,
    pub errors: RwSignal<HashMap<String, String>>,
}

impl Form {
    pub fn new(values: Map<String, Value>) -> Self {
        Self {
            values: RwSignal::new(values),
            secrets: RwSignal::new(Map::new()),
            errors: RwSignal::new(HashMap::new()),
        }
    }

    pub fn value(&self, name: &str) -> Value {
        self.values
            .with(|v| v.get(name).cloned())
            .unwrap_or(Value::Null)
    }

    /// The value without tracking it: what a control starts from when later edits are its
    /// own (rewriting a number input while it holds a partial "1." would clear it).
    pub fn initial(&self, name: &str) -> Value {
        self.values
            .with_untracked(|v| v.get(name).cloned())
            .unwrap_or(Value::Null)
    }

    /// Sets (or with null, removes) a value; an edited field's error goes.
    pub fn set(&self, name: &str, value: Value) {
        self.values.update(|values| {
            if value.is_null() {
                values.shift_remove(name);
            } else {
                values.insert(name.to_string(), value);
            }
        });
        self.clear_error(name);
    }

    pub fn secret(&self, name: &str) -> String {
        self.secrets
            .with(|s| s.get(name).and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default()
    }

    pub fn set_secret(&self, name: &str, secret: String) {
        self.secrets.update(|s| {
            if secret.is_empty() {
                s.shift_remove(name);
            } else {
                s.insert(name.to_string(), Value::String(secret));
            }
        });
        self.clear_error(name);
    }

    fn clear_error(&self, name: &str) {
        if self.errors.with_untracked(|e| e.contains_key(name)) {
            self.errors.update(|e| {
                e.remove(name);
            });
        }
    }
}

/// A field: label, description, control, help text and its error.
pub fn field_view(field: Field, form: Form) -> impl IntoView {
    let name = field.name.clone();
    let error = {
        let name = name.clone();
        move || form.errors.with(|e| e.get(&name).cloned())
    };
    let invalid = {
        let error = error.clone();
        move || error().is_some()
    };
    let checkbox = matches!(field.kind, Kind::Checkbox);
    let label = format!("{}{}", field.label, if field.required { " *" } else { "" });
    let description = (!field.description.is_empty())
        .then(|| view! { <div class="field-description muted">{field.description.clone()}</div> });
    let help = (!field.help.is_empty())
        .then(|| view! { <div class="field-help muted">{field.help.clone()}</div> });
    view! {
        <div class="form-field" data-field=name.clone() class:invalid=invalid>
            {if checkbox {
                view! {
                    <label class="checkbox">{control(&field, form)}" "{label}</label>
                    {description}
                }.into_any()
            } else {
                view! {
                    <label class="field-label" for=format!("field-{name}")>{label}</label>
                    {description}
                    {control(&field, form)}
                }.into_any()
            }}
            {help}
            {move || error().map(|message| view! { <div class="field-error" role="alert">{message}</div> })}
        </div>
    }
}

fn control(field: &Field, form: Form) -> AnyView {
    let id = format!("field-{}", field.name);
    let name = field.name.clone();
    let (placeholder, readonly, autofocus) = (
        field.placeholder.clone(),
        field.readonly,
        field.autofocus.then_some(""),
    );
    let key = name.clone();
    let string_value = {
        let name = name.clone();
        move || text_of(&form.value(&name))
    };
    match field.kind.clone() {
        Kind::Text {
            multiline: true, ..
        } => view! {
            <textarea id=id rows="4" placeholder=placeholder readonly=readonly data-autofocus=autofocus
                prop:value=string_value
                on:input=move |ev| form.set(&name, non_empty(event_target_value(&ev)))></textarea>
        }
        .into_any(),
        Kind::Text { password, .. } => view! {
            <input id=id type=if password { "password" } else { "text" } placeholder=placeholder
                readonly=readonly data-autofocus=autofocus autocomplete="off"
                prop:value=string_value
                on:input=move |ev| form.set(&name, non_empty(event_target_value(&ev)))/>
        }
        .into_any(),
        Kind::EntityName => view! {
            <input id=id type="text" placeholder=placeholder readonly=readonly data-autofocus=autofocus
                autocomplete="off" spellcheck="false"
                prop:value=string_value
                on:input=move |ev| form.set(&name, non_empty(event_target_value(&ev)))/>
        }
        .into_any(),
        Kind::Secret => {
            let secret = {
                let name = name.clone();
                move || form.secret(&name)
            };
            view! {
                <input id=id type="password" placeholder=placeholder readonly=readonly
                    data-autofocus=autofocus autocomplete="off"
                    prop:value=secret
                    on:input=move |ev| form.set_secret(&name, event_target_value(&ev))/>
            }
            .into_any()
        }
        Kind::Number { integer } => view! {
            <input id=id type="number" step=if integer { "1" } else { "any" } placeholder=placeholder
                readonly=readonly data-autofocus=autofocus
                prop:value=text_of(&form.initial(&key))
                on:input=move |ev| form.set(&name, number(&event_target_value(&ev), integer))/>
        }
        .into_any(),
        Kind::Checkbox => view! {
            <input id=id type="checkbox" disabled=readonly data-autofocus=autofocus
                prop:checked=move || form.value(&key) == true
                on:change=move |ev| form.set(&name, Value::Bool(event_target_checked(&ev)))/>
        }
        .into_any(),
        Kind::Choice(choices) => select(id, name, choices, readonly, autofocus, form),
        Kind::MultiChoice(choices) => checkboxes(id, name, choices, readonly, form),
        Kind::Entity {
            query,
            multiple: false,
        } => view! {
            <EntityInput id=id name=name query=query placeholder=placeholder readonly=readonly
                autofocus=field.autofocus form=form/>
        }
        .into_any(),
        Kind::Entity {
            query,
            multiple: true,
        } => {
            let (suggestions, typed) = entity_suggestions(query.clone());
            let normalise =
                move |text: &str| Ok(suggestions.with_untracked(|known| to_ref(text, &query, known)));
            list(id, name, form, readonly, suggestions, Some(typed), normalise)
        }
        Kind::Tags { kinds } => {
            let check = |text: &str| {
                let tag = text.trim().to_string();
                check_tag(&tag).map(|()| tag)
            };
            list(id, name, form, readonly, tag_suggestions(kinds), None, check)
        }
        Kind::List => {
            let keep = |text: &str| Ok(text.trim().to_string());
            list(id, name, form, readonly, Signal::stored(Vec::new()), None, keep)
        }
        Kind::Json => json_text(id, name, placeholder, readonly, form),
    }
}

/// An array of strings as chips; `check` turns typed text into an item or says why not.
fn list(
    id: String,
    name: String,
    form: Form,
    readonly: bool,
    suggestions: Signal<Vec<(String, String)>>,
    typed: Option<RwSignal<String>>,
    check: impl Fn(&str) -> Result<String, String> + Send + Sync + 'static,
) -> AnyView {
    let items = {
        let name = name.clone();
        Signal::derive(move || match form.value(&name) {
            Value::Array(items) => items.iter().map(text_of).collect(),
            _ => Vec::new(),
        })
    };
    let on_change = Callback::new(move |items: Vec<String>| {
        let value = if items.is_empty() {
            Value::Null
        } else {
            Value::Array(items.into_iter().map(Value::String).collect())
        };
        form.set(&name, value);
    });
    view! {
        <ChipList id=id items=items on_change=on_change suggestions=suggestions typed=typed
            check=Callback::new(move |text: String| check(&text)) readonly=readonly/>
    }
    .into_any()
}

fn select(
    id: String,
    name: String,
    choices: Vec<Choice>,
    readonly: bool,
    autofocus: Option<&'static str>,
    form: Form,
) -> AnyView {
    let current = {
        let (name, choices) = (name.clone(), choices.clone());
        move || {
            let value = form.value(&name);
            choices.iter().position(|c| c.value == value)
        }
    };
    let options = choices
        .iter()
        .enumerate()
        .map(|(i, choice)| {
            let current = current.clone();
            view! { <option value=i.to_string() prop:selected=move || current() == Some(i)>{choice.label.clone()}</option> }
        })
        .collect_view();
    view! {
        <select id=id disabled=readonly data-autofocus=autofocus
            on:change=move |ev| {
                let chosen = event_target_value(&ev).parse::<usize>().ok().and_then(|i| choices.get(i));
                form.set(&name, chosen.map(|c| c.value.clone()).unwrap_or(Value::Null));
            }>
            <option value="" prop:selected=move || current().is_none()>"Select…"</option>
            {options}
        </select>
    }
    .into_any()
}

fn checkboxes(
    id: String,
    name: String,
    choices: Vec<Choice>,
    readonly: bool,
    form: Form,
) -> AnyView {
    let boxes = choices
        .iter()
        .enumerate()
        .map(|(i, choice)| {
            let (name, choices) = (name.clone(), choices.clone());
            let value = choice.value.clone();
            let checked = {
                let (name, value) = (name.clone(), value.clone());
                move || matches!(form.value(&name), Value::Array(items) if items.contains(&value))
            };
            let toggle = move |ev: leptos::ev::Event| {
                let on = event_target_checked(&ev);
                let chosen: Vec<Value> = match form.value(&name) {
                    Value::Array(items) => items,
                    _ => Vec::new(),
                };
                // Kept in the order of the choices, each once.
                let chosen: Vec<Value> = choices
                    .iter()
                    .map(|c| &c.value)
                    .filter(|v| if **v == value { on } else { chosen.contains(v) })
                    .cloned()
                    .collect();
                form.set(
                    &name,
                    if chosen.is_empty() {
                        Value::Null
                    } else {
                        Value::Array(chosen)
                    },
                );
            };
            view! {
                <label class="checkbox">
                    <input type="checkbox" id=format!("{id}-{i}") disabled=readonly prop:checked=checked on:change=toggle/>
                    " "{choice.label.clone()}
                </label>
            }
        })
        .collect_view();
    view! { <div class="choices" id=id>{boxes}</div> }.into_any()
}

/// JSON text; text that does not parse is kept as a string, which the server's schema check
/// then refuses with its reason.
fn json_text(id: String, name: String, placeholder: String, readonly: bool, form: Form) -> AnyView {
    let initial = match form.initial(&name) {
        Value::Null => String::new(),
        Value::String(s) => s,
        other => serde_json::to_string_pretty(&other).unwrap_or_default(),
    };
    view! {
        <textarea id=id class="json" rows="4" placeholder=placeholder readonly=readonly spellcheck="false"
            on:change=move |ev| {
                let text = event_target_value(&ev);
                let value = match text.trim() {
                    "" => Value::Null,
                    t => serde_json::from_str(t).unwrap_or(Value::String(text)),
                };
                form.set(&name, value);
            }>{initial}</textarea>
    }
    .into_any()
}

/// A value as an input shows it.
pub fn text_of(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn non_empty(text: String) -> Value {
    if text.is_empty() {
        Value::Null
    } else {
        Value::String(text)
    }
}

fn number(text: &str, integer: bool) -> Value {
    let text = text.trim();
    if integer && let Ok(n) = text.parse::<i64>() {
        return n.into();
    }
    text.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}
