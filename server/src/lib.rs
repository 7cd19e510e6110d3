//! The customer-records server: configuration, stores and HTTP adapters.
//! `main.rs` only parses the configuration and starts what this crate builds.

pub mod config;
pub mod customer_json;
pub mod http;
pub mod store;

use app::domain::CustomerStore;
use leptos::prelude::LeptosOptions;
use std::net::SocketAddr;
use std::sync::Arc;

/// Serves the UI and the JSON API on `listen` until the process is stopped.
pub async fn serve(
    listen: &SocketAddr,
    site_root: &str,
    store: Arc<dyn CustomerStore>,
) -> Result<(), String> {
    let leptos_options = LeptosOptions::builder()
        .output_name("customer-records")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(*listen)
        .build();
    let description = store.describe();
    let app = http::router(http::AppState {
        leptos_options,
        store,
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    tracing::info!("listening on {url} using the {description}");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler installs");
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate.recv() => {}
    }
}
