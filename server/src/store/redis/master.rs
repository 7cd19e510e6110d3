//! Knowing which server is the master, and switching when it changes.
//!
//! The tracker holds the current master connection. Requests that find none (or
//! that just marked it stale) call [`Tracker::master`], which re-resolves
//! *single-flight*: one resolution runs at a time and everyone waiting on it takes
//! its outcome, so a failover under load costs one round of sentinel queries, not
//! one per request.
//!
//! Resolution asks the sentinels in turn and confirms the answer with `ROLE` before
//! anything is sent there. Three more rules keep writes off a demoted master (their
//! bookkeeping, with a unit test per rule, is in `failover_state.rs`):
//! - `+switch-master old -> new` (see `sentinel.rs`) marks `old` as demoted for a
//!   while: a lagging sentinel may still name it, and it may still answer `ROLE`
//!   as master until the sentinels reconfigure it, so it is refused meanwhile;
//!   `new` is tried first.
//! - While any sentinel reports a failover in progress for our master
//!   (`+try-failover` ... `+promoted-slave`), writes *pause* until `+switch-master`
//!   or an abort. Without this, writes acknowledged by the old master between the
//!   promotion of a replica and the switch would be lost, since the old master
//!   then resyncs from the new one. Reads go on. The pause is capped so a sentinel
//!   that dies mid-failover cannot stall writes for long.
//! - When no sentinel answers at all, the last known master is still used if it
//!   confirms `ROLE` master: a healthy master keeps serving without sentinels.

