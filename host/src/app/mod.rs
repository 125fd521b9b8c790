//! The composition root: configuration, the start-up order, the application state and the
//! router. The only module that joins capabilities together.
//!
//! `serve`: open the store, read and watch the catalog, load plugins, start the scaffolder's
//! workers (resuming tasks a stop interrupted), serve HTTP.

mod config;
mod router;
mod state;
mod ui;

use std::sync::Arc;

use anyhow::Context;

use crate::auth::Auth;
use crate::catalog::Catalog;
use crate::http::{AllowedHosts, SecurityHeaders};
use crate::permissions::Permissions;
use crate::plugins::{PluginActions, PluginHost};
use crate::scaffolder::Scaffolder;
use crate::techdocs::TechDocs;
pub use config::{Config, ServeArgs};
use state::AppState;

/// Threads for blocking work (SQLite reads, plugin calls, reconciles). Tokio's default of 512
/// only adds memory here: reads share at most 8 connections, and there are a few cores. Each
/// thread keeps its own allocator pages, which under 16 connections had a 10k catalog grow
/// from 73 MB to 148 MB.
const BLOCKING_THREADS: usize = 16;

/// Serves the portal until Ctrl-C or SIGTERM.
pub fn run(config: Config) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(crate::support::cpu::latency_sensitive)
        .max_blocking_threads(BLOCKING_THREADS)
        .build()?
        .block_on(serve(config))
}

async fn serve(config: Config) -> anyhow::Result<()> {
    // Without sign-in: closed to everyone but this machine unless the operator says so.
    let open_to_network = !config.listen.ip().is_loopback() && !config.auth.enabled();
    if open_to_network && !config.allow_anonymous {
        anyhow::bail!(
            "refusing to listen on {}: without sign-in anyone who reaches it could change the \
             portal; configure sign-in (auth.providers), listen on 127.0.0.1, or pass \
             --allow-anonymous to accept that",
            config.listen
        );
    }
    if open_to_network {
        tracing::warn!(
            "serving {} to the network without sign-in (--allow-anonymous)",
            config.listen
        );
    }
    // A policy that cannot be read stops the start: the portal never serves undecided.
    let permissions = Permissions::open(config.policy_file.clone())?;
    // Repositories the scaffolder publishes are registered from its copies of them.
    let mut catalog_settings = config.catalog.clone();
    catalog_settings
        .registration_roots
        .push(crate::scaffolder::published_dir(&config.data_dir));
    let catalog = Arc::new(Catalog::open(&config.data_dir, catalog_settings)?);
    let first_read = catalog.clone();
    tokio::task::spawn_blocking(move || first_read.reconcile()).await??;
    catalog.watch(config.data_dir.clone())?;
    permissions.register(Arc::new(crate::catalog::permissions::EntityResources(
        catalog.clone(),
    )));
    permissions.watch()?;
    let plugins_catalog = catalog.clone();
    let docs = Arc::new(TechDocs::new(catalog.clone(), config.docs.clone()));
    // Watching first: the sites search builds now are rebuilt when their files change.
    docs.watch()?;
    let search = crate::search::Search::open(catalog.clone(), docs.clone(), config.search.clone())?;
    let plugins_docs = docs.clone();
    let plugin_settings = config.plugins.clone();
    // Plugins compile in the background, listed as loading meanwhile: the portal serves at
    // once.
    let plugins = tokio::task::spawn_blocking(move || {
        PluginHost::load(plugin_settings, plugins_catalog, plugins_docs)
    })
    .await??;
    plugins.start_background(search.clone())?;
    let scaffolder =
        Scaffolder::open(&config.data_dir, catalog.clone(), config.scaffolder.clone())?;
    scaffolder.set_external_actions(Arc::new(PluginActions(plugins.clone())));
    scaffolder.start()?;
    permissions.register(Arc::new(crate::scaffolder::permissions::TaskResources(
        scaffolder.clone(),
    )));
    let auth = Auth::open(&config.data_dir, config.auth.clone(), catalog.clone())?;
    let app = router::router(
        AppState {
            catalog,
            plugins,
            docs,
            scaffolder,
            auth,
            permissions,
            search,
        },
        &config.ui_dir,
        AllowedHosts::new(config.host_names.clone()),
        SecurityHeaders::new(&config.docs.allowed_iframe_hosts),
    );
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    // Peers' addresses reach the handlers: the proxy provider trusts only configured peers.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    Ok(())
}

/// Ctrl-C or SIGTERM (what service managers send) stops accepting and lets requests finish.
async fn shutdown_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler can be installed");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
}
