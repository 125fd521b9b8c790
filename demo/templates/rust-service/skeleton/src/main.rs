//! ${{ values.name }}: ${{ values.description }}

use axum::{Router, routing::get};

#[tokio::main]
async fn main() {
    let app = Router::new().route("/health", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("0.0.0.0:${{ values.port }}")
        .await
        .expect("the port is free");
    axum::serve(listener, app).await.expect("the server runs");
}
