//! Scaffolder actions contributed by plugins: input checked against the action's schema, run
//! on a scratch workspace, output and files returned.

use std::path::Path;
use std::sync::Arc;

use greenroom_api::{ActionOutcome, ActionRun};

use super::bindings;
use super::registry::LoadedPlugin;
use super::{PluginError, PluginHost};
use crate::scaffolder::Workspace;

impl PluginHost {
    /// Runs one scaffolder action on a scratch workspace holding `run.files`: the input is
    /// checked against the action's schema first. Returns the output and the files after.
    pub async fn run_action(
        self: &Arc<Self>,
        plugin_id: &str,
        action_id: &str,
        run: ActionRun,
    ) -> Result<ActionOutcome, PluginError> {
        let (plugin_id, action_id) = (plugin_id.to_string(), action_id.to_string());
        self.on_plugin_runtime(move |host| async move {
            host.run_action_here(&plugin_id, &action_id, run).await
        })
        .await
    }

    async fn run_action_here(
        &self,
        plugin_id: &str,
        action_id: &str,
        run: ActionRun,
    ) -> Result<ActionOutcome, PluginError> {
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
            .iter_errors(&run.input)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        if !problems.is_empty() {
            return Err(PluginError::Invalid(format!(
                "input of {plugin_id}:{action_id}: {}",
                problems.join("; ")
            )));
        }
        let scratch = self
            .settings
            .data_dir
            .join("workspaces")
            .join(uuid::Uuid::new_v4().to_string());
        std::fs::create_dir_all(&scratch).map_err(anyhow::Error::from)?;
        let outcome = self
            .run_in(&plugin, indices.clone(), action_id, &run, &scratch)
            .await;
        let _ = std::fs::remove_dir_all(&scratch);
        outcome
    }

    async fn run_in(
        &self,
        plugin: &LoadedPlugin,
        indices: bindings::scaffolder_actions::GuestIndices,
        action_id: &str,
        run: &ActionRun,
        scratch: &Path,
    ) -> Result<ActionOutcome, PluginError> {
        let workspace = Workspace::new(scratch).map_err(anyhow::Error::from)?;
        for (path, text) in &run.files {
            workspace
                .write_file(path, text.as_bytes())
                .map_err(PluginError::Invalid)?;
        }
        let input = run.input.to_string();
        let call = format!("scaffolder-actions.run({action_id})");
        let (id, in_workspace) = (action_id.to_string(), workspace.clone());
        let output = self
            .call(
                plugin,
                &call,
                move |store, instance| {
                    Box::pin(async move {
                        let handle = store.data_mut().table.push(in_workspace)?;
                        indices
                            .load(&mut *store, instance)?
                            .call_run(&mut *store, &id, &input, handle)
                            .await
                    })
                },
                |output| {
                    let output: serde_json::Value = serde_json::from_str(&output?)
                        .map_err(|e| format!("returned output that is not JSON: {e}"))?;
                    if output.is_object() {
                        Ok(output)
                    } else {
                        Err("returned output that is not a JSON object".into())
                    }
                },
            )
            .await?;
        let mut files = std::collections::BTreeMap::new();
        for path in workspace.list_files().map_err(PluginError::Invalid)? {
            let bytes = workspace.read_file(&path).map_err(PluginError::Invalid)?;
            files.insert(path, String::from_utf8_lossy(&bytes).into_owned());
        }
        Ok(ActionOutcome { output, files })
    }
}
