//! Running a task's steps, as Backstage's workflow runner does: `if`, `each`, inputs rendered
//! with the parameters, earlier steps' outputs, the user and (for inputs only) secrets,
//! checked against the action's schema, then run. The same code serves tasks and dry runs.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::secrets::Redactor;
use crate::scaffolder::Scaffolder;
use crate::scaffolder::Workspace;
use crate::scaffolder::actions::{self, ActionInfo, Budget, Output, Stop};
use crate::scaffolder::expr::Expressions;
use crate::scaffolder::template::Step;

/// Where a run's events go: the task's log (store and live streams) or a dry run's list.
pub trait Sink {
    fn emit(&mut self, kind: &str, body: Value);
}

/// How a run ended.
pub enum Ended {
    Completed(Value),
    Failed(String),
    Cancelled,
}

pub struct Run<'a> {
    pub scaffolder: &'a Scaffolder,
    pub task_id: &'a str,
    pub spec: &'a Value,
    pub secrets: &'a Map<String, Value>,
    pub redactor: &'a Redactor,
    pub workspace: &'a Workspace,
    pub template_dir: Option<&'a Path>,
    pub stop: &'a Stop,
    pub dry_run: bool,
    /// `{stepId: {status, output}}` of steps that ended in an earlier run; updated as steps
    /// end and handed to `save` each time.
    pub done: Map<String, Value>,
}

fn step_log(message: impl Into<String>, step: &str, status: &str) -> Value {
    json!({"message": message.into(), "stepId": step, "status": status})
}

