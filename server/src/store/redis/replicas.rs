//! Reads from replicas, bounded in staleness (`REDIS_READ_FROM=replica-preferred`).
//!
//! How far behind a replica is, is measured here rather than taken from
//! `INFO`'s whole-second `lag`. Every `poll_every`, the master's replication
//! offset is sampled (`ROLE`, stamped with the time just *before* it was asked),
//! then each replica's own (`ROLE` on the replica: the offset it has applied). A
//! replica at offset R holds every write the master had acknowledged when the
//! newest sample at or below R was taken: that sample's time is what the replica
//! *covers*. A read may go to a replica that covers both `now - max_lag` and the
//! reader's own last write, so the bound holds whatever happens between polls:
//! a replica that stops (SIGSTOP, a partition) covers nothing newer and drops
//! out by itself within the bound. One that fails a probe or a read, or answers
//! `ROLE` as anything but a connected replica, drops out at once, and comes back
//! at the first probe it passes.
//!
//! The replicas are the ones the current master lists. When the master changes
//! (a failover), everything known about the old one's replicas is dropped: a
//! replica that was promoted is the master now, and the others are measured
//! afresh against the new master's offsets.

use super::conn::{self, show, Addr};
use super::master::Tracker;
use super::request::{run, Access, OpError, RoundTrips};
use super::settings::RedisSettings;
use app::domain::{Freshness, StoreError};
use redis::aio::MultiplexedConnection;
use redis::{RedisResult, Value};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

