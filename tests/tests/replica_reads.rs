//! Reads from replicas (`REDIS_READ_FROM=replica-preferred`) through the real
//! server binary, against real `redis-server` / `redis-sentinel` processes: a
//! writer and readers (each its own API token) run while one replica loses its
//! link to the master (and goes on answering), then is SIGKILLed, the other is
//! SIGSTOPped and resumed, and then the master is failed over. Checked on every answer: no error, no read older than the bound
//! (`REDIS_MAX_REPLICA_LAG_MS`), the writer always reads its own last write;
//! and, from `/metrics` and the detailed `/readyz`, that replicas did serve
//! reads, came back when healthy, and that a replica promoted by the failover
//! is no longer read from as a replica.

use reqwest::{Client, StatusCode};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::api::customer;
use testkit::topology::{data_conn, wait_for, Options, Topology, MASTER_NAME, PASSWORD};
use testkit::{admin_command, free_port, get_text, metric_sum, parse_prometheus, Server};

/// The staleness bound the server is given.
const LAG: Duration = Duration::from_millis(500);
/// The one customer everybody writes and reads: its first name counts writes.
const ID: &str = "rw";

struct Setup {
    _dir: tempfile::TempDir,
    topology: Topology,
    server: Server,
    metrics: String,
    writer: String,
    reader: String,
}

async fn start() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology::start(Options {
        down_after_ms: 2000,
        ..Options::full()
    })
    .await;
    let users = dir.path().join("users.json");
    let token = |name: &str, role: &str| {
        admin_command(&users, &["token", "create", name, "--role", role], "")
            .trim()
            .to_owned()
    };
    let (writer, reader) = (token("writer", "editor"), token("reader", "viewer"));
    let sentinels: Vec<String> = topology
        .sentinel_addrs()
        .iter()
        .map(|(host, port)| format!("{host}:{port}"))
        .collect();
    let metrics = format!("127.0.0.1:{}", free_port());
    let lag_ms = LAG.as_millis().to_string();
    let server = Server::start_with_env(
        &dir.path().join("unused.json"),
        &[
            ("REDIS_SENTINELS", &sentinels.join(",")),
            ("REDIS_MASTER_NAME", MASTER_NAME),
            ("REDIS_PASSWORD", PASSWORD),
            ("REDIS_READ_FROM", "replica-preferred"),
            ("REDIS_MAX_REPLICA_LAG_MS", &lag_ms),
            ("USERS_FILE", users.to_str().unwrap()),
            ("METRICS_LISTEN", &metrics),
        ],
    );
    Setup {
        _dir: dir,
        topology,
        server,
        metrics,
        writer,
        reader,
    }
}

/// Everything the load saw, checked at the end.
#[derive(Default)]
struct Seen {
    /// Write `n` acknowledged at this time (in order).
    acks: Vec<(u64, Instant)>,
    /// A reader asked at this time and read write `n`.
    reads: Vec<(Instant, u64)>,
    errors: Vec<String>,
    /// The writer read an older value than its own last write.
    own_writes_missed: Vec<String>,
}

/// The count in the customer's first name (`n42`).
fn count_in(customer: &Value) -> Option<u64> {
    customer["firstName"]
        .as_str()?
        .strip_prefix('n')?
        .parse()
        .ok()
}

/// Reads the customer by `GET /get/{id}`, or from the whole listing (`GET /`,
/// served by the search index's catch-up), as `token`.
async fn read(client: &Client, base: &str, token: &str, listing: bool) -> Result<u64, String> {
    let url = if listing {
        format!("{base}/")
    } else {
        format!("{base}/get/{ID}")
    };
    let response = client
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let customer = match (status, listing) {
        // Not written yet (as far as this read may know): count 0.
        (StatusCode::NOT_FOUND, false) if body == serde_json::json!({}) => return Ok(0),
        (StatusCode::OK, true) if body.get(ID).is_none() => return Ok(0),
        (StatusCode::OK, true) => &body[ID],
        (StatusCode::OK, false) => &body,
        _ => return Err(format!("GET {url}: {status} {body}")),
    };
    count_in(customer).ok_or_else(|| format!("GET {url}: no count in {body}"))
}

