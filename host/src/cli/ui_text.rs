//! A rendered plugin tab as plain text for a terminal (`greenroom plugin test`): the same
//! tree the web UI draws, one line per element, nesting shown by indentation.

use greenroom_api::{Tone, UiNode};

pub fn render(node: &UiNode) -> String {
    let mut out = String::new();
    write(node, 0, &mut out);
    out
}

fn write(node: &UiNode, depth: usize, out: &mut String) {
    let pad = "  ".repeat(depth);
    let line = |out: &mut String, text: &str| {
        for part in text.lines() {
            out.push_str(&pad);
            out.push_str(part);
            out.push('\n');
        }
    };
    match node {
        UiNode::Heading { text } => line(out, &format!("## {text}")),
        UiNode::Text { text } => line(out, text),
        UiNode::Markdown { html } => line(out, &plain(html)),
        UiNode::Link { label, url } => line(out, &format!("{label} <{url}>")),
        UiNode::Badge { label, tone } => line(out, &badge(label, *tone)),
        UiNode::KeyValues { pairs } => {
            for (key, value) in pairs {
                line(out, &format!("{key}: {value}"));
            }
        }
        UiNode::Code { code, .. } => {
            for part in code.lines() {
                line(out, &format!("    {part}"));
            }
        }
        UiNode::List { items } => {
            for item in items {
                let text = render(item);
                line(out, &format!("- {}", text.trim_end().replace('\n', "\n  ")));
            }
        }
        UiNode::Section { title, children } => {
            line(out, &format!("[{title}]"));
            for child in children {
                write(child, depth + 1, out);
            }
        }
        UiNode::Table { columns, rows } => {
            line(out, &columns.join(" | "));
            for row in rows {
                let cells: Vec<String> = row
                    .iter()
                    .map(|cell| render(cell).trim().replace('\n', " "))
                    .collect();
                line(out, &cells.join(" | "));
            }
        }
        UiNode::Empty { reason } => line(out, &format!("({reason})")),
        UiNode::Button {
            action_id, label, ..
        } => line(out, &format!("<{label}> (action {action_id})")),
        UiNode::Form {
            action_id,
            fields,
            submit_label,
        } => {
            let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            line(
                out,
                &format!(
                    "form ({}) <{submit_label}> (action {action_id})",
                    names.join(", ")
                ),
            );
        }
    }
}

fn badge(label: &str, tone: Tone) -> String {
    let tone = match tone {
        Tone::Neutral => "",
        Tone::Info => "info: ",
        Tone::Success => "ok: ",
        Tone::Warning => "warning: ",
        Tone::Danger => "failed: ",
    };
    format!("[{tone}{label}]")
}

/// Sanitized HTML without its tags.
fn plain(html: &str) -> String {
    let text = ammonia::Builder::empty().clean(html).to_string();
    text.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_trees_read_as_indented_text() {
        let tree = UiNode::Section {
            title: "Owner".into(),
            children: vec![
                UiNode::Link {
                    label: "Payments".into(),
                    url: "/catalog/default/group/payments".into(),
                },
                UiNode::KeyValues {
                    pairs: vec![("Kind".into(), "Group".into())],
                },
                UiNode::List {
                    items: vec![UiNode::Badge {
                        label: "passed".into(),
                        tone: Tone::Success,
                    }],
                },
                UiNode::Markdown {
                    html: "<p>Fish &amp; <em>chips</em></p>".into(),
                },
            ],
        };
        assert_eq!(
            render(&tree),
            "[Owner]\n  Payments </catalog/default/group/payments>\n  Kind: Group\n  - [ok: passed]\n  Fish & chips\n"
        );
    }
}