pub struct Replicas {
    max_lag: Duration,
    poll_every: Duration,
    /// Longest wait for a replica's answer (a probe or a read) before it drops
    /// out and the master is asked instead.
    pub patience: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The generation of the master these replicas were measured against.
    generation: Option<u64>,
    /// The master's replication offset over the last `max_lag` or so, oldest first.
    samples: VecDeque<Sample>,
    replicas: Vec<Replica>,
    /// Where the round robin over usable replicas is.
    turn: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Sample {
    at: Instant,
    offset: i64,
}

struct Replica {
    addr: Addr,
    conn: Option<MultiplexedConnection>,
    /// Every write acknowledged before then is on the replica; `None`: it may
    /// not serve reads (not probed yet, failed, too far behind).
    covers: Option<Instant>,
    /// Why it is out, for the status line.
    out: Option<String>,
}

/// The replica chosen for one read.
pub struct Chosen {
    pub addr: Addr,
    pub conn: MultiplexedConnection,
    pub covers: Instant,
}

impl Replicas {
    pub fn new(settings: &RedisSettings) -> Self {
        let max_lag = settings.max_replica_lag;
        Self {
            max_lag,
            // Several polls per bound, so a healthy replica always qualifies.
            poll_every: (max_lag / 4).clamp(Duration::from_millis(10), Duration::from_millis(250)),
            patience: (max_lag / 2).clamp(Duration::from_millis(50), settings.command_timeout),
            state: Mutex::default(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A replica that covers `now - max_lag` and `own_writes`, taking turns.
    pub fn pick(&self, own_writes: Option<Instant>) -> Option<Chosen> {
        let now = Instant::now();
        let bound = now.checked_sub(self.max_lag)?;
        let needed = own_writes.map_or(bound, |own| own.max(bound));
        let mut state = self.state();
        let count = state.replicas.len();
        for step in 0..count {
            let index = (state.turn + step) % count;
            let replica = &state.replicas[index];
            if let (Some(conn), Some(covers)) = (&replica.conn, replica.covers) {
                if covers >= needed {
                    let chosen = Chosen {
                        addr: replica.addr.clone(),
                        conn: conn.clone(),
                        covers,
                    };
                    state.turn = index + 1;
                    return Some(chosen);
                }
            }
        }
        None
    }

    /// `addr` failed or kept a read waiting: no reads go there until it passes a probe.
    pub fn drop_out(&self, addr: &Addr, why: &str) {
        let mut state = self.state();
        if let Some(replica) = state.replicas.iter_mut().find(|r| &r.addr == addr) {
            if replica.covers.is_some() {
                tracing::warn!(replica = %show(addr), why, "replica dropped out of reads");
                metrics::counter!("redis_replica_dropouts_total").increment(1);
            }
            replica.conn = None;
            replica.covers = None;
            replica.out = Some(why.to_owned());
        }
    }

    /// One round of measurement: the master's offset and replica list, then
    /// every replica's offset.
    async fn refresh(&self, tracker: &Tracker) {
        let Some(master) = tracker.current() else {
            // Re-resolving: the next master's replicas are measured against it.
            self.follow(None);
            return;
        };
        self.follow(Some(master.generation));
        let asked = Instant::now();
        let mut probe = master.conn.clone();
        let Ok((offset, listed)) = conn::within(self.patience, master_role(&mut probe)).await
        else {
            // No new sample: what replicas cover stops advancing, and they drop
            // out within the bound unless the master answers again.
            return;
        };
        let map = &tracker.settings.address_map;
        let listed: Vec<Addr> = listed.into_iter().map(|a| map.reachable(a)).collect();
        let targets = {
            let mut state = self.state();
            if state.generation != Some(master.generation) {
                return;
            }
            state.record(Sample { at: asked, offset }, self.max_lag + self.poll_every);
            state.replicas.retain(|r| listed.contains(&r.addr));
            for addr in listed {
                if !state.replicas.iter().any(|r| r.addr == addr) {
                    state.replicas.push(Replica {
                        addr,
                        conn: None,
                        covers: None,
                        out: Some("not probed yet".into()),
                    });
                }
            }
            let targets: Vec<_> = state
                .replicas
                .iter()
                .map(|r| (r.addr.clone(), r.conn.clone()))
                .collect();
            targets
        };
        let probes = targets.into_iter().map(|(addr, conn)| async move {
            let outcome = self.probe(&tracker.settings, &addr, conn).await;
            (addr, outcome)
        });
        let outcomes = futures::future::join_all(probes).await;
        let mut failed = Vec::new();
        {
            let mut state = self.state();
            if state.generation != Some(master.generation) {
                return;
            }
            for (addr, outcome) in outcomes {
                match outcome {
                    Ok((conn, offset)) => {
                        let covers = state.covered(offset);
                        if let Some(replica) = state.replicas.iter_mut().find(|r| r.addr == addr) {
                            replica.conn = Some(conn);
                            replica.covers = covers;
                            replica.out = covers.is_none().then(|| "too far behind".to_owned());
                        }
                    }
                    Err(why) => failed.push((addr, why)),
                }
            }
        }
        for (addr, why) in failed {
            self.drop_out(&addr, &why);
        }
    }

    /// Forgets the replicas of any master but the one of `generation`.
    fn follow(&self, generation: Option<u64>) {
        let mut state = self.state();
        if state.generation != generation {
            *state = State {
                generation,
                ..State::default()
            };
        }
    }

    /// Connects if needed, and asks the replica how far it is; all within
    /// `patience`, so one hung replica does not hold up the round.
    async fn probe(
        &self,
        settings: &RedisSettings,
        addr: &Addr,
        conn: Option<MultiplexedConnection>,
    ) -> Result<(MultiplexedConnection, i64), String> {
        let tls = settings.tls.is_some();
        let probe = async {
            let mut conn = match conn {
                Some(conn) => conn,
                None => {
                    let endpoint = conn::data_node(settings, addr)?;
                    conn::open(&endpoint, self.patience, self.patience).await?
                }
            };
            let role = replica_role(&mut conn).await?;
            Ok::<_, redis::RedisError>((conn, role))
        };
        match conn::within(self.patience, probe).await {
            Ok((conn, ReplicaRole::Connected { offset })) => Ok((conn, offset)),
            Ok((_, ReplicaRole::Not(what))) => Err(what),
            Err(e) => Err(conn::explain(&e, tls)),
        }
    }

    /// One line for `/readyz` and the logs: each replica and how fresh it is.
    pub fn describe(&self) -> String {
        let state = self.state();
        let now = Instant::now();
        let each: Vec<String> = state
            .replicas
            .iter()
            .map(|r| match (r.covers, &r.out) {
                (Some(covers), _) => format!(
                    "{} serving, {} ms behind",
                    show(&r.addr),
                    now.saturating_duration_since(covers).as_millis()
                ),
                (None, why) => format!("{} out: {}", show(&r.addr), why.as_deref().unwrap_or("?")),
            })
            .collect();
        format!(
            "reads from replicas at most {} ms behind the master: {}",
            self.max_lag.as_millis(),
            if each.is_empty() {
                "none known".to_owned()
            } else {
                each.join(", ")
            }
        )
    }
}

impl State {
    /// Adds a sample of the master's offset, keeping `keep` of history (and
    /// at least one sample older than that, so coverage is known across it).
    fn record(&mut self, sample: Sample, keep: Duration) {
        self.samples.push_back(sample);
        if let Some(cutoff) = sample.at.checked_sub(keep) {
            while self.samples.len() > 1 && self.samples[1].at <= cutoff {
                self.samples.pop_front();
            }
        }
    }

    /// What a replica at `offset` covers: the time of the newest sample of the
    /// master's offset that it has reached.
    fn covered(&self, offset: i64) -> Option<Instant> {
        self.samples
            .iter()
            .rev()
            .find(|sample| sample.offset <= offset)
            .map(|sample| sample.at)
    }
}

/// Where one attempt of a read ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    Master,
    Replica,
}

/// Runs read `op` on a replica that holds what `fresh` asks for, if there is
/// one, else on the master as [`run`] does: a replica that fails or keeps it
/// waiting longer than `patience` drops out, and the read goes to the master at
/// once, so a replica's trouble costs a client time, not an error. Returns the
/// answer and the instant it covers (every write acknowledged before then is in it).
pub async fn read<T, F, Fut>(
    tracker: &Tracker,
    replicas: Option<&Replicas>,
    fresh: Freshness,
    round_trips: RoundTrips,
    mut op: F,
) -> Result<(T, Instant), StoreError>
where
    F: FnMut(MultiplexedConnection, Node) -> Fut,
    Fut: Future<Output = Result<T, OpError>>,
{
    if let (Some(replicas), Freshness::Bounded { own_writes }) = (replicas, fresh) {
        if let Some(chosen) = replicas.pick(own_writes) {
            let attempt = op(chosen.conn, Node::Replica);
            match tokio::time::timeout(replicas.patience, attempt).await {
                Ok(Ok(value)) => {
                    metrics::counter!("redis_replica_reads_total").increment(1);
                    return Ok((value, chosen.covers));
                }
                // Behind what this server has read already, or a record that
                // is not a customer (the master holds the same): not the
                // replica's fault, so it stays in; the master answers this read.
                Ok(Err(OpError::Behind | OpError::Corrupt(_) | OpError::NotConfirmed { .. })) => {}
                Ok(Err(OpError::Redis(e))) => replicas.drop_out(&chosen.addr, &e.to_string()),
                Err(_) => replicas.drop_out(
                    &chosen.addr,
                    &format!("no answer within {} ms", replicas.patience.as_millis()),
                ),
            }
        }
    }
    let asked = Instant::now();
    let value = run(tracker, Access::Read, round_trips, |conn| {
        op(conn, Node::Master)
    })
    .await?;
    Ok((value, asked))
}

/// Measures the replicas every `poll_every` (a round that overruns delays the
/// next) while both live.
pub async fn poll(replicas: Weak<Replicas>, tracker: Weak<Tracker>) {
    let Some(every) = replicas.upgrade().map(|r| r.poll_every) else {
        return;
    };
    let mut rounds = tokio::time::interval(every);
    rounds.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        rounds.tick().await;
        let (Some(replicas), Some(tracker)) = (replicas.upgrade(), tracker.upgrade()) else {
            return;
        };
        replicas.refresh(&tracker).await;
    }
}

/// The master's `ROLE`: its replication offset and the replicas it lists.
async fn master_role(conn: &mut MultiplexedConnection) -> RedisResult<(i64, Vec<Addr>)> {
    let reply: Vec<Value> = redis::cmd("ROLE").query_async(conn).await?;
    let not_master = || std::io::Error::other("ROLE does not say master");
    let [role, offset, listed] = reply.as_slice() else {
        return Err(not_master().into());
    };
    let role: String = redis::from_redis_value_ref(role)?;
    if role != "master" {
        return Err(not_master().into());
    }
    let offset: i64 = redis::from_redis_value_ref(offset)?;
    let listed: Vec<(String, String, String)> = redis::from_redis_value_ref(listed)?;
    let addrs = listed
        .into_iter()
        .filter_map(|(host, port, _)| Some((host, port.parse().ok()?)))
        .collect();
    Ok((offset, addrs))
}

enum ReplicaRole {
    /// Linked to its master, having applied its stream up to `offset`.
    Connected { offset: i64 },
    /// Why it cannot serve reads.
    Not(String),
}

/// A replica's `ROLE`: `slave`, master host, master port, link state, offset.
async fn replica_role(conn: &mut MultiplexedConnection) -> RedisResult<ReplicaRole> {
    let reply: Vec<Value> = redis::cmd("ROLE").query_async(conn).await?;
    let role: String = match reply.first() {
        Some(role) => redis::from_redis_value_ref(role)?,
        None => String::new(),
    };
    if role != "slave" {
        return Ok(ReplicaRole::Not(format!("answers ROLE as {role}")));
    }
    let (Some(link), Some(offset)) = (reply.get(3), reply.get(4)) else {
        return Ok(ReplicaRole::Not("a short ROLE reply".into()));
    };
    let link: String = redis::from_redis_value_ref(link)?;
    if link != "connected" {
        return Ok(ReplicaRole::Not(format!(
            "its link to the master is {link}"
        )));
    }
    Ok(ReplicaRole::Connected {
        offset: redis::from_redis_value_ref(offset)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_with(offsets: &[(u64, i64)], start: Instant) -> State {
        let mut state = State::default();
        for &(ms, offset) in offsets {
            let at = start + Duration::from_millis(ms);
            state.record(Sample { at, offset }, Duration::from_secs(3600));
        }
        state
    }

    #[test]
    fn a_replica_covers_the_newest_sample_it_has_reached() {
        let start = Instant::now();
        let ms = |n| start + Duration::from_millis(n);
        let state = state_with(&[(0, 100), (10, 150), (20, 150), (30, 400)], start);
        assert_eq!(state.covered(400), Some(ms(30)));
        assert_eq!(state.covered(9999), Some(ms(30)));
        // Idle in between: the offset stayed, so the later sample counts.
        assert_eq!(state.covered(150), Some(ms(20)));
        assert_eq!(state.covered(399), Some(ms(20)));
        assert_eq!(state.covered(100), Some(ms(0)));
        // Behind every sample: no known coverage, no reads.
        assert_eq!(state.covered(99), None);
    }

    #[test]
    fn history_is_kept_for_the_window_and_one_sample_beyond() {
        let start = Instant::now();
        let mut state = State::default();
        for n in 0..10 {
            let at = start + Duration::from_millis(n * 10);
            state.record(
                Sample {
                    at,
                    offset: n as i64,
                },
                Duration::from_millis(25),
            );
        }
        let kept: Vec<i64> = state.samples.iter().map(|s| s.offset).collect();
        // The newest is at 90 ms: 65 ms and later is the window, 60 ms the one beyond.
        assert_eq!(kept, vec![6, 7, 8, 9]);
    }

    fn replicas(max_lag_ms: u64) -> Replicas {
        let mut settings = RedisSettings::single("redis://127.0.0.1:1");
        settings.max_replica_lag = Duration::from_millis(max_lag_ms);
        Replicas::new(&settings)
    }

    #[test]
    fn poll_and_patience_follow_the_bound() {
        let tight = replicas(40);
        assert_eq!(tight.poll_every, Duration::from_millis(10));
        assert_eq!(tight.patience, Duration::from_millis(50));
        let default = replicas(1000);
        assert_eq!(default.poll_every, Duration::from_millis(250));
        assert_eq!(default.patience, Duration::from_millis(500));
    }
}
