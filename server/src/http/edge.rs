//! The one middleware in front of every route, inside the request-ID layers:
//! the request ID of its log lines, the guard's checks, who the request acts
//! for and whether that one may, the security headers and the request metrics.
//! One middleware rather than four, because each layer costs a boxed future
//! and a clone of the service behind it on every request, which showed in the
//! benchmark of the cheapest route (`GET /get/{id}`).

use super::guard::{self, Guard};
use super::observe::RequestMetrics;
use crate::logging;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

pub async fn edge(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let metrics = RequestMetrics::start(&request);
    let id = request.headers().get("x-request-id").cloned();
    let target = guard::Target::of(request.uri().path());
    let response = match guard::refusal(&guard, &request) {
        None => logging::with_request_id(id, authorized(&guard, request, next)).await,
        Some(refusal) => refusal,
    };
    metrics.finish(response.status());
    guard::with_security_headers(response, target)
}

/// Runs the request if its credentials allow it; the principal goes into its
/// extensions for what comes after.
async fn authorized(guard: &Guard, mut request: Request, next: Next) -> Response {
    let decision = guard
        .access
        .authorize(
            request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip()),
            request.method(),
            request.uri().path(),
            request.headers().get(header::AUTHORIZATION),
        )
        .await;
    match decision {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(refusal) => {
            refusal.record();
            refusal.into_response()
        }
    }
}
