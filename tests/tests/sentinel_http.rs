//! The Redis Sentinel store through the real server binary over real HTTP, against
//! real `redis-server` / `redis-sentinel` processes (master, replicas and sentinels
//! on free loopback ports, password-protected): failovers under a stream of writes,
//! sentinel outages, start-up errors, `migrate-legacy`, `import` / `export`, and
//! foreign keys in the database.
//!
//! The failover tests print what a client saw (run with `--nocapture`): requests
//! acknowledged, errors, the longest single request, the longest gap between two
//! acknowledgements, and acknowledged writes that were lost.

#[path = "../../server/tests/support/topology.rs"]
mod topology;

use e2e::{run_command, sample_data, server_binary, Server};
use reqwest::{Client, StatusCode};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use topology::{
    data_conn, free_ports, wait_for, wait_replica_in_sync, Options, Tls, Topology, MASTER_NAME,
    PASSWORD,
};

/// The failover and outage tests each run a full topology, servers and writers:
/// one at a time, so that on a small machine the latencies they report are their own.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Writers per server in the failover tests.
const WRITERS: usize = 3;
/// Pause between two writes of one writer: a steady stream, not a saturating one.
const WRITE_PACE: Duration = Duration::from_millis(10);
/// Hard bounds of one writer, whatever happens.
const MAX_WRITES: usize = 5_000;
const MAX_WRITING: Duration = Duration::from_secs(90);
/// Acknowledgements per stream before the disruption, and again after it.
const STEADY_ACKS: usize = 300;
/// A request that takes longer than this hangs (the server's deadline is 10 s).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Master, two replicas, three sentinels; the master is declared down after 2 s.
fn full_topology() -> Options {
    Options {
        down_after_ms: 2000,
        ..Options::full()
    }
}

