//! The background tasks that keep the tracker current: one subscription per
//! sentinel relaying its events, and a poll as a backstop for events missed while
//! a subscription was down. Each holds the tracker weakly and ends with it.

use super::conn::{self, show, Addr};
use super::master::Tracker;
use super::retry::Backoff;
use super::sentinel::{is_timeline_event, parse_event, Event};
use super::settings::RedisSettings;
use redis::RedisResult;
use std::sync::Weak;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often the master is re-checked when no event arrives.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// How often an idle subscription is pinged, to notice a sentinel that hangs.
const PING_EVERY: Duration = Duration::from_secs(5);

/// Listens to one sentinel's events for as long as the tracker lives, reconnecting
/// with backoff when the sentinel goes away. `ready` gets a message once subscribed.
pub async fn listen(tracker: Weak<Tracker>, sentinel: Addr, ready: mpsc::Sender<()>) {
    let mut backoff = Backoff::new();
    loop {
        let Some(strong) = tracker.upgrade() else {
            return;
        };
        let settings = strong.settings.clone();
        let timeout = strong.sentinel_timeout();
        drop(strong);
        match subscribe(&settings, &sentinel, timeout).await {
            Ok(subscription) => {
                let _ = ready.try_send(());
                backoff = Backoff::new();
                if !relay(&tracker, &sentinel, subscription).await {
                    return;
                }
                tracing::debug!(sentinel = %show(&sentinel), "sentinel subscription ended");
            }
            Err(e) => tracing::debug!(sentinel = %show(&sentinel), error = %e, "cannot subscribe"),
        }
        // Slow retries for a sentinel that is down: at most every ~2 s.
        let delay = backoff.next_delay() * 4;
        tokio::time::sleep(delay).await;
    }
}

/// A subscription to every channel of one sentinel: the connection (for pings)
/// and its pushes.
type Subscription = (
    redis::aio::MultiplexedConnection,
    mpsc::UnboundedReceiver<redis::PushInfo>,
);

async fn subscribe(
    settings: &RedisSettings,
    sentinel: &Addr,
    timeout: Duration,
) -> RedisResult<Subscription> {
    let endpoint = conn::sentinel(settings, sentinel)?;
    let (mut conn, pushes) = conn::open_subscriber(&endpoint, timeout).await?;
    // Everything: the event names we need vary a little between Redis versions,
    // and sentinels publish few events.
    conn::within(timeout, conn.psubscribe("*")).await?;
    Ok((conn, pushes))
}

/// Passes events to the tracker until the subscription breaks (`true`) or the
/// tracker is gone (`false`).
async fn relay(
    tracker: &Weak<Tracker>,
    sentinel: &Addr,
    (mut conn, mut pushes): Subscription,
) -> bool {
    let name = show(sentinel);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        tokio::select! {
            push = pushes.recv() => {
                let Some(push) = push else { return true };
                let Some((channel, payload)) = published(push) else { return true };
                let Some(tracker) = tracker.upgrade() else { return false };
                let Some(master_name) = tracker.master_name() else { return false };
                if is_timeline_event(&channel, &payload, master_name) {
                    tracker.events.record(&channel, &payload);
                }
                match parse_event(&channel, &payload, master_name) {
                    Some(Event::Switch { old, new }) => {
                        let map = &tracker.settings.address_map;
                        tracker.on_switch_master(map.reachable(old), map.reachable(new))
                    }
                    Some(Event::FailoverStarted) => tracker.on_failover_started(&name),
                    Some(Event::FailoverEnded) => tracker.on_failover_ended(&name),
                    None => {}
                }
            }
            _ = ping.tick() => {
                let Some(strong) = tracker.upgrade() else { return false };
                let timeout = strong.sentinel_timeout();
                drop(strong);
                let ping = redis::cmd("PING");
                if conn::within(timeout, ping.query_async::<redis::Value>(&mut conn)).await.is_err() {
                    return true;
                }
            }
        }
    }
}

/// The channel and payload of a published message; `None` when the connection
/// dropped. Other pushes (the subscription's confirmation) give empty strings,
/// which name no event.
fn published(push: redis::PushInfo) -> Option<(String, String)> {
    use redis::PushKind;
    let text = |value: Option<&redis::Value>| {
        value
            .and_then(|v| redis::from_redis_value_ref::<String>(v).ok())
            .unwrap_or_default()
    };
    match push.kind {
        PushKind::Disconnection => None,
        // pattern, channel, payload
        PushKind::PMessage => Some((text(push.data.get(1)), text(push.data.get(2)))),
        PushKind::Message => Some((text(push.data.first()), text(push.data.get(1)))),
        _ => Some((String::new(), String::new())),
    }
}

/// Re-checks the master every [`POLL_EVERY`] for as long as the tracker lives.
pub async fn poll(tracker: Weak<Tracker>) {
    loop {
        tokio::time::sleep(POLL_EVERY).await;
        let Some(tracker) = tracker.upgrade() else {
            return;
        };
        tracker.check().await;
    }
}
