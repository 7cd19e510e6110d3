//! Health, readiness and Prometheus metrics, for orchestrators and operators.
//!
//! - `/healthz`: the process answers (200 `ok`).
//! - `/readyz`: the store answers a count within 2 s and has loaded what it
//!   keeps in memory (the search index: `CustomerStore::warm_up`), 200 `ready`;
//!   else 503.
//!   On the public listener it says no more; on `METRICS_LISTEN` it also names
//!   the store (for Sentinel, the master in use).
//! - `/metrics`: Prometheus text, on `METRICS_LISTEN` when that is set, else on
//!   the public listener. Requests by route and status with latency histograms
//!   are recorded here; the store, the Redis failover machinery and the
//!   connection loop record their own counters with the `metrics` macros.

use super::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const READY_WITHIN: Duration = Duration::from_secs(2);

/// Installs the process-wide metrics recorder; call once, inside the runtime,
/// before serving. A background task folds recorded latencies into their
/// buckets every few seconds: the exporter keeps raw samples until then, so
/// without it memory would grow until the next scrape.
pub fn install_recorder() -> Result<PrometheusHandle, String> {
    let latency = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    let handle = PrometheusBuilder::new()
        .set_buckets(&latency)
        .map_err(|e| e.to_string())?
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// `/healthz`, `/readyz` and (unless it has a listener of its own) `/metrics`.
pub fn routes(with_metrics: bool) -> Router<AppState> {
    let routes = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(state): State<AppState>| ready(state, false)),
        );
    if with_metrics {
        routes.route("/metrics", get(render))
    } else {
        routes
    }
}

/// The router of the `METRICS_LISTEN` address.
pub fn private_routes(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(state): State<AppState>| ready(state, true)),
        )
        .with_state(state)
}

async fn render(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(handle) => (
            [("content-type", "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "metrics are not enabled").into_response(),
    }
}

async fn ready(state: AppState, detailed: bool) -> Response {
    let answered = tokio::time::timeout(READY_WITHIN, state.store.count()).await;
    let (status, word) = match answered {
        // Reachable, but a search would still wait for the index to load.
        Ok(Ok(_)) if !state.store.is_warm() => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: still loading the index of customers",
        ),
        Ok(Ok(_)) => (StatusCode::OK, "ready"),
        Ok(Err(error)) => {
            tracing::warn!(%error, "not ready: the store failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the customer store is unreachable",
            )
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready: the customer store did not answer in time",
        ),
    };
    let body = if detailed {
        format!("{word}\nstore: {}\n", state.store.describe())
    } else {
        format!("{word}\n")
    };
    (status, body).into_response()
}

/// Started for every request; counts it by route, method and status, and times
/// it by route, when it ends. The route is the matched pattern (never the raw
/// path, so IDs do not become label values).
pub struct RequestMetrics {
    started: Instant,
    route: &'static RouteMetrics,
    method: usize,
}

impl RequestMetrics {
    pub fn start(request: &Request) -> Self {
        let route = match request.extensions().get::<MatchedPath>() {
            Some(path) => path.as_str(),
            None => route_class(request.uri().path()),
        };
        Self {
            started: Instant::now(),
            route: RouteMetrics::of(route),
            method: method_index(request.method()),
        }
    }

    pub fn finish(self, status: StatusCode) {
        let Self {
            started,
            route,
            method,
        } = self;
        route.count(method, status_index(status));
        route.duration().record(started.elapsed().as_secs_f64());
    }
}

/// One route's metric handles, registered on first use. Made once per route
/// pattern (a bounded set: the app's own routes) and kept for the life of the
/// process, so a request finds its handles with one map lookup and no locks
/// or reference counts of their own (three lookups under locks showed in the
/// profile of `GET /get/{id}`).
struct RouteMetrics {
    route: &'static str,
    duration: OnceLock<Histogram>,
    /// By method and status, as indexed by [`METHODS`] and [`STATUSES`].
    requests: [[OnceLock<Counter>; STATUSES.len()]; METHODS.len()],
}

impl RouteMetrics {
    fn of(route: &str) -> &'static Self {
        use rustc_hash::FxHashMap;
        use std::sync::RwLock;
        // A fast hash: the keys are the router's own patterns, not a client's paths.
        static ROUTES: OnceLock<RwLock<FxHashMap<&'static str, &'static RouteMetrics>>> =
            OnceLock::new();
        let routes = ROUTES.get_or_init(Default::default);
        if let Some(known) = routes.read().unwrap_or_else(|e| e.into_inner()).get(route) {
            return known;
        }
        let mut routes = routes.write().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = routes.get(route) {
            return known;
        }
        let route: &'static str = Box::leak(route.to_owned().into_boxed_str());
        let metrics: &'static Self = Box::leak(Box::new(Self {
            route,
            duration: OnceLock::new(),
            requests: std::array::from_fn(|_| std::array::from_fn(|_| OnceLock::new())),
        }));
        routes.insert(route, metrics);
        metrics
    }

    fn count(&self, method: usize, status: usize) {
        let route = self.route;
        self.requests[method][status]
            .get_or_init(|| {
                let (method, status) = (METHODS[method], STATUSES[status]);
                metrics::counter!("http_requests_total", "route" => route, "method" => method, "status" => status)
            })
            .increment(1);
    }

    fn duration(&self) -> &Histogram {
        let route = self.route;
        self.duration
            .get_or_init(|| metrics::histogram!("http_request_duration_seconds", "route" => route))
    }
}

/// Method labels; the last is every other method.
const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "other",
];

fn method_index(method: &axum::http::Method) -> usize {
    use axum::http::Method;
    match *method {
        Method::GET => 0,
        Method::HEAD => 1,
        Method::POST => 2,
        Method::PUT => 3,
        Method::DELETE => 4,
        Method::OPTIONS => 5,
        Method::PATCH => 6,
        _ => 7,
    }
}

/// Status labels: the codes this server answers with, then classes for the rest.
const STATUSES: [&str; 19] = [
    "200", "302", "303", "304", "400", "403", "404", "408", "409", "412", "413", "415", "500",
    "503", "1xx", "2xx", "3xx", "4xx", "5xx",
];

fn status_index(status: StatusCode) -> usize {
    match status.as_u16() {
        200 => 0,
        302 => 1,
        303 => 2,
        304 => 3,
        400 => 4,
        403 => 5,
        404 => 6,
        408 => 7,
        409 => 8,
        412 => 9,
        413 => 10,
        415 => 11,
        500 => 12,
        503 => 13,
        100..=199 => 14,
        201..=299 => 15,
        300..=399 => 16,
        401..=499 => 17,
        _ => 18,
    }
}

/// A bounded label for paths that matched no route pattern.
fn route_class(path: &str) -> &'static str {
    if path.starts_with(super::guard::SERVER_FN_PREFIX) {
        "/api/{function}"
    } else if path.starts_with("/pkg/") {
        "/pkg/{file}"
    } else {
        "other"
    }
}
