//! Permissions: Backstage's model (permission names, basic and resource permissions,
//! ALLOW / DENY / CONDITIONAL decisions with `allOf` / `anyOf` / `not` criteria) decided by a
//! declarative policy file (`policy.rs`), hot-reloaded; a broken edit keeps the last good
//! policy. Without a policy every caller may do everything, as in Backstage without one.
//!
//! Handlers take an [`Access`] (the caller and the policy in force when the request
//! began) and ask it; a capability owning a resource type answers whether a resource meets
//! criteria ([`Resources`]): the catalog turns conditions into its own index predicates, so
//! filtering happens before paging.

pub mod api;
mod criteria;
mod model;
mod policy;
mod rhdh;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use arc_swap::ArcSwapOption;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

pub use criteria::{Criteria, RuleCall};
pub use model::{
    ACTION_EXECUTE, AUDIT_READ, CATALOG_ENTITY, ENTITY_DELETE, ENTITY_READ, ENTITY_REFRESH,
    LOCATION_CREATE, LOCATION_DELETE, LOCATION_READ, PERMISSIONS, PLUGIN_MANAGE, PLUGIN_TAB_READ,
    POLICY_READ, Permission, SCAFFOLDER_TASK, TASK_CANCEL, TASK_CREATE, TASK_READ,
    TEMPLATE_PARAMETER_READ, TEMPLATE_STEP_READ, permission,
};
pub use policy::{Decision, Policy, Verdict};
pub use rhdh::import as import_rhdh;

use crate::http::ApiError;

/// Who is calling.
#[derive(Debug, Clone, PartialEq)]
pub enum Identity {
    User {
        user_ref: String,
        ownership_refs: Vec<String>,
    },
    /// An API token's subject.
    Service { subject: String },
}

impl Identity {
    /// Who, as logs and messages name them.
    pub fn name(&self) -> String {
        match self {
            Identity::User { user_ref, .. } => user_ref.clone(),
            Identity::Service { subject } => format!("service:{subject}"),
        }
    }
}

/// A capability that owns a resource type and can tell whether one of its resources meets
/// criteria (Backstage's "apply conditions").
pub trait Resources: Send + Sync {
    fn resource_type(&self) -> &'static str;
    /// Whether `resource_ref` meets `criteria`; `None` when there is no such resource.
    fn meets(&self, resource_ref: &str, criteria: &Criteria) -> Result<Option<bool>, ApiError>;
}

pub struct Permissions {
    file: Option<PathBuf>,
    policy: ArcSwapOption<Policy>,
    /// Why the newest edit of the file was refused, while the last good policy serves.
    problem: Mutex<Option<String>>,
    resources: RwLock<Vec<Arc<dyn Resources>>>,
}

impl Permissions {
    /// Without a file every caller may do everything. With one it must read: a server
    /// never starts on a policy it could not read.
    pub fn open(file: Option<PathBuf>) -> anyhow::Result<Arc<Self>> {
        let policy = match &file {
            Some(path) => Some(Arc::new(read(path).map_err(anyhow::Error::msg)?)),
            None => None,
        };
        Ok(Arc::new(Self {
            file,
            policy: ArcSwapOption::new(policy),
            problem: Mutex::new(None),
            resources: RwLock::new(Vec::new()),
        }))
    }

    /// Adds what a capability knows of its resources.
    pub fn register(&self, resources: Arc<dyn Resources>) {
        self.resources
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(resources);
    }

    pub fn enabled(&self) -> bool {
        self.file.is_some()
    }

    /// The access of `caller` under the policy in force now.
    pub fn access(self: &Arc<Self>, caller: Option<Identity>) -> Access {
        Access {
            caller,
            policy: self.policy.load_full(),
            permissions: self.clone(),
        }
    }

    /// Reads the file again; a broken edit keeps the policy in force and is reported.
    pub fn reload(&self) {
        let Some(path) = &self.file else { return };
        match read(path) {
            Ok(policy) => {
                self.policy.store(Some(Arc::new(policy)));
                *self.problem.lock().unwrap_or_else(|e| e.into_inner()) = None;
                tracing::info!(file = %path.display(), "policy loaded");
            }
            Err(problem) => {
                tracing::error!("{problem}; the last good policy stays in force");
                *self.problem.lock().unwrap_or_else(|e| e.into_inner()) = Some(problem);
            }
        }
    }

    /// Reloads the policy whenever its file changes.
    pub fn watch(self: &Arc<Self>) -> anyhow::Result<()> {
        let Some(path) = self.file.clone() else {
            return Ok(());
        };
        let folder = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let name = path.file_name().map(|n| n.to_os_string());
        let this = self.clone();
        use crate::support::watch::{self, RecursiveMode, Watcher};
        watch::start(
            "policy-watch",
            std::time::Duration::from_millis(100),
            move |event: watch::Event| {
                event
                    .paths
                    .iter()
                    .filter(|p| p.file_name().map(|n| n.to_os_string()) == name)
                    .map(|_| ())
                    .collect()
            },
            |watcher| Ok(watcher.watch(&folder, RecursiveMode::NonRecursive)?),
            move |_, _, _| this.reload(),
        )?;
        Ok(())
    }