impl Run<'_> {
    fn context(&self, steps: &Map<String, Value>) -> Value {
        json!({
            "parameters": self.spec["parameters"],
            "steps": steps,
            "user": self.spec["user"],
            "context": {"task": {"id": self.task_id}},
        })
    }

    /// Runs the steps after those in `done`, then renders the output.
    pub fn execute(
        &mut self,
        sink: &mut dyn Sink,
        save: &mut dyn FnMut(&Map<String, Value>),
    ) -> Ended {
        let steps: Vec<Step> = match self.spec["steps"].as_array() {
            Some(steps) => match steps
                .iter()
                .enumerate()
                .map(|(i, s)| Step::from_json(i, s))
                .collect::<Result<_, _>>()
            {
                Ok(steps) => steps,
                Err(e) => return Ended::Failed(e),
            },
            None => Vec::new(),
        };
        sink.emit(
            "log",
            json!({"message": format!("Starting up task with {} steps", steps.len())}),
        );
        let mut outputs = Map::new();
        for step in &steps {
            if let Some(done) = self.done.get(&step.id) {
                outputs.insert(step.id.clone(), json!({"output": done["output"].clone()}));
                continue;
            }
            sink.emit(
                "log",
                step_log(
                    format!("Beginning step {}", step.name),
                    &step.id,
                    "processing",
                ),
            );
            match self.step(step, &outputs, sink) {
                Ok(Some(output)) => {
                    // Later steps see the output as it is; what is stored has secrets masked.
                    let output = Value::Object(output);
                    self.done.insert(
                        step.id.clone(),
                        json!({"status": "completed", "output": self.redactor.json(&output)}),
                    );
                    outputs.insert(step.id.clone(), json!({"output": output}));
                    save(&self.done);
                    sink.emit(
                        "log",
                        step_log(
                            format!("Finished step {}", step.name),
                            &step.id,
                            "completed",
                        ),
                    );
                }
                Ok(None) => {
                    outputs.insert(step.id.clone(), json!({"output": {}}));
                    self.done
                        .insert(step.id.clone(), json!({"status": "skipped", "output": {}}));
                    save(&self.done);
                }
                Err(_) if self.stop.is_cancelled() => {
                    sink.emit(
                        "log",
                        step_log(
                            format!("Step {} has been cancelled.", step.id),
                            &step.id,
                            "cancelled",
                        ),
                    );
                    return Ended::Cancelled;
                }
                Err(message) => {
                    let message = self.redactor.text(&message);
                    sink.emit("log", step_log(message.clone(), &step.id, "failed"));
                    return Ended::Failed(message);
                }
            }
        }
        let expressions = &self.scaffolder.services.expressions;
        match expressions.render_value("output", &self.spec["output"], &self.context(&outputs)) {
            Ok(output) => Ended::Completed(sanitize_output(self.redactor.json(&output))),
            Err(e) => Ended::Failed(self.redactor.text(&e)),
        }
    }

    /// One step: `None` when it was skipped.
    fn step(
        &self,
        step: &Step,
        outputs: &Map<String, Value>,
        sink: &mut dyn Sink,
    ) -> Result<Option<Output>, String> {
        self.stop.check()?;
        let expressions = &self.scaffolder.services.expressions;
        let context = self.context(outputs);
        let skip = |sink: &mut dyn Sink| {
            sink.emit(
                "log",
                step_log(
                    format!(
                        "Skipping step {} because its if condition was false",
                        step.id
                    ),
                    &step.id,
                    "skipped",
                ),
            );
        };
        match &step.condition {
            Some(Value::Bool(false)) => {
                skip(sink);
                return Ok(None);
            }
            Some(condition @ Value::String(_)) if step.each.is_none() => {
                let rendered = expressions.render_value("if", condition, &context)?;
                if !Expressions::is_truthy(&rendered) {
                    skip(sink);
                    return Ok(None);
                }
            }
            _ => {}
        }
        let action = self.scaffolder.action(&step.action).ok_or_else(|| {
            format!(
                "Template action with ID '{}' is not registered.",
                step.action
            )
        })?;
        if self.dry_run && !action.supports_dry_run {
            sink.emit(
                "log",
                step_log(
                    format!("Skipping because {} does not support dry-run", action.id),
                    &step.id,
                    "skipped",
                ),
            );
            let example = actions::example_output(&action.output);
            return Ok(Some(example.as_object().cloned().unwrap_or_default()));
        }
        let mut full = context;
        // Dry runs never see secrets, as in Backstage.
        full["secrets"] = if self.dry_run {
            json!({})
        } else {
            Value::Object(self.secrets.clone())
        };
        let iterations = self.iterations(step, &full)?;
        // One budget for all of a step's iterations: what the workspace may still take.
        let limits = &self.scaffolder.limits;
        let (files, bytes) = usage(self.workspace.root());
        let mut budget = Budget {
            files: limits.max_files.saturating_sub(files),
            bytes: limits.max_workspace_bytes.saturating_sub(bytes),
            max_file_bytes: limits.max_file_bytes,
        };
        let mut output = Output::new();
        for (each, input) in iterations {
            self.stop.check()?;
            let Some(input) = input else {
                continue;
            };
            let name = match &each {
                Some(each) => {
                    sink.emit(
                        "log",
                        step_log(
                            self.redactor.text(&format!("Running step each: {each}")),
                            &step.id,
                            "processing",
                        ),
                    );
                    format!(
                        "{}[{}]",
                        action.id,
                        each["key"].as_str().unwrap_or_default()
                    )
                }
                None => action.id.clone(),
            };
            super::check_known_input(&action, &name, &input, &[])?;
            let produced = self.run_action(&action, step, input, &mut budget, sink)?;
            for (key, value) in produced {
                if each.is_some() {
                    let list = output.entry(key).or_insert_with(|| json!([]));
                    if let Some(list) = list.as_array_mut() {
                        list.push(value);
                    }
                } else {
                    output.insert(key, value);
                }
            }
        }
        Ok(Some(output))
    }

    /// Each iteration's `each` value and input (`None` when its `if` is false).
    #[allow(clippy::type_complexity)]
    fn iterations(
        &self,
        step: &Step,
        context: &Value,
    ) -> Result<Vec<(Option<Value>, Option<Value>)>, String> {
        let expressions = &self.scaffolder.services.expressions;
        let render_input = |context: &Value| -> Result<Value, String> {
            if step.input.is_null() {
                return Ok(json!({}));
            }
            expressions.render_value("input", &step.input, context)
        };
        let Some(each) = &step.each else {
            return Ok(vec![(None, Some(render_input(context)?))]);
        };
        let resolved = expressions.render_value("each", each, context)?;
        let pairs: Vec<(String, Value)> = match resolved {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect(),
            Value::Object(map) => map.into_iter().collect(),
            _ => {
                return Err(format!(
                    "Invalid value on action {}.each parameter, \"{each}\" cannot be resolved to a value",
                    step.action
                ));
            }
        };
        let limit = self.scaffolder.limits.max_each;
        if pairs.len() > limit {
            return Err(format!(
                "each: {} items is more than the {limit} a step may repeat for",
                pairs.len()
            ));
        }
        pairs
            .into_iter()
            .map(|(key, value)| {
                let each = json!({"key": key, "value": value});
                let mut context = context.clone();
                context["each"] = each.clone();
                let runs = match &step.condition {
                    Some(condition) => Expressions::is_truthy(
                        &expressions.render_value("if", condition, &context)?,
                    ),
                    None => true,
                };
                let input = if runs {
                    Some(render_input(&context)?)
                } else {
                    None
                };
                Ok((Some(each), input))
            })
            .collect()
    }

    fn run_action(
        &self,
        action: &ActionInfo,
        step: &Step,
        input: Value,
        budget: &mut Budget,
        sink: &mut dyn Sink,
    ) -> Result<Output, String> {
        let Value::Object(input) = input else {
            return Err(format!("the input of {} must be an object", action.id));
        };
        let redactor = self.redactor;
        let step_id = step.id.clone();
        let mut log = |message: String| {
            sink.emit(
                "log",
                json!({"message": redactor.text(&message), "stepId": step_id}),
            );
        };
        let mut running = actions::Step {
            input: &input,
            workspace: self.workspace,
            template_dir: self.template_dir,
            services: &self.scaffolder.services,
            stop: self.stop,
            budget,
            log: &mut log,
            dry_run: self.dry_run,
        };
        match actions::run_builtin(&action.id, &mut running) {
            Some(result) => result,
            None => {
                let output = self.scaffolder.run_external(
                    &action.id,
                    Value::Object(input),
                    self.workspace,
                    self.stop,
                )?;
                // A plugin writes through its own calls: its files are counted afterwards.
                let limits = &self.scaffolder.limits;
                let (files, bytes) = usage(self.workspace.root());
                if files > limits.max_files || bytes > limits.max_workspace_bytes {
                    return Err(format!(
                        "{}: the workspace holds {files} files, {} MiB: more than a task may",
                        action.id,
                        bytes >> 20
                    ));
                }
                Ok(output)
            }
        }
    }
}

