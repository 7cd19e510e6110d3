//! Accepting connections with limits, so stalled or idle clients cannot take the
//! server down, and stopping gracefully within a bound.
//!
//! - At most `max_connections` at once: the one over is accepted and closed at
//!   once (refused quickly, never queued), and counted in the log.
//! - `keep_alive`: a connection may wait this long for its next request, from
//!   connecting or from its previous answer; `header_read`: a request head must
//!   arrive whole within this time of its first byte ([`super::idle`]).
//! - `body_read` and `request` bound a request's body and the whole request
//!   (tower-http layers in [`super::router`]).
//! - On SIGTERM or Ctrl-C: stop accepting, let requests in flight finish for up to
//!   `shutdown_grace`, then return (the process exits 0).

use super::idle::{Activity, Answer, Watched};
use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

#[derive(Clone, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub keep_alive: Duration,
    pub header_read: Duration,
    pub body_read: Duration,
    pub request: Duration,
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            keep_alive: Duration::from_secs(5),
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(10),
            request: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Connections refused because the cap was reached (the log says so every 1,000th).
pub static REFUSED: AtomicU64 = AtomicU64::new(0);

/// Serves `app` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Cancelled on shutdown: each connection then finishes its request in flight
    // and closes.
    let stopping = CancellationToken::new();
    // HTTP/1 only (as the original app). hyper's own header timeout is off:
    // `idle::Watched` bounds the idle and header-reading time, with a timer per
    // connection rather than one per request.
    let mut http = hyper::server::conn::http1::Builder::new();
    http.header_read_timeout(None).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics::counter!("http_connections_refused_total").increment(1);
            if REFUSED.fetch_add(1, Ordering::Relaxed).is_multiple_of(1000) {
                tracing::warn!(
                    max = limits.max_connections,
                    "connection limit reached; refusing new connections"
                );
            }
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let activity = Activity::new();
        let answered = activity.clone();
        // Every request carries its client's address (axum's `ConnectInfo`), for
        // protected mode (`auth::Access::authorize`) and whatever needs it later.
        let service = app
            .clone()
            .map_request({
                let activity = activity.clone();
                move |mut request: axum::http::Request<hyper::body::Incoming>| {
                    activity.request_started();
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                }
            })
            .map_response(move |response: axum::response::Response| {
                response.map(|body| axum::body::Body::new(Answer::new(body, answered.clone())))
            });
        let stream = Watched::new(stream, activity, limits.keep_alive, limits.header_read);
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let open = metrics::gauge!("http_connections_open");
        open.increment(1.0);
        // A child token per connection: the connection task checks it each time
        // it is polled, and all of them checking the one shared token contended
        // for its lock (seen in the profile of `GET /get/{id}`).
        let stopping = stopping.child_token();
        tokio::spawn(async move {
            let mut connection = std::pin::pin!(connection);
            // Errors here are a client's broken or timed-out connection.
            tokio::select! {
                _ = connection.as_mut() => {}
                () = stopping.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            open.decrement(1.0);
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!("stopping: finishing requests in flight");
    stopping.cancel();
    // Every connection holds a slot until it ends: all slots free means all done.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(limits.shutdown_grace, slots.acquire_many(all))
        .await
        .is_ok();
    if drained {
        tracing::info!("stopped");
    } else {
        tracing::warn!(
            grace_s = limits.shutdown_grace.as_secs(),
            "requests still in flight after the grace period; stopping anyway"
        );
    }
}
