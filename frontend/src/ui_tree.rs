//! Renders a plugin's UI tree with the portal's own components. Plugins never send HTML:
//! the only raw HTML is markdown the host rendered and sanitized. Buttons and forms post a
//! [`UiAction`] to the plugin; its answer replaces the tree in place and shows a notice.

use std::collections::BTreeMap;

use greenroom_api::{
    FieldKind, FieldValue, FormField, Notice, SurfaceRef, Tone, UiAction, UiActionOutcome, UiNode,
};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{encode, post_json};

/// Where a tree is shown, so its buttons and forms can call back into its plugin.
#[derive(Clone)]
pub struct Surface {
    pub plugin: String,
    pub surface: SurfaceRef,
    /// The entity of a tab or card.
    pub entity: Option<String>,
}

/// A plugin's tree on one of its surfaces, re-rendered in place after each action.
#[component]
pub fn PluginTree(surface: Surface, tree: UiNode) -> impl IntoView {
    let state = Interaction {
        surface: StoredValue::new(surface),
        tree: RwSignal::new(tree),
        notice: RwSignal::new(None),
        busy: RwSignal::new(false),
    };
    view! {
        <div class="plugin-tree" aria-busy=move || state.busy.get().to_string()>
            {move || state.notice.get().map(|notice: Notice| view! {
                <p class=format!("notice {}", tone_class(notice.tone)) role="status">{notice.message}</p>
            })}
            {move || render(state.tree.get(), Some(state))}
        </div>
    }
}

/// What buttons and forms of one tree share.
#[derive(Clone, Copy)]
struct Interaction {
    surface: StoredValue<Surface>,
    tree: RwSignal<UiNode>,
    notice: RwSignal<Option<Notice>>,
    busy: RwSignal<bool>,
}

impl Interaction {
    /// Sends an action; the answer's tree and notice replace the current ones.
    fn send(self, action_id: String, values: BTreeMap<String, FieldValue>) {
        let surface = self.surface.get_value();
        let action = UiAction {
            surface: surface.surface,
            action_id,
            entity: surface.entity,
            values,
        };
        let url = format!("/api/plugins/{}/ui-actions", encode(&surface.plugin));
        self.busy.set(true);
        spawn_local(async move {
            let body = serde_json::to_value(&action).unwrap_or_default();
            match post_json::<UiActionOutcome>(&url, &body).await {
                Ok(outcome) => {
                    if let Some(tree) = outcome.tree {
                        self.tree.set(tree);
                    }
                    self.notice.set(outcome.notice);
                }
                Err(failure) => self.notice.set(Some(Notice {
                    message: failure.message,
                    tone: Tone::Danger,
                })),
            }
            self.busy.set(false);
        });
    }
}

fn render(node: UiNode, act: Option<Interaction>) -> AnyView {
    let child = move |node| render(node, act);
    match node {
        UiNode::Heading { text } => view! { <h3>{text}</h3> }.into_any(),
        UiNode::Text { text } => view! { <p>{text}</p> }.into_any(),
        UiNode::Markdown { html } => view! { <div class="markdown" inner_html=html></div> }.into_any(),
        UiNode::Link { label, url } => view! { <a href=url>{label}</a> }.into_any(),
        UiNode::Badge { label, tone } => view! { <span class=format!("badge {}", tone_class(tone))>{label}</span> }.into_any(),
        UiNode::Table { columns, rows } => view! {
            <table>
                <thead><tr>{columns.into_iter().map(|c| view! { <th>{c}</th> }).collect_view()}</tr></thead>
                <tbody>{rows.into_iter().map(|row| view! {
                    <tr>{row.into_iter().map(|cell| view! { <td>{child(cell)}</td> }).collect_view()}</tr>
                }).collect_view()}</tbody>
            </table>
        }
        .into_any(),
        UiNode::KeyValues { pairs } => view! {
            <dl class="kv">{pairs.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}</dl>
        }
        .into_any(),
        UiNode::Code { language, code } => {
            crate::highlight::code_block(language.unwrap_or_default(), code).into_any()
        }
        UiNode::List { items } => view! {
            <ul class="node-list">{items.into_iter().map(|item| view! { <li>{child(item)}</li> }).collect_view()}</ul>
        }
        .into_any(),
        UiNode::Section { title, children } => view! {
            <div class="section"><h3>{title}</h3>{children.into_iter().map(child).collect_view()}</div>
        }
        .into_any(),
        UiNode::Empty { reason } => view! { <p class="empty">{reason}</p> }.into_any(),
        UiNode::Button { action_id, label, tone, confirm } => {
            let press = move |_| {
                let Some(act) = act else { return };
                let confirmed = confirm.as_deref().is_none_or(|question| {
                    window().confirm_with_message(question).unwrap_or(false)
                });
                if confirmed {
                    act.send(action_id.clone(), BTreeMap::new());
                }
            };
            let disabled = move || act.is_none_or(|act| act.busy.get());
            view! {
                <button type="button" class=format!("plugin-button {}", tone_class(tone)) disabled=disabled on:click=press>{label}</button>
            }
            .into_any()
        }
        UiNode::Form { action_id, fields, submit_label } => form(action_id, fields, submit_label, act),
    }
}

