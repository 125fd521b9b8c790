//! `fetch:plain`, `fetch:plain:file`, `fetch:template`, `fetch:template:file`: copy (and
//! render) files from the template's own folder into the workspace.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{ActionInfo, Output, Step, object_schema};
use crate::scaffolder::expr::FileOptions;

pub fn infos() -> Vec<ActionInfo> {
    let url = json!({"type": "string", "title": "Fetch URL",
        "description": "Relative path or absolute URL pointing to the directory tree to fetch"});
    let target = json!({"type": "string", "title": "Target Path",
        "description": "Target path within the working directory to download the contents to."});
    let values = json!({"type": "object", "title": "Template Values",
        "description": "Values to pass on to the templating engine"});
    let file_target = json!({"type": "string", "title": "Target Path",
        "description": "Target path within the working directory to download the file as."});
    let replace = json!({"type": "boolean", "title": "Replace files",
        "description": "If set, replace files in targetPath instead of skipping existing ones."});
    let info = |id: &str, description: &str, input: Value| ActionInfo {
        id: id.into(),
        description: description.into(),
        input,
        output: json!({"type": "object", "properties": {}}),
        supports_dry_run: true,
    };
    vec![
        info(
            "fetch:plain",
            "Downloads content and places it in the workspace, or optionally in a subdirectory specified by the `targetPath` input option.",
            object_schema(json!({"url": url, "targetPath": target}), &["url"]),
        ),
        info(
            "fetch:plain:file",
            "Downloads single file and places it in the workspace.",
            object_schema(
                json!({"url": url, "targetPath": file_target}),
                &["url", "targetPath"],
            ),
        ),
        info(
            "fetch:template",
            "Downloads a skeleton, templates variables into file and directory names and content, and places the result in the workspace, or optionally in a subdirectory specified by the `targetPath` input option.",
            object_schema(
                json!({
                    "url": url, "targetPath": target, "values": values,
                    "copyWithoutRender": {"type": "array", "items": {"type": "string"},
                        "description": "An array of glob patterns. Any files or directories which match are copied without being processed as templates. Deprecated: use copyWithoutTemplating."},
                    "copyWithoutTemplating": {"type": "array", "items": {"type": "string"},
                        "description": "An array of glob patterns. Contents of matched files or directories are copied without being processed, but paths are subject to rendering."},
                    "cookiecutterCompat": {"type": "boolean",
                        "description": "Enable features to maximise compatibility with templates built for fetch:cookiecutter"},
                    "templateFileExtension": {"type": ["string", "boolean"],
                        "description": "If set, only files with the given extension will be templated. If set to `true`, the default extension `.njk` is used."},
                    "replace": replace,
                    "trimBlocks": {"type": "boolean"},
                    "lstripBlocks": {"type": "boolean"},
                }),
                &["url"],
            ),
        ),
        info(
            "fetch:template:file",
            "Downloads single file and places it in the workspace.",
            object_schema(
                json!({"url": url, "targetPath": file_target, "values": values,
                    "cookiecutterCompat": {"type": "boolean"}, "replace": replace}),
                &["url", "targetPath"],
            ),
        ),
    ]
}

/// An entry of a template folder: a folder (path ends with `/`) or a file, with where it is.
struct Entry {
    path: String,
    source: Option<PathBuf>,
}

