//! `greenroom`: parses the command line and starts the server or a one-shot command; the
//! work itself is in the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use greenroom::{app, cli, support};

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
    Serve(app::ServeArgs),
    /// Work with catalog files.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Inspect and try plugin components.
    #[command(subcommand)]
    Plugin(cli::PluginCommand),
    /// Ask the permission policy.
    #[command(subcommand)]
    Policy(cli::PolicyCommand),
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

fn main() -> anyhow::Result<ExitCode> {
    support::allocator::hold_little_unused_memory();
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
            app::run(app::Config::load(&args)?)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin(command) => cli::plugin(command),
        Command::Policy(command) => cli::policy(command),
        Command::Catalog(CatalogCommand::Validate { paths, file_name }) => {
            Ok(cli::validate(&paths, &file_name))
        }
    }
}
