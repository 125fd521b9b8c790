//! What the host, the frontend, the SDK and the tests all read the same way, so they cannot
//! drift apart: entity refs and entity JSON helpers ([`entity`]), and the JSON shapes of
//! Greenroom's own endpoints (`/api/plugins/...`, `/api/docs/...` in [`docs`]).
//! Backstage-compatible endpoints (`/api/catalog/...`, `/api/techdocs/...`) use Backstage's
//! shapes instead and are not described here.

pub mod docs;
pub mod entity;

use serde::{Deserialize, Serialize};

pub use entity::EntityRef;

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
    /// Pressing it posts a [`UiAction`] with its `action_id`.
    #[serde(rename_all = "camelCase")]
    Button {
        action_id: String,
        label: String,
        tone: Tone,
        /// Asked of the user before the action is sent.
        confirm: Option<String>,
    },
    /// Submitting it posts a [`UiAction`] with its `action_id` and each field's value.
    #[serde(rename_all = "camelCase")]
    Form {
        action_id: String,
        fields: Vec<FormField>,
        submit_label: String,
    },
}

/// One input of a [`UiNode::Form`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormField {
    pub name: String,
    pub label: String,
    pub required: bool,
    pub kind: FieldKind,
}

/// What a form field takes, with its initial value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FieldKind {
    Text {
        value: String,
    },
    Number {
        value: f64,
    },
    /// `options` are (value, label) pairs; `selected` none means the first.
    Select {
        options: Vec<(String, String)>,
        selected: Option<String>,
    },
    Checkbox {
        checked: bool,
    },
}

/// The value of a submitted field: text for text and select fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    Text(String),
    Number(f64),
    Checkbox(bool),
}

/// Where a plugin's tree is shown: an entity tab or card, or a page, by its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "kebab-case")]
pub enum SurfaceRef {
    Tab(String),
    Card(String),
    Page(String),
}

/// `POST /api/plugins/:plugin/ui-actions` (as `application/json`): a button press or form
/// submission on one of the plugin's surfaces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UiAction {
    pub surface: SurfaceRef,
    pub action_id: String,
    /// The entity of the tab or card; none on a page.
    #[serde(default)]
    pub entity: Option<String>,
    /// Form values by field name; empty for a button.
    #[serde(default)]
    pub values: std::collections::BTreeMap<String, FieldValue>,
}

/// What the portal shows after an action: the surface's new tree (none keeps the current
/// one), a notice, or both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UiActionOutcome {
    pub tree: Option<UiNode>,
    pub notice: Option<Notice>,
}

/// A short message after an action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub message: String,
    pub tone: Tone,
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

/// `GET /api/plugins`: one plugin file, loaded or not.
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
    /// SHA-256 of the loaded file (or of the failed one), hex.
    pub content_hash: String,
    /// Which compiler's code serves it: `baseline` (a large new plugin, right after it
    /// loads) until the `optimized` code replaces it; absent while it is not loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// The WIT package it was built against, e.g. `greenroom:plugin@0.1.0`.
    pub contract: String,
    pub state: PluginState,
    /// Why the file failed to load, or why its newest version was refused while the previous
    /// one kept serving.
    pub last_error: Option<String>,
    /// The contribution interfaces it exports: `entity-tabs`, `scaffolder-actions`,
    /// `entity-provider`.
    pub contributions: Vec<String>,
    /// The interfaces it imports (`greenroom:plugin/catalog@0.1.0`, `wasi:http/...`).
    #[serde(default)]
    pub imports: Vec<String>,
    /// The scaffolder actions it offers (`<plugin id>:<action id>` in templates).
    #[serde(default)]
    pub actions: Vec<ActionSummary>,
    /// What its manifest asks for.
    pub requested: Capabilities,
    /// What it may use: the part of the request the operator granted, and its limits.
    pub grants: Grants,
    pub stats: CallStats,
    pub storage: StorageUsage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PluginState {
    /// Its file is being compiled; it is listed, but takes no calls yet.
    Loading,
    Loaded,
    /// Loaded but switched off by the operator; it gets no calls.
    Disabled,
    Failed,
}

