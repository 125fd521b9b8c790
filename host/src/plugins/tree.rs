//! Turns a plugin's flat WIT UI tree into the nested [`UiNode`] the browser renders, checking
//! it on the way: child ids must point backwards, the total size is bounded, links must be
//! http(s) or portal paths, markdown becomes sanitized HTML, and buttons and forms are only
//! allowed from plugins that handle actions.

use greenroom_api::{FieldKind, FormField, Tone, UiNode};

use super::bindings::types::{self, Node, Tree};
use crate::techdocs::to_safe_html;

/// Most nodes a rendered tree may expand to (a node used twice counts twice).
pub const MAX_NODES: usize = 10_000;
/// Most bytes of text a rendered tree may carry.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// Most fields one form may have.
const MAX_FIELDS: usize = 32;

/// `interactive`: whether the plugin exports `interactions`, which its buttons and forms call.
pub fn to_ui(tree: &Tree, interactive: bool) -> Result<UiNode, String> {
    let mut budget = Budget {
        nodes: 0,
        text: 0,
        interactive,
    };
    expand(tree, tree.root, None, &mut budget)
}

struct Budget {
    nodes: usize,
    text: usize,
    interactive: bool,
}

impl Budget {
    fn text(&mut self, s: &str) -> Result<String, String> {
        self.text += s.len();
        if self.text > MAX_TEXT_BYTES {
            return Err(format!(
                "the tree carries more than {MAX_TEXT_BYTES} bytes of text"
            ));
        }
        Ok(s.to_string())
    }

    fn action(&mut self, kind: &str, action_id: &str) -> Result<String, String> {
        if !self.interactive {
            return Err(format!(
                "it has a {kind} but the plugin exports no interactions to handle it"
            ));
        }
        if action_id.is_empty() {
            return Err(format!("a {kind} has an empty action id"));
        }
        self.text(action_id)
    }
}

fn expand(
    tree: &Tree,
    id: u32,
    parent: Option<u32>,
    budget: &mut Budget,
) -> Result<UiNode, String> {
    if parent.is_some_and(|p| id >= p) {
        return Err(format!(
            "node {} refers to node {id}; children must come before their parent",
            parent.unwrap_or_default()
        ));
    }
    let node = tree
        .nodes
        .get(id as usize)
        .ok_or_else(|| format!("node {id} does not exist ({} nodes)", tree.nodes.len()))?;
    budget.nodes += 1;
    if budget.nodes > MAX_NODES {
        return Err(format!("the tree expands to more than {MAX_NODES} nodes"));
    }
    let children = |ids: &[u32], budget: &mut Budget| -> Result<Vec<UiNode>, String> {
        ids.iter()
            .map(|&child| expand(tree, child, Some(id), budget))
            .collect()
    };
    Ok(match node {
        Node::Heading(text) => UiNode::Heading {
            text: budget.text(text)?,
        },
        Node::Text(text) => UiNode::Text {
            text: budget.text(text)?,
        },
        Node::Markdown(markdown) => UiNode::Markdown {
            html: to_safe_html(&budget.text(markdown)?),
        },
        Node::Link(link) => UiNode::Link {
            label: budget.text(&link.label)?,
            url: safe_url(&budget.text(&link.url)?)?,
        },
        Node::Badge(badge) => UiNode::Badge {
            label: budget.text(&badge.label)?,
            tone: tone(badge.tone),
        },
        Node::Table(table) => UiNode::Table {
            columns: table
                .columns
                .iter()
                .map(|c| budget.text(c))
                .collect::<Result<_, _>>()?,
            rows: table
                .rows
                .iter()
                .map(|row| children(row, budget))
                .collect::<Result<_, _>>()?,
        },
        Node::KeyValues(pairs) => UiNode::KeyValues {
            pairs: pairs
                .iter()
                .map(|(k, v)| Ok((budget.text(k)?, budget.text(v)?)))
                .collect::<Result<_, String>>()?,
        },
        Node::Code(code) => UiNode::Code {
            language: code
                .language
                .as_deref()
                .map(|l| budget.text(l))
                .transpose()?,
            code: budget.text(&code.code)?,
        },
        Node::List(items) => UiNode::List {
            items: children(items, budget)?,
        },
        Node::Section(section) => UiNode::Section {
            title: budget.text(&section.title)?,
            children: children(&section.children, budget)?,
        },
        Node::Empty(reason) => UiNode::Empty {
            reason: budget.text(reason)?,
        },
        Node::Button(button) => UiNode::Button {
            action_id: budget.action("button", &button.action_id)?,
            label: budget.text(&button.label)?,
            tone: tone(button.tone),
            confirm: button
                .confirm
                .as_deref()
                .map(|c| budget.text(c))
                .transpose()?,
        },
        Node::Form(form) => UiNode::Form {
            action_id: budget.action("form", &form.action_id)?,
            fields: fields(&form.fields, budget)?,
            submit_label: budget.text(&form.submit_label)?,
        },
    })
}

