//! The status page's view of a Redis store: the master in use and its
//! replicas (`INFO replication`), what each sentinel names as master, and the
//! failover events the sentinels published, as [`StoreStatus`].

use super::conn::{self, show};
use super::master::{Discovery, Tracker};
use app::domain::{ReplicaStatus, SentinelStatus, StoreEvent, StoreStatus, EVENTS_KEPT};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The same event from several sentinels within this long is one event.
const SAME_EVENT_WITHIN: Duration = Duration::from_secs(5);

/// The latest failover events, newest last (see `follower::relay`).
#[derive(Debug, Default)]
pub struct EventLog(Mutex<VecDeque<StoreEvent>>);

impl EventLog {
    /// Adds an event one sentinel published, or counts one more sentinel for
    /// the same event published by another.
    pub fn record(&self, channel: &str, payload: &str) {
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let mut events = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let recent = at_ms.saturating_sub(SAME_EVENT_WITHIN.as_millis() as u64);
        let same = events
            .iter_mut()
            .rev()
            .take_while(|event| event.at_ms >= recent)
            .find(|event| event.name == channel && event.detail == payload);
        if let Some(same) = same {
            same.seen_by += 1;
            return;
        }
        if events.len() == EVENTS_KEPT {
            events.pop_front();
        }
        events.push_back(StoreEvent {
            at_ms,
            name: channel.to_owned(),
            detail: payload.to_owned(),
            seen_by: 1,
        });
    }

    pub fn events(&self) -> Vec<StoreEvent> {
        let events = self.0.lock().unwrap_or_else(|e| e.into_inner());
        events.iter().cloned().collect()
    }
}

/// How the store's Redis stands now; what did not answer in time is said in
/// `problem`.
pub async fn status(tracker: &Tracker) -> StoreStatus {
    let timeout = tracker.sentinel_timeout();
    let mut status = StoreStatus {
        events: tracker.events.events(),
        ..Default::default()
    };
    match &tracker.discovery {
        Discovery::Sentinels { master_name, pool } => {
            status.kind = format!("Redis via Sentinel (master name “{master_name}”)");
            let asks = pool.all().iter().map(|sentinel| async move {
                let answer = pool
                    .ask(&tracker.settings, sentinel, master_name, timeout)
                    .await;
                SentinelStatus {
                    address: show(sentinel),
                    reachable: answer.is_ok(),
                    names_master: answer.ok().flatten().map(|addr| show(&addr)),
                }
            });
            status.sentinels = futures::future::join_all(asks).await;
        }
        Discovery::Fixed { .. } => status.kind = "Redis (one server, no Sentinel)".into(),
    }
    // Resolved if there is none (after a switch, no request may have asked yet).
    let deadline = tokio::time::Instant::now() + timeout;
    let Ok(master) = tracker.master(deadline).await else {
        status.problem =
            Some("No master can be reached right now: a failover may be under way.".into());
        return status;
    };
    status.master = Some(show(&master.addr));
    let mut conn = master.conn.clone();
    let info = redis::cmd("INFO").arg("replication").to_owned();
    match conn::within(timeout, info.query_async::<String>(&mut conn)).await {
        Ok(info) => status.replicas = replicas_in(&info),
        Err(error) => {
            tracing::debug!(%error, "INFO replication for the status page failed");
            status.problem = Some("The master did not say how its replicas stand.".into());
        }
    }
    status
}

/// The replicas in the master's `INFO replication`:
/// `slave0:ip=10.0.0.2,port=6379,state=online,offset=1234,lag=0` under
/// `master_repl_offset:1300`.
fn replicas_in(info: &str) -> Vec<ReplicaStatus> {
    let field = |line: &str, name: &str| {
        line.split(',')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_owned)
    };
    let master_offset: u64 = info
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("master_repl_offset:")?
                .parse()
                .ok()
        })
        .unwrap_or(0);
    info.lines()
        .filter_map(|line| {
            let (key, value) = line.trim().split_once(':')?;
            key.strip_prefix("slave")?.parse::<u32>().ok()?;
            let (ip, port) = (field(value, "ip")?, field(value, "port")?);
            let offset: u64 = field(value, "offset")?.parse().ok()?;
            Some(ReplicaStatus {
                address: format!("{ip}:{port}"),
                state: field(value, "state").unwrap_or_default(),
                behind_bytes: master_offset.saturating_sub(offset),
                last_ack_seconds: field(value, "lag")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_are_read_from_info_replication() {
        let info = "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n\
            slave0:ip=127.0.0.1,port=16383,state=online,offset=1200,lag=0\r\n\
            slave1:ip=127.0.0.1,port=16384,state=wait_bgsave,offset=0,lag=3\r\n\
            master_failover_state:no-failover\r\nmaster_repl_offset:1300\r\n";
        let replicas = replicas_in(info);
        assert_eq!(replicas.len(), 2);
        assert_eq!(replicas[0].address, "127.0.0.1:16383");
        assert_eq!(
            (replicas[0].behind_bytes, replicas[0].last_ack_seconds),
            (100, 0)
        );
        assert_eq!(replicas[1].state, "wait_bgsave");
        assert_eq!(
            (replicas[1].behind_bytes, replicas[1].last_ack_seconds),
            (1300, 3)
        );
    }

    #[test]
    fn one_event_from_several_sentinels_is_one_entry() {
        let log = EventLog::default();
        for _ in 0..3 {
            log.record("+sdown", "master mymaster 127.0.0.1 16382");
        }
        log.record("+try-failover", "master mymaster 127.0.0.1 16382");
        let events = log.events();
        assert_eq!(events.len(), 2);
        assert_eq!((events[0].name.as_str(), events[0].seen_by), ("+sdown", 3));
        assert_eq!(events[1].name, "+try-failover");
    }
}
