//! The permissions Greenroom knows, with Backstage's names, resource types and actions, and
//! the rules conditions may use on each resource type with the parameters each takes.

/// A permission: basic (`resource_type` none) or about a resource of one type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    pub name: &'static str,
    pub resource_type: Option<&'static str>,
    pub action: Option<&'static str>,
}

const fn basic(name: &'static str, action: &'static str) -> Permission {
    Permission {
        name,
        resource_type: None,
        action: Some(action),
    }
}

const fn resource(
    name: &'static str,
    resource_type: &'static str,
    action: Option<&'static str>,
) -> Permission {
    Permission {
        name,
        resource_type: Some(resource_type),
        action,
    }
}

pub const CATALOG_ENTITY: &str = "catalog-entity";

pub const ENTITY_READ: &str = "catalog.entity.read";
pub const ENTITY_CREATE: &str = "catalog.entity.create";
pub const ENTITY_REFRESH: &str = "catalog.entity.refresh";
pub const ENTITY_DELETE: &str = "catalog.entity.delete";
pub const LOCATION_READ: &str = "catalog.location.read";
pub const LOCATION_CREATE: &str = "catalog.location.create";
pub const LOCATION_DELETE: &str = "catalog.location.delete";
pub const TASK_CREATE: &str = "scaffolder.task.create";
pub const TASK_READ: &str = "scaffolder.task.read";
pub const TASK_CANCEL: &str = "scaffolder.task.cancel";
pub const TEMPLATE_PARAMETER_READ: &str = "scaffolder.template.parameter.read";
pub const TEMPLATE_STEP_READ: &str = "scaffolder.template.step.read";
pub const ACTION_EXECUTE: &str = "scaffolder.action.execute";
pub const GREENROOM_PLUGIN: &str = "greenroom-plugin";
/// Greenroom's: see a plugin's entity tabs (`HAS_PLUGIN_ID` picks plugins).
pub const PLUGIN_TAB_READ: &str = "greenroom.plugin.tab.read";
/// Greenroom's: upload, remove, enable and disable plugins.
pub const PLUGIN_MANAGE: &str = "greenroom.plugin.manage";
/// Greenroom's: read the audit log.
pub const AUDIT_READ: &str = "greenroom.audit.read";
/// Greenroom's: read the policy itself (roles, members, grants).
pub const POLICY_READ: &str = "greenroom.policy.read";

/// Every permission, in the order `greenroom policy` lists them.
pub const PERMISSIONS: &[Permission] = &[
    resource(ENTITY_READ, CATALOG_ENTITY, Some("read")),
    basic(ENTITY_CREATE, "create"),
    resource(ENTITY_REFRESH, CATALOG_ENTITY, Some("update")),
    resource(ENTITY_DELETE, CATALOG_ENTITY, Some("delete")),
    basic(LOCATION_READ, "read"),
    basic(LOCATION_CREATE, "create"),
    basic(LOCATION_DELETE, "delete"),
    basic(TASK_CREATE, "create"),
    resource("scaffolder.task.read", "scaffolder-task", Some("read")),
    resource("scaffolder.task.cancel", "scaffolder-task", Some("update")),
    resource(
        "scaffolder.template.parameter.read",
        "scaffolder-template",
        Some("read"),
    ),
    resource(
        "scaffolder.template.step.read",
        "scaffolder-template",
        Some("read"),
    ),
    resource("scaffolder.action.execute", "scaffolder-action", None),
    resource(PLUGIN_TAB_READ, GREENROOM_PLUGIN, Some("read")),
    basic(PLUGIN_MANAGE, "update"),
    basic(AUDIT_READ, "read"),
    basic(POLICY_READ, "read"),
];

pub fn permission(name: &str) -> Option<&'static Permission> {
    PERMISSIONS.iter().find(|p| p.name == name)
}

pub fn is_resource_type(name: &str) -> bool {
    PERMISSIONS.iter().any(|p| p.resource_type == Some(name))
}

/// What a rule parameter holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// A list of strings (`$ownerRefs` or `$currentUser` may stand in it).
    Strings,
    String,
    OptionalString,
}

/// A rule conditions may use, with Backstage's name and parameters.
pub struct Rule {
    pub resource_type: &'static str,
    pub name: &'static str,
    pub params: &'static [(&'static str, Param)],
    pub description: &'static str,
}

pub const RULES: &[Rule] = &[
    Rule {
        resource_type: CATALOG_ENTITY,
        name: "IS_ENTITY_OWNER",
        params: &[("claims", Param::Strings)],
        description: "the entity is owned by one of the claims (entity refs)",
    },
    Rule {
        resource_type: CATALOG_ENTITY,
        name: "IS_ENTITY_KIND",
        params: &[("kinds", Param::Strings)],
        description: "the entity is of one of the kinds",
    },
    Rule {
        resource_type: CATALOG_ENTITY,
        name: "HAS_ANNOTATION",
        params: &[
            ("annotation", Param::String),
            ("value", Param::OptionalString),
        ],
        description: "the entity has the annotation (with the value, when given)",
    },
    Rule {
        resource_type: CATALOG_ENTITY,
        name: "HAS_LABEL",
        params: &[("label", Param::String)],
        description: "the entity has the label",
    },
    Rule {
        resource_type: CATALOG_ENTITY,
        name: "HAS_METADATA",
        params: &[("key", Param::String), ("value", Param::OptionalString)],
        description: "the entity's metadata has the key (with the value, when given)",
    },
    Rule {
        resource_type: CATALOG_ENTITY,
        name: "HAS_SPEC",
        params: &[("key", Param::String), ("value", Param::OptionalString)],
        description: "the entity's spec has the key (with the value, when given)",
    },
];

pub const SCAFFOLDER_TEMPLATE: &str = "scaffolder-template";
pub const SCAFFOLDER_ACTION: &str = "scaffolder-action";
pub const SCAFFOLDER_TASK: &str = "scaffolder-task";

/// The scaffolder's rules, by Backstage's names, and Greenroom's for plugins.
const SCAFFOLDER_RULES: &[Rule] = &[
    Rule {
        resource_type: SCAFFOLDER_TEMPLATE,
        name: "HAS_TAG",
        params: &[("tag", Param::String)],
        description: "the template parameter page or step carries the tag in backstage:permissions",
    },
    Rule {
        resource_type: SCAFFOLDER_ACTION,
        name: "HAS_ACTION_ID",
        params: &[("actionId", Param::String)],
        description: "the step runs the action with that id",
    },
    Rule {
        resource_type: SCAFFOLDER_TASK,
        name: "IS_TASK_OWNER",
        params: &[("createdBy", Param::Strings)],
        description: "the task was created by one of the refs",
    },
    Rule {
        resource_type: GREENROOM_PLUGIN,
        name: "HAS_PLUGIN_ID",
        params: &[("pluginId", Param::String)],
        description: "the plugin has that id",
    },
];

/// Every rule, the catalog's then the scaffolder's.
pub fn rules() -> impl Iterator<Item = &'static Rule> {
    RULES.iter().chain(SCAFFOLDER_RULES)
}

pub fn rule(resource_type: &str, name: &str) -> Option<&'static Rule> {
    rules().find(|r| r.resource_type == resource_type && r.name == name)
}
