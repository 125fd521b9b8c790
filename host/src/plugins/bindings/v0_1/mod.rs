//! `greenroom:plugin@0.1.0` (published, frozen): the generated bindings, the host functions of
//! the interfaces it imports (shared with 0.2.0, see `imports/`), and its exports in 0.2.0's
//! shapes.

#[path = "../imports/catalog.rs"]
mod catalog;
#[path = "../imports/config.rs"]
mod config;
#[path = "../imports/docs.rs"]
mod docs;
#[path = "../imports/log.rs"]
mod log;
#[path = "../imports/templating.rs"]
mod templating;
#[path = "../imports/workspace.rs"]
mod workspace;

use super::{HostState, v0_2};
pub use catalog::to_wit_entity;

contract_version!(
    "../wit/v0.1.0",
    [types, catalog, templating, docs, config, log, workspace]
);

pub use exports::greenroom::plugin::{entity_provider, entity_tabs, meta, scaffolder_actions};
pub use greenroom::plugin::types;

/// A 0.1.0 tree is a 0.2.0 tree without buttons and forms.
pub fn newer_tree(tree: types::Tree) -> v0_2::types::Tree {
    use types::Node;
    use v0_2::types as newer;
    let tone = |tone: types::Tone| match tone {
        types::Tone::Neutral => newer::Tone::Neutral,
        types::Tone::Info => newer::Tone::Info,
        types::Tone::Success => newer::Tone::Success,
        types::Tone::Warning => newer::Tone::Warning,
        types::Tone::Danger => newer::Tone::Danger,
    };
    let nodes = tree
        .nodes
        .into_iter()
        .map(|node| match node {
            Node::Heading(text) => newer::Node::Heading(text),
            Node::Text(text) => newer::Node::Text(text),
            Node::Markdown(text) => newer::Node::Markdown(text),
            Node::Link(types::Link { label, url }) => newer::Node::Link(newer::Link { label, url }),
            Node::Badge(badge) => newer::Node::Badge(newer::Badge {
                label: badge.label,
                tone: tone(badge.tone),
            }),
            Node::Table(types::Table { columns, rows }) => {
                newer::Node::Table(newer::Table { columns, rows })
            }
            Node::KeyValues(pairs) => newer::Node::KeyValues(pairs),
            Node::Code(types::CodeBlock { language, code }) => {
                newer::Node::Code(newer::CodeBlock { language, code })
            }
            Node::List(items) => newer::Node::List(items),
            Node::Section(types::Section { title, children }) => {
                newer::Node::Section(newer::Section { title, children })
            }
            Node::Empty(reason) => newer::Node::Empty(reason),
        })
        .collect();
    newer::Tree {
        nodes,
        root: tree.root,
    }
}
