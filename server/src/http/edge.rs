//! The one middleware in front of every route, inside the request-ID layers:
//! the request ID of its log lines, the guard's checks, the security headers and the
//! request metrics. One middleware rather than four, because each layer costs
//! a boxed future and a clone of the service behind it on every request, which
//! showed in the benchmark of the cheapest route (`GET /get/{id}`).

use super::guard::{self, Guard};
use super::observe::RequestMetrics;
use crate::logging;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;

pub async fn edge(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let metrics = RequestMetrics::start(&request);
    let id = request.headers().get("x-request-id").cloned();
    let target = guard::Target::of(request.uri().path());
    let response = match guard::refusal(&guard, &request) {
        None => logging::with_request_id(id, next.run(request)).await,
        Some(refusal) => refusal,
    };
    metrics.finish(response.status());
    guard::with_security_headers(response, target)
}
