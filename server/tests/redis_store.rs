//! The Redis store against real `redis-server` and `redis-sentinel` processes:
//! the store contract, foreign keys, failovers, sentinel outages, connect errors
//! and the legacy migration.

mod contract;
mod support;

use contract::Writes;

use app::domain::{Cursor, Customer, CustomerStore, Freshness, PageQuery, StoreError};
use server::store::redis::{ConnectError, RedisSettings, RedisStore};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::{
    data_conn, free_ports, store, wait_for, writes_through, Disruption, Network, Options, Outcome,
    StoreSettings, Topology,
};

fn customer(id: &str) -> Customer {
    contract::customer(id, "First", "Last")
}

/// Every contract case on its own light topology; each fresh store gets its own prefix.
struct RedisHarness {
    topology: tokio::sync::OnceCell<Topology>,
    latest: Mutex<Option<String>>,
    stores: AtomicUsize,
}

impl RedisHarness {
    fn new() -> Self {
        Self {
            topology: tokio::sync::OnceCell::new(),
            latest: Mutex::new(None),
            stores: AtomicUsize::new(0),
        }
    }

    async fn open(&self, prefix: &str) -> Arc<dyn CustomerStore> {
        let topology = self
            .topology
            .get_or_init(|| Topology::start(Options::light()))
            .await;
        // Every case as a user with only the rights the README lists (`~contract*`
        // covers each case's own prefix).
        Arc::new(store(topology.narrow_settings(prefix).await).await)
    }
}

impl contract::Harness for RedisHarness {
    async fn fresh(&self) -> Arc<dyn CustomerStore> {
        let prefix = format!("contract{}:", self.stores.fetch_add(1, Ordering::SeqCst));
        *self.latest.lock().unwrap() = Some(prefix.clone());
        self.open(&prefix).await
    }

    async fn reopen(&self, previous: Arc<dyn CustomerStore>) -> Arc<dyn CustomerStore> {
        drop(previous);
        let prefix = self
            .latest
            .lock()
            .unwrap()
            .clone()
            .expect("a fresh store first");
        self.open(&prefix).await
    }
}

store_contract_tests!(RedisHarness::new());

fn ids(page: &app::domain::Page) -> Vec<&str> {
    page.customers.iter().map(|c| c.id.as_str()).collect()
}

