//! Backstage scaffolder template expressions: Nunjucks semantics on minijinja.
//!
//! Backstage renders every string of a step's `input`, `if` and `each` and of the
//! template's `output` with Nunjucks (variables are `${{ … }}`), and `fetch:template`
//! renders skeleton files and paths with the same engine. Authors write
//! JavaScript-flavoured expressions (`name.split('-') | first`, `tags.length > 0`), so
//! this module layers what templates rely on over minijinja:
//!
//! * a source rewrite before compiling, for syntax minijinja lacks: `.length` becomes a
//!   filter (minijinja has no hook for unknown attributes), `===`/`!==`, regular
//!   expression literals `r/…/g`, `{% elseif %}`, `{% verbatim %}` and
//!   `{% for key, value in object %}`;
//! * an unknown-method callback providing the JavaScript string and array methods;
//! * Nunjucks' versions of the built-in filters whose minijinja output differs, plus
//!   Backstage's `parseRepoUrl`, `parseEntityRef`, `pick` and `projectSlug`;
//! * JavaScript stringification for output (`undefined`/`null` print nothing, `[1,2]`
//!   prints `1,2`, `2.0` prints `2`).
//!
//! Templates come from untrusted authors: every render runs on a fuel budget, output is
//! capped, and no loader is installed, so `include`/`import`/`extends` reach no files.

use std::fmt::{self, Write as _};
use std::io;
use std::sync::{Arc, LazyLock};

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Object, ObjectRepr, Rest, Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State, UndefinedBehavior};
use regex::{Captures, Regex, RegexBuilder};
use serde_json::{Map, Value as Json, json};
use url::Url;

/// Instructions one render may execute; ample for real templates, stops `{% for %}` bombs.
const FUEL: u64 = 1_000_000;
/// Largest text one render may produce (and largest value an expression may yield).
const OUTPUT_LIMIT: usize = 16 << 20;
/// Most memory one render may take, as Backstage's sandbox allows: strings doubled in a
/// loop stop here.
const MEMORY: usize = 128 << 20;
/// Deepest value converted to JSON; namespaces can be made to contain themselves.
const MAX_DEPTH: usize = 128;
/// Largest compiled regular expression an author may build.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Filter the rewrite turns `x.length` into (JavaScript's `length` property).
const JS_LENGTH: &str = "__js_length";
/// Filter the rewrite applies to `for key, value in x` so objects yield pairs.
const JS_PAIRS: &str = "__js_pairs";
/// Function the rewrite turns `r/source/flags` literals into.
const JS_REGEXP: &str = "__js_regexp";

/// How `fetch:template` renders one skeleton: its `cookiecutterCompat`, `trimBlocks` and
/// `lstripBlocks` inputs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileOptions {
    /// `{{ cookiecutter.x }}` instead of `${{ values.x }}`, plus the `jsonify` filter and
    /// Nunjucks' Jinja-compatibility methods (`dict.items()`, `list.count(x)`, …).
    pub cookiecutter_compat: bool,
    /// Drop the first newline after a block tag.
    pub trim_blocks: bool,
    /// Strip whitespace before a block tag at the start of a line.
    pub lstrip_blocks: bool,
}

/// The two variable syntaxes Backstage configures Nunjucks with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Backstage,
    Cookiecutter,
}

impl Dialect {
    fn of(options: FileOptions) -> Self {
        if options.cookiecutter_compat {
            Self::Cookiecutter
        } else {
            Self::Backstage
        }
    }

    fn variable_start(self) -> &'static str {
        match self {
            Self::Backstage => "${{",
            Self::Cookiecutter => "{{",
        }
    }

    /// The name `fetch:template` gives its `values` input in this dialect.
    fn values_name(self) -> &'static str {
        match self {
            Self::Backstage => "values",
            Self::Cookiecutter => "cookiecutter",
        }
    }
}

/// The template engine: minijinja environments configured like Backstage's Nunjucks. Each
/// rendered string gets 1,000,000 instructions of fuel and at most 16 MiB of output.
#[derive(Debug, Clone)]
pub struct Expressions {
    /// One environment per [`FileOptions`] combination (see `env_index`); steps use the
    /// default one. Shared with the threads renders run on.
    envs: Arc<Vec<Environment<'static>>>,
}

impl Default for Expressions {
    fn default() -> Self {
        Self::new()
    }
}

impl Expressions {
    /// Builds the environments (dialect × `trimBlocks` × `lstripBlocks`); build once and
    /// share, it is `Send + Sync`.
    pub fn new() -> Self {
        let envs = (0..8)
            .map(|bits: u8| {
                build_env(FileOptions {
                    cookiecutter_compat: bits & 1 != 0,
                    trim_blocks: bits & 2 != 0,
                    lstrip_blocks: bits & 4 != 0,
                })
            })
            .collect();
        Self {
            envs: Arc::new(envs),
        }
    }

    fn env(&self, options: FileOptions) -> &Environment<'static> {
        let index = usize::from(options.cookiecutter_compat)
            | usize::from(options.trim_blocks) << 1
            | usize::from(options.lstrip_blocks) << 2;
        &self.envs[index]
    }

    /// Renders a step's `input`/`if`/`each` or the template's `output` the way Backstage's
    /// `NunjucksWorkflowRunner.render` does: every string is a template over `context`
    /// (`parameters`, `steps`, `user`, `secrets`, `each`, …); object keys are not rendered.
    ///
    /// * A string that is exactly one `${{ … }}` (whitespace inside the braces is fine,
    ///   any text outside is not) keeps the JSON type of its value.
    /// * Other strings render to text.
    /// * A value that is undefined, or text that renders empty (including a literal `""`),
    ///   removes its object key; in an array it becomes `null`, as the JavaScript hole
    ///   left behind serialises. An undefined top-level value is returned as `null`.
    ///
    /// `root` names the value in errors (`input` → `input.values.name: …`). Unlike
    /// Backstage, which logs the failure and passes the raw string on, errors are returned.
    pub fn render_value(&self, root: &str, value: &Json, context: &Json) -> Result<Json, String> {
        if !any_markup(value) {
            return self.render_value_here(root, value, context);
        }
        let (me, name) = (self.clone(), root.to_owned());
        let (value, context) = (value.clone(), context.clone());
        crate::support::allocator::within_memory(MEMORY, move || {
            me.render_value_here(&name, &value, &context)
        })
        .map_err(|e| format!("{root}: {e}"))?
    }

    fn render_value_here(&self, root: &str, value: &Json, context: &Json) -> Result<Json, String> {
        let context = Value::from_serialize(context);
        let mut path = root.to_owned();
        Ok(self
            .render_node(value, &context, &mut path)?
            .unwrap_or(Json::Null))
    }

    fn render_node(
        &self,
        value: &Json,
        context: &Value,
        path: &mut String,
    ) -> Result<Option<Json>, String> {
        match value {
            Json::String(text) => self
                .render_string(text, context)
                .map_err(|e| format!("{path}: cannot render {}: {e}", excerpt(text))),
            Json::Array(items) => {
                let mut rendered = Vec::with_capacity(items.len());
                for (index, item) in items.iter().enumerate() {
                    let len = path.len();
                    let _ = write!(path, "[{index}]");
                    rendered.push(self.render_node(item, context, path)?.unwrap_or(Json::Null));
                    path.truncate(len);
                }
                Ok(Some(Json::Array(rendered)))
            }
            Json::Object(fields) => {
                let mut rendered = Map::new();
                for (key, item) in fields {
                    let len = path.len();
                    push_key(path, key);
                    if let Some(item) = self.render_node(item, context, path)? {
                        rendered.insert(key.clone(), item);
                    }
                    path.truncate(len);
                }
                Ok(Some(Json::Object(rendered)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    fn render_string(&self, text: &str, context: &Value) -> Result<Option<Json>, String> {
        let env = self.env(FileOptions::default());
        if let Some(code) = single_expression(text) {
            let value = env
                .compile_expression_owned(code)
                .and_then(|expression| expression.eval(context))
                .map_err(|e| describe(&e))?;
            return to_json(&value).map_err(|e| describe(&e));
        }
        let rendered = if has_markup(text, Dialect::Backstage) {
            render_text(env, Dialect::Backstage, text, context)?
        } else {
            text.to_owned()
        };
        Ok((!rendered.is_empty()).then_some(Json::String(rendered)))
    }

    /// Backstage's `isTruthy` for a rendered `if`: `false`, `null`, `0`, `""` and `[]` are
    /// false, everything else (including the string `"false"` and `{}`) is true. Backstage
    /// applies it only to string `if` values: a literal `false` skips the step and other
    /// literals run it.
    pub fn is_truthy(value: &Json) -> bool {
        match value {
            Json::Null => false,
            Json::Bool(flag) => *flag,
            Json::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
            Json::String(text) => !text.is_empty(),
            Json::Array(items) => !items.is_empty(),
            Json::Object(_) => true,
        }
    }

    /// Renders a `fetch:template` file's contents or path. The template sees only `values`
    /// (`cookiecutter` in compat mode), never `parameters`, `steps` or `secrets`.
    pub fn render_file(
        &self,
        text: &str,
        values: &Json,
        options: FileOptions,
    ) -> Result<String, String> {
        if !has_markup(text, Dialect::of(options)) {
            return self.render_file_here(text, values, options);
        }
        let (me, text, values) = (self.clone(), text.to_owned(), values.clone());
        crate::support::allocator::within_memory(MEMORY, move || {
            me.render_file_here(&text, &values, options)
        })?
    }

    fn render_file_here(
        &self,
        text: &str,
        values: &Json,
        options: FileOptions,
    ) -> Result<String, String> {
        let dialect = Dialect::of(options);
        let context = Value::from_iter([(dialect.values_name(), Value::from_serialize(values))]);
        render_text(self.env(options), dialect, text, &context)
    }

    /// The body of `GET /api/scaffolder/v2/templating-extensions`: Backstage lists its own
    /// filters (not the Nunjucks built-ins) with description, JSON schemas and examples,
    /// and the globals added by plugins (none here).
    pub fn extensions_json() -> Json {
        const SCHEMA: &str = "http://json-schema.org/draft-07/schema#";
        let repo_url = json!({
            "type": "string",
            "description": "repo URL as collected from repository picker",
            "$schema": SCHEMA,
        });
        json!({
            "filters": {
                "parseRepoUrl": {
                    "description": "Parses a repository URL into its constituent parts: owner, repository name, etc.",
                    "examples": [{
                        "example": "- id: log\n  name: Parse Repo URL\n  action: debug:log\n  input:\n    extra: ${{ parameters.repoUrl | parseRepoUrl }}",
                        "notes": "- **Input**: `github.com?repo=backstage&owner=backstage`\n- **Output**: `{\"host\":\"github.com\",\"owner\":\"backstage\",\"repo\":\"backstage\"}`\n",
                    }],
                    "schema": {
                        "input": repo_url,
                        "output": {
                            "type": "object",
                            "properties": {
                                "repo": {"type": "string"},
                                "host": {"type": "string"},
                                "owner": {"type": "string"},
                                "organization": {"type": "string"},
                                "workspace": {"type": "string"},
                                "project": {"type": "string"},
                            },
                            "required": ["repo", "host"],
                            "additionalProperties": false,
                            "description": "`RepoSpec`",
                            "$schema": SCHEMA,
                        },
                    },
                },
                "parseEntityRef": {
                    "description": "Extracts the parts of an entity reference, such as the kind, namespace, and name.",
                    "examples": [
                        {
                            "description": "Without context",
                            "example": "- id: log\n  name: Parse Entity Reference\n  action: debug:log\n  input:\n    message: ${{ parameters.owner | parseEntityRef }}\n",
                            "notes": "- **Input**: `group:techdocs`\n- **Output**: `{\"kind\": \"group\", \"namespace\": \"default\", \"name\": \"techdocs\"}`\n",
                        },
                        {
                            "description": "With context",
                            "example": "- id: log\n  name: Parse Entity Reference\n  action: debug:log\n  input:\n    message: ${{ parameters.owner | parseEntityRef({ defaultKind: \"group\", defaultNamespace: \"another-namespace\" }) }}\n",
                            "notes": "- **Input**: `techdocs`\n- **Arguments:**: `[{ \"defaultKind\": \"group\", \"defaultNamespace\": \"another-namespace\" }]`\n- **Output**: `{\"kind\": \"group\", \"namespace\": \"another-namespace\", \"name\": \"techdocs\"}`\n",
                        },
                    ],
                    "schema": {
                        "input": {
                            "anyOf": [
                                {"type": "string", "description": "compact entity reference"},
                                {
                                    "type": "object",
                                    "properties": {
                                        "kind": {"type": "string"},
                                        "namespace": {"type": "string"},
                                        "name": {"type": "string"},
                                    },
                                    "required": ["name"],
                                    "additionalProperties": false,
                                    "description": "`CompoundEntityRef`",
                                },
                            ],
                            "$schema": SCHEMA,
                        },
                        "arguments": [{
                            "type": "object",
                            "properties": {
                                "defaultKind": {"type": "string", "description": "The default kind, if none is given in the reference"},
                                "defaultNamespace": {"type": "string", "description": "The default namespace, if none is given in the reference"},
                            },
                            "additionalProperties": false,
                            "$schema": SCHEMA,
                        }],
                        "output": {
                            "type": "object",
                            "properties": {
                                "kind": {"type": "string"},
                                "namespace": {"type": "string"},
                                "name": {"type": "string"},
                            },
                            "required": ["kind", "namespace", "name"],
                            "additionalProperties": false,
                            "description": "`CompoundEntityRef`",
                            "$schema": SCHEMA,
                        },
                    },
                },
                "pick": {
                    "description": "Selects a specific property (e.g. kind, namespace, name) from an object.",
                    "examples": [{
                        "example": "- id: log\n  name: Pick\n  action: debug:log\n  input:\n    extra: ${{ parameters.owner | parseEntityRef | pick('name') }}",
                        "notes": "- **Input**: `{ kind: 'Group', namespace: 'default', name: 'techdocs' }`\n- **Output**: `techdocs`\n",
                    }],
                    "schema": {
                        "input": {"$schema": SCHEMA},
                        "arguments": [{"type": "string", "description": "Property", "$schema": SCHEMA}],
                        "output": {"description": "Selected property", "$schema": SCHEMA},
                    },
                },
                "projectSlug": {
                    "description": "Generates a project slug from a repository URL.",
                    "examples": [{
                        "example": "- id: log\n  name: Project Slug\n  action: debug:log\n  input:\n    message: ${{ parameters.repoUrl | projectSlug }}\n",
                        "notes": "- **Input**: `github.com?repo=backstage&owner=backstage`\n- **Output**: backstage/backstage\n",
                    }],
                    "schema": {
                        "input": repo_url,
                        "output": {"type": "string", "$schema": SCHEMA},
                    },
                },
            },
            "globals": {"functions": {}, "values": {}},
        })
    }
}

/// One environment configured like Backstage's `SecureTemplater`.
fn build_env(options: FileOptions) -> Environment<'static> {
    let dialect = Dialect::of(options);
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder()
        .block_delimiters("{%", "%}")
        .variable_delimiters(dialect.variable_start(), "}}")
        .comment_delimiters("{#", "#}")
        .build()
        .expect("Nunjucks' delimiters are a valid syntax");
    env.set_syntax(syntax);
    // Nunjucks' `throwOnUndefined: false`: missing values (and members of them) are
    // undefined, which prints as nothing.
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_keep_trailing_newline(true);
    env.set_trim_blocks(options.trim_blocks);
    env.set_lstrip_blocks(options.lstrip_blocks);
    env.set_fuel(Some(FUEL));
    env.set_formatter(|out, _state, value| {
        if !value.is_undefined() && !value.is_none() {
            out.write_str(&js_string(value))?;
        }
        Ok(())
    });
    env.set_unknown_method_callback(move |_state, value, name, args| {
        js_method(value, name, args, dialect)
    });

    env.add_filter("dump", dump);
    if dialect == Dialect::Cookiecutter {
        env.add_filter("jsonify", dump);
    }
    env.add_filter("default", default);
    env.add_filter("d", default);
    env.add_filter("replace", replace);
    env.add_filter("lower", |value: Value| normalize(&value).to_lowercase());
    env.add_filter("upper", |value: Value| normalize(&value).to_uppercase());
    env.add_filter("capitalize", |value: Value| capitalize(&normalize(&value)));
    env.add_filter("title", |value: Value| {
        let words: Vec<String> = normalize(&value).split(' ').map(capitalize).collect();
        words.join(" ")
    });
    env.add_filter("trim", |value: Value| {
        map_defined(value, |text| text.trim_matches(is_js_space).to_owned())
    });
    env.add_filter("string", |value: Value| map_defined(value, |text| text));
    env.add_filter("safe", |value: Value| normalize_nullish(&value));
    env.add_filter("join", join);
    env.add_filter("length", length);
    env.add_filter("first", |value: Value| edge_item(&value, false));
    env.add_filter("last", |value: Value| edge_item(&value, true));
    env.add_filter("int", |value: Value, fallback: Option<Value>| {
        parse_int(&js_string(&value)).unwrap_or_else(|| fallback.unwrap_or(Value::UNDEFINED))
    });
    env.add_filter("float", |value: Value, fallback: Option<Value>| {
        parse_float(&js_string(&value))
            .map(Value::from)
            .unwrap_or_else(|| fallback.unwrap_or(Value::UNDEFINED))
    });
    env.add_filter("urlencode", urlencode);

    env.add_filter("parseRepoUrl", |url: Value| {
        parse_repo_url(&url).map(Value::from_iter)
    });
    env.add_filter("projectSlug", |url: Value| {
        let spec = parse_repo_url(&url)?;
        let part = |name: &str| {
            spec.iter()
                .find(|(key, _)| *key == name)
                .map_or("undefined", |(_, value)| value.as_str())
        };
        Ok::<_, Error>(format!("{}/{}", part("owner"), part("repo")))
    });
    env.add_filter("parseEntityRef", parse_entity_ref);
    env.add_filter("pick", pick);

    env.add_filter(JS_LENGTH, js_length);
    env.add_filter(JS_PAIRS, js_pairs);
    env.add_function(JS_REGEXP, |source: String, flags: String| {
        JsRegExp::new(source, flags).map(Value::from_object)
    });
    env
}

/// Renders `source` as a text template, with output capped at [`OUTPUT_LIMIT`].
fn render_text(
    env: &Environment<'_>,
    dialect: Dialect,
    source: &str,
    context: &Value,
) -> Result<String, String> {
    let source = rewrite_template(source, dialect);
    let template = env
        .template_from_named_str("template", &source)
        .map_err(|e| describe(&e))?;
    let mut out = CappedWriter::default();
    match template.render_captured_to(context, &mut out) {
        Ok(_) => String::from_utf8(out.buf).map_err(|e| e.to_string()),
        Err(_) if out.overflowed => Err(format!(
            "rendered output exceeds the {} MiB limit",
            OUTPUT_LIMIT >> 20
        )),
        Err(e) => Err(describe(&e)),
    }
}

/// A sink that refuses to grow past [`OUTPUT_LIMIT`].
#[derive(Default)]
struct CappedWriter {
    buf: Vec<u8>,
    overflowed: bool,
}

impl io::Write for CappedWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() + data.len() > OUTPUT_LIMIT {
            self.overflowed = true;
            return Err(io::Error::other("output limit reached"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// An engine error as one line: the template line (when known), the kind, the detail
/// and the causes.
fn describe(err: &Error) -> String {
    let mut message = match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    };
    let mut cause = std::error::Error::source(err);
    while let Some(inner) = cause {
        let _ = write!(message, ": {inner}");
        cause = inner.source();
    }
    match err.line() {
        Some(line) => format!("line {line}: {message}"),
        None => message,
    }
}

fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 200;
    match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", Json::from(&text[..cut])),
        None => Json::from(text).to_string(),
    }
}

/// Appends `.key`, or `["key"]` when the key is not a plain name.
fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        path.push('.');
        path.push_str(key);
    } else {
        let _ = write!(path, "[{}]", Json::from(key));
    }
}

// ---------------------------------------------------------------------------------------
// Source rewriting: Nunjucks/JavaScript syntax minijinja does not parse.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Variable,
    Block,
    Comment,
}

