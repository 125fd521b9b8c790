//! Serves the built web UI. Every path that is not a file gets `index.html`, so the app's own
//! routes (`/catalog/...`) work as shareable URLs.

use std::path::Path;

use axum::Router;
use axum::http::StatusCode;
use axum::response::Html;
use tower_http::services::{ServeDir, ServeFile};

pub fn routes(ui_dir: &Path) -> Router {
    let index = ui_dir.join("index.html");
    if !index.is_file() {
        tracing::warn!(
            "no web UI at {} (build it with `cargo xtask build`)",
            ui_dir.display()
        );
        let message = format!(
            "<h1>Greenroom</h1><p>The web UI is not built: no {}. Run <code>cargo xtask build</code>.</p>",
            index.display()
        );
        return Router::new()
            .fallback(move || async move { (StatusCode::SERVICE_UNAVAILABLE, Html(message)) });
    }
    Router::new().fallback_service(ServeDir::new(ui_dir).fallback(ServeFile::new(index)))
}
