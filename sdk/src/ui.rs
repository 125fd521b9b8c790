//! Build the declarative UI trees that entity tabs, cards and pages return.
//!
//! The WIT tree is a flat list in which a node may only refer to earlier nodes. The builder
//! keeps that rule for you: children are added first and their ids passed to the parent.

use crate::types::{
    Badge, Button, CodeBlock, Field, FieldKind, Form, Link, Node, NodeId, Section, SelectField,
    Table, Tone, Tree,
};

/// Accumulates nodes; [`TreeBuilder::finish`] names the root.
#[derive(Default)]
pub struct TreeBuilder {
    nodes: Vec<Node>,
}

impl TreeBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds any node and returns its id.
    pub fn push(&mut self, node: Node) -> NodeId {
        self.nodes.push(node);
        NodeId::try_from(self.nodes.len() - 1).expect("a tree holds fewer than 2^32 nodes")
    }

    pub fn heading(&mut self, text: impl Into<String>) -> NodeId {
        self.push(Node::Heading(text.into()))
    }

    pub fn text(&mut self, text: impl Into<String>) -> NodeId {
        self.push(Node::Text(text.into()))
    }

    pub fn markdown(&mut self, markdown: impl Into<String>) -> NodeId {
        self.push(Node::Markdown(markdown.into()))
    }

    pub fn link(&mut self, label: impl Into<String>, url: impl Into<String>) -> NodeId {
        self.push(Node::Link(Link {
            label: label.into(),
            url: url.into(),
        }))
    }

    pub fn badge(&mut self, label: impl Into<String>, tone: Tone) -> NodeId {
        self.push(Node::Badge(Badge {
            label: label.into(),
            tone,
        }))
    }

    pub fn table(&mut self, columns: &[&str], rows: Vec<Vec<NodeId>>) -> NodeId {
        self.push(Node::Table(Table {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
        }))
    }

    pub fn key_values<K: Into<String>, V: Into<String>>(
        &mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> NodeId {
        self.push(Node::KeyValues(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ))
    }

    pub fn code(&mut self, language: Option<&str>, code: impl Into<String>) -> NodeId {
        self.push(Node::Code(CodeBlock {
            language: language.map(str::to_string),
            code: code.into(),
        }))
    }

    pub fn list(&mut self, items: Vec<NodeId>) -> NodeId {
        self.push(Node::List(items))
    }

    pub fn section(&mut self, title: impl Into<String>, children: Vec<NodeId>) -> NodeId {
        self.push(Node::Section(Section {
            title: title.into(),
            children,
        }))
    }

    pub fn empty(&mut self, reason: impl Into<String>) -> NodeId {
        self.push(Node::Empty(reason.into()))
    }

    /// A button whose press calls the plugin's `interactions.handle-action` with `action_id`
    /// (the plugin must export `interactions`).
    pub fn button(
        &mut self,
        action_id: impl Into<String>,
        label: impl Into<String>,
        tone: Tone,
    ) -> NodeId {
        self.push(Node::Button(Button {
            action_id: action_id.into(),
            label: label.into(),
            tone,
            confirm: None,
        }))
    }

    /// A button the user confirms first, answering `question`.
    pub fn confirmed_button(
        &mut self,
        action_id: impl Into<String>,
        label: impl Into<String>,
        tone: Tone,
        question: impl Into<String>,
    ) -> NodeId {
        self.push(Node::Button(Button {
            action_id: action_id.into(),
            label: label.into(),
            tone,
            confirm: Some(question.into()),
        }))
    }

    /// A form; submitting it calls `handle-action` with `action_id` and the fields' values.
    pub fn form(
        &mut self,
        action_id: impl Into<String>,
        fields: Vec<Field>,
        submit_label: impl Into<String>,
    ) -> NodeId {
        self.push(Node::Form(Form {
            action_id: action_id.into(),
            fields,
            submit_label: submit_label.into(),
        }))
    }

    /// Ends the tree with `root` as its top node.
    pub fn finish(self, root: NodeId) -> Tree {
        Tree {
            nodes: self.nodes,
            root,
        }
    }
}

/// Form fields, for [`TreeBuilder::form`].
pub mod field {
    use super::{Field, FieldKind, SelectField};

    fn field(name: &str, label: &str, kind: FieldKind) -> Field {
        Field {
            name: name.into(),
            label: label.into(),
            kind,
            required: false,
        }
    }

    /// One line of text, starting as `value`.
    pub fn text(name: &str, label: &str, value: &str) -> Field {
        field(name, label, FieldKind::Text(value.into()))
    }

    /// A number, starting as `value`.
    pub fn number(name: &str, label: &str, value: f64) -> Field {
        field(name, label, FieldKind::Number(value))
    }

    /// One of `options` as (value, label) pairs; the first is chosen at first.
    pub fn select(name: &str, label: &str, options: &[(&str, &str)]) -> Field {
        let options = options
            .iter()
            .map(|(v, l)| (v.to_string(), l.to_string()))
            .collect();
        field(
            name,
            label,
            FieldKind::Select(SelectField {
                options,
                selected: None,
            }),
        )
    }

    pub fn checkbox(name: &str, label: &str, checked: bool) -> Field {
        field(name, label, FieldKind::Checkbox(checked))
    }

    /// The same field, which the portal will not submit empty.
    pub fn required(mut field: Field) -> Field {
        field.required = true;
        field
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_get_smaller_ids_than_their_parent() {
        let mut b = TreeBuilder::new();
        let owner = b.link("platform", "/catalog/default/group/platform");
        let kv = b.key_values([("Owner", "platform")]);
        let root = b.section("Ownership", vec![owner, kv]);
        let tree = b.finish(root);
        assert_eq!(tree.root, 2);
        match &tree.nodes[2] {
            Node::Section(s) => {
                assert_eq!(s.title, "Ownership");
                assert!(s.children.iter().all(|&c| c < tree.root));
            }
            _ => panic!("root should be the section"),
        }
    }
}
