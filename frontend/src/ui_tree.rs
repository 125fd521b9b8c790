//! Renders a plugin's UI tree with the portal's own components. Plugins never send HTML:
//! the only raw HTML is markdown the host rendered and sanitized.

use greenroom_api::{Tone, UiNode};
use leptos::prelude::*;

pub fn render(node: UiNode) -> AnyView {
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
                    <tr>{row.into_iter().map(|cell| view! { <td>{render(cell)}</td> }).collect_view()}</tr>
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
            <ul class="node-list">{items.into_iter().map(|item| view! { <li>{render(item)}</li> }).collect_view()}</ul>
        }
        .into_any(),
        UiNode::Section { title, children } => view! {
            <div class="section"><h3>{title}</h3>{children.into_iter().map(render).collect_view()}</div>
        }
        .into_any(),
        UiNode::Empty { reason } => view! { <p class="empty">{reason}</p> }.into_any(),
    }
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