    /// The policy in force, its file and why the newest edit was refused, if it was.
    pub fn status(&self) -> serde_json::Value {
        let policy = self.policy.load_full();
        serde_json::json!({
            "enabled": self.enabled(),
            "file": self.file.as_ref().map(|f| f.display().to_string()),
            "policy": policy.map(|p| p.describe()),
            "problem": *self.problem.lock().unwrap_or_else(|e| e.into_inner()),
            "rules": model::rules().map(|r| serde_json::json!({
                "resourceType": r.resource_type,
                "name": r.name,
                "params": r.params.iter().map(|(name, _)| name).collect::<Vec<_>>(),
                "description": r.description,
            })).collect::<Vec<_>>(),
            "permissions": PERMISSIONS.iter().map(|p| serde_json::json!({
                "name": p.name,
                "type": if p.resource_type.is_some() { "resource" } else { "basic" },
                "resourceType": p.resource_type,
                "action": p.action,
            })).collect::<Vec<_>>(),
        })
    }

    fn resources(&self, resource_type: &str) -> Option<Arc<dyn Resources>> {
        self.resources
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|r| r.resource_type() == resource_type)
            .cloned()
    }
}

fn read(path: &Path) -> Result<Policy, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the policy {}: {e}", path.display()))?;
    Policy::parse(&text).map_err(|e| format!("policy {}: {e}", path.display()))
}

/// One request's caller and the policy in force when it began.
#[derive(Clone)]
pub struct Access {
    caller: Option<Identity>,
    policy: Option<Arc<Policy>>,
    permissions: Arc<Permissions>,
}

impl Access {
    pub fn caller(&self) -> Option<&Identity> {
        self.caller.as_ref()
    }

    fn who(&self) -> String {
        self.caller
            .as_ref()
            .map_or_else(|| "anonymous".into(), Identity::name)
    }

    /// The decision, with why.
    pub fn verdict(&self, permission: &Permission) -> Verdict {
        match &self.policy {
            Some(policy) => policy.decide(self.caller.as_ref(), permission),
            None => Verdict {
                decision: Decision::Allow,
                roles: Vec::new(),
                reason: "no policy is configured".into(),
            },
        }
    }

    pub fn decide(&self, name: &str) -> Decision {
        match permission(name) {
            Some(p) => self.verdict(p).decision,
            None => Decision::Deny,
        }
    }

    fn denied(&self, name: &str, reason: &str) -> ApiError {
        self.refused(format_args!("{name}: {reason}"))
    }

    /// A 403 saying the caller may not do `what`.
    pub fn refused(&self, what: impl std::fmt::Display) -> ApiError {
        ApiError::not_allowed(format!("{} may not {what}", self.who()))
    }

    /// Whether `name` is allowed on a resource that `rule` describes (answering each rule a
    /// conditional decision tests), for capabilities whose resources are tested one by one.
    pub fn allows(&self, name: &str, rule: &mut dyn FnMut(&RuleCall) -> bool) -> bool {
        match self.decide(name) {
            Decision::Allow => true,
            Decision::Deny => false,
            Decision::Conditional(criteria) => criteria.holds(rule),
        }
    }

    /// Whether the caller may see a plugin's UI and what it adds to search
    /// (`greenroom.plugin.tab.read` on the plugin).
    pub fn may_see_plugin(&self, plugin: &str) -> bool {
        self.allows(PLUGIN_TAB_READ, &mut |call| {
            call.rule == "HAS_PLUGIN_ID" && call.params["pluginId"].as_str() == Some(plugin)
        })
    }

    /// Passes when the permission is allowed outright (a basic permission, or a resource
    /// permission on every resource).
    pub fn require(&self, name: &str) -> Result<(), ApiError> {
        let verdict = match permission(name) {
            Some(p) => self.verdict(p),
            None => return Err(ApiError::internal(format!("unknown permission {name}"))),
        };
        match verdict.decision {
            Decision::Allow => Ok(()),
            Decision::Deny => Err(self.denied(name, &verdict.reason)),
            Decision::Conditional(_) => Err(self.denied(name, "only some resources are allowed")),
        }
    }

    /// Passes when the resource permission `name` is allowed on `resource_ref`; `Ok(None)`
    /// when there is no such resource.
    pub fn require_on(&self, name: &str, resource_ref: &str) -> Result<Option<()>, ApiError> {
        let Some(p) = permission(name) else {
            return Err(ApiError::internal(format!("unknown permission {name}")));
        };
        let verdict = self.verdict(p);
        match verdict.decision {
            Decision::Allow => Ok(Some(())),
            Decision::Deny => Err(self.denied(name, &verdict.reason)),
            Decision::Conditional(criteria) => match self.meets(p, resource_ref, &criteria)? {
                None => Ok(None),
                Some(true) => Ok(Some(())),
                Some(false) => Err(self.denied(
                    name,
                    &format!("{resource_ref} does not meet {}", criteria.describe()),
                )),
            },
        }
    }

    fn meets(
        &self,
        permission: &Permission,
        resource_ref: &str,
        criteria: &Criteria,
    ) -> Result<Option<bool>, ApiError> {
        let resource_type = permission.resource_type.unwrap_or_default();
        let resources = self.permissions.resources(resource_type).ok_or_else(|| {
            ApiError::internal(format!("nothing answers for {resource_type} resources"))
        })?;
        resources.meets(resource_ref, criteria)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Access {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        // `attach` wraps every API route; a route without it must not run undecided.
        parts
            .extensions
            .get::<Access>()
            .cloned()
            .ok_or_else(|| ApiError::internal("no access was decided for this request"))
    }
}

/// The layer that gives each API request its [`Access`]: the identity sign-in found and the
/// policy in force as the request began.
pub async fn attach(
    State(permissions): State<Arc<Permissions>>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = request.extensions().get::<Identity>().cloned();
    let access = permissions.access(caller);
    request.extensions_mut().insert(access);
    next.run(request).await
}