static RAW_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\{%[-+]?\s*(?:raw|verbatim)\s*[-+]?%\}").expect("valid regex"));
static RAW_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{%[-+]?\s*end(?:raw|verbatim)\s*[-+]?%\}").expect("valid regex")
});
static ELSEIF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\s*[-+]?\s*)elseif\b").expect("valid regex"));
static FOR_PAIRS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)^(\s*[-+]?\s*for\s+\w+\s*,\s*\w+\s+in\s+)(.+?)(\s*-?\s*)$")
        .expect("valid regex")
});

/// Whether any string in `value` holds template markup (else rendering only copies it).
fn any_markup(value: &Json) -> bool {
    match value {
        Json::String(text) => has_markup(text, Dialect::Backstage),
        Json::Array(items) => items.iter().any(any_markup),
        Json::Object(fields) => fields.values().any(any_markup),
        _ => false,
    }
}

fn has_markup(text: &str, dialect: Dialect) -> bool {
    text.contains(dialect.variable_start()) || text.contains("{%") || text.contains("{#")
}

/// The next tag opening at or after byte `from`.
fn next_tag(source: &str, from: usize, dialect: Dialect) -> Option<(usize, Tag)> {
    let mut pos = from;
    while let Some(offset) = source[pos..].find(['{', '$']) {
        let at = pos + offset;
        let rest = &source[at..];
        if rest.starts_with(dialect.variable_start()) {
            return Some((at, Tag::Variable));
        }
        if rest.starts_with("{%") {
            return Some((at, Tag::Block));
        }
        if rest.starts_with("{#") {
            return Some((at, Tag::Comment));
        }
        pos = at + 1;
    }
    None
}

/// Rewrites the code inside every tag of a template; text, comments and raw blocks are
/// copied unchanged, so line numbers stay valid.
fn rewrite_template(source: &str, dialect: Dialect) -> String {
    let mut out = String::with_capacity(source.len() + 32);
    let mut pos = 0;
    while let Some((at, tag)) = next_tag(source, pos, dialect) {
        out.push_str(&source[pos..at]);
        let rest = &source[at..];
        let consumed = match tag {
            Tag::Comment => {
                let end = rest.find("#}").map_or(rest.len(), |end| end + 2);
                out.push_str(&rest[..end]);
                end
            }
            Tag::Block if RAW_START.is_match(rest) => copy_raw_block(rest, &mut out),
            Tag::Block | Tag::Variable => {
                let (open, close) = if tag == Tag::Block {
                    ("{%", "%}")
                } else {
                    (dialect.variable_start(), "}}")
                };
                let body = &rest[open.len()..];
                match scan_code(body, close) {
                    Some((code, len)) => {
                        out.push_str(open);
                        if tag == Tag::Block {
                            out.push_str(&rewrite_block(&code));
                        } else {
                            out.push_str(&code);
                        }
                        open.len() + len
                    }
                    // Unterminated: leave it for the parser to report.
                    None => {
                        out.push_str(rest);
                        rest.len()
                    }
                }
            }
        };
        pos = at + consumed;
    }
    out.push_str(&source[pos..]);
    out
}

/// Copies a `{% raw %}`/`{% verbatim %}` block, spelling both as `raw`; returns its length.
fn copy_raw_block(rest: &str, out: &mut String) -> usize {
    let open_len = RAW_START.find(rest).map_or(0, |open| open.end());
    out.push_str(&rest[..open_len].replace("verbatim", "raw"));
    match RAW_END.find(&rest[open_len..]) {
        Some(close) => {
            out.push_str(&rest[open_len..open_len + close.start()]);
            out.push_str(&close.as_str().replace("endverbatim", "endraw"));
            open_len + close.end()
        }
        None => {
            out.push_str(&rest[open_len..]);
            rest.len()
        }
    }
}

/// Block-tag keywords Nunjucks has and minijinja spells differently.
fn rewrite_block(code: &str) -> String {
    let code = ELSEIF.replace(code, "${1}elif");
    FOR_PAIRS
        .replace(&code, format!("${{1}}(${{2}})|{JS_PAIRS}${{3}}").as_str())
        .into_owned()
}

/// Scans the code of one tag up to `close` (outside string and regex literals) and
/// rewrites it; returns the new code and the length of the old one, or `None` when the
/// tag never closes.
fn scan_code(code: &str, close: &str) -> Option<(String, usize)> {
    let mut out = String::with_capacity(code.len());
    let mut prev: Option<char> = None;
    // Open brackets, to know when an identifier is a dict key.
    let mut brackets = Vec::new();
    let mut key_position = false;
    let mut pos = 0;
    while let Some(c) = code[pos..].chars().next() {
        let rest = &code[pos..];
        // Like minijinja's lexer, a tag only ends outside brackets: `{{ {'a': {}} }}`.
        if brackets.is_empty() && rest.starts_with(close) {
            return Some((out, pos));
        }
        let mut next_key_position = false;
        let len = if c == '\'' || c == '"' {
            let len = quoted_len(rest, c);
            out.push_str(&rest[..len]);
            len
        } else if c == 'r' && rest[1..].starts_with('/') && !prev.is_some_and(is_ident_char) {
            let (source, flags, len) = regex_literal(rest);
            let _ = write!(out, "{JS_REGEXP}(\"");
            for ch in source.chars() {
                if ch == '\\' || ch == '"' {
                    out.push('\\');
                }
                out.push(ch);
            }
            let _ = write!(out, "\", \"{flags}\")");
            len
        } else if key_position && (c.is_alphabetic() || c == '_') {
            // Nunjucks reads `{ name: 1 }` like JavaScript: a bare key is a string.
            let len = rest.find(|c: char| !is_ident_char(c)).unwrap_or(rest.len());
            if rest[len..].trim_start().starts_with(':') {
                let _ = write!(out, "\"{}\"", &rest[..len]);
            } else {
                out.push_str(&rest[..len]);
            }
            len
        } else if rest.starts_with("===") || rest.starts_with("!==") {
            out.push_str(&rest[..2]);
            3
        } else if c == '.' && is_length_property(rest, prev) {
            out.push('|');
            out.push_str(JS_LENGTH);
            ".length".len()
        } else {
            match c {
                '{' | '[' | '(' => brackets.push(c),
                '}' | ']' | ')' => {
                    brackets.pop();
                }
                _ => {}
            }
            next_key_position = c == '{'
                || (c == ',' && brackets.last() == Some(&'{'))
                || (c.is_whitespace() && key_position);
            out.push(c);
            c.len_utf8()
        };
        key_position = next_key_position;
        prev = code[..pos + len].chars().next_back();
        pos += len;
    }
    None
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Length of the string literal opening `rest`, through its closing quote.
fn quoted_len(rest: &str, quote: char) -> usize {
    let mut chars = rest.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            chars.next();
        } else if c == quote {
            return i + c.len_utf8();
        }
    }
    rest.len()
}