/// Files and bytes in a workspace.
fn usage(root: &Path) -> (usize, u64) {
    let (mut files, mut bytes) = (0, 0);
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            match entry.metadata() {
                Ok(meta) if meta.is_dir() => folders.push(entry.path()),
                Ok(meta) => {
                    files += 1;
                    bytes += meta.len();
                }
                Err(_) => {}
            }
        }
    }
    (files, bytes)
}

/// Output links a page may follow (web or portal paths); anything else is dropped.
fn sanitize_output(mut output: Value) -> Value {
    if let Some(links) = output.get_mut("links").and_then(Value::as_array_mut) {
        links.retain(|link| {
            link["url"]
                .as_str()
                .is_none_or(greenroom_api::entity::is_safe_link)
        });
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_links_keep_only_web_and_portal_urls() {
        let output = sanitize_output(json!({"links": [
            {"title": "ok", "url": "https://example.com"},
            {"title": "rel", "url": "/catalog/default/component/x"},
            {"title": "js", "url": "javascript:alert(1)"},
            {"title": "JS", "url": " JaVaScRiPt:alert(1)"},
            {"title": "data", "url": "data:text/html,x"},
            {"title": "entity", "entityRef": "component:default/x"},
        ]}));
        let titles: Vec<&str> = output["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["title"].as_str().unwrap())
            .collect();
        assert_eq!(titles, ["ok", "rel", "entity"]);
    }
}