/// A scaffolder action a plugin offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionSummary {
    pub id: String,
    pub description: String,
    /// JSON Schema of its input.
    pub input_schema: serde_json::Value,
}

/// `POST /api/plugins/:id/actions/:action`: run an action on a scratch workspace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActionRun {
    pub input: serde_json::Value,
    /// The workspace's files before the run, by relative path (UTF-8 text).
    pub files: std::collections::BTreeMap<String, String>,
}

/// What an action run produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionOutcome {
    /// The action's output object.
    pub output: serde_json::Value,
    /// The workspace's files after the run (non-UTF-8 content is lossily decoded).
    pub files: std::collections::BTreeMap<String, String>,
}

/// Capabilities a plugin asks for in its manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Capabilities {
    /// Hosts (`name[:port]`) it sends HTTP requests to.
    pub hosts: Vec<String>,
    /// Config keys it reads.
    pub config: Vec<String>,
    /// Whether it feeds entities into the catalog.
    pub catalog_write: bool,
}

/// What a plugin may use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Grants {
    pub hosts: Vec<String>,
    /// Config keys with an operator-given value (values are never shown).
    pub config: Vec<String>,
    /// Config keys whose value comes from an environment variable.
    pub secrets: Vec<String>,
    pub catalog_write: bool,
    /// Requested but not granted, e.g. `host api.example.com`.
    pub missing: Vec<String>,
    pub timeout_ms: u64,
    pub memory_mib: u64,
    /// Calls that may run at once.
    pub concurrency: u32,
    /// Bytes of keys and values it may keep in its storage.
    pub storage_quota_bytes: u64,
    /// Button presses and form submissions one viewer may send it per second.
    pub actions_per_second: u32,
}

/// What a plugin keeps in its storage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StorageUsage {
    pub keys: u64,
    /// Keys and values.
    pub bytes: u64,
    pub quota_bytes: u64,
}

/// Calls made to a plugin since the server started, over all its versions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CallStats {
    pub calls: u64,
    /// Calls that returned an error or trapped, timeouts included.
    pub failures: u64,
    pub traps: u64,
    pub timeouts: u64,
    /// Calls turned away with 503: the plugin's concurrency limit was reached, or no call
    /// slot freed up in time. Counted in `calls`, not in `failures`.
    pub refused: u64,
    /// Calls running now.
    pub running: u32,
    /// Calls that waited for a call slot before running.
    pub queued: u64,
    /// Latency over the most recent calls, in milliseconds.
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The longest recent waits for a call slot, in milliseconds.
    pub queue_p99_ms: f64,
    /// Calls that ran on an instance made ahead of them (large plugins: Python, JavaScript);
    /// their latency above leaves out making it.
    pub prepared: u64,
    /// How long making those instances took, median of the recent ones, in milliseconds.
    pub prepare_p50_ms: f64,
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

/// `GET /api/plugins/cards?entity=REF`: the cards plugins offer for an entity's overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityCards {
    pub cards: Vec<CardRef>,
    /// Plugins whose `cards-for` call failed; the others' cards are still listed.
    pub errors: Vec<PluginFailure>,
}

/// One entity card a plugin offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardRef {
    pub plugin_id: String,
    pub card_id: String,
    pub title: String,
    pub size: CardSize,
}

/// The share of the overview's width a card asks for: a third, half, or all of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CardSize {
    Small,
    Medium,
    Large,
}

/// `GET /api/plugins/:plugin/cards/:card?entity=REF`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedCard {
    pub plugin_id: String,
    pub card_id: String,
    pub entity_ref: String,
    pub tree: UiNode,
}

/// `GET /api/plugins/pages`: one page a plugin contributes, at `/p/<plugin>/<page>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageRef {
    pub plugin_id: String,
    pub page_id: String,
    pub title: String,
}

/// `GET /api/plugins/:plugin/pages/:page`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderedPage {
    pub plugin_id: String,
    pub page_id: String,
    pub title: String,
    pub tree: UiNode,
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