use super::conn::{self, show, Addr, Role};
use super::error::{ConnectError, Findings, NoMaster, WritesPaused};
use super::failover_state::FailoverState;
use super::retry::is_auth_error;
use super::sentinel::SentinelPool;
use super::settings::{RedisSettings, RedisTarget};
use redis::aio::MultiplexedConnection;
use redis::{ConnectionAddr, ConnectionInfo, RedisError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Sentinels are asked with a short timeout so a dead one costs little.
const SENTINEL_TIMEOUT_MAX: Duration = Duration::from_millis(500);

/// A confirmed master and the connections to it. Handed out as
/// `Arc<Master>`: every store operation takes the current one, and cloning its
/// address and two connections each time showed in the profile of `GET /get/{id}`.
pub struct Master {
    pub addr: Addr,
    /// Reads, and writes when no replica acknowledgement is required.
    pub conn: MultiplexedConnection,
    /// Writes. A separate connection when writes are followed by `WAIT`, because
    /// `WAIT` blocks its connection and would otherwise stall every read behind it.
    pub write_conn: MultiplexedConnection,
    pub generation: u64,
}

/// How a tracker finds the master, made once from its settings' `RedisTarget`:
/// the sentinels it asks (with what it has learnt of their health), or the
/// endpoint of the one fixed server.
pub enum Discovery {
    Sentinels {
        master_name: String,
        pool: SentinelPool,
    },
    Fixed {
        endpoint: conn::Endpoint,
    },
}

#[derive(Default)]
struct State {
    current: Option<Arc<Master>>,
    generation: u64,
    /// Bumped by every finished resolution, so waiters can tell one happened.
    resolutions: u64,
    /// Why the latest resolution failed, shared with requests that waited for it.
    last_error: Option<ConnectError>,
    last_known: Option<Addr>,
    /// Demotions, write pauses and the master to try first.
    failover: FailoverState,
}

pub struct Tracker {
    pub settings: RedisSettings,
    pub discovery: Discovery,
    state: Mutex<State>,
    resolving: tokio::sync::Mutex<()>,
    /// Ticks on every topology change, to wake requests that are backing off.
    changes: watch::Sender<u64>,
    /// The failover events the sentinels published, for the status page.
    pub events: super::status::EventLog,
}

impl Tracker {
    pub fn new(settings: RedisSettings) -> Result<Self, ConnectError> {
        settings.validate().map_err(ConnectError::InvalidSettings)?;
        let discovery = match &settings.target {
            RedisTarget::Sentinel {
                sentinels,
                master_name,
            } => Discovery::Sentinels {
                master_name: master_name.clone(),
                pool: SentinelPool::new(sentinels.clone()),
            },
            RedisTarget::Single { url } => {
                let endpoint = conn::single(&settings, url)
                    .map_err(|e| ConnectError::InvalidSettings(format!("redis URL: {e}")))?;
                Discovery::Fixed { endpoint }
            }
        };
        Ok(Self {
            settings,
            discovery,
            state: Mutex::default(),
            resolving: tokio::sync::Mutex::new(()),
            changes: watch::channel(0).0,
            events: Default::default(),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave State inconsistent: keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn current(&self) -> Option<Arc<Master>> {
        self.state().current.clone()
    }

    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    fn changed(&self) {
        self.changes.send_modify(|n| *n += 1);
    }

    pub fn master_name(&self) -> Option<&str> {
        match &self.discovery {
            Discovery::Sentinels { master_name, .. } => Some(master_name),
            Discovery::Fixed { .. } => None,
        }
    }

    pub fn sentinel_timeout(&self) -> Duration {
        self.settings.command_timeout.min(SENTINEL_TIMEOUT_MAX)
    }

    /// The current master, resolving it (single-flight) when there is none.
    pub async fn master(&self, deadline: Instant) -> Result<Arc<Master>, NoMaster> {
        let seen = {
            let state = self.state();
            if let Some(master) = &state.current {
                return Ok(master.clone());
            }
            state.resolutions
        };
        let _turn = tokio::time::timeout_at(deadline, self.resolving.lock())
            .await
            .map_err(|_| NoMaster::WaitedForResolution)?;
        {
            let state = self.state();
            if let Some(master) = &state.current {
                return Ok(master.clone());
            }
            if state.resolutions != seen {
                // Someone resolved while we waited, and failed: share their answer.
                if let Some(error) = &state.last_error {
                    return Err(NoMaster::NotFound(error.clone()));
                }
            }
        }
        // Boxed: resolving is rare, and inline it would make every request's
        // future (moved on each store call) several KB larger.
        let outcome = match tokio::time::timeout_at(deadline, Box::pin(self.resolve())).await {
            Ok(outcome) => outcome,
            Err(_) => {
                // Counted, so that requests waiting for this one share the cause
                // known so far instead of starting over.
                let mut state = self.state();
                state.resolutions += 1;
                let before = state.last_error.clone();
                return Err(NoMaster::ResolutionTimedOut { before });
            }
        };
        let mut state = self.state();
        state.resolutions += 1;
        outcome.map_err(|error| {
            state.last_error = Some(error.clone());
            NoMaster::NotFound(error)
        })
    }

    /// Drops the connection of `generation` (if still current) so the next request re-resolves.
    pub fn invalidate(&self, generation: u64, why: &dyn std::fmt::Display) {
        let mut state = self.state();
        if state.current.as_ref().map(|m| m.generation) == Some(generation) {
            let addr = state.current.take().map(|m| show(&m.addr));
            tracing::warn!(
                master = addr.as_deref(),
                why = %why,
                "dropping redis master connection"
            );
        }
    }

    /// One resolution pass; on success the master becomes the current one.
    pub async fn resolve(&self) -> Result<Arc<Master>, ConnectError> {
        metrics::counter!("redis_master_resolutions_total").increment(1);
        let (addr, conn, write_conn) = match &self.discovery {
            Discovery::Fixed { endpoint } => {
                let addr = single_addr(endpoint.info());
                let (conn, write_conn) = self
                    .open_pair(endpoint)
                    .await
                    .map_err(|e| node_error(&show(&addr), e, endpoint.is_tls()))?;
                (addr, conn, write_conn)
            }
            Discovery::Sentinels { master_name, pool } => {
                self.via_sentinels(master_name, pool).await?
            }
        };
        let mut state = self.state();
        state.generation += 1;
        state.last_known = Some(addr.clone());
        state.failover.using(&addr);
        tracing::info!(master = %show(&addr), "using redis master");
        let master = Arc::new(Master {
            addr,
            conn,
            write_conn,
            generation: state.generation,
        });
        state.current = Some(master.clone());
        drop(state);
        self.changed();
        Ok(master)
    }

    async fn via_sentinels(
        &self,
        master_name: &str,
        pool: &SentinelPool,
    ) -> Result<(Addr, MultiplexedConnection, MultiplexedConnection), ConnectError> {
        let mut seen = Findings::default();
        // The master named by the latest +switch-master goes first.
        let hint = self.state().failover.hint().cloned();
        if let Some(hint) = hint {
            if let Some((conn, write_conn)) = self.try_candidate(&hint, &mut seen).await {
                return Ok((hint, conn, write_conn));
            }
        }
        for sentinel in pool.order() {
            let timeout = self.sentinel_timeout();
            match pool
                .ask(&self.settings, &sentinel, master_name, timeout)
                .await
            {
                Ok(Some(addr)) => {
                    seen.named = true;
                    if let Some((conn, write_conn)) = self.try_candidate(&addr, &mut seen).await {
                        pool.prefer(&sentinel);
                        return Ok((addr, conn, write_conn));
                    }
                }
                Ok(None) => seen.unknown.push(show(&sentinel)),
                Err(e) if is_auth_error(&e) => {
                    seen.sentinel_auth = Some(ConnectError::WrongPassword {
                        server: format!("sentinel {}", show(&sentinel)),
                        detail: self.brief(&e),
                    })
                }
                Err(e) => {
                    seen.unreachable
                        .push(format!("{} ({})", show(&sentinel), self.brief(&e)))
                }
            }
        }
        // No sentinel named anyone (all down?): keep the master we had if it still is one.
        let known = self.state().last_known.clone();
        if let Some(known) = known.filter(|_| !seen.named) {
            if let Some((conn, write_conn)) = self.try_candidate(&known, &mut seen).await {
                return Ok((known, conn, write_conn));
            }
        }
        Err(seen.into_error(master_name))
    }

    /// Confirms `addr` unless already tried or demoted; records why not.
    async fn try_candidate(
        &self,
        addr: &Addr,
        seen: &mut Findings,
    ) -> Option<(MultiplexedConnection, MultiplexedConnection)> {
        if seen.tried.contains(addr) {
            return None;
        }
        seen.tried.push(addr.clone());
        if self.is_demoted(addr) {
            seen.failures
                .push(format!("{}: replaced by a failover", show(addr)));
            return None;
        }
        match self.confirm(addr).await {
            Ok(conns) => Some(conns),
            Err(e) if is_auth_error(&e) => {
                seen.master_auth = Some(ConnectError::WrongPassword {
                    server: format!("redis {}", show(addr)),
                    detail: self.brief(&e),
                });
                None
            }
            Err(e) => {
                seen.failures
                    .push(format!("{}: {}", show(addr), self.brief(&e)));
                None
            }
        }
    }

    /// Connects to `addr` and checks with `ROLE` that it is a master right now.
    async fn confirm(
        &self,
        addr: &Addr,
    ) -> Result<(MultiplexedConnection, MultiplexedConnection), RedisError> {
        let endpoint = conn::data_node(&self.settings, addr)?;
        let (mut conn, write_conn) = self.open_pair(&endpoint).await?;
        let role = conn::role(&mut conn).await?;
        if role != Role::Master {
            return Err(std::io::Error::other(format!("answers ROLE as {role}")).into());
        }
        Ok((conn, write_conn))
    }

    async fn open_pair(
        &self,
        endpoint: &conn::Endpoint,
    ) -> Result<(MultiplexedConnection, MultiplexedConnection), RedisError> {
        let timeout = self.settings.command_timeout;
        let conn = conn::open(endpoint, timeout, timeout).await?;
        let write_conn = if self.settings.min_replicas_ack > 0 {
            // Room for the server-side WAIT timeout (see `wait_timeout`) and a write queued before us.
            // (`response_timeout` says the same.)
            conn::open(endpoint, timeout, timeout * 3).await?
        } else {
            conn.clone()
        };
        Ok((conn, write_conn))
    }

    /// An error as one short line, with what to fix when it is about TLS.
    fn brief(&self, e: &RedisError) -> String {
        let tls = match &self.discovery {
            Discovery::Fixed { endpoint } => endpoint.is_tls(),
            Discovery::Sentinels { .. } => self.settings.tls.is_some(),
        };
        conn::explain(e, tls)
    }

    /// The response timeout of the connection `access` uses: the longest one
    /// command on it can take before it fails (see `open_pair`).
    pub fn response_timeout(&self, access: super::request::Access) -> Duration {
        match access {
            super::request::Access::Read => self.settings.command_timeout,
            super::request::Access::Write if self.settings.min_replicas_ack > 0 => {
                self.settings.command_timeout * 3
            }
            super::request::Access::Write => self.settings.command_timeout,
        }
    }

    /// The server-side timeout of `WAIT`, shorter than the client's response timeout.
    pub fn wait_timeout(&self) -> Duration {
        self.settings.command_timeout
    }

    fn is_demoted(&self, addr: &Addr) -> bool {
        self.state().failover.is_demoted(addr, Instant::now())
    }

    /// A sentinel announced `+switch-master old new` for our master.
    pub fn on_switch_master(&self, old: Addr, new: Addr) {
        let mut state = self.state();
        // Every sentinel announces the switch: log it once.
        let using_new = state.current.as_ref().is_some_and(|m| m.addr == new);
        if state
            .failover
            .switched(old.clone(), new.clone(), Instant::now())
            && !using_new
        {
            tracing::info!(old = %show(&old), new = %show(&new), "sentinel switched the redis master");
            metrics::counter!("redis_failovers_seen_total").increment(1);
        }
        if !using_new {
            state.current = None;
        }
        drop(state);
        self.changed();
    }

    pub fn on_failover_started(&self, sentinel: &str) {
        if self
            .state()
            .failover
            .failover_started(sentinel, Instant::now())
        {
            tracing::info!(sentinel, "failover in progress: pausing writes");
            metrics::counter!("redis_write_pauses_total").increment(1);
        }
    }

    pub fn on_failover_ended(&self, sentinel: &str) {
        if self.state().failover.failover_ended(sentinel) {
            tracing::info!(sentinel, "failover ended without a switch: resuming writes");
            self.changed();
        }
    }

    /// Until when writes must wait, if a failover is in progress.
    fn write_pause(&self) -> Option<Instant> {
        self.state().failover.write_pause(Instant::now())
    }

    /// Waits while a failover is in progress (see the module comment).
    pub async fn wait_writable(&self, deadline: Instant) -> Result<(), WritesPaused> {
        let mut changes = self.changes();
        while let Some(until) = self.write_pause() {
            if Instant::now() >= deadline {
                return Err(WritesPaused);
            }
            changes.borrow_and_update();
            let wake = until.min(deadline);
            let _ = tokio::time::timeout_at(wake, changes.changed()).await;
        }
        Ok(())
    }

    pub fn describe(&self) -> String {
        let master = self.current().map(|m| show(&m.addr));
        match &self.discovery {
            Discovery::Sentinels { master_name, pool } => {
                let sentinels: Vec<String> = pool.all().iter().map(show).collect();
                format!(
                    "redis via sentinel {master_name} at {} (master {})",
                    sentinels.join(","),
                    master.as_deref().unwrap_or("unknown")
                )
            }
            Discovery::Fixed { endpoint } => {
                let info = endpoint.info();
                let db = info.redis_settings().db();
                format!("redis at {} db {db}", show(&single_addr(info)))
            }
        }
    }

    /// Periodic backstop for missed sentinel events; see `follower::poll`.
    pub async fn check(&self) {
        let Some(master) = self.current() else {
            // Recover in the background, without waiting for traffic.
            let _ = self
                .master(Instant::now() + self.settings.request_deadline)
                .await;
            return;
        };
        let mut probe = master.conn.clone();
        match conn::within(self.settings.command_timeout, conn::role(&mut probe)).await {
            Ok(Role::Master) => {}
            Ok(role) => return self.invalidate(master.generation, &format!("ROLE is now {role}")),
            Err(e) => return self.invalidate(master.generation, &e),
        }
        if let Discovery::Sentinels { master_name, pool } = &self.discovery {
            let answers = pool
                .ask_all(&self.settings, master_name, self.sentinel_timeout())
                .await;
            let move_to = self.state().failover.master_to_follow(
                &answers,
                pool.all().len(),
                &master.addr,
                Instant::now(),
            );
            if let Some(addr) = move_to {
                self.invalidate(
                    master.generation,
                    &format!("sentinels now name {}", show(&addr)),
                );
            }
        }
    }
}

fn single_addr(info: &ConnectionInfo) -> Addr {
    match info.addr() {
        ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
            (host.clone(), *port)
        }
        other => (other.to_string(), 0),
    }
}

fn node_error(server: &str, e: RedisError, tls: bool) -> ConnectError {
    if is_auth_error(&e) {
        ConnectError::WrongPassword {
            server: format!("redis {server}"),
            detail: conn::explain(&e, tls),
        }
    } else {
        ConnectError::MasterUnreachable {
            master: server.to_owned(),
            attempts: vec![conn::explain(&e, tls)],
        }
    }
}