/// Nunjucks' `r/source/flags` literal opening `rest`: source, flags, length.
fn regex_literal(rest: &str) -> (&str, &str, usize) {
    let body = &rest[2..];
    let mut prev = None;
    let mut end = body.len();
    for (i, c) in body.char_indices() {
        if c == '/' && prev != Some('\\') {
            end = i;
            break;
        }
        prev = Some(c);
    }
    let source = &body[..end];
    let after = (end + 1).min(body.len());
    let flags_len = body[after..]
        .find(|c: char| !matches!(c, 'g' | 'i' | 'm' | 'y'))
        .unwrap_or(body.len() - after);
    (
        source,
        &body[after..after + flags_len],
        2 + after + flags_len,
    )
}

/// Whether `rest` (starting at a `.`) reads JavaScript's `length` property of the
/// preceding value.
fn is_length_property(rest: &str, prev: Option<char>) -> bool {
    let Some(after) = rest.strip_prefix(".length") else {
        return false;
    };
    let follows_value =
        prev.is_some_and(|p| is_ident_char(p) || matches!(p, ')' | ']' | '\'' | '"'));
    follows_value
        && !after.chars().next().is_some_and(is_ident_char)
        && !after.trim_start().starts_with('(')
}

/// The rewritten code of a string that is exactly one `${{ … }}`, as Backstage's
/// `isSingleTemplateString` decides.
fn single_expression(text: &str) -> Option<String> {
    let body = text.strip_prefix("${{")?;
    let (code, len) = scan_code(body, "}}")?;
    if len + "}}".len() != body.len() {
        return None;
    }
    // Whitespace-control markers (`${{- x -}}`) mean nothing for a whole value.
    let code = code.strip_prefix('-').unwrap_or(&code);
    let code = code.strip_suffix('-').unwrap_or(code);
    Some(code.to_owned())
}

// ---------------------------------------------------------------------------------------
// JavaScript value semantics.

/// JavaScript's `String(value)`.
fn js_string(value: &Value) -> String {
    js_string_at(value, 0)
}

fn js_string_at(value: &Value, depth: usize) -> String {
    match value.kind() {
        ValueKind::Undefined => "undefined".to_owned(),
        ValueKind::None => "null".to_owned(),
        ValueKind::Bool => value.is_true().to_string(),
        ValueKind::Number => js_number_string(value),
        ValueKind::String => value.as_str().unwrap_or_default().to_owned(),
        ValueKind::Bytes => {
            String::from_utf8_lossy(value.as_bytes().unwrap_or_default()).into_owned()
        }
        // `Array.prototype.toString`: elements joined by commas, nullish ones empty; a
        // cycle would recurse forever, so deep nesting prints nothing.
        ValueKind::Seq | ValueKind::Iterable if depth < MAX_DEPTH => value
            .try_iter()
            .map(|items| {
                items
                    .map(|item| element_string(&item, depth + 1))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default(),
        ValueKind::Seq | ValueKind::Iterable => String::new(),
        ValueKind::Map => "[object Object]".to_owned(),
        _ => value.to_string(),
    }
}

/// How `Array.prototype.join` prints one element.
fn element_string(value: &Value, depth: usize) -> String {
    if value.is_undefined() || value.is_none() {
        String::new()
    } else {
        js_string_at(value, depth)
    }
}

fn js_number_string(value: &Value) -> String {
    if value.is_integer() {
        value.to_string()
    } else {
        js_format_f64(as_f64(value))
    }
}

fn as_f64(value: &Value) -> f64 {
    f64::try_from(value.clone()).unwrap_or(f64::NAN)
}

/// `Number.prototype.toString()`: shortest round-trip digits, exponent form outside
/// 1e-7..1e21, no trailing `.0`.
fn js_format_f64(number: f64) -> String {
    if number.is_nan() {
        return "NaN".to_owned();
    }
    if number.is_infinite() {
        return if number > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        }
        .to_owned();
    }
    if number == 0.0 {
        return "0".to_owned();
    }
    let sign = if number < 0.0 { "-" } else { "" };
    let scientific = format!("{:e}", number.abs());
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific;
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i32;
    let n = exponent.parse::<i32>().unwrap_or(0) + 1;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        format!("{int}.{frac}")
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat(n.unsigned_abs() as usize))
    } else {
        let e = n - 1;
        let e_sign = if e >= 0 { '+' } else { '-' };
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        format!("{first}{dot}{rest}e{e_sign}{}", e.unsigned_abs())
    };
    format!("{sign}{body}")
}

/// JavaScript's `ToNumber`.
fn js_to_number(value: &Value) -> f64 {
    match value.kind() {
        ValueKind::Undefined => f64::NAN,
        ValueKind::None => 0.0,
        ValueKind::Bool => f64::from(u8::from(value.is_true())),
        ValueKind::Number => as_f64(value),
        _ => {
            let text = js_string(value);
            let text = text.trim_matches(is_js_space);
            match text {
                "" => 0.0,
                "Infinity" | "+Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                _ if text
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) =>
                {
                    text.parse().unwrap_or(f64::NAN)
                }
                _ => f64::NAN,
            }
        }
    }
}

/// JavaScript's `ToIntegerOrInfinity`.
fn js_to_integer(value: &Value) -> f64 {
    let number = js_to_number(value);
    if number.is_nan() { 0.0 } else { number.trunc() }
}

/// JavaScript's truthiness (`!!value`).
fn js_truthy(value: &Value) -> bool {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => false,
        ValueKind::Bool => value.is_true(),
        ValueKind::Number => {
            let number = as_f64(value);
            number != 0.0 && !number.is_nan()
        }
        ValueKind::String => !value.as_str().unwrap_or_default().is_empty(),
        _ => true,
    }
}

/// The characters JavaScript's `\s` and `trim()` treat as white space.
fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// `JSON.parse(JSON.stringify(value))`, which is how Backstage keeps a single expression's
/// type: `None` for undefined (and functions).
fn to_json(value: &Value) -> Result<Option<Json>, Error> {
    let Some(text) = json_stringify(value, "")? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("invalid JSON: {e}")))
}

/// `JSON.stringify(value, null, indent)`: undefined array elements become `null`,
/// undefined object fields vanish, and a value that is undefined (or a function) yields
/// `None`. Map order is kept, so `parseRepoUrl` and dict literals print as in Backstage.
fn json_stringify(value: &Value, indent: &str) -> Result<Option<String>, Error> {
    let mut out = String::new();
    Ok(write_json(&mut out, value, indent, 0)?.then_some(out))
}

/// Writes `value` at nesting `depth`; returns false (having written nothing) when
/// JSON has no representation for it.
fn write_json(out: &mut String, value: &Value, indent: &str, depth: usize) -> Result<bool, Error> {
    if depth > MAX_DEPTH {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "value is nested too deeply to convert to JSON",
        ));
    }
    let newline = |out: &mut String, level: usize| {
        if !indent.is_empty() {
            out.push('\n');
            for _ in 0..level {
                out.push_str(indent);
            }
        }
    };
    match value.kind() {
        ValueKind::Undefined => return Ok(false),
        ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Number if value.is_integer() || as_f64(value).is_finite() => {
            out.push_str(&js_number_string(value));
        }
        ValueKind::Number => out.push_str("null"),
        ValueKind::String | ValueKind::Bytes => {
            let _ = write!(out, "{}", Json::from(js_string(value)));
        }
        ValueKind::Seq | ValueKind::Iterable => {
            out.push('[');
            let mut empty = true;
            for item in value.try_iter()? {
                if !empty {
                    out.push(',');
                }
                empty = false;
                newline(out, depth + 1);
                if !write_json(out, &item, indent, depth + 1)? {
                    out.push_str("null");
                }
            }
            if !empty {
                newline(out, depth);
            }
            out.push(']');
        }
        ValueKind::Map => {
            out.push('{');
            let mut empty = true;
            for key in value.try_iter()? {
                let mark = out.len();
                if !empty {
                    out.push(',');
                }
                newline(out, depth + 1);
                let separator = if indent.is_empty() { ":" } else { ": " };
                let _ = write!(out, "{}{separator}", Json::from(js_string(&key)));
                if write_json(out, &value.get_item(&key)?, indent, depth + 1)? {
                    empty = false;
                } else {
                    out.truncate(mark);
                }
            }
            if !empty {
                newline(out, depth);
            }
            out.push('}');
        }
        // A RegExp stringifies as `{}`; functions and macros are left out.
        ValueKind::Plain if value.downcast_object_ref::<JsRegExp>().is_some() => {
            out.push_str("{}");
        }
        ValueKind::Plain => return Ok(false),
        _ => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("cannot convert {value} to JSON"),
            ));
        }
    }
    if out.len() > OUTPUT_LIMIT {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("value exceeds the {} MiB limit", OUTPUT_LIMIT >> 20),
        ));
    }
    Ok(true)
}

// ---------------------------------------------------------------------------------------
// Filters.

/// Nunjucks' `dump`: `JSON.stringify(value, null, spaces)`; undefined prints nothing.
fn dump(value: Value, spaces: Option<Value>) -> Result<Value, Error> {
    let indent = match spaces {
        Some(spaces) if spaces.kind() == ValueKind::Number => {
            " ".repeat(js_to_integer(&spaces).clamp(0.0, 10.0) as usize)
        }
        Some(spaces) if spaces.kind() == ValueKind::String => spaces
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(10)
            .collect(),
        _ => String::new(),
    };
    Ok(json_stringify(&value, &indent)?.map_or(Value::UNDEFINED, Value::from))
}

/// Nunjucks' `default(value, fallback, boolean)`: only undefined falls back (not `null`),
/// or any falsy value when `boolean` is true.
fn default(value: Value, args: Rest<Value>) -> Value {
    let fallback = args.first().cloned().unwrap_or(Value::UNDEFINED);
    let falsy_too = args.get(1).is_some_and(js_truthy);
    let use_fallback = if falsy_too {
        !js_truthy(&value)
    } else {
        value.is_undefined()
    };
    if use_fallback { fallback } else { value }
}

/// Nunjucks' `replace(text, old, new, maxCount)`: every occurrence of a string (up to
/// `maxCount`), or JavaScript `String.replace` for a regular expression literal.
fn replace(
    value: Value,
    old: Value,
    new: Option<Value>,
    max_count: Option<Value>,
) -> Result<Value, Error> {
    let replacement = new
        .as_ref()
        .map_or_else(|| "undefined".to_owned(), js_string);
    if let Some(regex) = old.downcast_object_ref::<JsRegExp>() {
        let text = js_string(&value);
        return Ok(Value::from(js_replace(
            &text,
            &Pattern::Regex(regex),
            &replacement,
            regex.global(),
        )));
    }
    if !matches!(old.kind(), ValueKind::String | ValueKind::Number) {
        return Ok(value);
    }
    let text = match value.kind() {
        ValueKind::String | ValueKind::Number => js_string(&value),
        _ => return Ok(value),
    };
    let old = js_string(&old);
    if old.is_empty() {
        let mut out = replacement.clone();
        for c in text.chars() {
            out.push(c);
            out.push_str(&replacement);
        }
        return Ok(Value::from(out));
    }
    let limit = match max_count {
        Some(count) if js_to_number(&count) >= 0.0 => js_to_integer(&count) as usize,
        _ => usize::MAX,
    };
    Ok(Value::from(text.replacen(&old, &replacement, limit)))
}

/// Nunjucks' `normalize(value, '')` followed by string conversion.
fn normalize(value: &Value) -> String {
    if value.is_undefined()
        || value.is_none()
        || (value.kind() == ValueKind::Bool && !value.is_true())
    {
        String::new()
    } else {
        js_string(value)
    }
}

fn normalize_nullish(value: &Value) -> String {
    if value.is_undefined() || value.is_none() {
        String::new()
    } else {
        js_string(value)
    }
}

/// Applies a string operation, passing undefined and `null` through untouched.
fn map_defined(value: Value, op: impl FnOnce(String) -> String) -> Value {
    if value.is_undefined() || value.is_none() {
        value
    } else {
        Value::from(op(js_string(&value)))
    }
}

fn capitalize(text: &str) -> String {
    let lower = text.to_lowercase();
    let mut chars = lower.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Nunjucks' `join(array, separator = '', attribute)`.
fn join(value: Value, separator: Option<Value>, attribute: Option<Value>) -> Result<Value, Error> {
    if !matches!(value.kind(), ValueKind::Seq | ValueKind::Iterable) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("join expects an array, got {}", value.kind()),
        ));
    }
    let separator = separator
        .filter(js_truthy)
        .map(|s| js_string(&s))
        .unwrap_or_default();
    let mut parts = Vec::new();
    for item in value.try_iter()? {
        let item = match &attribute {
            Some(attribute) => item.get_item(attribute)?,
            None => item,
        };
        parts.push(element_string(&item, 0));
    }
    Ok(Value::from(parts.join(&separator)))
}

