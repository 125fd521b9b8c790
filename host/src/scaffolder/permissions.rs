//! The scaffolder's side of permissions, with Backstage's permissions and rules: a template
//! is seen only by who may read its entity, and without the parameter pages whose
//! `backstage:permissions` tags `scaffolder.template.parameter.read` withholds; a run needs
//! `scaffolder.task.create`, every tagged step `scaffolder.template.step.read` (`HAS_TAG`) and
//! every action `scaffolder.action.execute` (`HAS_ACTION_ID`); tasks are read and cancelled
//! under `scaffolder.task.read|cancel` (`IS_TASK_OWNER`).

use std::sync::Arc;

use serde_json::Value;

use super::{Scaffolder, ScaffolderError, TaskQuery, Template};
use crate::http::ApiError;
use crate::permissions::{
    ACTION_EXECUTE, Access, Criteria, Decision, Resources, SCAFFOLDER_TASK, TASK_CREATE, TASK_READ,
    TEMPLATE_PARAMETER_READ, TEMPLATE_STEP_READ,
};

/// The tags a parameter page or step carries in `backstage:permissions`.
fn tags(item: &Value) -> Vec<String> {
    item["backstage:permissions"]["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect()
}

/// Whether the tagged item is allowed under `permission` (untagged items always are).
fn tags_allowed(access: &Access, permission: &str, item: &Value) -> bool {
    let tags = tags(item);
    tags.is_empty()
        || access.allows(permission, &mut |call| {
            call.rule == "HAS_TAG"
                && call.params["tag"]
                    .as_str()
                    .is_some_and(|t| tags.iter().any(|x| x == t))
        })
}

/// Whether `access` may execute the action `action_id` (`HAS_ACTION_ID`).
pub fn may_execute(access: &Access, action_id: &str) -> bool {
    access.allows(ACTION_EXECUTE, &mut |call| {
        call.rule == "HAS_ACTION_ID" && call.params["actionId"].as_str() == Some(action_id)
    })
}

/// Whether a task's creator meets the criteria.
fn task_meets(criteria: &Criteria, created_by: &str) -> bool {
    criteria.holds(&mut |call| {
        call.rule == "IS_TASK_OWNER"
            && call.params["createdBy"]
                .as_array()
                .is_some_and(|refs| refs.iter().any(|r| r.as_str() == Some(created_by)))
    })
}

impl Scaffolder {
    /// The template as `access` may see it: not found unless it may read the entity; the
    /// parameter pages it may not read are left out (so the form, validation and the task
    /// all see the same pages).
    pub fn template_for(
        &self,
        access: &Access,
        namespace: &str,
        kind: &str,
        name: &str,
    ) -> Result<Template, ScaffolderError> {
        let entity_ref = greenroom_api::EntityRef::new(kind, namespace, name);
        if !self.catalog.readable_by(access, &entity_ref)? {
            return Err(ScaffolderError::NotFound(format!(
                "Template {entity_ref} was not found"
            )));
        }
        let mut template = self.template(namespace, kind, name)?;
        template
            .pages
            .retain(|page| tags_allowed(access, TEMPLATE_PARAMETER_READ, page));
        Ok(template)
    }

    /// Refuses a run the caller may not make: creating tasks, a tagged step it may not
    /// read, an action it may not execute.
    pub fn check_run(&self, access: &Access, template: &Template) -> Result<(), ScaffolderError> {
        access.require(TASK_CREATE)?;
        let raw_steps = template.entity["spec"]["steps"].as_array();
        for (index, step) in template.steps.iter().enumerate() {
            let raw = raw_steps.and_then(|s| s.get(index)).unwrap_or(&Value::Null);
            if !tags_allowed(access, TEMPLATE_STEP_READ, raw) {
                return Err(access
                    .refused(format_args!(
                        "{TEMPLATE_STEP_READ} step '{}' of {}",
                        step.id, template.entity_ref
                    ))
                    .into());
            }
            let action = step.action.as_str();
            if !may_execute(access, action) {
                return Err(access
                    .refused(format_args!(
                        "{ACTION_EXECUTE} {action} (step '{}')",
                        step.id
                    ))
                    .into());
            }
        }
        Ok(())
    }

    /// The task, if the caller may hold it under `permission`: reading a task one may
    /// not read answers as if there were none.
    pub fn task_for(
        &self,
        access: &Access,
        permission: &str,
        id: &str,
    ) -> Result<Value, ScaffolderError> {
        let task = self.task(id)?;
        let created_by = task["createdBy"].as_str().unwrap_or_default();
        let allowed = match access.decide(permission) {
            Decision::Allow => true,
            Decision::Deny => false,
            Decision::Conditional(criteria) => task_meets(&criteria, created_by),
        };
        match (allowed, permission == TASK_READ) {
            (true, _) => Ok(task),
            (false, true) => Err(ScaffolderError::NotFound(format!("Task {id} not found"))),
            (false, false) => Err(access
                .refused(format_args!("{permission} task {id}"))
                .into()),
        }
    }

    /// The tasks the query selects among those the caller may read, with their count.
    pub fn tasks_for(
        &self,
        access: &Access,
        query: &TaskQuery,
    ) -> Result<(Vec<Value>, u64), ScaffolderError> {
        match access.decide(TASK_READ) {
            Decision::Allow => self.tasks(query),
            Decision::Deny => Err(access.refused(format_args!("{TASK_READ} tasks")).into()),
            // Tasks are few: the whole selection is filtered, then paged, so totals and
            // pages count only what the caller may read.
            Decision::Conditional(criteria) => {
                let all = TaskQuery {
                    limit: None,
                    offset: 0,
                    ..query.clone()
                };
                let readable: Vec<Value> = self
                    .tasks(&all)?
                    .0
                    .into_iter()
                    .filter(|t| task_meets(&criteria, t["createdBy"].as_str().unwrap_or_default()))
                    .collect();
                let total = readable.len() as u64;
                let page = readable
                    .into_iter()
                    .skip(usize::try_from(query.offset).unwrap_or(usize::MAX))
                    .take(
                        query
                            .limit
                            .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX)),
                    )
                    .collect();
                Ok((page, total))
            }
        }
    }
}

/// What the permission framework asks the scaffolder about its tasks.
pub struct TaskResources(pub Arc<Scaffolder>);

impl Resources for TaskResources {
    fn resource_type(&self) -> &'static str {
        SCAFFOLDER_TASK
    }

    fn meets(&self, resource_ref: &str, criteria: &Criteria) -> Result<Option<bool>, ApiError> {
        match self.0.task(resource_ref) {
            Ok(task) => Ok(Some(task_meets(
                criteria,
                task["createdBy"].as_str().unwrap_or_default(),
            ))),
            Err(ScaffolderError::NotFound(_)) => Ok(None),
            Err(error) => Err(ApiError::internal(error)),
        }
    }
}
