//! Scaffolder actions contributed by plugins: input checked against the action's schema, run
//! on a task's workspace (or, for `POST /api/plugins/:id/actions/:action`, a scratch one
//! holding the files given), output returned.

use std::sync::Arc;

use greenroom_api::{ActionOutcome, ActionRun};
use serde_json::{Value, json};

use super::{PluginError, PluginHost};
use crate::scaffolder::{ActionInfo, ExternalActions, ExternalRun, Workspace};

/// The plugins' actions as the scaffolder sees them: `plugin-id:action-id`.
pub struct PluginActions(pub Arc<PluginHost>);

impl ExternalActions for PluginActions {
    fn list(&self) -> Vec<ActionInfo> {
        self.0
            .summaries()
            .into_iter()
            .flat_map(|plugin| {
                plugin.actions.into_iter().map(move |action| ActionInfo {
                    id: format!("{}:{}", plugin.id, action.id),
                    description: action.description,
                    input: action.input_schema,
                    output: json!({"type": "object"}),
                    // A plugin may reach anything it was granted: never in a dry run.
                    supports_dry_run: false,
                })
            })
            .collect()
    }

    fn run(&self, id: &str, input: Value, workspace: Workspace) -> ExternalRun {
        let host = self.0.clone();
        let (plugin, action) = id.split_once(':').unwrap_or((id, ""));
        let (plugin, action) = (plugin.to_string(), action.to_string());
        Box::pin(async move {
            let output = host
                .run_action_on(&plugin, &action, input, workspace)
                .await
                .map_err(|e| format!("{plugin}:{action}: {e}"))?;
            match output {
                Value::Object(map) => Ok(map),
                _ => Err(format!(
                    "{plugin}:{action}: returned output that is not an object"
                )),
            }
        })
    }
}

impl PluginHost {
    /// Runs one scaffolder action on a scratch workspace holding `run.files`: the input is
    /// checked against the action's schema first. Returns the output and the files after.
    pub async fn run_action(
        self: &Arc<Self>,
        plugin_id: &str,
        action_id: &str,
        run: ActionRun,
    ) -> Result<ActionOutcome, PluginError> {
        let scratch = self
            .settings
            .data_dir
            .join("workspaces")
            .join(uuid::Uuid::new_v4().to_string());
        std::fs::create_dir_all(&scratch).map_err(anyhow::Error::from)?;
        let outcome = async {
            let workspace = Workspace::new(&scratch).map_err(anyhow::Error::from)?;
            for (path, text) in &run.files {
                workspace
                    .write_file(path, text.as_bytes())
                    .map_err(PluginError::Invalid)?;
            }
            let output = self
                .run_action_on(plugin_id, action_id, run.input, workspace.clone())
                .await?;
            let mut files = std::collections::BTreeMap::new();
            for path in workspace.list_files().map_err(PluginError::Invalid)? {
                let bytes = workspace.read_file(&path).map_err(PluginError::Invalid)?;
                files.insert(path, String::from_utf8_lossy(&bytes).into_owned());
            }
            Ok(ActionOutcome { output, files })
        }
        .await;
        let _ = std::fs::remove_dir_all(&scratch);
        outcome
    }

    /// Runs one scaffolder action on `workspace`, its input checked against the action's
    /// schema first; returns the action's output object.
    pub async fn run_action_on(
        self: &Arc<Self>,
        plugin_id: &str,
        action_id: &str,
        input: Value,
        workspace: Workspace,
    ) -> Result<Value, PluginError> {
        let (plugin_id, action_id) = (plugin_id.to_string(), action_id.to_string());
        self.on_plugin_runtime(move |host| async move {
            host.run_action_here(&plugin_id, &action_id, input, workspace)
                .await
        })
        .await
    }

    async fn run_action_here(
        &self,
        plugin_id: &str,
        action_id: &str,
        input: Value,
        workspace: Workspace,
    ) -> Result<Value, PluginError> {
        let plugin = self.callable(plugin_id)?;
        let (Some(indices), Some(action)) = (
            &plugin.exports.actions,
            plugin.actions.iter().find(|a| a.id == action_id),
        ) else {
            return Err(PluginError::UnknownAction {
                plugin: plugin_id.into(),
                action: action_id.into(),
            });
        };
        let problems: Vec<String> = action
            .validator
            .iter_errors(&input)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        if !problems.is_empty() {
            return Err(PluginError::Invalid(format!(
                "input of {plugin_id}:{action_id}: {}",
                problems.join("; ")
            )));
        }
        let input = input.to_string();
        let call = format!("scaffolder-actions.run({action_id})");
        let (id, indices) = (action_id.to_string(), indices.clone());
        // A task's steps run for the portal: the task was allowed when it was created.
        self.call(
            &plugin,
            &call,
            None,
            move |store, instance| {
                Box::pin(async move {
                    let handle = store.data_mut().table.push(workspace)?;
                    indices.run(store, instance, &id, &input, handle).await
                })
            },
            |output| {
                let output: Value = serde_json::from_str(&output?)
                    .map_err(|e| format!("returned output that is not JSON: {e}"))?;
                if output.is_object() {
                    Ok(output)
                } else {
                    Err("returned output that is not a JSON object".into())
                }
            },
        )
        .await
    }
}
