//! `greenroom`: the developer portal server and its command line.

mod catalog;
mod config;
mod markdown;
mod plugins;
mod server;
mod web;

use clap::{Parser, Subcommand};

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
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,wasmtime=warn,cranelift=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => {
            let config = config::Config::load(&args)?;
            tokio::runtime::Runtime::new()?.block_on(server::serve(config))
        }
    }
}