/// Writes n = 1, 2, ... and reads each back (by ID, then by the listing, in
/// turn) as the writer; until `stop`.
async fn writer(base: String, token: String, seen: Arc<Mutex<Seen>>, stop: Arc<AtomicBool>) {
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let response = client
            .post(format!("{base}/set"))
            .bearer_auth(&token)
            .json(&customer(ID, &format!("n{n}"), "Counter"))
            .send()
            .await;
        match response {
            Ok(response) if response.status() == StatusCode::OK => {
                seen.lock().unwrap().acks.push((n, Instant::now()));
            }
            Ok(response) => {
                let status = response.status();
                seen.lock()
                    .unwrap()
                    .errors
                    .push(format!("POST /set: {status}"));
                continue;
            }
            Err(e) => {
                seen.lock().unwrap().errors.push(format!("POST /set: {e}"));
                continue;
            }
        }
        match read(&client, &base, &token, n % 2 == 0).await {
            Ok(got) if got >= n => {}
            Ok(got) => seen
                .lock()
                .unwrap()
                .own_writes_missed
                .push(format!("wrote n{n}, then read n{got}")),
            Err(e) => seen.lock().unwrap().errors.push(e),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Reads as another client, mostly by ID, one in ten by the listing; until `stop`.
async fn reader(base: String, token: String, seen: Arc<Mutex<Seen>>, stop: Arc<AtomicBool>) {
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut turn = 0u64;
    while !stop.load(Ordering::Relaxed) {
        turn += 1;
        let asked = Instant::now();
        match read(&client, &base, &token, turn.is_multiple_of(10)).await {
            Ok(got) => seen.lock().unwrap().reads.push((asked, got)),
            Err(e) => seen.lock().unwrap().errors.push(e),
        }
    }
}

/// Reads whose answer is older than the bound allows: a write acknowledged
/// more than `LAG` before the read was asked must be in it.
fn stale_reads(seen: &Seen) -> Vec<String> {
    seen.reads
        .iter()
        .filter_map(|&(asked, got)| {
            let due = seen
                .acks
                .iter()
                .take_while(|(_, at)| *at + LAG < asked)
                .last()
                .map_or(0, |(n, _)| *n);
            (got < due).then(|| format!("read n{got} where n{due} was due"))
        })
        .collect()
}

async fn replica_reads(metrics: &str) -> f64 {
    let text = get_text(&Client::new(), &format!("http://{metrics}/metrics")).await;
    metric_sum(&parse_prometheus(&text), "redis_replica_reads_total", &[])
}

/// The replicas part of the detailed `/readyz`.
async fn replicas_line(metrics: &str) -> String {
    let text = get_text(&Client::new(), &format!("http://{metrics}/readyz")).await;
    text.split_once("reads from replicas")
        .map(|(_, line)| line.lines().next().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

/// Waits until replicas have served more reads than `before`.
async fn replicas_serve_again(metrics: &str, before: f64, what: &str) -> f64 {
    wait_for(Duration::from_secs(20), what, || async move {
        let now = replica_reads(metrics).await;
        (now > before).then_some(now)
    })
    .await
}

/// Waits until the replica on `port` serves reads again (by the detailed `/readyz`).
async fn serving_again(metrics: &str, port: u16) {
    wait_for(
        Duration::from_secs(20),
        "the replica serving again",
        || async move {
            let line = replicas_line(metrics).await;
            line.contains(&format!(":{port} serving")).then_some(())
        },
    )
    .await;
}

/// Cuts (or restores) the replica's link to its master: with a wrong
/// `masterauth` it cannot reconnect, and it goes on answering reads with
/// what it has (`replica-serve-stale-data`, on by default).
async fn link_broken(port: u16, broken: bool) {
    let mut conn = data_conn(port).await.expect("a connection to the replica");
    let masterauth = if broken { "not-the-password" } else { PASSWORD };
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("masterauth")
        .arg(masterauth)
        .query_async(&mut conn)
        .await
        .unwrap();
    if broken {
        let _: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("master")
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replica_reads_hold_their_bound_through_replica_failures_and_a_failover() {
    let mut setup = start().await;
    let base = setup.server.url("");
    let base = base.trim_end_matches('/').to_owned();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = vec![tokio::spawn(writer(
        base.clone(),
        setup.writer.clone(),
        seen.clone(),
        stop.clone(),
    ))];
    for _ in 0..3 {
        load.push(tokio::spawn(reader(
            base.clone(),
            setup.reader.clone(),
            seen.clone(),
            stop.clone(),
        )));
    }
    let metrics = setup.metrics.clone();

    // Both replicas serve reads.
    replicas_serve_again(&metrics, 0.0, "reads served by replicas").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let master = setup.topology.master_port().await.expect("a master");
    let replicas: Vec<u16> = setup
        .topology
        .data_ports()
        .into_iter()
        .filter(|port| *port != master)
        .collect();
    let line = replicas_line(&metrics).await;
    for port in &replicas {
        assert!(
            line.contains(&format!(":{port} serving")),
            "replica {port} is measured: {line}"
        );
    }

    // A replica that answers but no longer follows the master (its link cut:
    // it cannot authenticate) would serve ever older data: it drops out, and
    // comes back once its link is up again.
    let lagging = replicas[0];
    link_broken(lagging, true).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let line = replicas_line(&metrics).await;
    assert!(
        !line.contains(&format!(":{lagging} serving")),
        "a replica cut off from its master serves no reads: {line}"
    );
    link_broken(lagging, false).await;
    serving_again(&metrics, lagging).await;

    // One replica dies, the other hangs: reads go on, on the master at worst.
    setup.topology.kill_data(replicas[0]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    setup.topology.pause_data(replicas[1], true);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let line = replicas_line(&metrics).await;
    assert!(
        !line.contains("serving"),
        "no replica serves while one is dead and one stopped: {line}"
    );

    // The stopped one resumes and serves again.
    setup.topology.pause_data(replicas[1], false);
    serving_again(&metrics, replicas[1]).await;
    replicas_serve_again(
        &metrics,
        replica_reads(&metrics).await,
        "the resumed replica",
    )
    .await;

    // A failover promotes the live replica: it must not be read as a replica.
    // (The sentinels take a while to trust the replica that was stopped.)
    let topology = &setup.topology;
    wait_for(
        Duration::from_secs(30),
        "a failover accepted",
        || async move { topology.try_failover().await.ok() },
    )
    .await;
    let promoted = setup
        .topology
        .wait_new_master(master, Duration::from_secs(30))
        .await;
    assert_eq!(promoted, replicas[1], "the only live replica is promoted");
    let line = wait_for(
        Duration::from_secs(30),
        "the old master measured as the new master's replica",
        || {
            let metrics = metrics.clone();
            async move {
                let line = replicas_line(&metrics).await;
                line.contains(&format!(":{master} serving")).then_some(line)
            }
        },
    )
    .await;
    assert!(
        !line.contains(&format!(":{promoted} ")),
        "the promoted replica is no longer read from as a replica: {line}"
    );
    replicas_serve_again(
        &metrics,
        replica_reads(&metrics).await,
        "the old master serving reads as a replica",
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    let by_replicas = replica_reads(&metrics).await;
    let seen = seen.lock().unwrap();
    let stale = stale_reads(&seen);
    eprintln!(
        "replica reads: {} writes, {} reads by others, {by_replicas} served by replicas",
        seen.acks.len(),
        seen.reads.len(),
    );
    assert!(seen.errors.is_empty(), "errors: {:?}", seen.errors);
    assert!(
        seen.own_writes_missed.is_empty(),
        "the writer missed its own writes: {:?}",
        seen.own_writes_missed
    );
    assert!(stale.is_empty(), "reads older than the bound: {stale:?}");
    assert!(seen.acks.len() > 100 && seen.reads.len() > 1000);
}
