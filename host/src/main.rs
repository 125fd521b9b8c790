//! `greenroom`: the developer portal server and its command line.

mod allocator;
mod catalog;
mod config;
mod docs;
mod markdown;
mod paths;
mod plugin_cli;
mod plugins;
mod server;
mod templating;
mod ui_text;
mod web;
mod workspace;

use clap::{Parser, Subcommand};

/// Threads for blocking work (SQLite reads, plugin calls, reconciles). Tokio's default of 512
/// only adds memory here: reads share at most 8 connections, and there are a few cores. Each
/// thread keeps its own allocator pages, which under 16 connections had a 10k catalog grow
/// from 73 MB to 148 MB.
const BLOCKING_THREADS: usize = 16;

#[derive(Parser)]
#[command(
    name = "greenroom",
    version,
    about = "A developer portal with WebAssembly plugins"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the portal: catalog API, plugins and web UI.
    Serve(config::ServeArgs),
    /// Work with catalog files.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Inspect and try plugin components.
    #[command(subcommand)]
    Plugin(plugin_cli::PluginCommand),
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Check catalog files (and the locations they point at) as the server would read them;
    /// prints every problem with file, document and field, and exits with 1 if there is any.
    Validate {
        /// Catalog files, folders (scanned for the file name) or globs.
        #[arg(required = true)]
        paths: Vec<std::path::PathBuf>,
        /// The file name looked for in folders.
        #[arg(long, default_value = "catalog-info.yaml")]
        file_name: String,
    },
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    allocator::hold_little_unused_memory();
    let cli = Cli::parse();
    // The server logs what it does; the one-shot commands only what went wrong.
    let default_filter = match cli.command {
        Command::Serve(_) => "info,wasmtime=warn,cranelift=warn",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(args) => {
            let config = config::Config::load(&args)?;
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .max_blocking_threads(BLOCKING_THREADS)
                .build()?
                .block_on(server::serve(config))?;
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Plugin(command) => plugin_cli::run(command),
        Command::Catalog(CatalogCommand::Validate { paths, file_name }) => {
            let report = catalog::lint(&paths, &file_name);
            for problem in &report.problems {
                println!("{problem}");
            }
            println!(
                "{} files, {} entities, {} problems",
                report.files,
                report.entities,
                report.problems.len()
            );
            Ok(if report.problems.is_empty() {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            })
        }
    }
}
