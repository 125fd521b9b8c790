//! `fs:delete`, `fs:rename`, `fs:readdir`: the workspace's files, never anything outside it.

use serde_json::{Value, json};

use super::{ActionInfo, Output, Step, object_schema};

pub fn infos() -> Vec<ActionInfo> {
    let content = json!({"type": "array", "items": {"type": "object", "properties": {
        "name": {"type": "string"}, "path": {"type": "string"}, "fullPath": {"type": "string"}}}});
    vec![
        ActionInfo {
            id: "fs:delete".into(),
            description: "Deletes files and directories from the workspace".into(),
            input: object_schema(
                json!({"files": {"title": "Files", "description": "A list of files and directories that will be deleted. Glob patterns are supported.",
                    "type": "array", "items": {"type": "string"}}}),
                &["files"],
            ),
            output: json!({"type": "object", "properties": {}}),
            supports_dry_run: true,
        },
        ActionInfo {
            id: "fs:rename".into(),
            description: "Renames files and directories within the workspace".into(),
            input: object_schema(
                json!({"files": {"title": "Files", "description": "A list of file and directory names that will be renamed",
                    "type": "array", "items": {"type": "object", "required": ["from", "to"], "properties": {
                        "from": {"type": "string", "title": "The source location of the file to be renamed"},
                        "to": {"type": "string", "title": "The destination of the new file"},
                        "overwrite": {"type": "boolean", "title": "Overwrite existing file or directory, default is false"}}}}}),
                &["files"],
            ),
            output: json!({"type": "object", "properties": {}}),
            supports_dry_run: true,
        },
        ActionInfo {
            id: "fs:readdir".into(),
            description: "Reads files and directories from the workspace".into(),
            input: object_schema(
                json!({"paths": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "recursive": {"type": "boolean", "default": false}}),
                &["paths"],
            ),
            output: object_schema(
                json!({"files": content, "folders": content}),
                &["files", "folders"],
            ),
            supports_dry_run: true,
        },
    ]
}

fn strings(step: &Step, name: &str) -> Result<Vec<String>, String> {
    step.input
        .get(name)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("input.{name} must be a list"))?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("input.{name} must list strings"))
        })
        .collect()
}

/// Every file and folder of the workspace, relative, folders first within their parent.
fn all_entries(step: &Step) -> Result<Vec<(String, bool)>, String> {
    let root = step.workspace.root();
    let mut out = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).map_err(|e| e.to_string())? {
            let entry = entry.map_err(|e| e.to_string())?;
            let is_dir = entry.file_type().map_err(|e| e.to_string())?.is_dir();
            let relative = entry
                .path()
                .strip_prefix(root)
                .map_err(|e| e.to_string())?
                .to_string_lossy()
                .into_owned();
            if is_dir {
                folders.push(entry.path());
            }
            out.push((relative, is_dir));
        }
    }
    out.sort();
    Ok(out)
}

pub fn delete(step: &mut Step) -> Result<Output, String> {
    let patterns = strings(step, "files")?;
    let entries = all_entries(step)?;
    for pattern in patterns {
        // A pattern must name something inside the workspace, as a path would.
        let normal = super::super::workspace::normalize(&pattern)?;
        let glob = glob::Pattern::new(&normal.to_string_lossy())
            .map_err(|e| format!("input.files: '{pattern}': {e}"))?;
        for (path, is_dir) in &entries {
            if !glob.matches_with(
                path,
                glob::MatchOptions {
                    case_sensitive: true,
                    require_literal_separator: true,
                    require_literal_leading_dot: false,
                },
            ) {
                continue;
            }
            let target = step.workspace.resolve(path)?;
            let removed = if *is_dir {
                std::fs::remove_dir_all(&target)
            } else {
                std::fs::remove_file(&target)
            };
            match removed {
                Ok(()) => (step.log)(format!("File {path} deleted successfully")),
                // Already gone with a folder deleted before it.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("{path}: {e}")),
            }
        }
    }
    Ok(Output::new())
}

pub fn rename(step: &mut Step) -> Result<Output, String> {
    let files = step
        .input
        .get("files")
        .and_then(Value::as_array)
        .ok_or("input.files must be a list")?;
    for (i, file) in files.iter().enumerate() {
        let (Some(from), Some(to)) = (file["from"].as_str(), file["to"].as_str()) else {
            return Err(format!("input.files[{i}] needs from and to"));
        };
        let source = step.workspace.resolve(from)?;
        let dest = step.workspace.resolve(to)?;
        if source == step.workspace.root() || dest == step.workspace.root() {
            return Err(format!(
                "input.files[{i}]: the workspace itself cannot be renamed"
            ));
        }
        if source.symlink_metadata().is_err() {
            return Err(format!("input.files[{i}]: {from} does not exist"));
        }
        if dest.symlink_metadata().is_ok() {
            if file["overwrite"] != true {
                return Err(format!(
                    "input.files[{i}]: {to} exists already (set overwrite to replace it)"
                ));
            }
            let removed = if dest.is_dir() {
                std::fs::remove_dir_all(&dest)
            } else {
                std::fs::remove_file(&dest)
            };
            removed.map_err(|e| format!("{to}: {e}"))?;
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{to}: {e}"))?;
        }
        std::fs::rename(&source, &dest).map_err(|e| format!("{from} -> {to}: {e}"))?;
    }
    Ok(Output::new())
}

pub fn readdir(step: &mut Step) -> Result<Output, String> {
    let recursive = step.flag("recursive");
    let root = step.workspace.root().to_path_buf();
    let (mut files, mut folders) = (Vec::new(), Vec::new());
    for path in strings(step, "paths")? {
        let start = step.workspace.resolve(&path)?;
        let mut pending = vec![start];
        while let Some(folder) = pending.pop() {
            let mut listing: Vec<_> = std::fs::read_dir(&folder)
                .map_err(|e| format!("{path}: {e}"))?
                .collect::<Result<_, _>>()
                .map_err(|e| format!("{path}: {e}"))?;
            listing.sort_by_key(|e| e.file_name());
            for entry in listing {
                let full = entry.path();
                let element = json!({
                    "name": entry.file_name().to_string_lossy(),
                    "path": full.strip_prefix(&root).unwrap_or(&full).to_string_lossy(),
                    "fullPath": full.to_string_lossy(),
                });
                if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
                    folders.push(element);
                    if recursive {
                        pending.push(full);
                    }
                } else {
                    files.push(element);
                }
            }
        }
    }
    let mut output = Output::new();
    output.insert("files".into(), files.into());
    output.insert("folders".into(), folders.into());
    Ok(output)
}