fn sentinels(topology: &Topology) -> String {
    topology
        .sentinel_addrs()
        .iter()
        .map(|(host, port)| format!("{host}:{port}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The environment pointing the binary at `topology`, plus `extra`.
fn redis_env(topology: &Topology, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = vec![
        ("REDIS_SENTINELS".to_owned(), sentinels(topology)),
        ("REDIS_MASTER_NAME".to_owned(), MASTER_NAME.to_owned()),
        ("REDIS_PASSWORD".to_owned(), PASSWORD.to_owned()),
    ];
    for (key, value) in extra {
        env.retain(|(k, _)| k != key);
        env.push((key.to_string(), value.to_string()));
    }
    env
}

fn as_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// A server on `topology`; `dir` only holds its (unused) data file.
fn start_server(dir: &Path, topology: &Topology, extra: &[(&str, &str)]) -> Server {
    let env = redis_env(topology, extra);
    Server::start_with_env(&dir.join("unused.json"), &as_refs(&env))
}

fn client() -> Client {
    Client::builder().timeout(CLIENT_TIMEOUT).build().unwrap()
}

fn customer(id: &str, first: &str, last: &str) -> Value {
    json!({"customerID": id, "firstName": first, "lastName": last})
}

/// `POST /set`: status, body and how long it took.
async fn set(client: &Client, server: &Server, customer: &Value) -> (StatusCode, String, Duration) {
    let started = Instant::now();
    let response = client
        .post(server.url("/set"))
        .json(customer)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /set: {e}"));
    let status = response.status();
    let body = response.text().await.unwrap();
    (status, body, started.elapsed())
}

/// `GET /get/{id}` (IDs here need no escaping): status and body.
async fn get(client: &Client, server: &Server, id: &str) -> (StatusCode, String) {
    let response = client
        .get(server.url(&format!("/get/{id}")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /get/{id}: {e}"));
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// `GET /` as a program asks for it: every customer, as one JSON object.
async fn list(client: &Client, server: &Server) -> Value {
    let response = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET /");
    let body = response.text().await.unwrap();
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET / is not JSON ({e}): {body}"))
}

async fn assert_set_works(client: &Client, server: &Server, id: &str, what: &str) {
    let body = customer(id, "Ada", what);
    let (status, text, _) = set(client, server, &body).await;
    assert_eq!(
        (status.as_u16(), text.as_str()),
        (200, "success"),
        "POST /set {what}"
    );
    let (status, text) = get(client, server, id).await;
    assert_eq!(status, 200, "GET /get/{id} {what}: {text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        body,
        "{what}"
    );
}

// ---------------------------------------------------------------------------
// A stream of writes through `POST /set`, and what it saw.

struct Ack {
    id: String,
    customer: Value,
    at: Instant,
}

#[derive(Default)]
struct Seen {
    acks: Vec<Ack>,
    /// Anything but 200 `success`, or no answer at all.
    errors: Vec<String>,
    /// Response bodies mentioning READONLY (a demoted master leaking through).
    readonly: usize,
    longest_request: Duration,
}

/// `WRITERS` concurrent writers, each writing a new ID per request, until stopped.
struct Stream {
    label: String,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    writers: Vec<tokio::task::JoinHandle<()>>,
}

impl Stream {
    fn start(label: &str, server: &Server) -> Stream {
        let seen: Arc<Mutex<Seen>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let writers = (0..WRITERS)
            .map(|writer| {
                let (seen, stop) = (seen.clone(), stop.clone());
                let url = server.url("/set");
                let label = label.to_owned();
                tokio::spawn(async move {
                    let client = client();
                    let started = Instant::now();
                    let mut pace = tokio::time::interval(WRITE_PACE);
                    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    for n in 0..MAX_WRITES {
                        if stop.load(Ordering::SeqCst) || started.elapsed() > MAX_WRITING {
                            break;
                        }
                        pace.tick().await;
                        let id = format!("{label}-w{writer}-{n}");
                        let body = customer(&id, "Writer", &format!("{writer}/{n}"));
                        let sent = Instant::now();
                        let outcome = match client.post(&url).json(&body).send().await {
                            Ok(response) => {
                                let status = response.status();
                                response.text().await.map(|text| (status, text))
                            }
                            Err(e) => Err(e),
                        };
                        let latency = sent.elapsed();
                        let mut seen = seen.lock().unwrap();
                        seen.longest_request = seen.longest_request.max(latency);
                        match outcome {
                            Ok((status, text)) if status == 200 && text == "success" => {
                                seen.acks.push(Ack {
                                    id,
                                    customer: body,
                                    at: Instant::now(),
                                });
                            }
                            Ok((status, text)) => {
                                if text.contains("READONLY") {
                                    seen.readonly += 1;
                                }
                                seen.errors
                                    .push(format!("{id}: {status} after {latency:?}: {text}"));
                            }
                            Err(e) => seen.errors.push(format!("{id}: {e} after {latency:?}")),
                        }
                    }
                })
            })
            .collect();
        Stream {
            label: label.to_owned(),
            seen,
            stop,
            writers,
        }
    }

    fn acknowledged(&self) -> usize {
        self.seen.lock().unwrap().acks.len()
    }

    async fn finish(self) -> Report {
        self.stop.store(true, Ordering::SeqCst);
        for writer in self.writers {
            writer.await.expect("writer task");
        }
        let seen = Arc::try_unwrap(self.seen)
            .ok()
            .expect("writers done")
            .into_inner()
            .unwrap();
        let mut times: Vec<Instant> = seen.acks.iter().map(|a| a.at).collect();
        times.sort();
        let longest_gap = times
            .windows(2)
            .map(|pair| pair[1] - pair[0])
            .max()
            .unwrap_or_default();
        Report {
            label: self.label,
            seen,
            longest_gap,
            lost: Vec::new(),
        }
    }
}

struct Report {
    label: String,
    seen: Seen,
    longest_gap: Duration,
    /// Acknowledged writes not readable afterwards (filled by `check_readable`).
    lost: Vec<String>,
}

impl Report {
    /// Reads every acknowledged write back through `GET /get/{id}`.
    async fn check_readable(&mut self, server: &Server) {
        let acks: Arc<Vec<(String, Value)>> = Arc::new(
            self.seen
                .acks
                .iter()
                .map(|a| (a.id.clone(), a.customer.clone()))
                .collect(),
        );
        let readers = 4;
        let tasks: Vec<_> = (0..readers)
            .map(|reader| {
                let acks = acks.clone();
                let base = server.url("/get/");
                tokio::spawn(async move {
                    let client = client();
                    let mut lost = Vec::new();
                    for (id, expected) in acks.iter().skip(reader).step_by(readers) {
                        let response = client
                            .get(format!("{base}{id}"))
                            .send()
                            .await
                            .unwrap_or_else(|e| panic!("GET /get/{id}: {e}"));
                        let status = response.status();
                        let text = response.text().await.unwrap();
                        match status.as_u16() {
                            200 if serde_json::from_str::<Value>(&text).ok().as_ref()
                                == Some(expected) => {}
                            200 | 404 => lost.push(format!("{id}: {status} {text}")),
                            _ => panic!("GET /get/{id} after the failover: {status} {text}"),
                        }
                    }
                    lost
                })
            })
            .collect();
        for task in tasks {
            self.lost.extend(task.await.expect("reader task"));
        }
    }

    fn print(&self, scenario: &str) {
        let seen = &self.seen;
        println!(
            "[{scenario}] {}: {} writes acknowledged, {} errors ({} mentioning READONLY), \
             longest request {} ms, longest gap between acknowledgements {} ms, \
             {} acknowledged writes lost",
            self.label,
            seen.acks.len(),
            seen.errors.len(),
            seen.readonly,
            seen.longest_request.as_millis(),
            self.longest_gap.as_millis(),
            self.lost.len()
        );
        for error in seen.errors.iter().take(5) {
            println!("[{scenario}] {}: error {error}", self.label);
        }
        for lost in self.lost.iter().take(5) {
            println!("[{scenario}] {}: lost {lost}", self.label);
        }
    }
}

/// Waits until every stream has `more` acknowledgements beyond what it had on entry.
async fn wait_more_acks(streams: &[&Stream], more: usize, what: &str) {
    let marks: Vec<usize> = streams.iter().map(|s| s.acknowledged()).collect();
    wait_for(Duration::from_secs(30), what, || {
        let done = streams
            .iter()
            .zip(&marks)
            .all(|(stream, mark)| stream.acknowledged() >= mark + more);
        async move { done.then_some(()) }
    })
    .await;
}

/// Two servers on one topology, one requiring a replica's acknowledgement of each
/// write (`REDIS_MIN_REPLICAS_ACK=1`) and one not, each under its own stream of
/// writes and its own key prefix, both through the same `disrupt`ion.
struct FailoverRun {
    _dir: tempfile::TempDir,
    topology: Topology,
    acked: Server,
    unacked: Server,
}

impl FailoverRun {
    async fn start() -> FailoverRun {
        let dir = tempfile::tempdir().unwrap();
        let topology = Topology::start(full_topology()).await;
        let acked = start_server(
            dir.path(),
            &topology,
            &[
                ("REDIS_MIN_REPLICAS_ACK", "1"),
                ("REDIS_KEY_PREFIX", "ack1:"),
            ],
        );
        let unacked = start_server(dir.path(), &topology, &[("REDIS_KEY_PREFIX", "ack0:")]);
        FailoverRun {
            _dir: dir,
            topology,
            acked,
            unacked,
        }
    }
}

/// Asserts what every failover must give, and prints the figures.
fn judge(scenario: &str, acked: &Report, unacked: &Report) {
    acked.print(scenario);
    unacked.print(scenario);
    for report in [acked, unacked] {
        assert!(
            report.seen.acks.len() >= 2 * STEADY_ACKS,
            "{scenario} {}: writes were flowing",
            report.label
        );
        assert_eq!(
            report.seen.readonly, 0,
            "{scenario} {}: READONLY reached a client",
            report.label
        );
        assert!(
            report.seen.errors.is_empty(),
            "{scenario} {}: client-visible errors: {:#?}",
            report.label,
            &report.seen.errors[..report.seen.errors.len().min(10)]
        );
    }
    assert!(
        acked.lost.is_empty(),
        "{scenario}: acknowledged writes lost with REDIS_MIN_REPLICAS_ACK=1: {:#?}",
        &acked.lost[..acked.lost.len().min(10)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn master_killed_during_writes() {
    let _heavy = HEAVY.lock().await;
    let mut run = FailoverRun::start().await;
    let acked = Stream::start("ack1", &run.acked);
    let unacked = Stream::start("ack0", &run.unacked);
    wait_more_acks(&[&acked, &unacked], STEADY_ACKS, "writes flowing").await;

    let old = run.topology.kill_master().await;
    let killed = Instant::now();
    let new = run
        .topology
        .wait_new_master(old, Duration::from_secs(30))
        .await;
    println!(
        "[kill] master {old} SIGKILLed; sentinels promoted {new} after {} ms",
        killed.elapsed().as_millis()
    );
    wait_more_acks(
        &[&acked, &unacked],
        STEADY_ACKS,
        "writes acknowledged after the failover",
    )
    .await;

    let (mut acked, mut unacked) = (acked.finish().await, unacked.finish().await);
    acked.check_readable(&run.acked).await;
    unacked.check_readable(&run.unacked).await;
    judge("kill, down-after 2000 ms", &acked, &unacked);
    let failovers = redis_metric(&client(), &run.acked, "redis_failovers_seen_total").await;
    assert!(
        failovers >= 1.0,
        "the failover is counted in /metrics: {failovers}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sentinel_failover_during_writes() {
    let _heavy = HEAVY.lock().await;
    let run = FailoverRun::start().await;
    let acked = Stream::start("ack1", &run.acked);
    let unacked = Stream::start("ack0", &run.unacked);
    wait_more_acks(&[&acked, &unacked], STEADY_ACKS, "writes flowing").await;

    let old = run.topology.master_port().await.expect("a master");
    let started = Instant::now();
    run.topology.failover().await;
    let new = run
        .topology
        .wait_new_master(old, Duration::from_secs(30))
        .await;
    println!(
        "[SENTINEL FAILOVER] {new} promoted in place of {old} after {} ms",
        started.elapsed().as_millis()
    );
    wait_more_acks(
        &[&acked, &unacked],
        STEADY_ACKS,
        "writes acknowledged after the failover",
    )
    .await;
    let (mut acked, mut unacked) = (acked.finish().await, unacked.finish().await);

    // Writes the old master took after the promotion vanish when it resyncs as a
    // replica of the new one: read back only once that has happened.
    wait_replica_in_sync(old, Duration::from_secs(30)).await;
    acked.check_readable(&run.acked).await;
    unacked.check_readable(&run.unacked).await;
    judge("SENTINEL FAILOVER", &acked, &unacked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sentinel_outages() {
    let _heavy = HEAVY.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut topology = Topology::start(full_topology()).await;
    let deadline = Duration::from_millis(2000);
    let server = start_server(
        dir.path(),
        &topology,
        &[("REDIS_REQUEST_DEADLINE_MS", "2000")],
    );
    let client = client();
    assert_set_works(&client, &server, "o1", "with every sentinel up").await;
    let (status, _) = readyz(&client, &server).await;
    assert_eq!(status, 200, "/readyz with the topology up");
    let resolutions_before = redis_metric(&client, &server, "redis_master_resolutions_total").await;

    topology.stop_sentinel(0);
    assert_set_works(&client, &server, "o2", "with one sentinel down").await;

    let old = topology.master_port().await.expect("a master");
    topology.stop_all_sentinels();
    assert_set_works(&client, &server, "o3", "with every sentinel down").await;
    let (status, _) = get(&client, &server, "o1").await;
    assert_eq!(status, 200, "GET /get with every sentinel down");

    // Nothing can name a new master: a prompt 503 (with Retry-After), never a hang.
    topology.kill_data(old);
    for attempt in 0..2 {
        let (status, text, took) = set(&client, &server, &customer("o4", "Ada", "L")).await;
        println!(
            "[sentinels down, master killed] POST /set #{attempt}: {status} after {} ms: {text}",
            took.as_millis()
        );
        assert_eq!(status, 503, "POST /set with no master: {text}");
        assert!(
            took < deadline + Duration::from_millis(1500),
            "503 after {took:?}, deadline {deadline:?}"
        );
        assert!(!text.is_empty(), "the 503 says why");
        assert!(
            !text.contains("127.0.0.1"),
            "no Redis address in the answer: {text}"
        );
    }
    let (status, text) = readyz(&client, &server).await;
    assert_eq!(status, 503, "/readyz with no master: {text}");
    assert!(
        !text.contains("127.0.0.1"),
        "no Redis address in the answer: {text}"
    );
    let started = Instant::now();
    let response = client.get(server.url("/get/o1")).send().await.unwrap();
    let took = started.elapsed();
    assert_eq!(response.status(), 503, "GET /get with no master");
    assert!(response.headers().contains_key("retry-after"));
    assert!(took < deadline + Duration::from_millis(1500), "{took:?}");

    // The sentinels come back and promote a replica: the same server recovers.
    topology.start_all_sentinels().await;
    let new = topology.wait_new_master(old, Duration::from_secs(60)).await;
    println!("[sentinels restarted] {new} promoted in place of {old}");
    let body = customer("o5", "Ada", "after the outage");
    let recovered = Instant::now();
    wait_for(
        Duration::from_secs(30),
        "POST /set to succeed again",
        || {
            let (client, server, body) = (&client, &server, &body);
            async move {
                let (status, text, _) = set(client, server, body).await;
                (status == 200 && text == "success").then_some(())
            }
        },
    )
    .await;
    println!(
        "[sentinels restarted] writes succeed again {} ms after the new master was named",
        recovered.elapsed().as_millis()
    );
    for id in ["o1", "o2", "o3", "o5"] {
        let (status, text) = get(&client, &server, id).await;
        assert_eq!(status, 200, "GET /get/{id} after recovery: {text}");
    }
    let (status, text) = readyz(&client, &server).await;
    assert_eq!(status, 200, "/readyz after recovery: {text}");
    let resolutions = redis_metric(&client, &server, "redis_master_resolutions_total").await;
    assert!(
        resolutions > resolutions_before,
        "master re-resolutions counted: {resolutions_before} -> {resolutions}"
    );
    assert!(
        redis_metric(&client, &server, "redis_retries_total").await > 0.0,
        "retries counted"
    );
}

async fn readyz(client: &Client, server: &Server) -> (StatusCode, String) {
    let response = client.get(server.url("/readyz")).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn redis_metric(client: &Client, server: &Server, metric: &str) -> f64 {
    let text = e2e::get_text(client, &server.url("/metrics")).await;
    e2e::metric_sum(&e2e::parse_prometheus(&text), metric, &[])
}

// ---------------------------------------------------------------------------
// Start-up errors.

/// Runs the binary as a server until it exits (it must, within 30 s).
fn run_until_exit(env: &[(String, String)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(server_binary());
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .arg("--listen")
        .arg(format!("127.0.0.1:{}", free_ports(1)[0]))
        .arg("--data-file")
        .arg(dir.path().join("unused.json"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = command.spawn().expect("start the server binary");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let (done, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let output = match outcome.recv_timeout(Duration::from_secs(30)) {
        Ok(output) => output.expect("wait for the server binary"),
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            panic!("the server did not exit on a bad configuration");
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn startup_errors_say_what_to_fix() {
    let topology = Topology::start(Options::light()).await;

    let env = redis_env(&topology, &[("REDIS_PASSWORD", "not-the-password")]);
    let (ok, output) = run_until_exit(&env);
    assert!(!ok, "wrong password: exits non-zero\n{output}");
    assert!(
        output.contains("wrong or missing password"),
        "wrong password: {output}"
    );

    let without_password: Vec<_> = redis_env(&topology, &[])
        .into_iter()
        .filter(|(k, _)| k != "REDIS_PASSWORD")
        .collect();
    let (ok, output) = run_until_exit(&without_password);
    assert!(!ok, "no password: exits non-zero\n{output}");
    assert!(
        output.contains("wrong or missing password"),
        "no password: {output}"
    );

    let env = redis_env(&topology, &[("REDIS_ADDRESS_MAP", "10.0.0.5:6379")]);
    let (ok, output) = run_until_exit(&env);
    assert!(!ok, "bad address map: exits non-zero\n{output}");
    assert!(
        output.contains("REDIS_ADDRESS_MAP: entry 1 (\"10.0.0.5:6379\") is not announced-host:port=reachable-host:port"),
        "bad address map: {output}"
    );

    let env = redis_env(&topology, &[("REDIS_MASTER_NAME", "no-such-master")]);
    let (ok, output) = run_until_exit(&env);
    assert!(!ok, "unknown master name: exits non-zero\n{output}");
    assert!(
        output.contains(r#"no sentinel knows a master named "no-such-master""#)
            && output.contains("check the master name"),
        "unknown master name: {output}"
    );

    let nobody: Vec<String> = free_ports(2)
        .iter()
        .map(|port| format!("127.0.0.1:{port}"))
        .collect();
    let env = redis_env(&topology, &[("REDIS_SENTINELS", &nobody.join(","))]);
    let (ok, output) = run_until_exit(&env);
    assert!(!ok, "no sentinel: exits non-zero\n{output}");
    assert!(
        output.contains("no sentinel reachable") && output.contains(&nobody[0]),
        "no sentinel: {output}"
    );
}

// ---------------------------------------------------------------------------
// Commands and foreign keys.

/// Runs `command key args...` on the master (`SET key value`, `HSET key field value`...).
async fn admin(topology: &Topology, command: &str, key: &str, args: &[&str]) {
    let master = topology.master_port().await.expect("a master");
    let mut conn = data_conn(master).await.expect("admin connection");
    let _: redis::Value = redis::cmd(command)
        .arg(key)
        .arg(args)
        .query_async(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{command} {key}: {e}"));
}

/// Keys of every type that are not customers of the store.
async fn add_foreign_keys(topology: &Topology) -> Vec<&'static str> {
    admin(topology, "SET", "greeting", &["hello, not JSON"]).await;
    admin(topology, "SET", "settings", &[r#"{"theme":"dark"}"#]).await;
    admin(topology, "HSET", "session:42", &["user", "a", "ttl", "60"]).await;
    admin(topology, "RPUSH", "queue", &["job1", "job2"]).await;
    admin(topology, "SADD", "tags", &["x", "y"]).await;
    vec!["greeting", "settings", "session:42", "queue", "tags"]
}

#[tokio::test]
async fn migrate_legacy_imports_bare_keys_and_skips_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology::start(Options::light()).await;
    let legacy = [
        customer("a", "James", "Baker"),
        customer("b", "Jonathan", "D"),
        customer("c", "Aleem", "Janmohamed"),
    ];
    for value in &legacy {
        let id = value["customerID"].as_str().unwrap();
        admin(&topology, "SET", id, &[&value.to_string()]).await;
    }
    let foreign = add_foreign_keys(&topology).await;

    let env = redis_env(&topology, &[]);
    let (ok, output) = run_command(&["migrate-legacy"], &as_refs(&env));
    assert!(ok, "migrate-legacy: {output}");
    assert!(
        output.contains("imported 3 customers (0 already present); skipped 5 keys"),
        "{output}"
    );
    for key in &foreign {
        assert!(
            output.contains(&format!("{key:?}: ")),
            "{key} reported as skipped: {output}"
        );
    }

    let server = start_server(dir.path(), &topology, &[]);
    let all = list(&client(), &server).await;
    let expected: Map<String, Value> = legacy
        .iter()
        .map(|c| (c["customerID"].as_str().unwrap().to_owned(), c.clone()))
        .collect();
    assert_eq!(all, Value::Object(expected), "GET / after the migration");
    for key in &foreign {
        let (status, _) = get(&client(), &server, key).await;
        assert_eq!(status, 404, "{key} is not a customer");
    }

    // Again: nothing new, nothing overwritten.
    let (ok, output) = run_command(&["migrate-legacy"], &as_refs(&env));
    assert!(ok, "second migrate-legacy: {output}");
    assert!(
        output.contains("imported 0 customers (3 already present); skipped 5 keys"),
        "{output}"
    );
}

#[tokio::test]
async fn import_export_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology::start(Options::light()).await;
    let env = redis_env(&topology, &[]);
    let fixture: Value = serde_json::from_slice(&std::fs::read(sample_data()).unwrap()).unwrap();
    let count = fixture.as_object().unwrap().len();

    let (ok, output) = run_command(&["import", sample_data().to_str().unwrap()], &as_refs(&env));
    assert!(ok, "import: {output}");
    assert!(
        output.contains(&format!("imported {count} customers")),
        "{output}"
    );

    let server = start_server(dir.path(), &topology, &[]);
    assert_eq!(
        list(&client(), &server).await,
        fixture,
        "GET / after import"
    );

    let exported = dir.path().join("exported.json");
    let (ok, output) = run_command(&["export", exported.to_str().unwrap()], &as_refs(&env));
    assert!(ok, "export: {output}");
    assert!(
        output.contains(&format!("exported {count} customers")),
        "{output}"
    );
    let written: Value = serde_json::from_slice(&std::fs::read(&exported).unwrap()).unwrap();
    assert_eq!(written, fixture, "export gives back what was imported");
}

#[tokio::test]
async fn foreign_keys_do_not_show_through_http() {
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology::start(Options::light()).await;
    let server = start_server(dir.path(), &topology, &[]);
    let client = client();
    for id in ["k1", "k2"] {
        assert_set_works(&client, &server, id, "before the foreign keys").await;
    }
    let before = list(&client, &server).await;
    assert_eq!(before.as_object().unwrap().len(), 2);

    let foreign = add_foreign_keys(&topology).await;
    // A bare key holding a customer's JSON is the legacy layout, not the store's.
    admin(
        &topology,
        "SET",
        "k3",
        &[&customer("k3", "Not", "Migrated").to_string()],
    )
    .await;
    assert_eq!(
        list(&client, &server).await,
        before,
        "GET / ignores foreign keys"
    );
    for key in foreign.iter().chain(&["k3"]) {
        let (status, text) = get(&client, &server, key).await;
        assert_eq!(
            (status.as_u16(), text.as_str()),
            (404, "{}"),
            "GET /get/{key}"
        );
    }
    assert_set_works(&client, &server, "k4", "among foreign keys").await;
    assert_eq!(list(&client, &server).await.as_object().unwrap().len(), 3);
    let master = topology.master_port().await.unwrap();
    let kind: String = redis::cmd("TYPE")
        .arg("queue")
        .query_async(&mut data_conn(master).await.unwrap())
        .await
        .unwrap();
    assert_eq!(kind, "list", "foreign keys are left alone");
}

/// The races every store must win, on the Sentinel store: 40 creates of one ID
/// through the UI's save function, and edits racing deletes of one version.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_never_silently_overwrite_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology::start(Options::light()).await;
    let server = start_server(dir.path(), &topology, &[]);
    e2e::ui::parallel_creates_let_exactly_one_win(&server.url("")).await;
    e2e::ui::edit_delete_races_never_resurrect(&server.url(""), 100).await;
}

/// UI sessions live in Redis: a session begun through one server is good on
/// another, survives a failover (confirmed by a replica: `REDIS_MIN_REPLICAS_ACK=1`),
/// and signing out through either ends it on both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sessions_are_shared_by_servers_and_survive_a_failover() {
    let _heavy = HEAVY.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology::start(full_topology()).await;
    let users = dir.path().join("users.json");
    e2e::admin_command(
        &users,
        &["user", "add", "ann", "--role", "editor"],
        "ann-password\n",
    );
    let settings = [
        ("USERS_FILE", users.to_str().unwrap()),
        ("REDIS_MIN_REPLICAS_ACK", "1"),
    ];
    let (one, two) = (
        start_server(dir.path(), &topology, &settings),
        start_server(dir.path(), &topology, &settings),
    );
    let status_with = |server: &Server, session: &str| {
        let request = client()
            .get(server.url("/get/nobody"))
            .header("cookie", format!("session={session}"));
        async move { request.send().await.unwrap().status() }
    };
    let session = e2e::sign_in(&one.url(""), "ann", "ann-password").await;
    // A write of hers, whose audit entry must outlive the failover too.
    let saved = client()
        .post(one.url("/set"))
        .header("cookie", format!("session={session}"))
        .json(&customer("audited", "Ann", "Before"))
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 200);
    // 404: let in, and no such customer.
    assert_eq!(status_with(&one, &session).await, 404);
    assert_eq!(status_with(&two, &session).await, 404, "shared by servers");

    // The store keeps a digest of the token, never the token.
    let master = topology.master_port().await.unwrap();
    let mut conn = data_conn(master).await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*session:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(!keys[0].contains(&session));
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl > 0, "idle expiry kept by Redis: {ttl}");

    topology.failover().await;
    topology
        .wait_new_master(master, Duration::from_secs(30))
        .await;
    assert_eq!(status_with(&two, &session).await, 404, "after the failover");
    assert_eq!(status_with(&one, &session).await, 404, "after the failover");
    let history = client()
        .post(two.url("/api/customer_history"))
        .header("cookie", format!("session={session}"))
        .form(&[("id", "audited")])
        .send()
        .await
        .unwrap();
    assert_eq!(history.status(), 200);
    let history: Value = history.json().await.unwrap();
    assert_eq!(history["entries"][0]["actor"], "user:ann", "{history}");
    assert_eq!(history["entries"][0]["after"]["lastName"], "Before");

    let signed_out = e2e::no_redirects()
        .post(two.url("/sign-out"))
        .header("cookie", format!("session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 303);
    assert_eq!(
        status_with(&one, &session).await,
        401,
        "ended on every server"
    );
    assert_eq!(status_with(&two, &session).await, 401);
}

/// The binary configured for TLS by its environment: it serves over a mutual-TLS
/// topology, and a TLS setting that cannot work stops it with a message that says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_speaks_tls_to_redis() {
    let topology = Topology::start(Options {
        tls: Tls::Mutual,
        ..Options::light()
    })
    .await;
    let certs = topology.certs.clone().unwrap();
    let path = |p: &Path| p.display().to_string();
    let (ca, cert, key) = (
        path(&certs.ca),
        path(&certs.client_cert),
        path(&certs.client_key),
    );
    let tls = [
        ("REDIS_TLS", "true"),
        ("REDIS_TLS_CA_FILE", ca.as_str()),
        ("REDIS_TLS_CERT_FILE", cert.as_str()),
        ("REDIS_TLS_KEY_FILE", key.as_str()),
    ];
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), &topology, &tls);
    assert_set_works(&client(), &server, "tls1", "over mutual TLS").await;
    drop(server);
    let by_name = [tls.as_slice(), &[("REDIS_TLS_SERVER_NAME", "redis.test")]].concat();
    let server = start_server(dir.path(), &topology, &by_name);
    assert_set_works(&client(), &server, "tls2", "by server name").await;
    drop(server);

    // (case, environment besides the topology's, what the message says)
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a [&'a str]);
    let cases: [Case; 6] = [
        (
            "no client certificate",
            tls[..2].to_vec(),
            &["client certificate"],
        ),
        (
            "CA file without TLS",
            vec![("REDIS_TLS_CA_FILE", ca.as_str())],
            &["REDIS_TLS_CA_FILE is set but TLS is off"],
        ),
        (
            "certificate without key",
            tls[..3].to_vec(),
            &["REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together"],
        ),
        (
            "unreadable CA file",
            vec![
                ("REDIS_TLS", "true"),
                ("REDIS_TLS_CA_FILE", "no/such/ca.pem"),
            ],
            &["REDIS_TLS_CA_FILE: cannot read no/such/ca.pem"],
        ),
        (
            "server name without TLS",
            vec![("REDIS_TLS_SERVER_NAME", "redis.test")],
            &["REDIS_TLS_SERVER_NAME is set but TLS is off"],
        ),
        (
            "a server name that is no name",
            [tls.as_slice(), &[("REDIS_TLS_SERVER_NAME", "redis test/")]].concat(),
            &["REDIS_TLS_SERVER_NAME must be a DNS name or an IP address"],
        ),
    ];
    for (case, extra, says) in cases {
        let (ok, output) = run_until_exit(&redis_env(&topology, &extra));
        assert!(!ok, "{case}: exits non-zero\n{output}");
        for words in says {
            assert!(
                output.contains(words),
                "{case}: should say {words:?}: {output}"
            );
        }
    }
}