/// Every folder and file under `root`, as `/`-separated relative paths, sorted. A link is
/// followed only to a file inside `root`; one leading out fails the step, naming it.
fn entries(root: &Path, step: &Step) -> Result<Vec<Entry>, String> {
    let canonical = root
        .canonicalize()
        .map_err(|e| format!("{}: {e}", root.display()))?;
    let mut out = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        step.stop.check()?;
        let listing =
            std::fs::read_dir(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        for entry in listing {
            let entry = entry.map_err(|e| e.to_string())?;
            let path = entry.path();
            let relative = path
                .strip_prefix(root)
                .map_err(|e| e.to_string())?
                .to_string_lossy()
                .replace('\\', "/");
            let kind = entry.file_type().map_err(|e| format!("{relative}: {e}"))?;
            if kind.is_dir() {
                out.push(Entry {
                    path: format!("{relative}/"),
                    source: None,
                });
                folders.push(path);
            } else if kind.is_symlink() {
                let target = crate::support::paths::within(&canonical, &path).map_err(|_| {
                    format!(
                        "{relative}: a symbolic link leading outside the template's folder is refused"
                    )
                })?;
                if !target.is_file() {
                    return Err(format!(
                        "{relative}: a symbolic link to a folder is not copied"
                    ));
                }
                out.push(Entry {
                    path: relative,
                    source: Some(target),
                });
            } else if kind.is_file() {
                out.push(Entry {
                    path: relative,
                    source: Some(path),
                });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Reads a source file within the step's per-file cap (a file may be huge or endless); errors
/// name it as the template does (`shown`).
fn read(source: &Path, shown: &str, step: &Step) -> Result<Vec<u8>, String> {
    crate::support::files::read_bounded(source, step.budget.max_file_bytes)
        .map_err(|e| format!("{shown}: {e}"))
}

/// Binary files are copied verbatim, as Backstage does (NUL bytes or not UTF-8).
fn is_binary(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(8000)];
    head.contains(&0) || std::str::from_utf8(bytes).is_err()
}

fn target_dir(step: &Step) -> Result<String, String> {
    let target = step.string("targetPath").unwrap_or("./");
    let normal = super::super::workspace::normalize(target)?;
    Ok(normal.to_string_lossy().into_owned())
}

fn join(dir: &str, path: &str) -> String {
    if dir.is_empty() {
        path.to_string()
    } else {
        format!("{dir}/{path}")
    }
}

pub fn plain(step: &mut Step) -> Result<Output, String> {
    let source = step.source(step.required("url")?)?;
    let target = target_dir(step)?;
    for entry in entries(&source, step)? {
        if let Some(file) = entry.source {
            let bytes = read(&file, &entry.path, step)?;
            step.write(&join(&target, &entry.path), &bytes)?;
        }
    }
    Ok(Output::new())
}

pub fn plain_file(step: &mut Step) -> Result<Output, String> {
    let bytes = step.fetch_file(step.required("url")?)?;
    let target = step.required("targetPath")?.to_string();
    step.write(&target, &bytes)?;
    Ok(Output::new())
}

/// The pieces of `fetch:template`'s input that decide what is rendered.
struct Rendering {
    values: Value,
    options: FileOptions,
    extension: Option<String>,
    copy_only: Vec<glob::Pattern>,
    /// `copyWithoutRender` (deprecated) leaves the matched paths unrendered too.
    render_copied_paths: bool,
}

impl Rendering {
    fn from(step: &Step) -> Result<Self, String> {
        let patterns = |name: &str| -> Result<Option<Vec<glob::Pattern>>, String> {
            match step.input.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|p| {
                        let p = p
                            .as_str()
                            .ok_or(format!("input.{name} must list strings"))?;
                        glob::Pattern::new(p.trim_end_matches('/'))
                            .map_err(|e| format!("input.{name}: '{p}': {e}"))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
                Some(_) => Err(format!("Fetch action input {name} must be an Array")),
            }
        };
        let without_render = patterns("copyWithoutRender")?;
        let without_templating = patterns("copyWithoutTemplating")?;
        if without_render.is_some() && without_templating.is_some() {
            return Err("Fetch action input copyWithoutRender and copyWithoutTemplating can not be used at the same time".into());
        }
        let cookiecutter = step.flag("cookiecutterCompat");
        let extension = match step.input.get("templateFileExtension") {
            Some(Value::Bool(true)) => Some(".njk".to_string()),
            Some(Value::String(e)) if !e.is_empty() => Some(if e.starts_with('.') {
                e.clone()
            } else {
                format!(".{e}")
            }),
            _ => None,
        };
        if extension.is_some()
            && (without_render.is_some() || without_templating.is_some() || cookiecutter)
        {
            return Err("Fetch action input extension incompatible with copyWithoutRender/copyWithoutTemplating and cookiecutterCompat".into());
        }
        Ok(Self {
            values: step.input.get("values").cloned().unwrap_or(json!({})),
            options: FileOptions {
                cookiecutter_compat: cookiecutter,
                trim_blocks: step.flag("trimBlocks"),
                lstrip_blocks: step.flag("lstripBlocks"),
            },
            extension,
            render_copied_paths: without_render.is_none(),
            copy_only: without_render.or(without_templating).unwrap_or_default(),
        })
    }

    fn render(&self, step: &Step, text: &str) -> Result<String, String> {
        step.services
            .expressions
            .render_file(text, &self.values, self.options)
    }

    /// The output path of `entry` and whether its contents are rendered; `None` skips it
    /// (a path rendered empty, as Backstage skips it).
    fn place(&self, step: &Step, entry: &str) -> Result<Option<(String, bool)>, String> {
        let (path, contents) = if let Some(extension) = &self.extension {
            let templated =
                entry.ends_with(extension.as_str()) && Path::new(entry).extension().is_some();
            let path = if templated {
                &entry[..entry.len() - extension.len()]
            } else {
                entry
            };
            (self.render(step, path)?, templated)
        } else {
            // A pattern naming a folder covers what is in it, as globby expands folders.
            let plain = entry.trim_end_matches('/');
            let copied = Path::new(plain).ancestors().any(|ancestor| {
                let ancestor = ancestor.to_string_lossy();
                !ancestor.is_empty()
                    && self.copy_only.iter().any(|p| {
                        p.matches_with(
                            &ancestor,
                            glob::MatchOptions {
                                case_sensitive: true,
                                require_literal_separator: true,
                                require_literal_leading_dot: false,
                            },
                        )
                    })
            });
            let path = if !copied || self.render_copied_paths {
                self.render(step, entry)?
            } else {
                entry.to_string()
            };
            (path, !copied)
        };
        let skipped = path.is_empty() || path.starts_with('/') || path.contains("//");
        Ok((!skipped).then_some((path, contents)))
    }
}

pub fn template(step: &mut Step) -> Result<Output, String> {
    let source = step.source(step.required("url")?)?;
    let target = target_dir(step)?;
    let rendering = Rendering::from(step)?;
    let replace = step.flag("replace");
    let listed = entries(&source, step)?;
    (step.log)(format!(
        "Processing {} template files/directories with input values",
        listed.len()
    ));
    for entry in listed {
        let Some((path, render_contents)) = rendering.place(step, &entry.path)? else {
            continue;
        };
        let out = join(&target, path.trim_end_matches('/'));
        let Some(file) = entry.source else {
            let folder = step.workspace.resolve(&out)?;
            std::fs::create_dir_all(&folder).map_err(|e| format!("{out}: {e}"))?;
            continue;
        };
        if !replace && step.workspace.resolve(&out)?.exists() {
            continue;
        }
        let bytes = read(&file, &entry.path, step)?;
        let contents = if render_contents && !is_binary(&bytes) {
            let text = String::from_utf8_lossy(&bytes);
            rendering
                .render(step, &text)
                .map_err(|e| format!("{}: {e}", entry.path))?
                .into_bytes()
        } else {
            bytes
        };
        step.write(&out, &contents)?;
    }
    (step.log)("Template result written to the workspace".into());
    Ok(Output::new())
}

pub fn template_file(step: &mut Step) -> Result<Output, String> {
    let target = step.required("targetPath")?.to_string();
    let rendering = Rendering::from(step)?;
    if !step.flag("replace") && step.workspace.resolve(&target)?.exists() {
        (step.log)(format!("{target} exists already; not replaced"));
        return Ok(Output::new());
    }
    let bytes = step.fetch_file(step.required("url")?)?;
    let contents = if is_binary(&bytes) {
        bytes
    } else {
        rendering
            .render(step, &String::from_utf8_lossy(&bytes))?
            .into_bytes()
    };
    step.write(&target, &contents)?;
    Ok(Output::new())
}
