//! The `template-file` scaffolder action plugin. Its action `write` renders a template with
//! values through the host's templating import (Nunjucks/Jinja syntax) and writes the result
//! into the task's workspace: `action: template-file:write` in a software template.

use greenroom_sdk::templating;
use serde_json::{Value, json};

greenroom_sdk::bind_world!("scaffolder-plugin", "../../wit/v0.2.0");

use exports::greenroom::plugin::meta::{self, PluginInfo};
use exports::greenroom::plugin::scaffolder_actions::{self, Action};
use greenroom::plugin::workspace::Workspace;

const INPUT_SCHEMA: &str = r#"{
  "type": "object",
  "required": ["path", "template"],
  "properties": {
    "path": {"type": "string", "description": "File to write, relative to the workspace"},
    "template": {"type": "string", "description": "Template text, e.g. 'name: {{ name }}'"},
    "values": {"type": "object", "description": "Variables for the template"}
  },
  "additionalProperties": false
}"#;

struct TemplateFile;

impl meta::Guest for TemplateFile {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "template-file".into(),
            name: "Template file".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Scaffolder action that renders a template into a workspace file."
                .into(),
        }
    }
}

impl scaffolder_actions::Guest for TemplateFile {
    fn list_actions() -> Vec<Action> {
        vec![Action {
            id: "write".into(),
            description: "Renders `template` with `values` and writes it to `path`.".into(),
            input_schema_json: INPUT_SCHEMA.into(),
        }]
    }

    fn run(action_id: String, input_json: String, workspace: &Workspace) -> Result<String, String> {
        if action_id != "write" {
            return Err(format!("unknown action '{action_id}'"));
        }
        let input: Value =
            serde_json::from_str(&input_json).map_err(|e| format!("input is not JSON: {e}"))?;
        let path = input["path"].as_str().ok_or("input.path is missing")?;
        let template = input["template"].as_str().ok_or("input.template is missing")?;
        let values = match &input["values"] {
            Value::Null => json!({}),
            values => values.clone(),
        };
        let text = templating::render(template, &values.to_string())?;
        workspace.write_file(path, text.as_bytes())?;
        Ok(json!({ "path": path, "bytes": text.len() }).to_string())
    }
}

export!(TemplateFile);
