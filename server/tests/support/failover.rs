//! One write-load harness for failover tests: stores write steadily while the
//! master changes, and afterwards every acknowledged write is looked for on the
//! master the sentinels settled on.

use super::{data_conn, wait_replica_in_sync, AppSide, Options, StoreSettings, Topology};
use crate::contract::{self, Writes};
use server::store::redis::{RedisSettings, RedisStore};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use testkit::load::{Pace, Report, Writers};

/// A store, with `RUST_LOG=server=debug` showing what it does (failovers, retries).
pub async fn store(settings: RedisSettings) -> RedisStore {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    RedisStore::connect(settings).await.expect("store connects")
}

/// Two writers on `store`, each upserting a new ID every 2 ms.
fn write_steadily(label: &str, store: Arc<RedisStore>) -> Writers {
    let pace = Pace {
        writers: 2,
        every: Duration::from_millis(2),
        at_most: Duration::from_secs(120),
    };
    Writers::start(label, pace, move |id| {
        let store = store.clone();
        async move {
            let customer = contract::customer(&id, "First", "Last");
            store
                .upsert(&customer)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    })
}

/// Acknowledged IDs missing from the prefix's records on the master at `port`.
async fn lost(port: u16, prefix: &str, report: &Report) -> usize {
    let mut admin = data_conn(port).await.unwrap();
    let stored: HashSet<String> = redis::cmd("HKEYS")
        .arg(format!("{prefix}records"))
        .query_async(&mut admin)
        .await
        .unwrap();
    report
        .acked_ids()
        .filter(|id| !stored.contains(*id))
        .count()
}

#[derive(Clone, Copy, Debug)]
pub enum Disruption {
    SentinelFailover,
    KillMaster,
    /// The master cut off (see [`Topology::partition`]) until the sentinels have
    /// promoted a replica, then the network healed and the old master left to
    /// rejoin as a replica (needs `Network::Split`).
    Partition(AppSide),
}

/// What one store saw through a disruption.
pub struct Outcome {
    /// The key prefix, which names the store: `plain:` (`min_replicas_ack` 0) or
    /// `acked:` (1).
    pub prefix: &'static str,
    pub writes: usize,
    pub errors: Vec<String>,
    /// Acknowledged writes the settled master does not have.
    pub lost: usize,
    pub longest_request: Duration,
}

/// Two stores (without and with `min_replicas_ack = 1`) write steadily while the
/// master changes; returns what each saw.
pub async fn writes_through(disruption: Disruption, options: Options) -> Vec<Outcome> {
    let mut topology = Topology::start(options).await;
    let mut stores = Vec::new();
    for (prefix, acks) in [("plain:", 0), ("acked:", 1)] {
        // As a user with only the rights the README lists.
        let mut settings = topology.narrow_settings(prefix).await;
        settings.min_replicas_ack = acks;
        settings.request_deadline = Duration::from_secs(20);
        stores.push((prefix, Arc::new(store(settings).await)));
    }
    let writers: Vec<Writers> = stores
        .iter()
        .map(|(prefix, store)| write_steadily(prefix, store.clone()))
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let old = topology.master_port().await.unwrap();
    match disruption {
        Disruption::SentinelFailover => topology.failover().await,
        Disruption::KillMaster => topology.kill_data(old),
        Disruption::Partition(app) => topology.partition(app),
    }
    // The sentinels act only after down-after (Redis's default is 30 s).
    let promotion_within =
        Duration::from_millis(topology.down_after_ms()) + Duration::from_secs(30);
    let new = topology.wait_new_master(old, promotion_within).await;
    if let Disruption::Partition(_) = disruption {
        // The old master goes on taking what reaches it a little longer, then it
        // hears of the new one, and drops what it took since to become its replica.
        tokio::time::sleep(Duration::from_millis(500)).await;
        topology.heal();
        wait_replica_in_sync(old, Duration::from_secs(30)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let mut reports = Vec::new();
    for writers in writers {
        reports.push(writers.finish().await);
    }
    let mut results = Vec::new();
    for ((prefix, store), report) in stores.iter().zip(reports) {
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
        let lost = lost(settled, prefix, &report).await;
        report.print(&format!("{disruption:?}"), Some(lost));
        results.push(Outcome {
            prefix,
            writes: report.acks.len(),
            errors: report.errors,
            lost,
            longest_request: report.longest_request,
        });
    }
    results
}