/// Nunjucks' `length`: characters, items or keys; 0 for nullish, undefined otherwise.
fn length(value: Value) -> Value {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => Value::from(0),
        ValueKind::Bool if !value.is_true() => Value::from(0),
        ValueKind::String => Value::from(utf16_len(value.as_str().unwrap_or_default())),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => {
            value.len().map_or(Value::UNDEFINED, Value::from)
        }
        _ => Value::UNDEFINED,
    }
}

/// JavaScript's `value.length` property.
fn js_length(value: Value) -> Result<Value, Error> {
    Ok(match value.kind() {
        ValueKind::String => Value::from(utf16_len(value.as_str().unwrap_or_default())),
        ValueKind::Seq => value.len().map_or(Value::UNDEFINED, Value::from),
        ValueKind::Undefined | ValueKind::None => Value::UNDEFINED,
        _ => value.get_attr("length")?,
    })
}

/// Nunjucks iterates an object's `[key, value]` pairs in `for key, value in object`.
fn js_pairs(value: Value) -> Result<Value, Error> {
    if value.kind() != ValueKind::Map {
        return Ok(value);
    }
    let mut pairs = Vec::new();
    for key in value.try_iter()? {
        let item = value.get_item(&key)?;
        pairs.push(Value::from(vec![key, item]));
    }
    Ok(Value::from(pairs))
}

/// `first`/`last` of an array or string; undefined when there is none.
fn edge_item(value: &Value, last: bool) -> Value {
    match value.kind() {
        ValueKind::String => {
            let text = value.as_str().unwrap_or_default();
            let c = if last {
                text.chars().next_back()
            } else {
                text.chars().next()
            };
            c.map_or(Value::UNDEFINED, |c| Value::from(c.to_string()))
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items = value.try_iter().map(|items| items.collect::<Vec<_>>());
            let item = items.ok().and_then(|mut items| {
                if last {
                    items.pop()
                } else {
                    items.into_iter().next()
                }
            });
            item.unwrap_or(Value::UNDEFINED)
        }
        _ => Value::UNDEFINED,
    }
}

/// `parseInt(text, 10)`; `None` for NaN.
fn parse_int(text: &str) -> Option<Value> {
    let text = text.trim_start_matches(is_js_space);
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let digits = &digits[..end];
    if digits.is_empty() {
        return None;
    }
    let value = match digits.parse::<i64>() {
        Ok(int) => Value::from(if negative { -int } else { int }),
        Err(_) => {
            let float = digits.parse::<f64>().unwrap_or(f64::INFINITY);
            Value::from(if negative { -float } else { float })
        }
    };
    Some(value)
}

/// `parseFloat(text)`; `None` for NaN.
fn parse_float(text: &str) -> Option<f64> {
    static FLOAT_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^[+-]?(?:Infinity|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
            .expect("valid regex")
    });
    let prefix = FLOAT_PREFIX
        .find(text.trim_start_matches(is_js_space))?
        .as_str();
    match prefix.trim_start_matches('+') {
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        number => number.parse().ok(),
    }
}

/// Nunjucks' `urlencode`: `encodeURIComponent` of a string, or `k=v&…` of an object or
/// of an array of pairs.
fn urlencode(value: Value) -> Result<Value, Error> {
    if value.kind() == ValueKind::String {
        return Ok(Value::from(encode_uri_component(
            value.as_str().unwrap_or_default(),
        )));
    }
    let pairs = if value.kind() == ValueKind::Map {
        js_pairs(value)?
    } else {
        value
    };
    let mut parts = Vec::new();
    for pair in pairs.try_iter()? {
        let key = encode_uri_component(&js_string(&pair.get_item_by_index(0)?));
        let item = encode_uri_component(&js_string(&pair.get_item_by_index(1)?));
        parts.push(format!("{key}={item}"));
    }
    Ok(Value::from(parts.join("&")))
}

fn encode_uri_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The query parameters Backstage's `parseRepoUrl` reads, in its output order.
const REPO_PARAMS: [&str; 5] = ["owner", "repo", "organization", "workspace", "project"];

/// Backstage's `parseRepoUrl`: `host?owner=…&repo=…` into `[(field, value)]`, in the order
/// `host, owner, repo, organization, workspace, project`, absent parameters left out.
///
/// Backstage checks the required parameters by the type of the SCM integration configured
/// for the host (and rejects unknown hosts); Greenroom has no integration registry, so the
/// provider is inferred from the host name.
fn parse_repo_url(input: &Value) -> Result<Vec<(&'static str, String)>, Error> {
    let invalid = |message: String| Error::new(ErrorKind::InvalidOperation, message);
    let raw = js_string(input);
    let url = Url::parse(&format!("https://{raw}")).map_err(|e| {
        invalid(format!(
            "Invalid repo URL passed to publisher, got {raw}, {e}"
        ))
    })?;
    let host = match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_owned(),
        (None, _) => {
            return Err(invalid(format!(
                "Invalid repo URL passed to publisher, got {raw}"
            )));
        }
    };
    let param = |name: &str| {
        url.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim_matches('/').to_owned())
    };
    let has_project = param("project").is_some_and(|project| !project.is_empty());
    let required: &[&str] = if host == "dev.azure.com" || host.ends_with(".visualstudio.com") {
        &["project", "repo"]
    } else if host == "www.bitbucket.org" {
        &["workspace", "project", "repo"]
    } else if host.contains("bitbucket") {
        &["project", "repo"]
    } else if host.contains("gitlab") {
        // A GitLab project id replaces owner and repo.
        if has_project { &[] } else { &["owner", "repo"] }
    } else if host.contains("gitea") || host.contains("gerrit") {
        &["repo"]
    } else {
        &["repo", "owner"]
    };
    for name in required {
        let present = url
            .query_pairs()
            .find(|(key, _)| key == name)
            .is_some_and(|(_, value)| !value.is_empty());
        if !present {
            return Err(invalid(format!(
                "Invalid repo URL passed to publisher: {url}, missing {name}"
            )));
        }
    }
    let mut spec = vec![("host", host)];
    spec.extend(
        REPO_PARAMS
            .iter()
            .filter_map(|name| Some((*name, param(name)?))),
    );
    Ok(spec)
}

/// Backstage's `parseEntityRef` (from `@backstage/catalog-model`): `[kind:][namespace/]name`
/// or `{kind, namespace, name}` into `{kind, namespace, name}`, with optional
/// `{defaultKind, defaultNamespace}`; the namespace defaults to `default`. Case is kept.
fn parse_entity_ref(reference: Value, context: Option<Value>) -> Result<Value, Error> {
    let invalid = |message: String| Error::new(ErrorKind::InvalidOperation, message);
    if !js_truthy(&reference) {
        return Err(invalid("Entity reference must not be empty".to_owned()));
    }
    let context_field = |name: &str| {
        context
            .as_ref()
            .and_then(|context| context.get_attr(name).ok())
            .unwrap_or(Value::UNDEFINED)
    };
    let default_kind = context_field("defaultKind");
    let default_namespace = Some(context_field("defaultNamespace"))
        .filter(js_truthy)
        .unwrap_or_else(|| Value::from("default"));
    let or_default = |value: Value, fallback: &Value| {
        if value.is_undefined() || value.is_none() {
            fallback.clone()
        } else {
            value
        }
    };

    let (kind, namespace, name) = if let Some(text) = reference.as_str() {
        let mut colon = text.find(':');
        let slash = text.find('/');
        // A `/` before the `:` makes the rest the name.
        if let (Some(c), Some(s)) = (colon, slash)
            && s < c
        {
            colon = None;
        }
        let kind = colon.map(|c| &text[..c]);
        let namespace = slash.map(|s| &text[colon.map_or(0, |c| c + 1)..s]);
        let name = &text[colon.map_or(0, |c| c + 1).max(slash.map_or(0, |s| s + 1))..];
        if kind == Some("") || namespace == Some("") || name.is_empty() {
            return Err(invalid(format!(
                "Entity reference \"{text}\" was not on the form [<kind>:][<namespace>/]<name>"
            )));
        }
        (
            kind.map_or_else(|| default_kind.clone(), Value::from),
            namespace.map_or_else(|| default_namespace.clone(), Value::from),
            Value::from(name),
        )
    } else {
        (
            or_default(reference.get_attr("kind")?, &default_kind),
            or_default(reference.get_attr("namespace")?, &default_namespace),
            reference.get_attr("name")?,
        )
    };

    let textual = || to_json(&reference).ok().flatten().unwrap_or(Json::Null);
    if !js_truthy(&kind) {
        return Err(invalid(format!(
            "Entity reference {} had missing or empty kind (e.g. did not start with \"component:\" or similar)",
            textual()
        )));
    }
    if !js_truthy(&namespace) {
        return Err(invalid(format!(
            "Entity reference {} had missing or empty namespace",
            textual()
        )));
    }
    if !js_truthy(&name) {
        return Err(invalid(format!(
            "Entity reference {} had missing or empty name",
            textual()
        )));
    }
    Ok(Value::from_iter([
        ("kind", kind),
        ("namespace", namespace),
        ("name", name),
    ]))
}

/// Backstage's `pick`, which is lodash `get(object, path, default)`: `a.b[0].c` paths, a
/// key that itself contains dots wins.
fn pick(object: Value, path: Value, fallback: Option<Value>) -> Value {
    let path = js_string(&path);
    let direct = member(&object, &path);
    let found = if direct.is_undefined() {
        path_segments(&path)
            .iter()
            .try_fold(object, |current, segment| {
                let next = member(&current, segment);
                (!next.is_undefined()).then_some(next)
            })
            .unwrap_or(Value::UNDEFINED)
    } else {
        direct
    };
    if found.is_undefined() {
        fallback.unwrap_or(Value::UNDEFINED)
    } else {
        found
    }
}

fn member(value: &Value, key: &str) -> Value {
    match value.kind() {
        ValueKind::Map => value
            .get_item(&Value::from(key))
            .unwrap_or(Value::UNDEFINED),
        ValueKind::Seq => key
            .parse::<usize>()
            .ok()
            .and_then(|index| value.get_item_by_index(index).ok())
            .unwrap_or(Value::UNDEFINED),
        _ => Value::UNDEFINED,
    }
}

/// lodash's `stringToPath`: `a.b[0]["c.d"]` → `a`, `b`, `0`, `c.d`.
fn path_segments(path: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => segments.push(std::mem::take(&mut current)),
            '[' => {
                if !current.is_empty() {
                    segments.push(std::mem::take(&mut current));
                }
                let mut quote = chars.next_if(|c| *c == '"' || *c == '\'');
                while let Some(c) = chars.next() {
                    match quote {
                        Some(q) if c == q => quote = None,
                        Some(_) if c == '\\' => current.extend(chars.next()),
                        Some(_) => current.push(c),
                        None if c == ']' => break,
                        None => current.push(c),
                    }
                }
                segments.push(std::mem::take(&mut current));
                chars.next_if_eq(&'.');
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() || path.is_empty() || path.ends_with('.') {
        segments.push(current);
    }
    segments
}

// ---------------------------------------------------------------------------------------
// JavaScript methods.

/// A JavaScript regular expression from an `r/…/flags` literal.
#[derive(Debug)]
struct JsRegExp {
    source: String,
    flags: String,
    regex: Regex,
}

impl JsRegExp {
    fn new(source: String, flags: String) -> Result<Self, Error> {
        let regex = RegexBuilder::new(&source)
            .case_insensitive(flags.contains('i'))
            .multi_line(flags.contains('m'))
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| {
                // Syntax errors span lines (pattern, caret, reason); the reason is last.
                let reason = e.to_string();
                let reason = reason.lines().last().unwrap_or_default().to_owned();
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("invalid regular expression /{source}/: {reason}"),
                )
            })?;
        Ok(Self {
            source,
            flags,
            regex,
        })
    }

    fn global(&self) -> bool {
        self.flags.contains('g')
    }
}

