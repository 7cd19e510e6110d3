//! HTTP adapters: the original JSON API and the Leptos UI with its server functions.

mod error;
mod form_errors;
mod guard;
mod legacy;
pub mod observe;
pub mod serve;

pub use error::ApiError;
pub use guard::{AllowedHosts, Guard};
pub use serve::Limits;

use app::domain::CustomerStore;
use app::{shell, App};
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::{provide_context, LeptosOptions};
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};
use tower_http::trace::TraceLayer;

/// Request IDs unique to this process run: a random prefix chosen at start and
/// a counter (a UUID per request cost a random-number call each).
#[derive(Clone)]
struct RequestIds {
    prefix: std::sync::Arc<str>,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Default for RequestIds {
    fn default() -> Self {
        Self {
            prefix: format!("{:08x}", rand::random::<u32>()).into(),
            next: Default::default(),
        }
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("{}-{n:x}", self.prefix);
        axum::http::HeaderValue::from_str(&id)
            .ok()
            .map(RequestId::new)
    }
}

fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!("request", id)
}

/// Largest request body accepted (the JSON API and the server functions).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler may need.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: Arc<dyn CustomerStore>,
    pub guard: Arc<Guard>,
    pub limits: Limits,
    /// `None` when metrics are off (tests that build several routers in one process).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Whether `/metrics` has a listener of its own (`METRICS_LISTEN`).
    pub private_metrics: bool,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The whole application: legacy JSON routes, UI pages, server functions and
/// static files, with failed no-JavaScript form posts answered in place.
pub fn router(state: AppState) -> Router {
    // The middleware renders form pages with the finished router itself.
    let this = Arc::new(std::sync::OnceLock::new());
    let app = routes(state).layer(axum::middleware::from_fn_with_state(
        this.clone(),
        form_errors::answer_in_place,
    ));
    let _ = this.set(app.clone());
    app
}

fn routes(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let store = state.store.clone();
    let provide_store = move || provide_context(store.clone());
    let options = state.leptos_options.clone();
    Router::new()
        .route("/get/{id}", get(legacy::get_customer))
        .route("/set", post(legacy::set_customer))
        .merge(observe::routes(!state.private_metrics))
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
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyTimeoutLayer::new(state.limits.body_read))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.limits.request,
        ))
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(observe::record))
        // A refused request reaches nothing but the request ID and trace layers.
        .layer(axum::middleware::from_fn_with_state(
            state.guard.clone(),
            guard::guard,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        // Every log line of a request carries its ID (the client's `X-Request-Id`
        // or a new one), and so does the answer.
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::x_request_id(RequestIds::default()))
        .with_state(state)
}