async fn list(
    store: &RedisStore,
    search: Option<&str>,
    cursor: Cursor,
    limit: usize,
) -> app::domain::Page {
    store
        .list(&PageQuery::new(search, cursor, limit), Freshness::Latest)
        .await
        .expect("list")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_keys_change_nothing() {
    let topology = Topology::start(Options::light()).await;
    let mut admin = data_conn(topology.data_ports()[0]).await.unwrap();
    let legacy = r#"{"customerID":"a","firstName":"Legacy","lastName":"Baker"}"#;
    redis::pipe()
        .cmd("SET")
        .arg("a")
        .arg(legacy)
        .cmd("SET")
        .arg("customers")
        .arg("not ours")
        .cmd("HSET")
        .arg("records")
        .arg("b")
        .arg(legacy)
        .cmd("HSET")
        .arg("ids")
        .arg("zz")
        .arg("x")
        .cmd("RPUSH")
        .arg("list")
        .arg("baker")
        .cmd("ZADD")
        .arg("zset")
        .arg(0)
        .arg("a")
        .cmd("SADD")
        .arg("set")
        .arg("baker")
        .exec_async(&mut admin)
        .await
        .unwrap();

    let ours = store(topology.settings("customers:")).await;
    let theirs = store(topology.settings("other:")).await;
    theirs
        .upsert(&contract::customer("a", "Other", "Baker"))
        .await
        .unwrap();
    ours.upsert(&contract::customer("b", "Bea", "Baker"))
        .await
        .unwrap();
    ours.upsert(&contract::customer("c", "Cy", "Smith"))
        .await
        .unwrap();

    assert_eq!(ours.count().await.unwrap(), 2);
    assert_eq!(ids(&list(&ours, None, Cursor::Start, 10).await), ["b", "c"]);
    let found = list(&ours, Some("baker"), Cursor::Start, 10).await;
    assert_eq!((ids(&found), found.total), (vec!["b"], 1));
    assert_eq!(
        ours.get("a", Freshness::Latest).await.unwrap(),
        None,
        "a legacy key is not a customer of the store"
    );
    assert!(!ours.delete("a").await.unwrap());
    assert_eq!(theirs.count().await.unwrap(), 1);

    let still: (String, String, i64) = redis::pipe()
        .cmd("GET")
        .arg("a")
        .cmd("GET")
        .arg("customers")
        .cmd("LLEN")
        .arg("list")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(still, (legacy.to_owned(), "not ours".to_owned(), 1));
}

/// A record under the prefix that is not a customer (written by hand) is an
/// error for every read, including the one that sends records on as stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_record_that_is_not_a_customer_is_never_sent_on() {
    let topology = Topology::start(Options::light()).await;
    let mut admin = data_conn(topology.data_ports()[0]).await.unwrap();
    let ours = store(topology.settings("customers:")).await;
    ours.upsert(&contract::customer("good", "Ann", "Baker"))
        .await
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg("customers:records")
        .arg("not-json")
        .arg("<html>")
        .arg("not-a-customer")
        .arg(r#"{"customerID":1,"firstName":"A","lastName":"B"}"#)
        .query_async(&mut admin)
        .await
        .unwrap();
    for id in ["not-json", "not-a-customer"] {
        assert!(ours.find(id, Freshness::Latest).await.is_err(), "{id}");
        assert!(ours.find_json(id, Freshness::Latest).await.is_err(), "{id}");
    }
    let good = ours.find_json("good", Freshness::Latest).await.unwrap();
    assert_eq!(
        good.unwrap().json,
        r#"{"customerID":"good","firstName":"Ann","lastName":"Baker"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_and_pages_over_several_scan_batches() {
    let topology = Topology::start(Options::light()).await;
    let store = Arc::new(store(topology.settings("big:")).await);
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in (w..2500).step_by(4) {
                    let c = contract::customer(&format!("id{i:04}"), &format!("N{}", i % 7), "L");
                    store.upsert(&c).await.unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(store.count().await.unwrap(), 2500);
    let expected: Vec<String> = (0..2500)
        .filter(|i| i % 7 == 3)
        .map(|i| format!("id{i:04}"))
        .collect();
    let page = list(&store, Some("n3"), Cursor::Start, 1000).await;
    assert_eq!(page.total, expected.len() as u64);
    assert_eq!(ids(&page), expected);
    let before = list(&store, Some("n3"), Cursor::Before("id0100".into()), 3).await;
    assert_eq!(ids(&before), ["id0080", "id0087", "id0094"]);
    let last = list(&store, None, Cursor::After("id2497".into()), 5).await;
    assert_eq!(
        (ids(&last), last.after.as_deref()),
        (vec!["id2498", "id2499"], None)
    );
}

/// A full topology whose sentinels have an ACL user with only the rights the
/// README lists, which the store signs in as.
fn with_sentinel_user() -> Options {
    Options {
        sentinel_user: Some(support::SENTINEL_USER),
        ..Options::full()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_failover_during_writes_surfaces_no_error_and_loses_nothing() {
    for Outcome {
        prefix,
        writes,
        errors,
        lost,
        ..
    } in writes_through(Disruption::SentinelFailover, with_sentinel_user()).await
    {
        assert!(writes > 100, "{prefix} kept writing");
        assert_eq!(
            errors,
            Vec::<String>::new(),
            "{prefix}: no error (no READONLY) surfaces"
        );
        assert_eq!(
            lost, 0,
            "{prefix}: writes pause during the failover, so none is lost"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_killed_during_writes_surfaces_no_error() {
    for Outcome {
        prefix,
        writes,
        errors,
        lost,
        ..
    } in writes_through(Disruption::KillMaster, with_sentinel_user()).await
    {
        assert!(writes > 100, "{prefix} kept writing");
        assert_eq!(
            errors,
            Vec::<String>::new(),
            "{prefix}: no error within the deadline"
        );
        if prefix == "acked:" {
            assert_eq!(lost, 0, "every write confirmed by a replica survives");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_outages() {
    let mut topology = Topology::start(Options {
        replicas: 1,
        ..Options::full()
    })
    .await;
    let old = topology.data_ports()[0];

    // One sentinel down: connecting and serving still work.
    topology.stop_sentinel(0);
    let mut settings = topology.settings("outage:");
    settings.request_deadline = Duration::from_secs(2);
    let store = store(settings).await;
    store.upsert(&customer("one")).await.unwrap();

    // All sentinels down, master healthy: still serving, even after losing the connection.
    topology.stop_all_sentinels();
    store.upsert(&customer("two")).await.unwrap();
    let mut admin = data_conn(old).await.unwrap();
    let _: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .query_async(&mut admin)
        .await
        .unwrap();
    store.upsert(&customer("three")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await; // a poll round without sentinels
    assert_eq!(store.count().await.unwrap(), 3);

    // All sentinels down and the master killed: Unavailable within the deadline.
    topology.kill_data(old);
    let started = Instant::now();
    let error = store.upsert(&customer("four")).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error}");
    assert!(took < Duration::from_millis(2500), "gave up after {took:?}");
    assert!(matches!(
        store.get("one", Freshness::Latest).await,
        Err(StoreError::Unavailable(_))
    ));
    println!(
        "with nothing reachable: {error} (after {} ms)",
        took.as_millis()
    );

    // The sentinels return and promote the replica: the same store recovers.
    topology.start_all_sentinels().await;
    let new = topology.wait_new_master(old, Duration::from_secs(40)).await;
    let recovering = &store;
    wait_for(
        Duration::from_secs(10),
        "the store to recover",
        || async move { recovering.upsert(&customer("five")).await.ok() },
    )
    .await;
    assert_eq!(store.master_addr(), Some(format!("127.0.0.1:{new}")));
    assert!(store
        .get("three", Freshness::Latest)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_errors_say_what_is_wrong() {
    let topology = Topology::start(Options::light()).await;
    let connect = |settings: RedisSettings| async move {
        RedisStore::connect(settings)
            .await
            .err()
            .expect("connect fails")
    };

    let mut wrong = topology.settings("x:");
    wrong.password = Some("wrong".into());
    let error = connect(wrong).await;
    assert!(
        matches!(&error, ConnectError::WrongPassword { server, .. } if server.starts_with("redis ")),
        "{error}"
    );
    println!("{error}");

    let mut missing = topology.settings("x:");
    missing.password = None;
    let error = connect(missing).await;
    assert!(
        matches!(error, ConnectError::WrongPassword { .. }),
        "{error}"
    );

    let mut sentinel_password = topology.settings("x:");
    sentinel_password.sentinel_password = Some("unexpected".into());
    let error = connect(sentinel_password).await;
    assert!(
        matches!(&error, ConnectError::WrongPassword { server, .. } if server.starts_with("sentinel ")),
        "{error}"
    );

    let mut unknown = topology.settings("x:");
    unknown.target = server::store::redis::RedisTarget::Sentinel {
        sentinels: topology.sentinel_addrs(),
        master_name: "nosuchmaster".into(),
    };
    let error = connect(unknown).await;
    assert!(
        matches!(error, ConnectError::UnknownMasterName { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("\"nosuchmaster\""), "{error}");
    println!("{error}");

    let nobody: Vec<(String, u16)> = free_ports(2)
        .into_iter()
        .map(|p| ("127.0.0.1".into(), p))
        .collect();
    let mut unreachable = RedisSettings::sentinel(nobody.clone(), "mymaster");
    unreachable.command_timeout = Duration::from_millis(300);
    let error = connect(unreachable).await;
    assert!(
        matches!(error, ConnectError::NoSentinelReachable { .. }),
        "{error}"
    );
    for (host, port) in &nobody {
        assert!(
            error.to_string().contains(&format!("{host}:{port}")),
            "{error}"
        );
    }
    println!("{error}");

    // And when all is right: the description names sentinels and master; a
    // single-server URL works too.
    let ok = store(topology.settings("x:")).await;
    let master = topology.data_ports()[0];
    let sentinel = topology.sentinel_addrs()[0].1;
    assert_eq!(
        ok.describe(),
        format!("redis via sentinel mymaster at 127.0.0.1:{sentinel} (master 127.0.0.1:{master})")
    );
    let mut single = RedisSettings::single(format!("redis://127.0.0.1:{master}/"));
    single.password = Some(support::PASSWORD.into());
    let single = store(single).await;
    single.upsert(&customer("s")).await.unwrap();
    assert_eq!(
        single.describe(),
        format!("redis at 127.0.0.1:{master} db 0")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_legacy_imports_bare_customer_keys_once() {
    let topology = Topology::start(Options::light()).await;
    let mut admin = data_conn(topology.data_ports()[0]).await.unwrap();
    let json = |id: &str, first: &str, last: &str| {
        serde_json::json!({"customerID": id, "firstName": first, "lastName": last}).to_string()
    };
    redis::pipe()
        .cmd("SET")
        .arg("a")
        .arg(json("a", "James", "Baker"))
        .cmd("SET")
        .arg("b")
        .arg(json("b", "  Jonathan ", "D"))
        .cmd("SET")
        .arg("école")
        .arg(json("école", "Élodie", "Ångström"))
        .cmd("SET")
        .arg("c")
        .arg(json("x", "Wrong", "Key"))
        .cmd("SET")
        .arg("d")
        .arg(r#"{"customerID":"d","firstName":"No last name"}"#)
        .cmd("SET")
        .arg("e")
        .arg("plain text")
        .cmd("HSET")
        .arg("f")
        .arg("customerID")
        .arg("f")
        .cmd("SET")
        .arg("customers:stray")
        .arg(json("customers:stray", "Inside", "Prefix"))
        .exec_async(&mut admin)
        .await
        .unwrap();
    let store = store(topology.settings("customers:")).await;

    let report = store.migrate_legacy().await.unwrap();
    println!("{report}");
    assert_eq!((report.imported, report.already_present), (3, 0));
    let skipped: Vec<(&str, &str)> = report
        .skipped
        .iter()
        .map(|s| (s.key.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(skipped.len(), 4, "{skipped:?}");
    assert_eq!(skipped[0], ("c", "customerID \"x\" differs from the key"));
    assert_eq!(skipped[1], ("d", "not a valid customer: lastName required"));
    assert!(skipped[2].0 == "e" && skipped[2].1.starts_with("not JSON"));
    assert_eq!(skipped[3], ("f", "not a string key (hash)"));

    assert_eq!(store.count().await.unwrap(), 3);
    assert_eq!(
        store
            .get("b", Freshness::Latest)
            .await
            .unwrap()
            .unwrap()
            .first_name,
        "Jonathan"
    );
    assert_eq!(
        ids(&list(&store, None, Cursor::Start, 10).await),
        ["a", "b", "école"]
    );
    let legacy: Option<String> = redis::cmd("GET")
        .arg("a")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert!(legacy.is_some(), "legacy keys are kept");

    // Again: nothing new; and a customer edited since is never overwritten.
    store
        .upsert(&contract::customer("a", "Jim", "Baker"))
        .await
        .unwrap();
    let again = store.migrate_legacy().await.unwrap();
    assert_eq!((again.imported, again.already_present), (0, 2));
    assert!(again
        .skipped
        .iter()
        .any(|s| s.key == "a" && s.reason.contains("different customer")));
    assert_eq!(
        store
            .get("a", Freshness::Latest)
            .await
            .unwrap()
            .unwrap()
            .first_name,
        "Jim"
    );
}

/// IDs of every customer matching `needle` (one page of up to 1000).
async fn found(store: &RedisStore, needle: &str) -> Vec<String> {
    let page = list(store, Some(needle), Cursor::Start, 1000).await;
    assert_eq!(page.total as usize, page.customers.len());
    page.customers.into_iter().map(|c| c.id).collect()
}

/// Stream entries as `XRANGE` returns them: ID and fields.
type Entries = Vec<(String, Vec<(String, String)>)>;

/// The last entry of the change stream (`None` when there is no stream).
async fn last_change(
    admin: &mut redis::aio::MultiplexedConnection,
    prefix: &str,
) -> Option<String> {
    let last: Entries = redis::cmd("XREVRANGE")
        .arg(format!("{prefix}changes"))
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(1)
        .query_async(admin)
        .await
        .unwrap();
    last.into_iter().next().map(|(id, _)| id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_sees_writes_of_another_store_at_once() {
    let topology = Topology::start(Options::light()).await;
    let a = store(topology.settings("shared:")).await;
    let b = store(topology.settings("shared:")).await;
    a.upsert(&contract::customer("k1", "Kim", "Quux"))
        .await
        .unwrap();
    assert_eq!(found(&b, "quux").await, ["k1"], "b's first search loads");

    a.upsert(&contract::customer("k2", "Kai", "Quuxley"))
        .await
        .unwrap();
    assert_eq!(found(&b, "quux").await, ["k1", "k2"], "insert");
    a.upsert(&contract::customer("k1", "Kim", "Other"))
        .await
        .unwrap();
    assert_eq!(
        found(&b, "quux").await,
        ["k2"],
        "overwrite drops the old name"
    );
    assert_eq!(
        found(&b, "other").await,
        ["k1"],
        "overwrite finds the new name"
    );
    assert!(a.delete("k2").await.unwrap());
    assert!(found(&b, "quux").await.is_empty(), "delete");
    assert!(!a.delete("k2").await.unwrap());
    assert_eq!(found(&b, "k").await, ["k1"]);
    // And b's own writes, found by a.
    b.upsert(&contract::customer("k3", "Kay", "Quux"))
        .await
        .unwrap();
    assert_eq!(found(&a, "quux").await, ["k3"]);
    assert_eq!(found(&b, "KAY").await, ["k3"]);
}

/// How many entries the stream `key` holds.
async fn stream_len(admin: &mut redis::aio::MultiplexedConnection, key: &str) -> usize {
    redis::cmd("XLEN")
        .arg(key)
        .query_async(admin)
        .await
        .unwrap()
}

/// A batch write (an import's) is one change-stream entry naming each ID it
/// changed; another store's index follows such entries through creates, updates
/// and deletes, beyond the 1,000 IDs one catch-up takes and across entries of
/// single writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_follows_batch_writes_of_another_store() {
    let topology = Topology::start(Options::light()).await;
    let mut admin = data_conn(topology.data_ports()[0]).await.unwrap();
    let a = store(topology.settings("batch:")).await;
    let b = store(topology.settings("batch:")).await;
    let author = app::domain::Author::command("test");
    let total = |page: app::domain::Page| page.total;
    a.upsert(&contract::customer("solo", "Sam", "Single"))
        .await
        .unwrap();
    assert_eq!(
        found(&b, "single").await,
        ["solo"],
        "b's first search loads"
    );
    let before = stream_len(&mut admin, "batch:changes").await;

    let bulk: Vec<Customer> = (0..2500)
        .map(|i| contract::customer(&format!("bulk{i:04}"), "Bea", "Bulk"))
        .collect();
    for batch in bulk.chunks(256) {
        a.put_all(batch, &author).await.unwrap();
    }
    assert_eq!(
        stream_len(&mut admin, "batch:changes").await - before,
        10,
        "an entry per batch"
    );
    assert_eq!(total(list(&b, Some("bulk"), Cursor::Start, 10).await), 2500);

    // One batch renames 300 (one of them twice), a single write and deletes
    // come between, then another batch.
    let mut renamed: Vec<Customer> = (0..300)
        .map(|i| contract::customer(&format!("bulk{i:04}"), "Bea", "Renamed"))
        .collect();
    renamed.push(contract::customer("bulk0000", "Bea", "Twice"));
    a.put_all(&renamed, &author).await.unwrap();
    a.upsert(&contract::customer("solo", "Sam", "Solo"))
        .await
        .unwrap();
    for i in 2400..2500 {
        assert!(a.delete(&format!("bulk{i:04}")).await.unwrap());
    }
    let late: Vec<Customer> = (0..1200)
        .map(|i| contract::customer(&format!("late{i:04}"), "Lee", "Late"))
        .collect();
    a.put_all(&late, &author).await.unwrap();

    // "bulk" is in every bulk ID: all but the 100 deleted.
    assert_eq!(total(list(&b, Some("bulk"), Cursor::Start, 10).await), 2400);
    assert_eq!(
        total(list(&b, Some("renamed"), Cursor::Start, 10).await),
        299
    );
    assert_eq!(found(&b, "twice").await, ["bulk0000"]);
    assert_eq!(found(&b, "solo").await, ["solo"]);
    assert!(found(&b, "single").await.is_empty());
    assert_eq!(total(list(&b, Some("late"), Cursor::Start, 10).await), 1200);
    assert_eq!(
        total(list(&b, None, Cursor::Start, 10).await),
        2500 + 1 - 100 + 1200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_reloads_when_the_stream_was_trimmed_past_it() {
    let topology = Topology::start(Options::light()).await;
    let mut admin = data_conn(topology.data_ports()[0]).await.unwrap();
    let a = store(topology.settings("trim:"))
        .await
        .with_change_log_len(10);
    let b = store(topology.settings("trim:")).await;
    for i in 0..20 {
        a.upsert(&customer(&format!("old{i:03}"))).await.unwrap();
    }
    assert_eq!(found(&b, "old").await.len(), 20);
    let seen_by_b = last_change(&mut admin, "trim:").await.unwrap();

    // Many writes: the stream keeps about 10 of them (whole nodes of 100 are trimmed).
    for i in 0..600 {
        a.upsert(&customer(&format!("new{i:03}"))).await.unwrap();
    }
    for i in 0..20 {
        assert!(a.delete(&format!("old{i:03}")).await.unwrap());
    }
    let (len, first): (usize, Entries) = redis::pipe()
        .cmd("XLEN")
        .arg("trim:changes")
        .cmd("XRANGE")
        .arg("trim:changes")
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async(&mut admin)
        .await
        .unwrap();
    assert!(len < 300, "the stream was trimmed ({len} entries)");
    assert!(
        stream_id(&first[0].0) > stream_id(&seen_by_b),
        "entries b had not seen were trimmed"
    );
    assert!(found(&b, "old").await.is_empty());
    assert_eq!(found(&b, "new").await.len(), 600);
    assert_eq!(b.count().await.unwrap(), 600);
}

fn stream_id(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap();
    (ms.parse().unwrap(), seq.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_reloads_when_the_stream_is_lost_or_set_back() {
    let topology = Topology::start(Options::light()).await;
    let mut admin = data_conn(topology.data_ports()[0]).await.unwrap();
    let a = store(topology.settings("lost:")).await;
    let b = store(topology.settings("lost:")).await;
    let json = |id: &str, last: &str| {
        serde_json::json!({"customerID": id, "firstName": "F", "lastName": last}).to_string()
    };
    // Writes behind the stream's back, so that only a reload can see them.
    let sneak = |id: &'static str, last: &'static str| {
        let mut pipe = redis::pipe();
        pipe.cmd("HSET")
            .arg("lost:records")
            .arg(id)
            .arg(json(id, last));
        pipe
    };

    // Nothing written yet: the first search leaves a marker entry.
    assert!(found(&b, "x").await.is_empty());
    assert!(last_change(&mut admin, "lost:").await.is_some());
    a.upsert(&contract::customer("a1", "Ann", "Xavier"))
        .await
        .unwrap();
    assert_eq!(found(&b, "xavier").await, ["a1"]);

    // The stream deleted, records changed without it.
    let _: () = redis::cmd("DEL")
        .arg("lost:changes")
        .query_async(&mut admin)
        .await
        .unwrap();
    let _: () = sneak("s1", "Xu").query_async(&mut admin).await.unwrap();
    assert_eq!(found(&b, "x").await, ["a1", "s1"], "stream gone: reload");

    // The stream deleted, then a new write starts a new one (after b's entry).
    let _: () = redis::cmd("DEL")
        .arg("lost:changes")
        .query_async(&mut admin)
        .await
        .unwrap();
    let _: () = sneak("s2", "Xi").query_async(&mut admin).await.unwrap();
    a.upsert(&contract::customer("a2", "Al", "Xo"))
        .await
        .unwrap();
    assert_eq!(found(&b, "x").await, ["a1", "a2", "s1", "s2"]);

    // FLUSH and a re-import of fewer customers through the store.
    let _: () = redis::cmd("FLUSHALL")
        .query_async(&mut admin)
        .await
        .unwrap();
    a.upsert(&contract::customer("a3", "Ada", "Xylo"))
        .await
        .unwrap();
    assert_eq!(found(&b, "x").await, ["a3"], "flush: reload");

    // Set back, as after a failover that lost writes: the stream now ends before
    // the entry b saw last.
    let seen_by_b = last_change(&mut admin, "lost:").await.unwrap();
    let _: () = redis::cmd("FLUSHALL")
        .query_async(&mut admin)
        .await
        .unwrap();
    let _: () = sneak("s3", "Xs").query_async(&mut admin).await.unwrap();
    let _: String = redis::cmd("XADD")
        .arg("lost:changes")
        .arg("1-1")
        .arg("id")
        .arg("s3")
        .arg("n")
        .arg("0")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert!(stream_id("1-1") < stream_id(&seen_by_b));
    assert_eq!(found(&b, "x").await, ["s3"], "set back: reload");

    // The same entry ID generated again by another master, for another write:
    // the nonce tells them apart.
    a.upsert(&contract::customer("a4", "Abe", "Xeno"))
        .await
        .unwrap();
    assert_eq!(found(&b, "x").await, ["a4", "s3"]);
    let seen = last_change(&mut admin, "lost:").await.unwrap();
    let _: () = redis::cmd("FLUSHALL")
        .query_async(&mut admin)
        .await
        .unwrap();
    let _: () = sneak("s4", "Xx").query_async(&mut admin).await.unwrap();
    let _: String = redis::cmd("XADD")
        .arg("lost:changes")
        .arg(&seen)
        .arg("id")
        .arg("s4")
        .arg("n")
        .arg("another")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(found(&b, "x").await, ["s4"], "same ID, other nonce: reload");
}

/// Sentinels with ACL users: the store signs in as `REDIS_SENTINEL_USERNAME` and
/// needs no rights on them beyond `SENTINEL_USER_RULES` (the README lists them);
/// the failover tests under writes run as that user too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinels_with_an_acl_user() {
    // One replica: enough for a failover, and lighter on the 2 cores the
    // failover tests share (another topology runs beside this one).
    let topology = Topology::start(Options {
        replicas: 1,
        ..with_sentinel_user()
    })
    .await;
    let settings = topology.settings("acl:");
    assert_eq!(settings.sentinel_username.as_deref(), Some("records"));
    let store = RedisStore::connect(settings.clone())
        .await
        .expect("connects as the sentinels' ACL user");
    store
        .upsert(&contract::customer("a", "Ada", "Before"))
        .await
        .unwrap();
    let old = topology.data_ports()[0];
    topology.failover().await;
    topology.wait_new_master(old, Duration::from_secs(20)).await;
    store
        .upsert(&contract::customer("b", "Bo", "After"))
        .await
        .expect("writes follow the new master, found as the ACL user");
    assert!(store.get("a", Freshness::Latest).await.unwrap().is_some());
    assert!(store.get("b", Freshness::Latest).await.unwrap().is_some());

    // The password alone would be the default user's: refused, and so is a wrong one.
    for (username, password) in [(None, "sentinel-secret"), (Some("records"), "wrong")] {
        let mut wrong = settings.clone();
        wrong.sentinel_username = username.map(str::to_owned);
        wrong.sentinel_password = Some(password.to_owned());
        let error = RedisStore::connect(wrong).await.err().expect("refused");
        assert!(
            matches!(&error, ConnectError::WrongPassword { server, .. } if server.starts_with("sentinel ")),
            "{username:?}: {error}"
        );
    }
    let mut no_password = settings.clone();
    no_password.sentinel_password = None;
    let error = RedisStore::connect(no_password)
        .await
        .err()
        .expect("refused");
    assert!(
        error.to_string().contains("REDIS_SENTINEL_PASSWORD"),
        "{error}"
    );
}

/// Audit entries older than the retention are trimmed as writes come, and a
/// customer's index of entry IDs sheds the trimmed ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_is_trimmed_to_its_retention() {
    use app::domain::AuditQuery;
    let topology = Topology::start(Options::light()).await;
    let mut admin = data_conn(topology.data_ports()[0]).await.unwrap();
    let mut settings = topology.settings("retain:");
    settings.audit_retention = Some(Duration::from_millis(300));
    let store = store(settings).await;
    // Whole stream nodes (100 entries) are trimmed: write several of them.
    for i in 0..400 {
        store
            .upsert(&contract::customer("hot", "Write", &i.to_string()))
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 0..400 {
        store
            .upsert(&contract::customer("hot", "Later", &i.to_string()))
            .await
            .unwrap();
    }
    let length: usize = redis::cmd("XLEN")
        .arg("retain:audit")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert!(
        (400..600).contains(&length),
        "the first 400 are past the retention: {length} kept"
    );
    let index: String = redis::cmd("GET")
        .arg("retain:history:hot")
        .query_async(&mut admin)
        .await
        .unwrap();
    let indexed = index.split_whitespace().count();
    assert!(indexed < 700, "trimmed IDs leave the index: {indexed}");
    // The history pages through exactly what the stream still has.
    let mut seen = 0;
    let mut query = AuditQuery {
        customer_id: Some("hot".into()),
        limit: 100,
        ..Default::default()
    };
    loop {
        let page = store.audit(&query).await.unwrap();
        seen += page.entries.len();
        match page.next {
            Some(next) => query.older_than = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, length);
}

/// The write script goes by its SHA-1: a server that lost it (a restart, a
/// promoted replica, `SCRIPT FLUSH`) gets it again, and the write happens once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_go_on_when_the_server_forgets_the_script() {
    let topology = Topology::start(Options::light()).await;
    let mut admin = data_conn(topology.data_ports()[0]).await.unwrap();
    let store = store(topology.settings("flush:")).await;
    store.upsert(&customer("before")).await.unwrap();
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query_async(&mut admin)
        .await
        .unwrap();
    let version = store.upsert(&customer("after")).await.unwrap();
    assert!(version.0 > 0);
    let entries: usize = redis::cmd("XLEN")
        .arg("flush:audit")
        .query_async(&mut admin)
        .await
        .unwrap();
    assert_eq!(entries, 2, "each write ran once");
}

/// The README shows exactly the data-node rights every store test runs with.
#[test]
fn the_readme_lists_the_rights_the_tests_grant() {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(
        || std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        Into::into,
    );
    let readme = std::fs::read_to_string(manifest.join("../README.md")).unwrap();
    assert!(
        // (in a table, where `|` is written `\|`)
        readme.contains(&format!(
            "`{}`",
            support::SENTINEL_USER_RULES.replace('|', "\\|")
        )),
        "the README should list the sentinel rights {}",
        support::SENTINEL_USER_RULES
    );
    let rules = support::DATA_USER_RULES.replace("{prefix}", "customers:");
    let rules = rules.split_whitespace().collect::<Vec<_>>().join(" ");
    let command = format!("ACL SETUSER records on >PASSWORD {rules}");
    assert!(
        readme.contains(&command),
        "the README should show:\n{command}"
    );
}

/// Sentinels and nodes in a network namespace report addresses (127.0.0.1 there)
/// that the store cannot reach; `REDIS_ADDRESS_MAP` says where to reach them,
/// through a master SIGKILL and a `SENTINEL FAILOVER` under writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announced_addresses_are_mapped_through_failovers() {
    let behind_nat = Options {
        network: Network::BehindNat,
        ..Options::full()
    };
    for disruption in [Disruption::KillMaster, Disruption::SentinelFailover] {
        for Outcome {
            prefix,
            writes,
            errors,
            lost,
            ..
        } in writes_through(disruption, behind_nat.clone()).await
        {
            assert!(writes > 100, "{disruption:?}: {prefix} kept writing");
            assert_eq!(
                errors,
                Vec::<String>::new(),
                "{disruption:?}: {prefix} no error"
            );
            if prefix == "acked:" {
                assert_eq!(
                    lost, 0,
                    "{disruption:?}: every write confirmed by a replica survives"
                );
            }
        }
    }

    // Without the map, the master the sentinels name cannot be reached, and the
    // error says which address was tried.
    let topology = Topology::start(Options {
        network: Network::BehindNat,
        ..Options::light()
    })
    .await;
    let mut unmapped = topology.settings("nat:");
    unmapped.address_map = server::store::redis::AddressMap::default();
    unmapped.request_deadline = Duration::from_secs(2);
    let error = RedisStore::connect(unmapped).await.err().expect("refused");
    let announced = format!("127.0.0.1:{}", topology.data_ports()[0]);
    assert!(
        matches!(error, ConnectError::MasterUnreachable { .. })
            && error.to_string().contains(&announced),
        "{error}"
    );
    let mut mapped = topology.settings("nat:");
    mapped.request_deadline = Duration::from_secs(2);
    let store = RedisStore::connect(mapped)
        .await
        .expect("connects through the map");
    assert_eq!(
        store.master_addr(),
        Some(topology.addr_of(topology.data_ports()[0]))
    );
}