/// A form whose fields keep their values in signals until it is submitted.
fn form(
    action_id: String,
    fields: Vec<FormField>,
    submit_label: String,
    act: Option<Interaction>,
) -> AnyView {
    let values: Vec<(String, RwSignal<FieldValue>)> = fields
        .iter()
        .map(|f| (f.name.clone(), RwSignal::new(initial(&f.kind))))
        .collect();
    let submitted = values.clone();
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let Some(act) = act else { return };
        let values = submitted
            .iter()
            .map(|(name, value)| (name.clone(), value.get_untracked()))
            .collect();
        act.send(action_id.clone(), values);
    };
    let inputs = fields
        .into_iter()
        .zip(values.into_iter().map(|(_, value)| value))
        .map(|(field, value)| input(field, value))
        .collect_view();
    let disabled = move || act.is_none_or(|act| act.busy.get());
    view! {
        <form class="plugin-form" on:submit=submit>
            {inputs}
            <button type="submit" disabled=disabled>{submit_label}</button>
        </form>
    }
    .into_any()
}

fn initial(kind: &FieldKind) -> FieldValue {
    match kind {
        FieldKind::Text { value } => FieldValue::Text(value.clone()),
        FieldKind::Number { value } => FieldValue::Number(*value),
        FieldKind::Select { options, selected } => FieldValue::Text(
            selected
                .clone()
                .or_else(|| options.first().map(|(v, _)| v.clone()))
                .unwrap_or_default(),
        ),
        FieldKind::Checkbox { checked } => FieldValue::Checkbox(*checked),
    }
}

fn input(field: FormField, value: RwSignal<FieldValue>) -> impl IntoView {
    let text = move || match value.get() {
        FieldValue::Text(text) => text,
        FieldValue::Number(n) => n.to_string(),
        FieldValue::Checkbox(_) => String::new(),
    };
    let control = match field.kind {
        FieldKind::Text { .. } => view! {
            <input type="text" name=field.name.clone() required=field.required prop:value=text
                on:input=move |e| value.set(FieldValue::Text(event_target_value(&e)))/>
        }
        .into_any(),
        FieldKind::Number { .. } => view! {
            <input type="number" step="any" name=field.name.clone() required=field.required prop:value=text
                on:input=move |e| {
                    if let Ok(n) = event_target_value(&e).parse() {
                        value.set(FieldValue::Number(n));
                    }
                }/>
        }
        .into_any(),
        FieldKind::Select { options, .. } => view! {
            <select name=field.name.clone() prop:value=text
                on:change=move |e| value.set(FieldValue::Text(event_target_value(&e)))>
                {options.into_iter().map(|(v, label)| view! { <option value=v>{label}</option> }).collect_view()}
            </select>
        }
        .into_any(),
        FieldKind::Checkbox { .. } => view! {
            <input type="checkbox" name=field.name.clone()
                prop:checked=move || matches!(value.get(), FieldValue::Checkbox(true))
                on:change=move |e| value.set(FieldValue::Checkbox(event_target_checked(&e)))/>
        }
        .into_any(),
    };
    view! { <label class="plugin-field"><span>{field.label}</span>{control}</label> }
}

fn tone_class(tone: Tone) -> &'static str {
    match tone {
        Tone::Neutral => "neutral",
        Tone::Info => "info",
        Tone::Success => "success",
        Tone::Warning => "warning",
        Tone::Danger => "danger",
    }
}
