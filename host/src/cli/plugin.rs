//! `greenroom plugin new/build/inspect/test`: writing and building a plugin project (through
//! the toolchain crate, as xtask builds the project's own), and an author's view of a
//! component, through the same loader, sandbox and grants the server uses, on a throwaway
//! data folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use greenroom_api::{PluginState, PluginSummary, RenderedTab, SurfaceRef, UiAction};

use super::{Scratch, empty_catalog};
use crate::app::{Config, ServeArgs};
use crate::catalog::{Catalog, EntityRef};
use crate::plugins::{PluginHost, PluginSettings, RouteRequest, Viewer};
use crate::techdocs::TechDocs;
use greenroom_toolchain::project::{self, BuildOptions, Language};
use greenroom_toolchain::scaffold;

#[derive(clap::Subcommand)]
pub enum PluginCommand {
    /// Write a new plugin project into folder NAME.
    New {
        /// The plugin id and folder name, e.g. `hello-tab`.
        name: PathBuf,
        /// rust, python or js.
        #[arg(long = "lang", default_value = "rust")]
        language: String,
        /// tab (an entity tab) or interactive (an entity card whose button counts in the
        /// plugin's storage, a page listing the counts, an HTTP route answering one).
        #[arg(long, default_value = "tab")]
        template: String,
        /// A greenroom-sdk crate for a Rust project to depend on (an SDK checkout) [default: a
        /// copy of the SDK written into the project, under greenroom/].
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Build the plugin project in DIR (language detected) into a component.
    Build {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// The component to write [default: DIR/target/<folder name>.wasm].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print what a component is: contract, contributions, imports, manifest, actions, size.
    Inspect {
        file: PathBuf,
        /// Print the admin API's JSON instead.
        #[arg(long)]
        json: bool,
    },
    /// Load a component as the server would, against a catalog built from `--catalog`, and
    /// print an entity's tabs it renders; or, with `--action`, what one button press or form
    /// submission answers; or, with `--route`, what one HTTP route answers.
    Test {
        file: PathBuf,
        /// Catalog files, folders or globs (repeatable).
        #[arg(long = "catalog", required = true)]
        catalogs: Vec<PathBuf>,
        /// The entity, e.g. component:default/checkout (tabs, and actions on tabs and cards).
        #[arg(long)]
        entity: Option<String>,
        /// Only this tab (default: every tab the plugin offers for the entity).
        #[arg(long)]
        tab: Option<String>,
        /// Press a button or submit a form: its action id.
        #[arg(long, requires = "surface", conflicts_with_all = ["tab", "route"])]
        action: Option<String>,
        /// Where the action's tree is shown: `tab:ID`, `card:ID` or `page:ID`.
        #[arg(long)]
        surface: Option<String>,
        /// The form's values as a JSON object, e.g. '{"count": 3, "note": "hi"}'.
        #[arg(long, requires = "action")]
        values: Option<String>,
        /// Call an HTTP route: `METHOD /path`, e.g. 'GET /hello' or 'POST /hook?x=1'.
        #[arg(long, conflicts_with = "tab")]
        route: Option<String>,
        /// The route's request body (sent as application/json).
        #[arg(long, requires = "route")]
        body: Option<String>,
        /// A server config file whose `plugins.<id>` grants apply.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print the rendered trees as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: PluginCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::New {
            name,
            language,
            template,
            sdk,
        } => new(&name, &language, &template, sdk),
        PluginCommand::Build { dir, out } => build(&dir, out),
        PluginCommand::Inspect { file, json } => inspect(&file, json),
        PluginCommand::Test {
            file,
            catalogs,
            entity,
            tab,
            action,
            surface,
            values,
            route,
            body,
            config,
            json,
        } => {
            let what = match (action, route) {
                (Some(action), _) => Trial::Action {
                    action,
                    surface: surface.unwrap_or_default(),
                    values,
                },
                (None, Some(route)) => Trial::Route { route, body },
                (None, None) => Trial::Tabs { tab },
            };
            test(&file, &catalogs, entity.as_deref(), what, config, json)
        }
    }
}

fn new(
    dir: &Path,
    language: &str,
    template: &str,
    sdk: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let language = Language::parse(language)?;
    let template = scaffold::Template::parse(template)?;
    let id = project::project_name(dir);
    let sdk = sdk.map(std::path::absolute).transpose()?;
    if let Some(sdk) = &sdk
        && language == Language::Rust
        && !sdk.join("Cargo.toml").is_file()
    {
        bail!(
            "the greenroom-sdk crate is not at {}; --sdk takes the sdk/ folder of a Greenroom checkout",
            sdk.display()
        );
    }
    scaffold::new_project(dir, &id, language, template, sdk.as_deref())?;
    println!(
        "wrote {} plugin '{id}' in {}\nnext: greenroom plugin build {}",
        language.name(),
        dir.display(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn build(dir: &Path, out: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let mut options = BuildOptions::for_project(dir);
    if let Some(out) = out {
        options.out = std::path::absolute(out)?;
    }
    let language = project::build(dir, &options)?;
    let size = std::fs::metadata(&options.out)?.len();
    println!(
        "built {} ({}, {size} bytes)",
        options.out.display(),
        language.name()
    );
    Ok(ExitCode::SUCCESS)
}

/// Loads `file` (and its `.toml` manifest beside it, if any) into a host of its own.
fn load(
    scratch: &Scratch,
    file: &Path,
    catalog: Arc<Catalog>,
    config: Option<PathBuf>,
) -> anyhow::Result<(Arc<PluginHost>, PluginSummary)> {
    let name = file
        .file_name()
        .with_context(|| format!("{} is not a file", file.display()))?;
    let plugins = scratch.0.join("plugins");
    std::fs::copy(file, plugins.join(name))
        .with_context(|| format!("cannot read {}", file.display()))?;
    let sidecar = file.with_extension("toml");
    if sidecar.is_file() {
        std::fs::copy(&sidecar, plugins.join(name).with_extension("toml"))?;
    }
    let grants = match config {
        Some(path) => {
            Config::load(&ServeArgs {
                config: Some(path),
                ..ServeArgs::default()
            })?
            .plugins
            .grants
        }
        None => Default::default(),
    };
    let host = PluginHost::load(
        PluginSettings {
            dir: plugins,
            data_dir: scratch.0.join("data"),
            cache_dir: plugin_cache(),
            grants,
        },
        catalog.clone(),
        Arc::new(TechDocs::new(catalog, Default::default())),
    )?;
    host.wait_loaded();
    let mut summary = host
        .summaries()
        .pop()
        .context("the plugin was not loaded")?;
    // The file the user named, not its copy in the scratch folder.
    summary.file = file.display().to_string();
    Ok((host, summary))
}

/// Compiled plugin code, kept across runs because Python and JavaScript components take
/// seconds to compile: `$GREENROOM_PLUGIN_CACHE` (a server's `--plugin-cache` folder may be
/// shared this way), else `plugin-cache` in the user's cache folder.
fn plugin_cache() -> PathBuf {
    std::env::var_os("GREENROOM_PLUGIN_CACHE").map_or_else(
        || greenroom_toolchain::user_cache_dir().join("plugin-cache"),
        PathBuf::from,
    )
}

fn inspect(file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let scratch = Scratch::new()?;
    let (_host, summary) = load(&scratch, file, empty_catalog(&scratch, Vec::new())?, None)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        let size = std::fs::metadata(file)?.len();
        println!(
            "file:          {} ({size} bytes, sha256 {})",
            file.display(),
            summary.content_hash
        );
        println!("contract:      {}", summary.contract);
        if summary.state == PluginState::Failed {
            println!("cannot load:   {}", summary.last_error.unwrap_or_default());
            return Ok(ExitCode::FAILURE);
        }
        println!(
            "plugin:        {} {} ({})",
            summary.id, summary.version, summary.name
        );
        println!("description:   {}", summary.description);
        println!("world:         {}", world_of(&summary.contributions));
        println!("contributes:   {}", summary.contributions.join(", "));
        println!("imports:       {}", summary.imports.join(", "));
        let asked = &summary.requested;
        println!(
            "asks for:      hosts [{}], config [{}], catalog write: {}",
            asked.hosts.join(", "),
            asked.config.join(", "),
            asked.catalog_write
        );
        for action in &summary.actions {
            println!(
                "action:        {}:{} — {}",
                summary.id, action.id, action.description
            );
        }
    }
    Ok(if summary.state == PluginState::Failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The contract world a component with these contributions targets.
fn world_of(contributions: &[String]) -> String {
    let world = |c: &String| greenroom_toolchain::contract::world_of(c).unwrap_or("imports");
    match contributions {
        [] => "imports (contributes nothing)".into(),
        [one] => world(one).into(),
        several => format!(
            "its own, including {}",
            several.iter().map(world).collect::<Vec<_>>().join(" + ")
        ),
    }
}

/// What `plugin test` exercises.
enum Trial {
    /// Render the entity's tabs (or one).
    Tabs { tab: Option<String> },
    /// One button press or form submission.
    Action {
        action: String,
        surface: String,
        values: Option<String>,
    },
    /// One request to an HTTP route.
    Route { route: String, body: Option<String> },
}

fn test(
    file: &Path,
    catalogs: &[PathBuf],
    entity: Option<&str>,
    what: Trial,
    config: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let scratch = Scratch::new()?;
    let locations = catalogs
        .iter()
        .map(|c| std::path::absolute(c).unwrap_or_else(|_| c.clone()))
        .collect();
    let catalog = empty_catalog(&scratch, locations)?;
    for error in catalog.errors()? {
        eprintln!("catalog: {error}");
    }
    let entity_ref = entity
        .map(|entity| {
            EntityRef::parse(entity, None, "default")
                .map_err(|e| anyhow::anyhow!("--entity '{entity}': {e}"))
        })
        .transpose()?;
    let (host, summary) = load(&scratch, file, catalog, config)?;
    if summary.state == PluginState::Failed {
        bail!(
            "{} cannot be loaded: {}",
            file.display(),
            summary.last_error.unwrap_or_default()
        );
    }
    match what {
        Trial::Tabs { tab } => {
            let entity_ref = entity_ref.context("--entity is needed to render tabs")?;
            test_tabs(&host, &summary.id, &entity_ref, tab, json)
        }
        Trial::Action {
            action,
            surface,
            values,
        } => {
            let surface = match surface.split_once(':') {
                Some(("tab", id)) => SurfaceRef::Tab(id.into()),
                Some(("card", id)) => SurfaceRef::Card(id.into()),
                Some(("page", id)) => SurfaceRef::Page(id.into()),
                _ => bail!("--surface '{surface}' is not tab:ID, card:ID or page:ID"),
            };
            let values = match values {
                Some(text) => serde_json::from_str(&text)
                    .map_err(|e| anyhow::anyhow!("--values is not a JSON object of values: {e}"))?,
                None => Default::default(),
            };
            let action = UiAction {
                surface,
                action_id: action,
                entity: entity_ref.map(|r| r.to_string()),
                values,
            };
            let outcome =
                host.block_on(host.handle_action(&summary.id, action, None, Viewer::default()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&outcome)?);
            } else {
                if let Some(notice) = &outcome.notice {
                    println!("notice ({:?}): {}", notice.tone, notice.message);
                }
                match &outcome.tree {
                    Some(tree) => print!("{}", super::ui_text::render(tree)),
                    None => println!("(the tree stays as it was)"),
                }
            }
            let refused = outcome
                .notice
                .is_some_and(|n| n.tone == greenroom_api::Tone::Danger);
            Ok(if refused {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Trial::Route { route, body } => {
            let Some((method, path)) = route.split_once(' ') else {
                bail!("--route '{route}' is not 'METHOD /path'");
            };
            let method = method
                .parse()
                .map_err(|e| anyhow::anyhow!("--route method '{method}': {e}"))?;
            let mut headers = axum::http::HeaderMap::new();
            if body.is_some() {
                headers.insert(
                    axum::http::header::CONTENT_TYPE,
                    axum::http::HeaderValue::from_static("application/json"),
                );
            }
            let request = RouteRequest {
                method,
                path: path.trim().to_string(),
                headers,
                body: body.unwrap_or_default().into(),
            };
            let response =
                host.block_on(host.serve_route(&summary.id, request, None, Viewer::default()))?;
            println!("HTTP {}", response.status());
            for (name, value) in response.headers() {
                println!("{name}: {}", value.to_str().unwrap_or("(not text)"));
            }
            println!();
            println!("{}", String::from_utf8_lossy(response.body()));
            let ok = response.status().is_success() || response.status().is_redirection();
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn test_tabs(
    host: &Arc<PluginHost>,
    plugin: &str,
    entity_ref: &EntityRef,
    tab: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let tabs: Vec<String> = match tab {
        Some(tab) => vec![tab],
        None => {
            let offered =
                host.block_on(host.tabs_for(entity_ref, None, Viewer::default(), |_| true))?;
            if let Some(failure) = offered.errors.first() {
                bail!("{}", failure.message);
            }
            offered.tabs.into_iter().map(|t| t.tab_id).collect()
        }
    };
    if tabs.is_empty() {
        println!("{plugin} offers no tabs for {entity_ref}");
        return Ok(ExitCode::SUCCESS);
    }
    let mut rendered = Vec::new();
    let mut failed = false;
    for tab in &tabs {
        let surface = SurfaceRef::Tab(tab.clone());
        let render = host.render(
            plugin,
            surface,
            Some(entity_ref.clone()),
            None,
            Viewer::default(),
        );
        match host.block_on(render) {
            Ok(tree) => rendered.push(RenderedTab {
                plugin_id: plugin.to_string(),
                tab_id: tab.clone(),
                entity_ref: entity_ref.to_string(),
                tree,
            }),
            Err(e) => {
                eprintln!("tab {tab}: {e}");
                failed = true;
            }
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&rendered)?);
    } else {
        for tab in &rendered {
            println!(
                "=== {}/{} for {} ===",
                tab.plugin_id, tab.tab_id, tab.entity_ref
            );
            print!("{}", super::ui_text::render(&tab.tree));
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
