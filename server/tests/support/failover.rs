//! One write-load harness for failover tests: stores write steadily while the
//! master changes, and afterwards every acknowledged write is looked for on the
//! master the sentinels settled on.

use super::{data_conn, Options, Topology};
use crate::contract::{self, Writes};
use server::store::redis::{RedisSettings, RedisStore};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A store, with `RUST_LOG=server=debug` showing what it does (failovers, retries).
pub async fn store(settings: RedisSettings) -> RedisStore {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    RedisStore::connect(settings).await.expect("store connects")
}

/// What a writer saw during a failover.
#[derive(Default)]
struct Load {
    acked: Vec<String>,
    errors: Vec<String>,
    longest: Duration,
}

/// Upserts new IDs one after the other until `stop`.
async fn write_steadily(store: Arc<RedisStore>, tag: String, stop: Arc<AtomicBool>) -> Load {
    let mut load = Load::default();
    let mut n = 0;
    while !stop.load(Ordering::SeqCst) {
        let id = format!("{tag}-{n:06}");
        n += 1;
        let started = Instant::now();
        match store
            .upsert(&contract::customer(&id, "First", "Last"))
            .await
        {
            Ok(_) => load.acked.push(id),
            Err(e) => load.errors.push(e.to_string()),
        }
        load.longest = load.longest.max(started.elapsed());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    load
}

/// Acknowledged IDs missing from the prefix's records on the master at `port`.
async fn lost(port: u16, prefix: &str, acked: &[String]) -> usize {
    let mut admin = data_conn(port).await.unwrap();
    let stored: HashSet<String> = redis::cmd("HKEYS")
        .arg(format!("{prefix}records"))
        .query_async(&mut admin)
        .await
        .unwrap();
    let ids: usize = redis::cmd("ZCARD")
        .arg(format!("{prefix}ids"))
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(ids, stored.len(), "the ID index matches the records");
    acked.iter().filter(|id| !stored.contains(*id)).count()
}

#[derive(Clone, Copy, Debug)]
pub enum Disruption {
    SentinelFailover,
    KillMaster,
}

/// Two stores (without and with `min_replicas_ack = 1`) write steadily while the
/// master changes; returns per store (writes, errors, lost, longest stall).
pub async fn writes_through(
    disruption: Disruption,
    options: Options,
) -> Vec<(&'static str, usize, Vec<String>, usize, Duration)> {
    let mut topology = Topology::start(options).await;
    let mut stores = Vec::new();
    for (prefix, acks) in [("plain:", 0), ("acked:", 1)] {
        // As a user with only the rights the README lists.
        let mut settings = topology.narrow_settings(prefix).await;
        settings.min_replicas_ack = acks;
        settings.request_deadline = Duration::from_secs(20);
        stores.push((prefix, Arc::new(store(settings).await)));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for (prefix, store) in &stores {
        for w in 0..2 {
            let load = write_steadily(store.clone(), format!("{prefix}{w}"), stop.clone());
            writers.push((*prefix, tokio::spawn(load)));
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let old = topology.master_port().await.unwrap();
    match disruption {
        Disruption::SentinelFailover => topology.failover().await,
        Disruption::KillMaster => topology.kill_data(old),
    }
    let new = topology.wait_new_master(old, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);

    let mut results = Vec::new();
    for (prefix, store) in &stores {
        let (mut acked, mut errors, mut longest) = (Vec::new(), Vec::new(), Duration::ZERO);
        for (_, writer) in writers.iter_mut().filter(|(p, _)| p == prefix) {
            let load = writer.await.unwrap();
            acked.extend(load.acked);
            errors.extend(load.errors);
            longest = longest.max(load.longest);
        }
        // The store follows the sentinels' settled choice (within a few polls). Under
        // load they may have failed over a second time since `new` was named: compare
        // with what they name now.
        let following = async {
            loop {
                if let Some(port) = topology.agreed_master().await {
                    if store.master_addr() == Some(topology.addr_of(port)) {
                        return port;
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        let Ok(settled) = tokio::time::timeout(Duration::from_secs(10), following).await else {
            panic!(
                "{prefix}: store uses {:?}, sentinels name {:?} (first promoted: {new})",
                store.master_addr(),
                topology.agreed_master().await
            );
        };
        let lost = lost(settled, prefix, &acked).await;
        println!(
            "{prefix} {} writes, {} errors, {lost} lost, longest stall {} ms",
            acked.len(),
            errors.len(),
            longest.as_millis()
        );
        results.push((*prefix, acked.len(), errors, lost, longest));
    }
    results
}
