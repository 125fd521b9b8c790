//! `greenroom plugin new/build/inspect/test`: writing and building a plugin project (through
//! the toolchain crate, as xtask builds the project's own), and an author's view of a
//! component, through the same loader, sandbox and grants the server uses, on a throwaway
//! data folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use greenroom_api::{PluginState, PluginSummary, RenderedTab, SurfaceRef};

use super::{Scratch, empty_catalog};
use crate::app::{Config, ServeArgs};
use crate::catalog::{Catalog, EntityRef};
use crate::plugins::{PluginHost, PluginSettings, Viewer};
use crate::techdocs::TechDocs;
use greenroom_toolchain::project::{self, BuildOptions, Language};
use greenroom_toolchain::scaffold;

#[derive(clap::Subcommand)]
pub enum PluginCommand {
    /// Write a new plugin project (an entity tab) into folder NAME.
    New {
        /// The plugin id and folder name, e.g. `hello-tab`.
        name: PathBuf,
        /// rust, python or js.
        #[arg(long = "lang", default_value = "rust")]
        language: String,
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
    /// print an entity's tabs it renders.
    Test {
        file: PathBuf,
        /// Catalog files, folders or globs (repeatable).
        #[arg(long = "catalog", required = true)]
        catalogs: Vec<PathBuf>,
        /// The entity, e.g. component:default/checkout.
        #[arg(long)]
        entity: String,
        /// Only this tab (default: every tab the plugin offers for the entity).
        #[arg(long)]
        tab: Option<String>,
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
            sdk,
        } => new(&name, &language, sdk),
        PluginCommand::Build { dir, out } => build(&dir, out),
        PluginCommand::Inspect { file, json } => inspect(&file, json),
        PluginCommand::Test {
            file,
            catalogs,
            entity,
            tab,
            config,
            json,
        } => test(&file, &catalogs, &entity, tab.as_deref(), config, json),
    }
}

fn new(dir: &Path, language: &str, sdk: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let language = Language::parse(language)?;
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
    scaffold::new_project(dir, &id, language, sdk.as_deref())?;
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

fn test(
    file: &Path,
    catalogs: &[PathBuf],
    entity: &str,
    tab: Option<&str>,
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
    let entity_ref = EntityRef::parse(entity, None, "default")
        .map_err(|e| anyhow::anyhow!("--entity '{entity}': {e}"))?;
    let (host, summary) = load(&scratch, file, catalog, config)?;
    if summary.state == PluginState::Failed {
        bail!(
            "{} cannot be loaded: {}",
            file.display(),
            summary.last_error.unwrap_or_default()
        );
    }
    let tabs: Vec<String> = match tab {
        Some(tab) => vec![tab.to_string()],
        None => {
            let offered =
                host.block_on(host.tabs_for(&entity_ref, None, Viewer::default(), |_| true))?;
            if let Some(failure) = offered.errors.first() {
                bail!("{}", failure.message);
            }
            offered.tabs.into_iter().map(|t| t.tab_id).collect()
        }
    };
    if tabs.is_empty() {
        println!("{} offers no tabs for {entity_ref}", summary.id);
        return Ok(ExitCode::SUCCESS);
    }
    let mut rendered = Vec::new();
    let mut failed = false;
    for tab in &tabs {
        let surface = SurfaceRef::Tab(tab.clone());
        let render = host.render(
            &summary.id,
            surface,
            Some(entity_ref.clone()),
            None,
            Viewer::default(),
        );
        match host.block_on(render) {
            Ok(tree) => rendered.push(RenderedTab {
                plugin_id: summary.id.clone(),
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