fn fields(fields: &[types::Field], budget: &mut Budget) -> Result<Vec<FormField>, String> {
    if fields.len() > MAX_FIELDS {
        return Err(format!("a form has more than {MAX_FIELDS} fields"));
    }
    let mut checked: Vec<FormField> = Vec::with_capacity(fields.len());
    for field in fields {
        if field.name.is_empty() || checked.iter().any(|f| f.name == field.name) {
            return Err(format!(
                "form field names must be unique and non-empty ('{}')",
                field.name
            ));
        }
        let kind = match &field.kind {
            types::FieldKind::Text(value) => FieldKind::Text {
                value: budget.text(value)?,
            },
            types::FieldKind::Number(value) => FieldKind::Number { value: *value },
            types::FieldKind::Select(select) => {
                if select.options.is_empty() {
                    return Err(format!("select field '{}' has no options", field.name));
                }
                FieldKind::Select {
                    options: select
                        .options
                        .iter()
                        .map(|(v, l)| Ok((budget.text(v)?, budget.text(l)?)))
                        .collect::<Result<_, String>>()?,
                    selected: select
                        .selected
                        .as_deref()
                        .map(|s| budget.text(s))
                        .transpose()?,
                }
            }
            types::FieldKind::Checkbox(checked) => FieldKind::Checkbox { checked: *checked },
        };
        checked.push(FormField {
            name: budget.text(&field.name)?,
            label: budget.text(&field.label)?,
            required: field.required,
            kind,
        });
    }
    Ok(checked)
}

/// Only web and mail links and portal paths; `javascript:` and friends are refused.
fn safe_url(url: &str) -> Result<String, String> {
    if greenroom_api::entity::is_safe_link(url) {
        Ok(url.to_string())
    } else {
        Err(format!(
            "link url '{url}' is not http(s), mailto or a portal path"
        ))
    }
}

pub fn tone(tone: types::Tone) -> Tone {
    match tone {
        types::Tone::Neutral => Tone::Neutral,
        types::Tone::Info => Tone::Info,
        types::Tone::Success => Tone::Success,
        types::Tone::Warning => Tone::Warning,
        types::Tone::Danger => Tone::Danger,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use types::{Link, Section};

    fn tree(nodes: Vec<Node>, root: u32) -> Tree {
        Tree { nodes, root }
    }

    #[test]
    fn nests_children_and_sanitizes_markdown() {
        let t = tree(
            vec![
                Node::Markdown("**hi**<script>x</script>".into()),
                Node::Section(Section {
                    title: "S".into(),
                    children: vec![0],
                }),
            ],
            1,
        );
        assert_eq!(
            to_ui(&t, false).unwrap(),
            UiNode::Section {
                title: "S".into(),
                children: vec![UiNode::Markdown {
                    html: "<p><strong>hi</strong></p>\n".into()
                }]
            }
        );
    }

    #[test]
    fn cycles_missing_nodes_script_links_and_blowups_are_refused() {
        let cyclic = tree(vec![Node::List(vec![0])], 0);
        assert!(
            to_ui(&cyclic, false)
                .unwrap_err()
                .contains("children must come before")
        );
        assert!(
            to_ui(&tree(vec![], 0), false)
                .unwrap_err()
                .contains("does not exist")
        );
        let script = tree(
            vec![Node::Link(Link {
                label: "x".into(),
                url: "javascript:alert(1)".into(),
            })],
            0,
        );
        assert!(to_ui(&script, false).unwrap_err().contains("javascript:"));
        // Each list holds the previous one twice: 2^40 nodes if expanded naively.
        let mut nodes = vec![Node::Text("x".into())];
        for i in 0..40 {
            nodes.push(Node::List(vec![i, i]));
        }
        assert!(
            to_ui(&tree(nodes, 40), false)
                .unwrap_err()
                .contains("more than")
        );
    }

    #[test]
    fn buttons_and_forms_need_a_plugin_that_handles_actions() {
        let button = || {
            Node::Button(types::Button {
                action_id: "rerun".into(),
                label: "Re-run".into(),
                tone: types::Tone::Neutral,
                confirm: Some("Sure?".into()),
            })
        };
        let refused = to_ui(&tree(vec![button()], 0), false).unwrap_err();
        assert!(refused.contains("exports no interactions"), "{refused}");
        assert_eq!(
            to_ui(&tree(vec![button()], 0), true).unwrap(),
            UiNode::Button {
                action_id: "rerun".into(),
                label: "Re-run".into(),
                tone: Tone::Neutral,
                confirm: Some("Sure?".into()),
            }
        );
        let field = |name: &str| types::Field {
            name: name.into(),
            label: "L".into(),
            kind: types::FieldKind::Checkbox(true),
            required: false,
        };
        let form = |fields| {
            tree(
                vec![Node::Form(types::Form {
                    action_id: "save".into(),
                    fields,
                    submit_label: "Save".into(),
                })],
                0,
            )
        };
        let twice = to_ui(&form(vec![field("a"), field("a")]), true).unwrap_err();
        assert!(twice.contains("unique"), "{twice}");
        let UiNode::Form { fields, .. } = to_ui(&form(vec![field("a"), field("b")]), true).unwrap()
        else {
            panic!("a form")
        };
        assert_eq!(fields[1].kind, FieldKind::Checkbox { checked: true });
    }
}
