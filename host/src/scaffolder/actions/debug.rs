//! `debug:log` and `debug:wait`.

use std::time::Duration;

use serde_json::{Value, json};

use super::{ActionInfo, Output, Step};

/// The longest `debug:wait`, as Backstage caps it.
const MAX_WAIT: Duration = Duration::from_secs(30 * 60);

pub fn infos() -> Vec<ActionInfo> {
    vec![
        ActionInfo {
            id: "debug:log".into(),
            description: "Writes a message into the log and/or lists all files in the workspace."
                .into(),
            input: json!({"type": "object", "properties": {
                "message": {"title": "Message to output.", "type": "string"},
                "listWorkspace": {"title": "List all files in the workspace, if true.",
                    "enum": [true, false, "with-filenames", "with-contents"]},
                "extra": {"title": "Extra info"}}}),
            output: json!({"type": "object", "properties": {}}),
            supports_dry_run: true,
        },
        ActionInfo {
            id: "debug:wait".into(),
            description: "Waits for a certain period of time.".into(),
            input: json!({"type": "object", "properties": {
                "minutes": {"type": "number"}, "seconds": {"type": "number"},
                "milliseconds": {"type": "number"}}}),
            output: json!({"type": "object", "properties": {}}),
            supports_dry_run: true,
        },
    ]
}

pub fn log(step: &mut Step) -> Result<Output, String> {
    if let Some(message) = step.string("message") {
        let message = message.to_string();
        (step.log)(message);
    }
    if let Some(extra) = step.input.get("extra") {
        (step.log)(format!("Extra info: {extra}"));
    }
    let listing = match step.input.get("listWorkspace") {
        Some(Value::Bool(true)) => Some(false),
        Some(Value::String(mode)) if mode == "with-filenames" => Some(false),
        Some(Value::String(mode)) if mode == "with-contents" => Some(true),
        _ => None,
    };
    if let Some(contents) = listing {
        let mut lines = Vec::new();
        for file in step.workspace.list_files()? {
            if contents {
                let bytes = step.workspace.read_file(&file)?;
                lines.push(format!(" - {file}:\n{}", String::from_utf8_lossy(&bytes)));
            } else {
                lines.push(format!(" - {file}"));
            }
        }
        (step.log)(format!("Workspace:\n{}", lines.join("\n")));
    }
    Ok(Output::new())
}

pub fn wait(step: &mut Step) -> Result<Output, String> {
    let part =
        |name: &str, unit: f64| step.input.get(name).and_then(Value::as_f64).unwrap_or(0.0) * unit;
    let millis = part("minutes", 60_000.0) + part("seconds", 1_000.0) + part("milliseconds", 1.0);
    if !(0.0..=MAX_WAIT.as_millis() as f64).contains(&millis) {
        return Err(format!(
            "Duration must be between 0 and {} minutes",
            MAX_WAIT.as_secs() / 60
        ));
    }
    step.stop.wait(Duration::from_millis(millis as u64))?;
    Ok(Output::new())
}