impl Object for JsRegExp {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        match key.as_str()? {
            "source" => Some(Value::from(self.source.clone())),
            "flags" => Some(Value::from(self.flags.clone())),
            "global" => Some(Value::from(self.global())),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "test" => Ok(Value::from(self.regex.is_match(&string_arg(args, 0)))),
            "toString" => Ok(Value::from(format!("/{}/{}", self.source, self.flags))),
            _ => Err(Error::from(ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}/{}", self.source, self.flags)
    }
}

/// What a string method searches for.
enum Pattern<'a> {
    Text(String),
    Regex(&'a JsRegExp),
}

impl<'a> Pattern<'a> {
    fn of(value: Option<&'a Value>) -> Self {
        match value.and_then(|value| value.downcast_object_ref::<JsRegExp>()) {
            Some(regex) => Self::Regex(regex),
            None => Self::Text(value.map_or_else(|| "undefined".to_owned(), js_string)),
        }
    }
}

/// The JavaScript method `name` called on an engine value (Nunjucks runs templates on
/// plain JavaScript values), plus the Jinja-compatibility methods in cookiecutter mode.
fn js_method(value: &Value, name: &str, args: &[Value], dialect: Dialect) -> Result<Value, Error> {
    let compat = dialect == Dialect::Cookiecutter;
    let result = match value.kind() {
        ValueKind::String => string_method(value.as_str().unwrap_or_default(), name, args)?,
        ValueKind::Seq | ValueKind::Iterable => array_method(value, name, args, compat)?,
        ValueKind::Map => object_method(value, name, args, compat)?,
        ValueKind::Number | ValueKind::Bool if name == "toString" => {
            Some(Value::from(js_string(value)))
        }
        _ => None,
    };
    result.ok_or_else(|| {
        Error::new(
            ErrorKind::UnknownMethod,
            format!("Unable to call `{name}`, which is undefined or falsey"),
        )
    })
}

fn string_arg(args: &[Value], index: usize) -> String {
    args.get(index)
        .map_or_else(|| "undefined".to_owned(), js_string)
}

/// `arg` as a JavaScript relative index (`slice`): negative counts from the end.
fn relative_index(arg: Option<&Value>, len: usize, default: usize) -> usize {
    match arg.filter(|arg| !arg.is_undefined()) {
        None => default,
        Some(arg) => {
            let n = js_to_integer(arg);
            let len = len as f64;
            (if n < 0.0 {
                (len + n).max(0.0)
            } else {
                n.min(len)
            }) as usize
        }
    }
}

/// `arg` as a clamped JavaScript index (`substring`, `includes`): negative is 0.
fn clamped_index(arg: Option<&Value>, len: usize, default: usize) -> usize {
    match arg.filter(|arg| !arg.is_undefined()) {
        None => default,
        Some(arg) => js_to_integer(arg).clamp(0.0, len as f64) as usize,
    }
}

/// JavaScript string lengths and indices count UTF-16 units.
fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// Byte offset of UTF-16 position `pos` (rounded up to a character boundary).
fn byte_offset(text: &str, pos: usize) -> usize {
    let mut units = 0;
    for (offset, c) in text.char_indices() {
        if units >= pos {
            return offset;
        }
        units += c.len_utf16();
    }
    text.len()
}

fn utf16_pos(text: &str, byte: usize) -> usize {
    utf16_len(&text[..byte])
}

fn index_value(found: Option<usize>) -> Value {
    found.map_or(Value::from(-1), Value::from)
}

fn string_method(text: &str, name: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    let len = utf16_len(text);
    let arg = |index: usize| args.get(index);
    let slice = |start: usize, end: usize| {
        if start >= end {
            Value::from("")
        } else {
            Value::from(&text[byte_offset(text, start)..byte_offset(text, end)])
        }
    };
    let char_at = |index: f64| {
        (index >= 0.0 && index < len as f64)
            .then(|| text[byte_offset(text, index as usize)..].chars().next())
            .flatten()
            .map(|c| Value::from(c.to_string()))
    };
    Ok(Some(match name {
        "toLowerCase" | "toLocaleLowerCase" => Value::from(text.to_lowercase()),
        "toUpperCase" | "toLocaleUpperCase" => Value::from(text.to_uppercase()),
        "trim" => Value::from(text.trim_matches(is_js_space)),
        "trimStart" | "trimLeft" => Value::from(text.trim_start_matches(is_js_space)),
        "trimEnd" | "trimRight" => Value::from(text.trim_end_matches(is_js_space)),
        "includes" => {
            let from = byte_offset(text, clamped_index(arg(1), len, 0));
            Value::from(text[from..].contains(string_arg(args, 0).as_str()))
        }
        "startsWith" => {
            let from = byte_offset(text, clamped_index(arg(1), len, 0));
            Value::from(text[from..].starts_with(string_arg(args, 0).as_str()))
        }
        "endsWith" => {
            let end = byte_offset(text, clamped_index(arg(1), len, len));
            Value::from(text[..end].ends_with(string_arg(args, 0).as_str()))
        }
        "indexOf" => {
            let from = byte_offset(text, clamped_index(arg(1), len, 0));
            let found = text[from..].find(string_arg(args, 0).as_str());
            index_value(found.map(|at| utf16_pos(text, from + at)))
        }
        "lastIndexOf" => index_value(
            text.rfind(string_arg(args, 0).as_str())
                .map(|at| utf16_pos(text, at)),
        ),
        "slice" => slice(
            relative_index(arg(0), len, 0),
            relative_index(arg(1), len, len),
        ),
        "substring" => {
            let (a, b) = (
                clamped_index(arg(0), len, 0),
                clamped_index(arg(1), len, len),
            );
            slice(a.min(b), a.max(b))
        }
        "substr" => {
            let start = relative_index(arg(0), len, 0);
            let count = clamped_index(arg(1), len - start, len - start);
            slice(start, start + count)
        }
        "charAt" => char_at(arg(0).map_or(0.0, js_to_integer)).unwrap_or_else(|| Value::from("")),
        "at" => {
            let index = arg(0).map_or(0.0, js_to_integer);
            char_at(if index < 0.0 {
                len as f64 + index
            } else {
                index
            })
            .unwrap_or(Value::UNDEFINED)
        }
        "concat" => {
            let mut out = text.to_owned();
            for arg in args {
                out.push_str(&js_string(arg));
            }
            Value::from(out)
        }
        "split" => split(text, arg(0), arg(1)),
        "replace" | "replaceAll" => {
            let pattern = Pattern::of(arg(0));
            let all =
                name == "replaceAll" || matches!(pattern, Pattern::Regex(regex) if regex.global());
            Value::from(js_replace(text, &pattern, &string_arg(args, 1), all))
        }
        "match" => {
            let (regex, global) = regex_arg(arg(0))?;
            js_match(text, &regex, global)
        }
        "search" => {
            let (regex, _) = regex_arg(arg(0))?;
            index_value(regex.find(text).map(|m| utf16_pos(text, m.start())))
        }
        "padStart" | "padEnd" => {
            let target = arg(0).map_or(0.0, js_to_integer);
            if target > OUTPUT_LIMIT as f64 {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("{name}: length too large"),
                ));
            }
            let fill = arg(1)
                .filter(|fill| !fill.is_undefined())
                .map_or_else(|| " ".to_owned(), js_string);
            let missing = (target as usize).saturating_sub(len);
            if missing == 0 || fill.is_empty() {
                Value::from(text)
            } else {
                // Whole characters only: a surrogate half cannot live in a Rust string.
                let mut padding = String::new();
                let mut units = 0;
                for c in fill.chars().cycle() {
                    if units + c.len_utf16() > missing {
                        break;
                    }
                    padding.push(c);
                    units += c.len_utf16();
                }
                Value::from(if name == "padStart" {
                    padding + text
                } else {
                    text.to_owned() + &padding
                })
            }
        }
        "repeat" => {
            let count = arg(0).map_or(0.0, js_to_integer);
            if count < 0.0 || count * text.len() as f64 > OUTPUT_LIMIT as f64 {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "repeat: invalid count",
                ));
            }
            Value::from(text.repeat(count as usize))
        }
        "toString" | "valueOf" => Value::from(text),
        _ => return Ok(None),
    }))
}

/// The regular expression (and its `g` flag) a `match`/`search` argument denotes: a
/// literal, or a string compiled as `new RegExp(text)` would.
fn regex_arg(arg: Option<&Value>) -> Result<(Regex, bool), Error> {
    match Pattern::of(arg) {
        Pattern::Regex(regex) => Ok((regex.regex.clone(), regex.global())),
        Pattern::Text(source) => Ok((JsRegExp::new(source, String::new())?.regex, false)),
    }
}

/// `String.prototype.split(separator, limit)`.
fn split(text: &str, separator: Option<&Value>, limit: Option<&Value>) -> Value {
    let limit = limit
        .filter(|limit| !limit.is_undefined())
        .map_or(usize::MAX, |limit| js_to_integer(limit).max(0.0) as usize);
    let parts: Vec<Value> = match separator.filter(|s| !s.is_undefined()) {
        None => vec![Value::from(text)],
        Some(separator) => match Pattern::of(Some(separator)) {
            Pattern::Regex(regex) => regex
                .regex
                .split(text)
                .map(Value::from)
                .take(limit)
                .collect(),
            Pattern::Text(sep) if sep.is_empty() => text
                .chars()
                .map(|c| Value::from(c.to_string()))
                .take(limit)
                .collect(),
            Pattern::Text(sep) => text
                .split(sep.as_str())
                .map(Value::from)
                .take(limit)
                .collect(),
        },
    };
    Value::from(parts)
}

/// `String.prototype.replace`/`replaceAll` with a string replacement (`$&`, `$1`, … apply).
fn js_replace(text: &str, pattern: &Pattern<'_>, replacement: &str, all: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    match pattern {
        Pattern::Regex(regex) => {
            for caps in regex.regex.captures_iter(text) {
                let Some(whole) = caps.get(0) else { continue };
                out.push_str(&text[last..whole.start()]);
                expand_replacement(
                    &mut out,
                    replacement,
                    text,
                    whole.start(),
                    whole.end(),
                    Some(&caps),
                );
                last = whole.end();
                if !all {
                    break;
                }
            }
        }
        Pattern::Text(needle) => {
            let mut from = 0;
            while let Some(offset) = text[from..].find(needle.as_str()) {
                let start = from + offset;
                let end = start + needle.len();
                out.push_str(&text[last..start]);
                expand_replacement(&mut out, replacement, text, start, end, None);
                last = end;
                if !all {
                    break;
                }
                // An empty needle matches between every character.
                from = if needle.is_empty() {
                    match text[end..].chars().next() {
                        Some(c) => end + c.len_utf8(),
                        None => break,
                    }
                } else {
                    end
                };
            }
        }
    }
    out.push_str(&text[last..]);
    out
}

/// Expands JavaScript's replacement patterns: `$$`, `$&`, `` $` ``, `$'`, `$n`, `$<name>`.
fn expand_replacement(
    out: &mut String,
    replacement: &str,
    text: &str,
    start: usize,
    end: usize,
    caps: Option<&Captures<'_>>,
) {
    let mut rest = replacement;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        let group = |index: usize| caps.filter(|caps| index > 0 && index < caps.len());
        let (expansion, used): (Option<&str>, usize) = match after.as_bytes().first() {
            Some(b'$') => (Some("$"), 1),
            Some(b'&') => (Some(&text[start..end]), 1),
            Some(b'`') => (Some(&text[..start]), 1),
            Some(b'\'') => (Some(&text[end..]), 1),
            Some(b'<') if caps.is_some() => match after.find('>') {
                Some(close) => (
                    Some(
                        caps.and_then(|caps| caps.name(&after[1..close]))
                            .map_or("", |m| m.as_str()),
                    ),
                    close + 1,
                ),
                None => (None, 0),
            },
            Some(d) if d.is_ascii_digit() => {
                let two = after.get(..2).and_then(|two| two.parse::<usize>().ok());
                let one = usize::from(d - b'0');
                match (two.and_then(|n| group(n).map(|caps| (caps, n))), group(one)) {
                    (Some((caps, n)), _) => (Some(caps.get(n).map_or("", |m| m.as_str())), 2),
                    (None, Some(caps)) => (Some(caps.get(one).map_or("", |m| m.as_str())), 1),
                    (None, None) => (None, 0),
                }
            }
            _ => (None, 0),
        };
        match expansion {
            Some(expansion) => out.push_str(expansion),
            None => out.push('$'),
        }
        rest = &after[used..];
    }
    out.push_str(rest);
}

/// `String.prototype.match`: all matches with `g`, else the match and its groups; `null`
/// when nothing matches.
fn js_match(text: &str, regex: &Regex, global: bool) -> Value {
    let items: Vec<Value> = if global {
        regex
            .find_iter(text)
            .map(|m| Value::from(m.as_str()))
            .collect()
    } else {
        regex
            .captures(text)
            .map(|caps| {
                caps.iter()
                    .map(|group| group.map_or(Value::UNDEFINED, |m| Value::from(m.as_str())))
                    .collect()
            })
            .unwrap_or_default()
    };
    if items.is_empty() {
        Value::from(())
    } else {
        Value::from(items)
    }
}

fn array_method(
    value: &Value,
    name: &str,
    args: &[Value],
    compat: bool,
) -> Result<Option<Value>, Error> {
    let items: Vec<Value> = value.try_iter()?.collect();
    let len = items.len();
    let needle = args.first().cloned().unwrap_or(Value::UNDEFINED);
    let position = || items.iter().position(|item| *item == needle);
    Ok(Some(match name {
        "join" => {
            let separator = args
                .first()
                .filter(|sep| !sep.is_undefined())
                .map_or_else(|| ",".to_owned(), js_string);
            let parts: Vec<String> = items.iter().map(|item| element_string(item, 0)).collect();
            Value::from(parts.join(&separator))
        }
        "toString" => Value::from(js_string(value)),
        "includes" => Value::from(position().is_some()),
        "indexOf" => index_value(position()),
        "find" if compat => index_value(position()),
        "lastIndexOf" => index_value(items.iter().rposition(|item| *item == needle)),
        "slice" => {
            let start = relative_index(args.first(), len, 0);
            let end = relative_index(args.get(1), len, len);
            Value::from(
                items
                    .get(start..end.max(start))
                    .unwrap_or_default()
                    .to_vec(),
            )
        }
        "concat" => {
            let mut out = items.clone();
            for arg in args {
                if arg.kind() == ValueKind::Seq {
                    out.extend(arg.try_iter()?);
                } else {
                    out.push(arg.clone());
                }
            }
            Value::from(out)
        }
        "at" => {
            let index = args.first().map_or(0.0, js_to_integer);
            let index = if index < 0.0 {
                len as f64 + index
            } else {
                index
            };
            (index >= 0.0)
                .then(|| items.get(index as usize).cloned())
                .flatten()
                .unwrap_or(Value::UNDEFINED)
        }
        "reverse" => Value::from(items.iter().rev().cloned().collect::<Vec<_>>()),
        "count" if compat => Value::from(items.iter().filter(|item| **item == needle).count()),
        "index" if compat => match position() {
            Some(index) => Value::from(index),
            None => return Err(Error::new(ErrorKind::InvalidOperation, "ValueError")),
        },
        _ => return Ok(None),
    }))
}

