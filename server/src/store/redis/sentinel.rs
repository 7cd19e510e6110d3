//! Talking to sentinels: asking for the master and reading their events. Depends
//! on nothing above it; the tasks that act on what sentinels say are in
//! `follower.rs`.

use super::conn::{self, Addr};
use super::settings::RedisSettings;
use redis::aio::MultiplexedConnection;
use redis::RedisResult;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The configured sentinels, in the order to ask them, with cached connections.
pub struct SentinelPool {
    all: Vec<Addr>,
    order: Mutex<Vec<Addr>>,
    conns: Mutex<HashMap<Addr, MultiplexedConnection>>,
}

impl SentinelPool {
    pub fn new(sentinels: Vec<Addr>) -> Self {
        Self {
            order: Mutex::new(sentinels.clone()),
            all: sentinels,
            conns: Mutex::default(),
        }
    }

    pub fn all(&self) -> &[Addr] {
        &self.all
    }

    pub fn order(&self) -> Vec<Addr> {
        lock(&self.order).clone()
    }

    /// The sentinel that answered goes first next time.
    pub fn prefer(&self, sentinel: &Addr) {
        let mut order = lock(&self.order);
        if let Some(index) = order.iter().position(|s| s == sentinel) {
            let first = order.remove(index);
            order.insert(0, first);
        }
    }

    /// `SENTINEL get-master-addr-by-name`, mapped through `REDIS_ADDRESS_MAP`:
    /// `Ok(None)` when this sentinel does not know the name.
    pub async fn ask(
        &self,
        settings: &RedisSettings,
        sentinel: &Addr,
        master_name: &str,
        timeout: Duration,
    ) -> RedisResult<Option<Addr>> {
        let answer = self
            .ask_unmapped(settings, sentinel, master_name, timeout)
            .await?;
        Ok(answer.map(|addr| settings.address_map.reachable(addr)))
    }

    async fn ask_unmapped(
        &self,
        settings: &RedisSettings,
        sentinel: &Addr,
        master_name: &str,
        timeout: Duration,
    ) -> RedisResult<Option<Addr>> {
        let cached = lock(&self.conns).get(sentinel).cloned();
        if let Some(conn) = cached {
            match query(conn, master_name, timeout).await {
                Ok(answer) => return Ok(answer),
                // Probably a sentinel that restarted: retry once on a new connection.
                Err(_) => drop(lock(&self.conns).remove(sentinel)),
            }
        }
        let conn = conn::open(&conn::sentinel(settings, sentinel)?, timeout, timeout).await?;
        let answer = query(conn.clone(), master_name, timeout).await?;
        lock(&self.conns).insert(sentinel.clone(), conn);
        Ok(answer)
    }

    /// Every sentinel's answer, asking them all at once, in preference order
    /// (those that fail or do not know the name are left out).
    pub async fn ask_all(
        &self,
        settings: &RedisSettings,
        master_name: &str,
        timeout: Duration,
    ) -> Vec<Addr> {
        let order = self.order();
        let answers = futures::future::join_all(
            order
                .iter()
                .map(|sentinel| self.ask(settings, sentinel, master_name, timeout)),
        )
        .await;
        answers
            .into_iter()
            .filter_map(|answer| answer.ok().flatten())
            .collect()
    }
}

async fn query(
    mut conn: MultiplexedConnection,
    master_name: &str,
    timeout: Duration,
) -> RedisResult<Option<Addr>> {
    let mut query = redis::cmd("SENTINEL");
    query.arg("get-master-addr-by-name").arg(master_name);
    conn::within(timeout, query.query_async(&mut conn)).await
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// What a sentinel event means for us.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    Switch { old: Addr, new: Addr },
    FailoverStarted,
    FailoverEnded,
}

/// Reads a sentinel event about `master_name`; other masters' events give `None`.
///
/// Payloads: `+switch-master <name> <old-ip> <old-port> <new-ip> <new-port>`;
/// others are `master <name> <ip> <port> ...` or
/// `slave <id> <ip> <port> @ <name> <master-ip> <master-port>`.
pub fn parse_event(channel: &str, payload: &str, master_name: &str) -> Option<Event> {
    let words: Vec<&str> = payload.split_whitespace().collect();
    if channel == "+switch-master" {
        let [name, old_ip, old_port, new_ip, new_port] = words[..] else {
            return None;
        };
        if name != master_name {
            return None;
        }
        let old = (old_ip.to_owned(), old_port.parse().ok()?);
        let new = (new_ip.to_owned(), new_port.parse().ok()?);
        return Some(Event::Switch { old, new });
    }
    if !is_about(&words, master_name) {
        return None;
    }
    let started = matches!(
        channel,
        "+try-failover" | "+elected-leader" | "+selected-slave" | "+promoted-slave"
    ) || channel.starts_with("+failover-state-");
    if started {
        Some(Event::FailoverStarted)
    } else if channel.starts_with("-failover-abort") || channel == "+failover-end-for-timeout" {
        Some(Event::FailoverEnded)
    } else {
        None
    }
}

/// Whether a sentinel event's payload (`master <name> ...`, or
/// `... @ <name> ...` for a replica or sentinel of it) names `master_name`.
fn is_about(words: &[&str], master_name: &str) -> bool {
    let name = match words.iter().position(|w| *w == "@") {
        Some(at) => words.get(at + 1),
        None if words.first() == Some(&"master") => words.get(1),
        None => None,
    };
    name == Some(&master_name)
}

/// Whether an event belongs in the status page's timeline: a step of the
/// failover machinery about our master (not the discovery of replicas and
/// sentinels, which every sentinel repeats, nor their gossip).
pub fn is_timeline_event(channel: &str, payload: &str, master_name: &str) -> bool {
    let words: Vec<&str> = payload.split_whitespace().collect();
    if channel == "+switch-master" {
        return words.first() == Some(&master_name);
    }
    let noise = [
        "+sentinel",
        "+slave",
        "+fix-slave-config",
        "+reboot",
        "+role-change",
    ];
    (channel.starts_with('+') || channel.starts_with('-'))
        && !noise.contains(&channel)
        && is_about(&words, master_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_events_that_matter() {
        assert_eq!(
            parse_event(
                "+switch-master",
                "mymaster 127.0.0.1 1 127.0.0.1 2",
                "mymaster"
            ),
            Some(Event::Switch {
                old: ("127.0.0.1".into(), 1),
                new: ("127.0.0.1".into(), 2)
            })
        );
        assert_eq!(
            parse_event(
                "+switch-master",
                "other 127.0.0.1 1 127.0.0.1 2",
                "mymaster"
            ),
            None
        );
        assert_eq!(
            parse_event("+try-failover", "master mymaster 127.0.0.1 1", "mymaster"),
            Some(Event::FailoverStarted)
        );
        assert_eq!(
            parse_event(
                "+promoted-slave",
                "slave 127.0.0.1:2 127.0.0.1 2 @ mymaster 127.0.0.1 1",
                "mymaster"
            ),
            Some(Event::FailoverStarted)
        );
        assert_eq!(
            parse_event(
                "-failover-abort-not-elected",
                "master mymaster 127.0.0.1 1",
                "mymaster"
            ),
            Some(Event::FailoverEnded)
        );
        assert_eq!(
            parse_event("+sdown", "master mymaster 127.0.0.1 1", "mymaster"),
            None
        );
    }
}
