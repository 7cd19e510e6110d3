//! Accepting connections with limits, so stalled or idle clients cannot take the
//! server down, and stopping gracefully within a bound.
//!
//! - At most `max_connections` at once: the one over is accepted and closed at
//!   once (refused quickly, never queued), and counted in the log.
//! - `header_read`: a connection must send a whole request head within this time
//!   of connecting or of its previous answer (hyper measures both from the moment
//!   it is ready for a request), so it is also the keep-alive idle timeout.
//! - `body_read` and `request` bound a request's body and the whole request
//!   (tower-http layers in [`super::router`]).
//! - In protected mode ([`Clients::LoopbackOnly`], the default while no users
//!   exist) a connection from another machine is answered 403 with how to
//!   open the server, decided once per connection from its peer address.
//! - On SIGTERM or Ctrl-C: stop accepting, let requests in flight finish for up to
//!   `shutdown_grace`, then return (the process exits 0).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

#[derive(Clone, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read: Duration,
    pub body_read: Duration,
    pub request: Duration,
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 10_000,
            header_read: Duration::from_secs(10),
            body_read: Duration::from_secs(10),
            request: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Which clients are served at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clients {
    /// Protected mode: clients on this machine only (loopback addresses).
    LoopbackOnly,
    /// Every client that can reach the port (`AUTH=off`).
    Any,
}

impl Clients {
    pub fn admits(self, peer: IpAddr) -> bool {
        match self {
            Clients::Any => true,
            // `::ffff:127.0.0.1` is how an IPv4 loopback client reaches a dual-stack socket.
            Clients::LoopbackOnly => peer.to_canonical().is_loopback(),
        }
    }
}

/// The one-line answer to every request from another machine in protected mode.
pub const PROTECTED_MODE_REFUSAL: &str = "protected mode: this server has no users \
    configured, so it serves only clients on its own machine; to serve other machines \
    without sign-in, restart it with AUTH=off (anyone who can reach it can then read \
    and change every customer)\n";

/// What a connection refused by protected mode is served: 403 to every request.
fn protected_mode_refusal() -> Router {
    Router::new().fallback(|| async {
        let mut response = (StatusCode::FORBIDDEN, PROTECTED_MODE_REFUSAL).into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        super::guard::with_security_headers(response, super::guard::Target::Other)
    })
}

/// Connections refused because the cap was reached (the log says so every 1,000th).
pub static REFUSED: AtomicU64 = AtomicU64::new(0);
/// Connections refused by protected mode (the log says so every 1,000th).
static PROTECTED_REFUSED: AtomicU64 = AtomicU64::new(0);

/// Serves `app` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    clients: Clients,
    limits: &Limits,
    shutdown: impl Future<Output = ()>,
) {
    let refusal = protected_mode_refusal();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    // HTTP/1 only (as the original app): hyper's header timeout is an HTTP/1
    // setting, and it runs from the moment a connection is ready for a request.
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
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
        let service = if clients.admits(peer.ip()) {
            TowerToHyperService::new(app.clone())
        } else {
            metrics::counter!("http_connections_protected_mode_refused_total").increment(1);
            if PROTECTED_REFUSED
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(1000)
            {
                tracing::warn!(
                    client = %peer.ip(),
                    "protected mode: refusing a client from another machine (set AUTH=off to serve it)"
                );
            }
            TowerToHyperService::new(refusal.clone())
        };
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        let open = metrics::gauge!("http_connections_open");
        open.increment(1.0);
        tokio::spawn(async move {
            // Errors here are a client's broken or timed-out connection.
            let _ = connection.await;
            open.decrement(1.0);
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!("stopping: finishing requests in flight");
    tokio::select! {
        () = graceful.shutdown() => tracing::info!("stopped"),
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!(grace_s = limits.shutdown_grace.as_secs(), "requests still in flight after the grace period; stopping anyway");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Clients;

    #[test]
    fn protected_mode_admits_loopback_clients_only() {
        for loopback in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            assert!(
                Clients::LoopbackOnly.admits(loopback.parse().unwrap()),
                "{loopback}"
            );
        }
        for other in [
            "10.0.0.2",
            "192.168.1.5",
            "::ffff:10.0.0.2",
            "fe80::1",
            "0.0.0.0",
        ] {
            assert!(
                !Clients::LoopbackOnly.admits(other.parse().unwrap()),
                "{other}"
            );
            assert!(Clients::Any.admits(other.parse().unwrap()), "{other}");
        }
    }
}