fn object_method(
    value: &Value,
    name: &str,
    args: &[Value],
    compat: bool,
) -> Result<Option<Value>, Error> {
    let key = Value::from(string_arg(args, 0));
    let has_key = || value.get_item(&key).is_ok_and(|item| !item.is_undefined());
    Ok(Some(match name {
        "hasOwnProperty" => Value::from(has_key()),
        "has_key" if compat => Value::from(has_key()),
        "items" | "iteritems" if compat => js_pairs(value.clone())?,
        "keys" | "iterkeys" if compat => Value::from(value.try_iter()?.collect::<Vec<_>>()),
        "values" | "itervalues" if compat => {
            let mut items = Vec::new();
            for key in value.try_iter()? {
                items.push(value.get_item(&key)?);
            }
            Value::from(items)
        }
        "get" if compat => {
            let item = value.get_item(&key)?;
            if item.is_undefined() {
                args.get(1).cloned().unwrap_or(Value::UNDEFINED)
            } else {
                item
            }
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> Json {
        json!({
            "parameters": {
                "name": "my-service",
                "count": 3,
                "ratio": 2.5,
                "enabled": true,
                "disabled": false,
                "tags": ["a", "b"],
                "noTags": [],
                "owner": {"kind": "Group", "name": "team"},
                "nothing": null,
                "empty": "",
                "spaced": "  padded  ",
                "repoUrl": "github.com?owner=acme&repo=widgets",
                "wordy": "hello big world",
                "sized": {"length": 7},
            },
            "steps": {
                "fetch-base": {"output": {"x": "from-fetch", "n": 1}},
                "publish": {"output": {"remoteUrl": "https://github.com/acme/widgets"}},
            },
            "user": {
                "ref": "user:default/jane",
                "entity": {"metadata": {"name": "jane", "annotations": {"a/b": "c"}}},
            },
            "secrets": {"token": "s3cret"},
            "each": {"key": "0", "value": {"name": "first"}},
        })
    }

    fn render(template: &str) -> Result<Json, String> {
        Expressions::new().render_value("input", &json!({ "v": template }), &context())
    }

    /// The rendered value of `template`, `None` when its key was removed.
    fn value(template: &str) -> Option<Json> {
        match render(template) {
            Ok(Json::Object(mut fields)) => fields.remove("v"),
            other => panic!("{template}: {other:?}"),
        }
    }

    fn text(template: &str) -> String {
        match value(template) {
            Some(Json::String(text)) => text,
            other => panic!("{template}: expected a string, got {other:?}"),
        }
    }

    fn error(template: &str) -> String {
        match render(template) {
            Ok(rendered) => panic!("{template}: rendered {} bytes", rendered.to_string().len()),
            Err(err) => err,
        }
    }

    fn file(template: &str, values: Json) -> Result<String, String> {
        Expressions::new().render_file(template, &values, FileOptions::default())
    }

    #[test]
    fn one_expression_keeps_its_json_type() {
        assert_eq!(value("${{ parameters.count }}"), Some(json!(3)));
        assert_eq!(value("${{parameters.count}}"), Some(json!(3)));
        assert_eq!(value("${{ parameters.ratio }}"), Some(json!(2.5)));
        assert_eq!(value("${{ parameters.count + 1 }}"), Some(json!(4)));
        assert_eq!(value("${{ parameters.count / 3 }}"), Some(json!(1)));
        assert_eq!(value("${{ parameters.enabled }}"), Some(json!(true)));
        assert_eq!(value("${{ parameters.disabled }}"), Some(json!(false)));
        assert_eq!(value("${{ parameters.tags }}"), Some(json!(["a", "b"])));
        assert_eq!(
            value("${{ parameters.owner }}"),
            Some(json!({"kind": "Group", "name": "team"}))
        );
        assert_eq!(value("${{ parameters.nothing }}"), Some(Json::Null));
        assert_eq!(value("${{ parameters.name }}"), Some(json!("my-service")));
        assert_eq!(value("${{ parameters.empty }}"), Some(json!("")));
        assert_eq!(value("${{ [1, 'x', none] }}"), Some(json!([1, "x", null])));
        assert_eq!(
            value("${{ { a: 1, 'b': [2], c_d : {e: none}} }}"),
            Some(json!({"a": 1, "b": [2], "c_d": {"e": null}}))
        );
        assert_eq!(value("${{- parameters.count -}}"), Some(json!(3)));
    }

    #[test]
    fn mixed_text_renders_a_string() {
        assert_eq!(text("n=${{ parameters.count }}"), "n=3");
        assert_eq!(text("r=${{ parameters.ratio }}"), "r=2.5");
        assert_eq!(text("${{ parameters.count / 3 }}!"), "1!");
        // Any text outside the braces, even white space, makes a text template.
        assert_eq!(text(" ${{ parameters.count }}"), " 3");
        assert_eq!(text("${{ parameters.count }}\n"), "3\n");
        assert_eq!(text("tags: ${{ parameters.tags }}"), "tags: a,b");
        assert_eq!(text("o=${{ parameters.owner }}"), "o=[object Object]");
        assert_eq!(
            text("${{ parameters.nothing }}|${{ parameters.missing }}|"),
            "||"
        );
        assert_eq!(text("${{ parameters.enabled }}!"), "true!");
        assert_eq!(
            text("${{ parameters.name }}-${{ parameters.count }}"),
            "my-service-3"
        );
        assert_eq!(text("plain"), "plain");
        assert_eq!(text("{{ not a variable }}"), "{{ not a variable }}");
        assert_eq!(text("a{# comment #}b"), "ab");
        assert_eq!(
            text("{% if parameters.enabled %}on{% else %}off{% endif %}"),
            "on"
        );
        assert_eq!(
            text("{% if parameters.count %}${{ parameters.count }}{% endif %}"),
            "3"
        );
    }

    #[test]
    fn undefined_or_empty_results_remove_the_key() {
        let input = json!({
            "missing": "${{ parameters.missing }}",
            "literalEmpty": "",
            "renderedEmpty": "${{ parameters.missing }}${{ parameters.nothing }}",
            "chained": "${{ parameters.missing.deeper.still }}",
            "kept": "kept",
            "list": ["${{ parameters.missing }}", 1],
            "emptyString": "${{ parameters.empty }}",
        });
        let rendered = Expressions::new()
            .render_value("input", &input, &context())
            .unwrap();
        assert_eq!(
            rendered,
            json!({"kept": "kept", "list": [null, 1], "emptyString": ""})
        );
        let top = Expressions::new()
            .render_value("if", &json!("${{ parameters.missing }}"), &context())
            .unwrap();
        assert_eq!(top, Json::Null);
    }

    #[test]
    fn nested_values_render_recursively_and_keys_stay_literal() {
        let input = json!({
            "${{ parameters.name }}": {
                "list": ["${{ parameters.count }}", {"deep": "x-${{ parameters.name }}"}, ["${{ parameters.enabled }}"]],
                "n": 5,
                "b": true,
                "z": null,
            }
        });
        let rendered = Expressions::new()
            .render_value("input", &input, &context())
            .unwrap();
        assert_eq!(
            rendered,
            json!({
                "${{ parameters.name }}": {
                    "list": [3, {"deep": "x-my-service"}, [true]],
                    "n": 5,
                    "b": true,
                    "z": null,
                }
            })
        );
    }

    #[test]
    fn truthiness_follows_backstage_is_truthy() {
        let table = [
            (json!(null), false),
            (json!(false), false),
            (json!(0), false),
            (json!(0.0), false),
            (json!(""), false),
            (json!([]), false),
            (json!(true), true),
            (json!(1), true),
            (json!(-0.5), true),
            (json!("false"), true),
            (json!("0"), true),
            (json!([0]), true),
            (json!({}), true),
        ];
        for (value, expected) in table {
            assert_eq!(Expressions::is_truthy(&value), expected, "{value}");
        }
        let rendered_if = |template: &str| {
            let rendered = Expressions::new()
                .render_value("if", &json!(template), &context())
                .unwrap();
            Expressions::is_truthy(&rendered)
        };
        assert!(!rendered_if("${{ parameters.disabled }}"));
        assert!(rendered_if("false"));
        assert!(!rendered_if("${{ parameters.noTags }}"));
        assert!(rendered_if("${{ parameters.tags }}"));
        assert!(rendered_if("${{ parameters.tags.length > 0 }}"));
        assert!(!rendered_if("${{ parameters.noTags.length > 0 }}"));
        assert!(!rendered_if("${{ parameters.missing }}"));
        assert!(rendered_if("${{ parameters.count == 3 }}"));
        assert!(rendered_if("${{ parameters.name === 'my-service' }}"));
        assert!(!rendered_if("${{ parameters.name !== 'my-service' }}"));
        assert!(rendered_if(
            "${{ not parameters.disabled and parameters.enabled }}"
        ));
    }

    #[test]
    fn context_exposes_steps_user_secrets_and_each() {
        assert_eq!(text("${{ steps['fetch-base'].output.x }}"), "from-fetch");
        assert_eq!(text("${{ steps[\"fetch-base\"].output.x }}"), "from-fetch");
        assert_eq!(value("${{ steps['fetch-base'].output.n }}"), Some(json!(1)));
        assert_eq!(
            text("${{ steps.publish.output.remoteUrl }}"),
            "https://github.com/acme/widgets"
        );
        assert_eq!(text("${{ user.ref }}"), "user:default/jane");
        assert_eq!(text("${{ user.entity.metadata.name }}"), "jane");
        assert_eq!(text("${{ user.entity.metadata.annotations['a/b'] }}"), "c");
        assert_eq!(text("Bearer ${{ secrets.token }}"), "Bearer s3cret");
        assert_eq!(text("${{ each.key }}"), "0");
        assert_eq!(text("${{ each.value.name }}"), "first");
        assert_eq!(value("${{ each.value }}"), Some(json!({"name": "first"})));
        assert_eq!(value("${{ steps['nope'].output.x }}"), None);
    }

    #[test]
    fn parse_repo_url_filter() {
        assert_eq!(
            value("${{ parameters.repoUrl | parseRepoUrl }}"),
            Some(json!({"host": "github.com", "owner": "acme", "repo": "widgets"}))
        );
        // Key order matches Backstage's object literal.
        assert_eq!(
            text("${{ parameters.repoUrl | parseRepoUrl | dump }}"),
            r#"{"host":"github.com","owner":"acme","repo":"widgets"}"#
        );
        assert_eq!(
            text(
                "${{ 'github.com?project=p&workspace=w&organization=org&repo=r&owner=o' | parseRepoUrl | dump }}"
            ),
            r#"{"host":"github.com","owner":"o","repo":"r","organization":"org","workspace":"w","project":"p"}"#
        );
        assert_eq!(
            value("${{ 'dev.azure.com?organization=org&project=p&repo=r' | parseRepoUrl }}"),
            Some(
                json!({"host": "dev.azure.com", "repo": "r", "organization": "org", "project": "p"})
            )
        );
        assert_eq!(
            value("${{ 'gitlab.com?project=42' | parseRepoUrl }}"),
            Some(json!({"host": "gitlab.com", "project": "42"}))
        );
        assert_eq!(
            value("${{ 'bitbucket.org?workspace=w&project=p&repo=r' | parseRepoUrl }}"),
            Some(json!({"host": "bitbucket.org", "repo": "r", "workspace": "w", "project": "p"}))
        );
        assert_eq!(
            value("${{ 'ghe.example.com:8443?owner=%2Fo&repo=r%2F' | parseRepoUrl }}"),
            Some(json!({"host": "ghe.example.com:8443", "owner": "o", "repo": "r"}))
        );
        assert_eq!(
            text("${{ (parameters.repoUrl | parseRepoUrl).repo }}"),
            "widgets"
        );
        let err = error("${{ 'github.com?owner=o' | parseRepoUrl }}");
        assert!(
            err.contains(
                "Invalid repo URL passed to publisher: https://github.com/?owner=o, missing repo"
            ),
            "{err}"
        );
        let err = error("${{ 'github.com?repo=r' | parseRepoUrl }}");
        assert!(err.contains("missing owner"), "{err}");
        let err = error("${{ 'dev.azure.com?organization=o&repo=r' | parseRepoUrl }}");
        assert!(err.contains("missing project"), "{err}");
        let err = error("${{ 'www.bitbucket.org?project=p&repo=r' | parseRepoUrl }}");
        assert!(err.contains("missing workspace"), "{err}");
    }

    #[test]
    fn project_slug_filter() {
        assert_eq!(
            text("${{ parameters.repoUrl | projectSlug }}"),
            "acme/widgets"
        );
        assert_eq!(
            text("${{ 'gitlab.example.com?owner=group/sub&repo=app' | projectSlug }}"),
            "group/sub/app"
        );
        // Backstage interpolates missing parts as JavaScript does.
        assert_eq!(
            text("${{ 'gitlab.com?project=42' | projectSlug }}"),
            "undefined/undefined"
        );
        assert!(error("${{ 'github.com?owner=o' | projectSlug }}").contains("missing repo"));
    }

    #[test]
    fn parse_entity_ref_filter() {
        assert_eq!(
            value("${{ 'group:techdocs' | parseEntityRef }}"),
            Some(json!({"kind": "group", "namespace": "default", "name": "techdocs"}))
        );
        assert_eq!(
            value("${{ 'Group:Platform/Team-A' | parseEntityRef }}"),
            Some(json!({"kind": "Group", "namespace": "Platform", "name": "Team-A"}))
        );
        assert_eq!(
            value(
                "${{ 'techdocs' | parseEntityRef({ defaultKind: 'group', defaultNamespace: 'another-namespace' }) }}"
            ),
            Some(json!({"kind": "group", "namespace": "another-namespace", "name": "techdocs"}))
        );
        assert_eq!(
            value("${{ 'ns/name:x' | parseEntityRef({ 'defaultKind': 'component' }) }}"),
            Some(json!({"kind": "component", "namespace": "ns", "name": "name:x"}))
        );
        assert_eq!(
            value("${{ parameters.owner | parseEntityRef }}"),
            Some(json!({"kind": "Group", "namespace": "default", "name": "team"}))
        );
        assert_eq!(
            text("${{ user.ref | parseEntityRef | pick('name') }}"),
            "jane"
        );
        let err = error("${{ 'techdocs' | parseEntityRef }}");
        assert!(
            err.contains(r#"Entity reference "techdocs" had missing or empty kind (e.g. did not start with "component:" or similar)"#),
            "{err}"
        );
        let err = error("${{ 'group:' | parseEntityRef }}");
        assert!(
            err.contains(
                r#"Entity reference "group:" was not on the form [<kind>:][<namespace>/]<name>"#
            ),
            "{err}"
        );
        let err = error("${{ parameters.empty | parseEntityRef }}");
        assert!(err.contains("Entity reference must not be empty"), "{err}");
    }

    #[test]
    fn pick_filter() {
        assert_eq!(text("${{ user.entity | pick('metadata.name') }}"), "jane");
        assert_eq!(text("${{ parameters | pick('tags[1]') }}"), "b");
        assert_eq!(text("${{ parameters | pick('tags.0') }}"), "a");
        assert_eq!(
            text("${{ user.entity | pick('metadata.annotations[\"a/b\"]') }}"),
            "c"
        );
        assert_eq!(
            value("${{ {'x': {'a]b': 5}} | pick('x[\"a]b\"]') }}"),
            Some(json!(5))
        );
        assert_eq!(
            value("${{ parameters.owner | pick('kind') }}"),
            Some(json!("Group"))
        );
        assert_eq!(
            value("${{ user.entity | pick('metadata') | pick('nope') }}"),
            None
        );
        assert_eq!(
            text("${{ user.entity | pick('x.y', 'fallback') }}"),
            "fallback"
        );
        assert_eq!(
            value("${{ {'a.b': 1, 'a': {'b': 2} } | pick('a.b') }}"),
            Some(json!(1))
        );
        assert_eq!(
            value("${{ {'a': {'b': 2} } | pick('a.b') }}"),
            Some(json!(2))
        );
    }

    #[test]
    fn dump_filter_matches_json_stringify() {
        assert_eq!(
            text("${{ parameters.owner | dump }}"),
            r#"{"kind":"Group","name":"team"}"#
        );
        assert_eq!(text("x=${{ parameters.tags | dump }}"), r#"x=["a","b"]"#);
        assert_eq!(
            text("${{ parameters.owner | dump(2) }}"),
            "{\n  \"kind\": \"Group\",\n  \"name\": \"team\"\n}"
        );
        assert_eq!(
            text("${{ {'a': [1, {}], 'b': []} | dump('\\t') }}"),
            "{\n\t\"a\": [\n\t\t1,\n\t\t{}\n\t],\n\t\"b\": []\n}"
        );
        assert_eq!(text("${{ parameters.name | dump }}"), "\"my-service\"");
        assert_eq!(text("${{ parameters.ratio | dump }}"), "2.5");
        assert_eq!(text("${{ (parameters.count / 3) | dump }}"), "1");
        assert_eq!(text("${{ parameters.nothing | dump }}"), "null");
        assert_eq!(value("${{ parameters.missing | dump }}"), None);
        assert_eq!(
            text("${{ {'a': parameters.missing, 'b': 1} | dump }}"),
            r#"{"b":1}"#
        );
    }

    #[test]
    fn nunjucks_string_filters() {
        assert_eq!(text("${{ 'a-b-c' | replace('-', '_') }}"), "a_b_c");
        assert_eq!(text("${{ 'a-b-c' | replace('-', '_', 1) }}"), "a_b-c");
        assert_eq!(text("${{ 'abc' | replace('', '.') }}"), ".a.b.c.");
        assert_eq!(text("${{ 'v1' | replace(1, 2) }}"), "v2");
        assert_eq!(
            text("${{ 'My Service!' | replace(r/[^a-z]/gi, '') }}"),
            "MyService"
        );
        assert_eq!(text("${{ 'a  b c' | replace(r/\\s+/g, '-') }}"), "a-b-c");
        assert_eq!(text("${{ 'a  b c' | replace(r/\\s+/, '-') }}"), "a-b c");
        assert_eq!(text("${{ parameters.name | upper }}"), "MY-SERVICE");
        assert_eq!(text("${{ 'MiXeD' | lower }}"), "mixed");
        assert_eq!(value("${{ parameters.missing | upper }}"), Some(json!("")));
        assert_eq!(text("${{ 'hello big-world' | title }}"), "Hello Big-world");
        assert_eq!(text("${{ 'hELLO wORLD' | capitalize }}"), "Hello world");
        assert_eq!(text("[${{ parameters.spaced | trim }}]"), "[padded]");
        assert_eq!(text("${{ parameters.name | safe }}"), "my-service");
        assert_eq!(text("${{ 'a b&c/d' | urlencode }}"), "a%20b%26c%2Fd");
        assert_eq!(
            text("${{ {'q': 'a b', 'n': 1} | urlencode }}"),
            "q=a%20b&n=1"
        );
    }

    #[test]
    fn nunjucks_value_filters() {
        assert_eq!(text("${{ parameters.missing | default('x') }}"), "x");
        assert_eq!(
            value("${{ parameters.nothing | default('x') }}"),
            Some(Json::Null)
        );
        assert_eq!(text("${{ parameters.empty | default('x', true) }}"), "x");
        assert_eq!(value("${{ parameters.empty | d('x') }}"), Some(json!("")));
        assert_eq!(text("${{ parameters.name | d('x') }}"), "my-service");
        assert_eq!(text("${{ parameters.tags | join }}"), "ab");
        assert_eq!(text("${{ parameters.tags | join(', ') }}"), "a, b");
        assert_eq!(text("${{ [{'n': 1}, {'n': 2}] | join('-', 'n') }}"), "1-2");
        assert_eq!(text("${{ [1, none, 'x'] | join('/') }}"), "1//x");
        assert_eq!(value("${{ parameters.tags | length }}"), Some(json!(2)));
        assert_eq!(value("${{ parameters.name | length }}"), Some(json!(10)));
        assert_eq!(value("${{ parameters.owner | length }}"), Some(json!(2)));
        assert_eq!(value("${{ parameters.missing | length }}"), Some(json!(0)));
        assert_eq!(text("${{ parameters.tags | first }}"), "a");
        assert_eq!(text("${{ parameters.tags | last }}"), "b");
        assert_eq!(text("${{ parameters.name | first }}"), "m");
        assert_eq!(value("${{ parameters.noTags | first }}"), None);
        assert_eq!(value("${{ '42abc' | int }}"), Some(json!(42)));
        assert_eq!(value("${{ ' -3.9' | int }}"), Some(json!(-3)));
        assert_eq!(value("${{ parameters.ratio | int }}"), Some(json!(2)));
        assert_eq!(value("${{ 'abc' | int }}"), None);
        assert_eq!(value("${{ 'abc' | int(7) }}"), Some(json!(7)));
        assert_eq!(value("${{ '2.50x' | float }}"), Some(json!(2.5)));
        assert_eq!(value("${{ 'x' | float(1) }}"), Some(json!(1)));
        assert_eq!(value("${{ parameters.count | string }}"), Some(json!("3")));
        assert_eq!(value("${{ parameters.tags | string }}"), Some(json!("a,b")));
        assert_eq!(
            value("${{ parameters.enabled | string }}"),
            Some(json!("true"))
        );
        assert!(error("${{ parameters.name | nope }}").contains("unknown filter"));
    }

    #[test]
    fn javascript_string_methods() {
        assert_eq!(text("${{ parameters.name.split('-') | first }}"), "my");
        assert_eq!(
            value("${{ parameters.name.split('-') }}"),
            Some(json!(["my", "service"]))
        );
        assert_eq!(value("${{ 'ab'.split('') }}"), Some(json!(["a", "b"])));
        assert_eq!(
            value("${{ parameters.name.split('-', 1) }}"),
            Some(json!(["my"]))
        );
        assert_eq!(
            value("${{ 'a1b22c'.split(r/\\d+/) }}"),
            Some(json!(["a", "b", "c"]))
        );
        assert_eq!(text("${{ 'a-b-c'.replace('-', '_') }}"), "a_b-c");
        assert_eq!(text("${{ 'a-b-c'.replaceAll('-', '_') }}"), "a_b_c");
        assert_eq!(text("${{ 'a-b-c'.replace(r/-/g, '') }}"), "abc");
        assert_eq!(text("${{ 'abc'.replace('b', '[$&]') }}"), "a[b]c");
        assert_eq!(
            text("${{ 'john smith'.replace(r/(\\w+)\\s(\\w+)/, '$2 $1') }}"),
            "smith john"
        );
        assert_eq!(text("${{ 'Hello'.toLowerCase() }}"), "hello");
        assert_eq!(text("${{ parameters.name.toUpperCase() }}"), "MY-SERVICE");
        assert_eq!(text("[${{ parameters.spaced.trim() }}]"), "[padded]");
        assert_eq!(
            value("${{ parameters.name.includes('serv') }}"),
            Some(json!(true))
        );
        assert_eq!(
            value("${{ parameters.name.includes('x') }}"),
            Some(json!(false))
        );
        assert_eq!(
            value("${{ parameters.name.startsWith('my-') }}"),
            Some(json!(true))
        );
        assert_eq!(
            value("${{ parameters.name.endsWith('vice') }}"),
            Some(json!(true))
        );
        assert_eq!(text("${{ parameters.name.slice(0, 2) }}"), "my");
        assert_eq!(text("${{ parameters.name.slice(-7) }}"), "service");
        assert_eq!(text("${{ parameters.name.substring(3) }}"), "service");
        assert_eq!(text("${{ parameters.name.substring(5, 3) }}"), "se");
        assert_eq!(text("${{ parameters.name.substr(3, 3) }}"), "ser");
        assert_eq!(value("${{ parameters.name.indexOf('-') }}"), Some(json!(2)));
        assert_eq!(
            value("${{ parameters.name.indexOf('zz') }}"),
            Some(json!(-1))
        );
        assert_eq!(value("${{ 'a-b-c'.lastIndexOf('-') }}"), Some(json!(3)));
        assert_eq!(
            text("${{ parameters.name.concat('-', 1) }}"),
            "my-service-1"
        );
        assert_eq!(text("${{ parameters.name.charAt(0) }}"), "m");
        assert_eq!(text("${{ '42'.padStart(5, '0') }}"), "00042");
        assert_eq!(text("${{ '7'.padEnd(4, 'ab') }}"), "7aba");
        assert_eq!(text("${{ 'ab'.repeat(3) }}"), "ababab");
        assert_eq!(
            value("${{ r/^my-/.test(parameters.name) }}"),
            Some(json!(true))
        );
        assert_eq!(
            value("${{ 'a1b22'.match(r/\\d+/g) }}"),
            Some(json!(["1", "22"]))
        );
        assert_eq!(
            value("${{ 'v1.2'.match(r/v(\\d+)\\.(\\d+)/) }}"),
            Some(json!(["v1.2", "1", "2"]))
        );
        assert_eq!(value("${{ 'abc'.match(r/z/) }}"), Some(Json::Null));
        assert_eq!(
            value("${{ parameters.count.toString() }}"),
            Some(json!("3"))
        );
        let err = error("${{ parameters.missing.split('-') }}");
        assert!(err.starts_with("input.v: cannot render"), "{err}");
        assert!(err.contains("Unable to call `split`"), "{err}");
    }

    #[test]
    fn javascript_array_methods() {
        assert_eq!(text("${{ parameters.tags.join('+') }}"), "a+b");
        assert_eq!(text("${{ parameters.tags.join() }}"), "a,b");
        assert_eq!(
            value("${{ parameters.tags.includes('a') }}"),
            Some(json!(true))
        );
        assert_eq!(value("${{ parameters.tags.indexOf('b') }}"), Some(json!(1)));
        assert_eq!(value("${{ parameters.tags.slice(1) }}"), Some(json!(["b"])));
        assert_eq!(
            value("${{ parameters.tags.concat(['c'], 'd') }}"),
            Some(json!(["a", "b", "c", "d"]))
        );
        assert_eq!(value("${{ parameters.tags.at(-1) }}"), Some(json!("b")));
        // Python-style list methods exist only in cookiecutter mode, as in Nunjucks.
        assert!(error("${{ parameters.tags.count('a') }}").contains("Unable to call `count`"));
    }

    #[test]
    fn length_property_of_strings_arrays_and_objects() {
        assert_eq!(value("${{ parameters.name.length }}"), Some(json!(10)));
        assert_eq!(value("${{ parameters.tags.length }}"), Some(json!(2)));
        assert_eq!(value("${{ parameters.noTags.length }}"), Some(json!(0)));
        assert_eq!(value("${{ parameters.sized.length }}"), Some(json!(7)));
        assert_eq!(value("${{ parameters.owner.length }}"), None);
        assert_eq!(value("${{ parameters.missing.length }}"), None);
        assert_eq!(value("${{ 'héllo'.length }}"), Some(json!(5)));
        assert_eq!(value("${{ '😀'.length }}"), Some(json!(2)));
        assert_eq!(
            value("${{ parameters.name.split('-').length }}"),
            Some(json!(2))
        );
        assert_eq!(
            value("${{ (parameters.name ~ 'x').length }}"),
            Some(json!(11))
        );
        assert_eq!(value("${{ parameters.tags[0].length }}"), Some(json!(1)));
        assert_eq!(text("n=${{ parameters.tags.length }}"), "n=2");
        assert_eq!(text("${{ 'x.length' }}"), "x.length");
        assert_eq!(
            value("${{ parameters.name.length > 3 and parameters.tags.length == 2 }}"),
            Some(json!(true))
        );
        assert_eq!(
            text("{% if parameters.tags.length > 1 %}many{% endif %}"),
            "many"
        );
    }

    #[test]
    fn undefined_variables_render_empty() {
        assert_eq!(text("a${{ nope }}b"), "ab");
        assert_eq!(text("a${{ nope.deeper['x'] }}b"), "ab");
        assert_eq!(value("${{ nope }}"), None);
    }

    #[test]
    fn errors_name_the_path_and_the_expression() {
        let input = json!({"values": {"name": "${{ parameters.name | nope }}"}});
        let err = Expressions::new()
            .render_value("input", &input, &context())
            .unwrap_err();
        assert!(
            err.starts_with(
                r#"input.values.name: cannot render "${{ parameters.name | nope }}": "#
            ),
            "{err}"
        );
        let input = json!({"list": ["ok", "${{ parameters.x( }}"], "my key": {"a": "{% if %}"}});
        let err = Expressions::new()
            .render_value("input", &input, &context())
            .unwrap_err();
        assert!(err.starts_with("input.list[1]: "), "{err}");
        let input = json!({"my key": {"a": "{% if %}"}});
        let err = Expressions::new()
            .render_value("output", &input, &context())
            .unwrap_err();
        assert!(err.starts_with(r#"output["my key"].a: "#), "{err}");
    }

    #[test]
    fn syntax_errors_report_the_line() {
        let err = file("line one\nline two\n{% if %}\n", json!({})).unwrap_err();
        assert!(err.starts_with("line 3: syntax error: "), "{err}");
        let err = error("first\n${{ parameters. }}");
        assert!(err.contains("line 2: syntax error: "), "{err}");
    }

    #[test]
    fn fuel_stops_loop_bombs() {
        let bomb =
            "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}";
        let err = error(bomb);
        assert!(err.contains("fuel"), "{err}");
        let err = file(bomb, json!({})).unwrap_err();
        assert!(err.contains("fuel"), "{err}");
    }

    #[test]
    fn strings_doubled_in_a_loop_stop_at_the_memory_budget() {
        let engine = Expressions::new();
        let bomb = "{% set ns = namespace(s='x' * 1000000) %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}${{ ns.s | length }}";
        let err = engine
            .render_file(bomb, &json!({}), FileOptions::default())
            .unwrap_err();
        assert!(err.contains("128 MiB"), "{err}");
        let err = engine
            .render_value("input", &json!({"x": bomb}), &json!({}))
            .unwrap_err();
        assert!(
            err.starts_with("input: ") && err.contains("128 MiB"),
            "{err}"
        );
        // Ordinary renders go on working.
        assert_eq!(
            engine
                .render_file("${{ values.a }}", &json!({"a": 1}), FileOptions::default())
                .unwrap(),
            "1"
        );
    }

    #[test]
    fn output_is_capped() {
        let err = file("${{ 'x' * 10000000 }}${{ 'x' * 10000000 }}", json!({})).unwrap_err();
        assert_eq!(err, "rendered output exceeds the 16 MiB limit");
        let err = error("${{ 'x' * 20000000 }}");
        assert!(err.contains("value exceeds the 16 MiB limit"), "{err}");
        assert!(error("${{ 'ab'.repeat(10000000) }}").contains("repeat: invalid count"));
    }

    #[test]
    fn templates_cannot_reach_files() {
        for template in [
            "{% include '/etc/passwd' %}",
            "{% import 'macros.njk' as m %}",
            "{% extends 'base.njk' %}",
            "{% from 'x' import y %}",
        ] {
            let err = file(template, json!({})).unwrap_err();
            assert!(err.contains("not found"), "{template}: {err}");
        }
    }

    #[test]
    fn file_rendering_sees_only_values() {
        let values = json!({"name": "svc", "x": true, "tags": ["a", "b"], "labels": {"a": 1, "b": 2}, "n": 2});
        let render = |template: &str| file(template, values.clone()).unwrap();
        assert_eq!(render("Hello ${{ values.name }}!\n"), "Hello svc!\n");
        assert_eq!(render("{% if values.x %}yes{% else %}no{% endif %}"), "yes");
        assert_eq!(
            render("{% if values.missing %}yes{% else %}no{% endif %}"),
            "no"
        );
        assert_eq!(render("{{ values.name }}"), "{{ values.name }}");
        assert_eq!(
            render(
                "[${{ parameters.name }}][${{ secrets.token }}][${{ steps }}][${{ values.name }}]"
            ),
            "[][][][svc]"
        );
        assert_eq!(
            render(
                "{% for t in values.tags %}${{ loop.index }}/${{ loop.length }}:${{ t }}{% if not loop.last %},{% endif %}{% endfor %}"
            ),
            "1/2:a,2/2:b"
        );
        assert_eq!(
            render("{% for k, v in values.labels %}${{ k }}=${{ v }};{% endfor %}"),
            "a=1;b=2;"
        );
        assert_eq!(
            render(
                "{% if values.n == 1 %}one{% elseif values.n == 2 %}two{% else %}many{% endif %}"
            ),
            "two"
        );
        assert_eq!(
            render("{% raw %}${{ values.name }}{% endraw %}"),
            "${{ values.name }}"
        );
        assert_eq!(
            render("{% verbatim %}{% if %}{% endverbatim %}"),
            "{% if %}"
        );
        assert_eq!(render("a{# ${{ values.name }} #}b"), "ab");
        assert_eq!(
            render("{% set slug = values.name | upper %}${{ slug }}"),
            "SVC"
        );
        assert_eq!(
            render("{% macro greet(who) %}hi ${{ who }}{% endmacro %}${{ greet(values.name) }}"),
            "hi svc"
        );
        assert_eq!(render("a\n  {%- if true -%}\n  b\n{%- endif %}"), "ab");
        assert_eq!(
            render("${{ values.name }}-${{ values.missing }}.txt"),
            "svc-.txt"
        );
        assert_eq!(
            render("${{ 'github.com?owner=o&repo=r' | projectSlug }}"),
            "o/r"
        );
        assert_eq!(render("keep\n\n"), "keep\n\n");
    }

    #[test]
    fn file_whitespace_options() {
        let template = "<\n  {% if values.x %}\n  x\n  {% endif %}\n>";
        let values = json!({"x": true});
        let exprs = Expressions::new();
        let with = |trim_blocks, lstrip_blocks| {
            let options = FileOptions {
                trim_blocks,
                lstrip_blocks,
                ..FileOptions::default()
            };
            exprs.render_file(template, &values, options).unwrap()
        };
        assert_eq!(with(false, false), "<\n  \n  x\n  \n>");
        assert_eq!(with(true, false), "<\n    x\n  >");
        assert_eq!(with(true, true), "<\n  x\n>");
    }

    #[test]
    fn cookiecutter_compat() {
        let values = json!({"name": "svc", "tags": ["a", "b", "a"], "labels": {"a": 1, "b": 2}});
        let exprs = Expressions::new();
        let compat = FileOptions {
            cookiecutter_compat: true,
            ..FileOptions::default()
        };
        let render = |template: &str| exprs.render_file(template, &values, compat).unwrap();
        assert_eq!(render("{{ cookiecutter.name }}"), "svc");
        assert_eq!(render("${{ cookiecutter.name }}"), "$svc");
        assert_eq!(render("[{{ values.name }}]"), "[]");
        assert_eq!(
            render("{{ cookiecutter.tags | jsonify }}"),
            r#"["a","b","a"]"#
        );
        assert_eq!(render("{{ cookiecutter.name | dump }}"), r#""svc""#);
        assert_eq!(
            render("{% for k, v in cookiecutter.labels.items() %}{{ k }}={{ v }};{% endfor %}"),
            "a=1;b=2;"
        );
        assert_eq!(
            render("{{ cookiecutter.labels.keys() | join(',') }}"),
            "a,b"
        );
        assert_eq!(
            render("{{ cookiecutter.labels.get('zz', 'dflt') }}"),
            "dflt"
        );
        assert_eq!(render("{{ cookiecutter.labels.has_key('a') }}"), "true");
        assert_eq!(render("{{ cookiecutter.tags.count('a') }}"), "2");
        assert_eq!(render("{{ cookiecutter.tags.index('b') }}"), "1");
        assert_eq!(render("{{ cookiecutter.tags[1:] | join }}"), "ba");
        assert_eq!(render("{{ cookiecutter.name.toUpperCase() }}"), "SVC");
        assert_eq!(render("{% if True %}{{ None }}t{% endif %}"), "t");
        let err = Expressions::new()
            .render_file(
                "${{ values.x | jsonify }}",
                &json!({}),
                FileOptions::default(),
            )
            .unwrap_err();
        assert!(err.contains("unknown filter"), "{err}");
    }

    #[test]
    fn the_engine_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Expressions>();
    }

    #[test]
    fn extensions_list_backstage_filters() {
        let extensions = Expressions::extensions_json();
        let filters = extensions["filters"].as_object().unwrap();
        let names: Vec<&str> = filters.keys().map(String::as_str).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            ["parseEntityRef", "parseRepoUrl", "pick", "projectSlug"]
        );
        for (name, filter) in filters {
            assert!(filter["description"].is_string(), "{name}");
            assert!(
                filter["examples"].as_array().is_some_and(|e| !e.is_empty()),
                "{name}"
            );
            assert!(filter["schema"]["input"].is_object(), "{name}");
            assert!(filter["schema"]["output"].is_object(), "{name}");
        }
        assert_eq!(filters["pick"]["schema"]["arguments"][0]["type"], "string");
        assert_eq!(
            extensions["globals"],
            json!({"functions": {}, "values": {}})
        );
    }

    #[test]
    fn numbers_print_like_javascript() {
        let cases = [
            (2.0, "2"),
            (2.5, "2.5"),
            (-0.0, "0"),
            (0.1 + 0.2, "0.30000000000000004"),
            (123456.789, "123456.789"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (-1234.5e30, "-1.2345e+33"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (number, expected) in cases {
            assert_eq!(js_format_f64(number), expected, "{number}");
        }
        assert_eq!(text("${{ 1 / 4 }}!"), "0.25!");
        assert_eq!(text("${{ 10 / 2 }}!"), "5!");
    }

    #[test]
    fn rewrite_only_touches_code() {
        let rewrite = |source: &str| rewrite_template(source, Dialect::Backstage);
        assert_eq!(
            rewrite("a.length ${{ a.length }}"),
            "a.length ${{ a|__js_length }}"
        );
        assert_eq!(
            rewrite("${{ 'a.length' ~ \"b.length\" }}"),
            "${{ 'a.length' ~ \"b.length\" }}"
        );
        assert_eq!(
            rewrite("${{ a.lengthy }}${{ a.length() }}"),
            "${{ a.lengthy }}${{ a.length() }}"
        );
        assert_eq!(rewrite("{% if a === b %}"), "{% if a == b %}");
        assert_eq!(
            rewrite("${{ x | replace(r/}}\\//g, '') }}"),
            "${{ x | replace(__js_regexp(\"}}\\\\/\", \"g\"), '') }}"
        );
        assert_eq!(
            rewrite("{{ a.length }}{# a.length #}"),
            "{{ a.length }}{# a.length #}"
        );
        assert_eq!(
            rewrite("{%- for k, v in obj -%}"),
            "{%- for k, v in (obj)|__js_pairs -%}"
        );
        assert_eq!(rewrite("${{ unclosed"), "${{ unclosed");
        assert_eq!(
            rewrite_template("{{ a.length }}", Dialect::Cookiecutter),
            "{{ a|__js_length }}"
        );
    }
}
