//! The customer-records server: configuration, stores and HTTP adapters.
//! `main.rs` only parses the configuration and starts what this crate builds.

// The UI's islands are deep view types (app/src/routes/list.rs, edit.rs).
#![recursion_limit = "256"]

pub mod auth;
pub mod config;
pub mod customer_json;
pub mod http;
pub mod import;
pub mod logging;
pub mod store;

use app::domain::CustomerStore;
use leptos::prelude::LeptosOptions;
use std::net::SocketAddr;
use std::sync::Arc;

/// How to serve, from the configuration (see [`config::Config::serving`]).
#[derive(Debug)]
pub struct Serving {
    pub listen: SocketAddr,
    pub site_root: String,
    pub allowed_hosts: http::AllowedHosts,
    pub limits: http::Limits,
    /// Where `/metrics` (and a detailed `/readyz`) are served instead of `listen`.
    pub metrics_listen: Option<SocketAddr>,
    /// Who may do what (sign-in, protected mode, `AUTH=off`); sessions are
    /// added once the store is open.
    pub access: auth::Access,
    pub session_times: auth::sessions::SessionTimes,
    pub trusted_proxies: http::TrustedProxies,
    /// How long a client's write steers its reads (`Some` when reads may be
    /// stale: Redis replicas), see [`http::OwnWrites`].
    pub own_writes_window: Option<std::time::Duration>,
}

/// Loads what the store keeps in memory (the search index) now rather than at
/// the first search; `/readyz` says ready once it is done. A store that cannot
/// be read yet (unreachable, or a user without the rights) is tried again.
async fn warm_up(store: Arc<dyn CustomerStore>) {
    let started = std::time::Instant::now();
    loop {
        match store.warm_up().await {
            Ok(()) => {
                let took_ms = started.elapsed().as_millis() as u64;
                tracing::info!(took_ms, "the store's in-memory data is loaded");
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot load the search index yet; trying again in 1 s");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

/// Serves the UI and the JSON API until the process is asked to stop.
pub async fn serve(
    serving: Serving,
    store: Arc<dyn CustomerStore>,
    sessions: Arc<dyn auth::sessions::SessionStore>,
) -> Result<(), String> {
    let Serving {
        listen,
        site_root,
        allowed_hosts,
        limits,
        metrics_listen,
        access,
        session_times,
        trusted_proxies,
        own_writes_window,
    } = serving;
    let access =
        Arc::new(access.with_sessions(auth::sessions::Sessions::new(sessions, session_times)));
    let leptos_options = LeptosOptions::builder()
        .output_name("customer-records")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(listen)
        .hash_files(true)
        .build();
    let description = store.describe();
    if listen.ip().is_unspecified() && allowed_hosts != http::AllowedHosts::Any {
        tracing::warn!(
            "listening on every interface, but only loopback names are allowed hosts: \
             set ALLOWED_HOSTS to the names clients use"
        );
    }
    if access.is_open() {
        tracing::warn!(
            "AUTH=off: every client that can reach {listen} can read and change every customer, without sign-in"
        );
    } else if access.is_protected() && !listen.ip().to_canonical().is_loopback() {
        tracing::info!(
            "protected mode: no users are configured, so only clients on this machine are served \
             (others get 403); add one with `customer-records user add NAME --role editor`, or \
             set AUTH=off to serve every client without sign-in"
        );
    }
    let stylesheet_href = app::stylesheet_href(&leptos_options);
    tokio::spawn(warm_up(store.clone()));
    let state = http::AppState::new(http::Shared {
        leptos_options,
        uploads: Arc::new(import::Uploads::new(store.clone())),
        store,
        guard: Arc::new(http::Guard {
            allowed_hosts,
            max_body_bytes: http::MAX_BODY_BYTES,
            access: access.clone(),
            trusted_proxies,
            stylesheet_href,
            request_limit: limits.request,
            body_read_limit: limits.body_read,
            own_writes: own_writes_window.map(http::OwnWrites::new),
        }),
        limits: limits.clone(),
        metrics: Some(http::observe::install_recorder()?),
        private_metrics: metrics_listen.is_some(),
        stopping: tokio_util::sync::CancellationToken::new(),
    });
    let stopping = state.stopping.clone();
    if let Some(address) = metrics_listen {
        let listener = bind(&address).map_err(|e| format!("cannot listen on {address}: {e}"))?;
        tracing::info!("metrics on http://{address}/metrics");
        let metrics = http::observe::private_routes(state.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, metrics).await {
                tracing::error!(%error, "the metrics listener stopped");
            }
        });
    }
    let app = http::router(state);
    let listener = bind(&listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    tracing::info!("listening on {url} using the {description}");
    raise_open_files_limit(limits.max_connections);
    // On a worker thread of its own task: accepting must not wait on the thread
    // that runs `main`.
    let shutdown = async move {
        shutdown_signal().await;
        stopping.cancel();
    };
    tokio::spawn(async move { http::serve::serve(listener, app, &limits, shutdown).await })
        .await
        .map_err(|e| format!("server task failed: {e}"))
}

/// `GET /healthz` on the server at `listen` (on loopback when it listens on every
/// interface), within 3 s.
pub async fn healthcheck(listen: SocketAddr) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut address = listen;
    if address.ip().is_unspecified() {
        address.set_ip(if address.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let check = async {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(std::time::Duration::from_secs(3), check)
        .await
        .map_err(|_| format!("no answer from {address} within 3 s"))?
        .map_err(|e| format!("cannot reach {address}: {e}"))?;
    if answer.starts_with(b"HTTP/1.1 200") || answer.starts_with(b"HTTP/1.0 200") {
        println!("healthy");
        Ok(())
    } else {
        let line = String::from_utf8_lossy(answer.split(|&b| b == b'\r').next().unwrap_or(&[]));
        Err(format!("unhealthy: {line}"))
    }
}

/// A listener with a deep accept queue: a burst of connections waits in it
/// instead of having its SYNs dropped (and retried a second later).
fn bind(listen: &SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if listen.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(*listen)?;
    socket.listen(4096)
}

/// Lets the process hold as many sockets as it may serve connections (the soft
/// limit is often 1,024 while the hard one is far higher).
fn raise_open_files_limit(connections: usize) {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return;
    };
    let wanted = (connections as u64 + 256).min(hard);
    if wanted > soft && setrlimit(Resource::RLIMIT_NOFILE, wanted, hard).is_err() {
        tracing::warn!(soft, hard, "cannot raise the open-files limit");
    }
    if wanted < connections as u64 + 256 {
        tracing::warn!(
            hard,
            connections,
            "the open-files limit is below MAX_CONNECTIONS; connections over it will fail to be accepted"
        );
    }
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
