//! HTTP adapters: the original JSON API and the Leptos UI with its server functions.

mod error;
mod legacy;

pub use error::ApiError;

use app::domain::CustomerStore;
use app::{shell, App};
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::{provide_context, LeptosOptions};
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;
use tower_http::compression::CompressionLayer;

/// Largest request body the JSON API accepts.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler may need.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: Arc<dyn CustomerStore>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The whole application: legacy JSON routes, UI pages, server functions and static files.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let store = state.store.clone();
    let provide_store = move || provide_context(store.clone());
    let options = state.leptos_options.clone();
    Router::new()
        .route("/get/{id}", get(legacy::get_customer))
        .route(
            "/set",
            post(legacy::set_customer).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .leptos_routes_with_context(&state, routes, provide_store.clone(), move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(provide_store, shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            legacy::list_for_programs,
        ))
        .layer(CompressionLayer::new())
        .with_state(state)
}
