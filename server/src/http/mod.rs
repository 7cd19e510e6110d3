//! HTTP adapters: the original JSON API and the Leptos UI with its server functions.

mod audit_export;
mod edge;
mod error;
mod form_errors;
mod forwarded;
mod guard;
mod idle;
mod legacy;
mod listing;
pub mod observe;
mod own_writes;
pub mod serve;
mod sign_in;
mod status_events;
mod theme;
mod transfer;
mod upload;

pub use error::ApiError;
pub use forwarded::TrustedProxies;
pub use guard::{AllowedHosts, Guard};
pub use own_writes::OwnWrites;
pub use serve::Limits;

use app::domain::CustomerStore;
use app::{shell, App};
use axum::extract::{DefaultBodyLimit, FromRef, State};
use axum::routing::{get, post};
use axum::Router;
use leptos::prelude::{provide_context, LeptosOptions};
use leptos_axum::{generate_route_list_with_exclusions, LeptosRoutes};
use std::sync::Arc;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;

/// Largest request body accepted (the JSON API and the server functions).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler may need. It is cloned for every request (each
/// extractor and middleware takes its own copy), so it is one pointer.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub leptos_options: LeptosOptions,
    pub store: Arc<dyn CustomerStore>,
    /// Files uploaded on the import page, held until imported.
    pub uploads: Arc<crate::import::Uploads>,
    pub guard: Arc<Guard>,
    pub limits: Limits,
    /// `None` when metrics are off (tests that build several routers in one process).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    /// Whether `/metrics` has a listener of its own (`METRICS_LISTEN`).
    pub private_metrics: bool,
    /// Cancelled when the server begins to stop: endless answers (the status
    /// page's event stream) end then, rather than hold the graceful shutdown.
    pub stopping: tokio_util::sync::CancellationToken,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The whole application: legacy JSON routes, UI pages, server functions and
/// static files.
///
/// Every route passes [`edge::edge`] (request ID, guard, time limits, security
/// headers, metrics) and the body limit, stacked
/// with one `ServiceBuilder` (each `Router::layer` call boxes every route once
/// more). The UI's routes also get compression and the in-place answer to
/// failed no-JavaScript form posts; the small JSON answers of `/get` and
/// `/set` do without: compressing them would cost more than it saves.
pub fn router(state: AppState) -> Router {
    // Failed form posts are answered by rendering the form page with the
    // finished router itself.
    let finished = Arc::new(std::sync::OnceLock::new());
    let ui = ui_routes(&state).layer(ServiceBuilder::new().layer(CompressionLayer::new()).layer(
        axum::middleware::from_fn_with_state(finished.clone(), form_errors::answer_in_place),
    ));
    let app = Router::new()
        .route("/get/{id}", get(legacy::get_customer))
        .route("/set", post(legacy::set_customer))
        .route("/sign-in", get(sign_in::page).post(sign_in::sign_in))
        .route("/sign-out", post(sign_in::sign_out))
        .route("/theme", post(theme::choose))
        .route("/audit/export", get(audit_export::export))
        .route("/export", get(transfer::export))
        .route("/status/events", get(status_events::events))
        .route(
            "/import",
            post(transfer::import).layer(DefaultBodyLimit::max(transfer::MAX_IMPORT_BYTES)),
        )
        .route(
            "/import/upload",
            post(upload::upload).layer(DefaultBodyLimit::max(transfer::MAX_IMPORT_BYTES)),
        )
        .merge(observe::routes(!state.private_metrics))
        .merge(ui)
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn_with_state(
                    state.guard.clone(),
                    edge::edge,
                ))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .with_state(state);
    let _ = finished.set(app.clone());
    app
}

/// Pages, server functions and static files; `/` is routed here rather than
/// by Leptos because it also answers programs (see [`legacy::root`]).
fn ui_routes(state: &AppState) -> Router<AppState> {
    let routes = generate_route_list_with_exclusions(App, Some(vec!["/".to_owned()]));
    let (store, uploads) = (state.store.clone(), state.uploads.clone());
    // What pages and server functions use: the store and the held uploads.
    let provide_store = move || {
        provide_context(store.clone());
        provide_context(uploads.clone() as Arc<dyn app::domain::Imports>);
    };
    let options = state.leptos_options.clone();
    let shell_fn = move || shell(options.clone());
    let page_context = {
        let (state, provide_store) = (state.clone(), provide_store.clone());
        move || {
            provide_context(state.clone());
            provide_store();
        }
    };
    let list_page = leptos_axum::render_app_async_with_context(page_context, shell_fn.clone());
    Router::new()
        .route(
            "/",
            get(
                move |State(state): State<AppState>, request: axum::extract::Request| {
                    legacy::root(state.store.clone(), request, list_page.clone())
                },
            ),
        )
        .leptos_routes_with_context(state, routes, provide_store.clone(), shell_fn.clone())
        .fallback_service(site_files(state, provide_store, shell_fn))
}

/// The site's own files (the bundle under `/pkg`, the favicon), and the
/// not-found page for any other path.
///
/// Not `leptos_axum::file_and_error_handler`: it gives each file's answer the
/// headers of a reactive owner made with `Owner::new()`, a child of whatever
/// owner the thread last left current, so under load a stylesheet's answer
/// took a page's headers (its Content-Security-Policy) from a page being
/// rendered at the same time, and that page went out without them, unstyled.
/// Pages render under an owner of their own (`Owner::new_root`).
fn site_files<Page: leptos::IntoView + 'static>(
    state: &AppState,
    provide_store: impl Fn() + Clone + Send + Sync + 'static,
    shell_fn: impl Fn() -> Page + Clone + Send + Sync + 'static,
) -> tower_http::services::ServeDir<
    impl tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
            Future = impl Send,
        > + Clone,
> {
    let not_found = leptos_axum::render_app_async_with_context(provide_store, shell_fn);
    let not_found = tower::service_fn(move |request: axum::extract::Request| {
        let page = not_found(request);
        async move { Ok(page.await) }
    });
    // A release build writes each file's `.br` beside it (`cargo leptos build
    // --release --precompress`), compressed once at brotli's best: the bundle
    // is a fifth smaller than gzip -9. Its `.gz` files are larger than the
    // compression layer's own gzip, so gzip-only clients get that instead.
    tower_http::services::ServeDir::new(&*state.leptos_options.site_root)
        .precompressed_br()
        .call_fallback_on_method_not_allowed(true)
        .fallback(not_found)
}
