//! `greenroom serve`: open the store, read and watch the catalog, load plugins, serve HTTP.

use std::sync::Arc;

use anyhow::Context;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::plugins::PluginHost;
use crate::web::{self, AppState};

pub async fn serve(config: Config) -> anyhow::Result<()> {
    let catalog = Arc::new(Catalog::open(&config.data_dir, config.catalog.clone())?);
    let first_read = catalog.clone();
    tokio::task::spawn_blocking(move || first_read.reconcile()).await??;
    catalog.watch(config.data_dir.clone())?;
    let plugins_catalog = catalog.clone();
    let plugin_settings = config.plugins.clone();
    let plugins = Arc::new(
        tokio::task::spawn_blocking(move || PluginHost::load(plugin_settings, plugins_catalog))
            .await??,
    );
    plugins.start_background()?;
    let app = web::router(AppState { catalog, plugins }, &config.ui_dir);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
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
