//! What a store says about itself for the status page: its kind, and for a
//! replicated store its nodes as it sees them now and the latest events of
//! its failover machinery. Plain data: the store fills it, the UI shows it.

use serde::{Deserialize, Serialize};

/// Events kept for the timeline, newest last.
pub const EVENTS_KEPT: usize = 100;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreStatus {
    /// What the store is, in words ("Embedded file store", "Redis via Sentinel").
    pub kind: String,
    /// The node writes go to, if the store has one and knows it.
    pub master: Option<String>,
    pub replicas: Vec<ReplicaStatus>,
    /// The processes that watch the master and elect a new one.
    pub sentinels: Vec<SentinelStatus>,
    pub events: Vec<StoreEvent>,
    /// Why part of this could not be read (a node did not answer), if it could not.
    pub problem: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaStatus {
    pub address: String,
    /// As the master says (`online`, `wait_bgsave`, ...).
    pub state: String,
    /// Bytes of the master's replication stream it has yet to acknowledge.
    pub behind_bytes: u64,
    /// Seconds since it last acknowledged.
    pub last_ack_seconds: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentinelStatus {
    pub address: String,
    /// The master it names; `None` if it did not answer or does not know it.
    pub names_master: Option<String>,
    pub reachable: bool,
}

/// One event of the failover machinery, as the sentinels published it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreEvent {
    /// Milliseconds since the Unix epoch when it was first seen.
    pub at_ms: u64,
    /// The event (`+try-failover`, `+promoted-slave`, `+switch-master`, ...).
    pub name: String,
    pub detail: String,
    /// How many sentinels published it (each publishes what it sees).
    pub seen_by: u32,
}
