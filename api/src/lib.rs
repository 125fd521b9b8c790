//! JSON shapes of Greenroom's own endpoints (`/api/plugins/...`), shared by the host that
//! writes them and the frontend and tests that read them, so the two cannot drift apart.
//! Backstage-compatible endpoints (`/api/catalog/...`) use Backstage's shapes instead and are
//! not described here.

use serde::{Deserialize, Serialize};

/// A rendered UI node: the nested, validated form of a plugin's flat WIT tree.
/// Markdown arrives as HTML already sanitized by the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum UiNode {
    Heading {
        text: String,
    },
    Text {
        text: String,
    },
    Markdown {
        html: String,
    },
    Link {
        label: String,
        url: String,
    },
    Badge {
        label: String,
        tone: Tone,
    },
    Table {
        columns: Vec<String>,
        rows: Vec<Vec<UiNode>>,
    },
    KeyValues {
        pairs: Vec<(String, String)>,
    },
    Code {
        language: Option<String>,
        code: String,
    },
    List {
        items: Vec<UiNode>,
    },
    Section {
        title: String,
        children: Vec<UiNode>,
    },
    Empty {
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tone {
    Neutral,
    Info,
    Success,
    Warning,
    Danger,
}

/// `GET /api/plugins`: one loaded (or failed) plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginSummary {
    /// The plugin's id from its `meta` export; the file stem when it failed to load.
    pub id: String,
    pub name: String,
    pub version: String,
    pub description: String,
    /// The `.wasm` file it was loaded from.
    pub file: String,
    /// SHA-256 of the file, hex.
    pub content_hash: String,
    pub state: PluginState,
    pub last_error: Option<String>,
    pub contributions: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginState {
    Loaded,
    Failed,
}

/// One entity tab a plugin offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TabRef {
    pub plugin_id: String,
    pub tab_id: String,
    pub title: String,
}

/// A plugin call that failed; shown where its output would have been.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginFailure {
    pub plugin_id: String,
    pub message: String,
}

/// `GET /api/plugins/tabs?entity=REF`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityTabs {
    pub tabs: Vec<TabRef>,
    /// Plugins whose `tabs-for` call failed; the others' tabs are still listed.
    pub errors: Vec<PluginFailure>,
}

/// `GET /api/plugins/:plugin/tabs/:tab?entity=REF`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedTab {
    pub plugin_id: String,
    pub tab_id: String,
    pub entity_ref: String,
    pub tree: UiNode,
}
