//! Network partitions, Jepsen-style on one machine: the master is cut off from its
//! replicas and sentinels (network namespaces and a router, `Network::Split`) for
//! longer than `down-after-milliseconds`, the sentinels promote a replica, the
//! network heals and the old master rejoins as a replica, dropping what it took
//! meanwhile. Two stores write throughout, one acknowledging a write once the
//! master has it (`min_replicas_ack` 0), one once a replica has it too (1).
//!
//! The two tests here are the short version that runs with every test command;
//! `partition_matrix` (ignored; `scripts/partition-matrix.sh` runs it) measures
//! every case that `RELIABILITY.md` publishes.

#[allow(dead_code)] // the write harness uses its `customer`; the cases are elsewhere
mod contract;
mod support;

use std::fmt::Write as _;
use support::{writes_through, AppSide, Disruption, Network, Options, Outcome};

fn split(down_after_ms: u64, data_conf: &str) -> Options {
    Options {
        network: Network::Split,
        down_after_ms,
        data_conf: data_conf.to_owned(),
        ..Options::full()
    }
}

fn outcome<'a>(outcomes: &'a [Outcome], prefix: &str) -> &'a Outcome {
    outcomes.iter().find(|o| o.prefix == prefix).expect(prefix)
}

/// The application still reaches the old master, which goes on acknowledging
/// writes until the store hears of the promotion: with `min_replicas_ack` 0 those
/// are lost when it rejoins; with 1 none is, as no replica confirms them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_with_the_app_beside_the_old_master() {
    let outcomes = writes_through(
        Disruption::Partition(AppSide::WithOldMaster),
        split(1000, ""),
    )
    .await;
    let (plain, acked) = (outcome(&outcomes, "plain:"), outcome(&outcomes, "acked:"));
    assert!(
        plain.writes > 100 && acked.writes > 100,
        "both kept writing"
    );
    assert!(
        plain.lost > 0,
        "the old master acknowledged writes for the down-after time, and they went \
         when it rejoined: a harness that finds none lost here cannot find any"
    );
    assert_eq!(acked.lost, 0, "a write a replica confirmed survives");
    assert_eq!(acked.errors, Vec::<String>::new(), "acked: no error");
}

/// The application is cut off from the old master as the sentinels are: writes
/// pause until the promotion; with `min_replicas_ack` 1 none acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_with_the_app_beside_the_majority() {
    let outcomes = writes_through(
        Disruption::Partition(AppSide::WithMajority),
        split(1000, ""),
    )
    .await;
    for outcome in &outcomes {
        assert!(outcome.writes > 100, "{} kept writing", outcome.prefix);
    }
    let acked = outcome(&outcomes, "acked:");
    assert_eq!(acked.lost, 0, "a write a replica confirmed survives");
    assert_eq!(acked.errors, Vec::<String>::new(), "acked: no error");
}

/// The servers' settings the matrix compares, as (name, configuration lines).
const SERVER_SETTINGS: &[(&str, &str)] = &[
    ("none (Redis default)", ""),
    (
        "`min-replicas-to-write 1`, `min-replicas-max-lag 10` (default lag)",
        "min-replicas-to-write 1\nmin-replicas-max-lag 10\n",
    ),
    (
        "`min-replicas-to-write 1`, `min-replicas-max-lag 1`",
        "min-replicas-to-write 1\nmin-replicas-max-lag 1\n",
    ),
];

/// One store's figures over the repetitions of one case.
#[derive(Default)]
struct Totals {
    writes: usize,
    errors: usize,
    longest_request: std::time::Duration,
    /// Acknowledged writes lost, per repetition.
    lost: Vec<usize>,
}

/// Every case `RELIABILITY.md` publishes, `PARTITION_REPEAT` times (default 3),
/// printed as the rows of its table (lines starting `| `).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes long; scripts/partition-matrix.sh runs it"]
async fn partition_matrix() {
    let repeat: usize = std::env::var("PARTITION_REPEAT")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let down_after_ms = std::env::var("PARTITION_DOWN_AFTER_MS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2000);
    let mut rows = String::new();
    for app in [AppSide::WithOldMaster, AppSide::WithMajority] {
        for (settings, conf) in SERVER_SETTINGS {
            let mut totals: [Totals; 2] = Default::default();
            for _ in 0..repeat {
                let outcomes =
                    writes_through(Disruption::Partition(app), split(down_after_ms, conf)).await;
                for (total, prefix) in totals.iter_mut().zip(["plain:", "acked:"]) {
                    let seen = outcome(&outcomes, prefix);
                    total.writes += seen.writes;
                    total.errors += seen.errors.len();
                    total.lost.push(seen.lost);
                    total.longest_request = total.longest_request.max(seen.longest_request);
                }
            }
            for (acks, total) in [0, 1].iter().zip(&totals) {
                let app = match app {
                    AppSide::WithOldMaster => "with the old master",
                    AppSide::WithMajority => "with the majority",
                };
                let each: Vec<String> = total.lost.iter().map(|n| n.to_string()).collect();
                writeln!(
                    rows,
                    "| {app} | {settings} | {acks} | {} | {} | {} ms | {} ({}) |",
                    total.writes,
                    total.errors,
                    total.longest_request.as_millis(),
                    total.lost.iter().sum::<usize>(),
                    each.join(", ")
                )
                .unwrap();
            }
        }
    }
    println!("partition matrix, down-after {down_after_ms} ms, repetitions: {repeat}:\n{rows}");
}
