//! The Redis Sentinel store through the real server binary over real HTTP, against
//! real `redis-server` / `redis-sentinel` processes (master, replicas and sentinels
//! on free loopback ports, password-protected): what a client sees — statuses,
//! `/readyz`, `/metrics` — through a failover and sentinel outages; start-up
//! errors; the `migrate-legacy`, `import` and `export` subcommands; sessions
//! shared by two servers; TLS configured by the environment. How the store itself
//! behaves through failovers (errors, stalls, writes lost) is tested at its own
//! level, in `server/tests/redis_store.rs`.

use reqwest::{Client, StatusCode};
use serde_json::{Map, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testkit::api::{assert_set_works, customer, get, list, set};
use testkit::load::{Pace, Report, Writers};
use testkit::topology::{
    data_conn, free_ports, wait_for, Options, Tls, Topology, MASTER_NAME, PASSWORD,
};
use testkit::{run_command, sample_data, server_binary, Server};

/// The failover and outage tests each run a full topology, servers and writers:
/// one at a time, so that on a small machine the latencies they report are their own.
static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Three writers per server, a write every 10 ms each, for at most 90 s.
const PACE: Pace = Pace {
    writers: 3,
    every: Duration::from_millis(10),
    at_most: Duration::from_secs(90),
};
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

/// Writers through `POST /set` of `server`: only a 200 `success` counts as
/// acknowledged.
fn write_through(label: &str, server: &Server) -> Writers {
    let url = server.url("/set");
    let client = client();
    Writers::start(label, PACE, move |id| {
        let (client, url) = (client.clone(), url.clone());
        async move {
            let body = customer(&id, "Writer", &id);
            let response = client.post(&url).json(&body).send().await;
            let response = response.map_err(|e| e.to_string())?;
            let status = response.status();
            match response.text().await.map_err(|e| e.to_string())? {
                text if status == 200 && text == "success" => Ok(()),
                text => Err(format!("{status}: {text}")),
            }
        }
    })
}

/// Every client-visible outcome a failover must give: writes flowing before and
/// after, and every one of them answered 200 `success`.
fn judge(scenario: &str, reports: &[&Report]) {
    for report in reports {
        report.print(scenario, None);
        assert!(
            report.acks.len() >= 2 * STEADY_ACKS,
            "{scenario} {}: writes were flowing",
            report.label
        );
        assert!(
            report.errors.is_empty(),
            "{scenario} {}: client-visible errors: {:#?}",
            report.label,
            &report.errors[..report.errors.len().min(10)]
        );
    }
}

/// Two servers on one topology, one requiring a replica's acknowledgement of each
/// write (`REDIS_MIN_REPLICAS_ACK=1`) and one not, each under its own stream of
/// writes, through a master SIGKILL: every write is answered 200, and the
/// failover shows in `/metrics`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn master_killed_during_writes() {
    let _heavy = HEAVY.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let mut topology = Topology::start(full_topology()).await;
    let acked_server = start_server(
        dir.path(),
        &topology,
        &[
            ("REDIS_MIN_REPLICAS_ACK", "1"),
            ("REDIS_KEY_PREFIX", "ack1:"),
        ],
    );
    let unacked_server = start_server(dir.path(), &topology, &[("REDIS_KEY_PREFIX", "ack0:")]);
    let acked = write_through("ack1", &acked_server);
    let unacked = write_through("ack0", &unacked_server);
    Writers::wait_more(&[&acked, &unacked], STEADY_ACKS, "writes flowing").await;

    let old = topology.kill_master().await;
    let killed = Instant::now();
    let new = topology.wait_new_master(old, Duration::from_secs(30)).await;
    println!(
        "[kill] master {old} SIGKILLed; sentinels promoted {new} after {} ms",
        killed.elapsed().as_millis()
    );
    Writers::wait_more(
        &[&acked, &unacked],
        STEADY_ACKS,
        "writes acknowledged after the failover",
    )
    .await;
    let (acked, unacked) = (acked.finish().await, unacked.finish().await);
    judge("kill, down-after 2000 ms", &[&acked, &unacked]);
    let failovers = redis_metric(&client(), &acked_server, "redis_failovers_seen_total").await;
    assert!(
        failovers >= 1.0,
        "the failover is counted in /metrics: {failovers}"
    );
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

/// The server reports ready only once its search index is loaded, so that no
/// search after that waits for it. Signed in as a Redis user that may not read
/// the records in bulk yet (no `HSCAN`), the server serves `GET /get` but says
/// it is not ready; once the right is granted it becomes ready by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_only_once_the_search_index_is_loaded() {
    let topology = Topology::start(Options::light()).await;
    topology
        .add_data_user("records", "records-secret", "~customers:* +@all -hscan")
        .await;
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(
        dir.path(),
        &topology,
        &[
            ("REDIS_USERNAME", "records"),
            ("REDIS_PASSWORD", "records-secret"),
            ("REDIS_REQUEST_DEADLINE_MS", "1000"),
        ],
    );
    let client = client();
    assert_set_works(&client, &server, "w1", "before the index can load").await;
    for _ in 0..3 {
        let (status, text) = readyz(&client, &server).await;
        assert_eq!(status, 503, "{text}");
        assert_eq!(text, "not ready: still loading the index of customers\n");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    topology
        .add_data_user("records", "records-secret", "+hscan")
        .await;
    wait_for(
        Duration::from_secs(15),
        "ready once HSCAN is allowed",
        || {
            let (client, server) = (&client, &server);
            async move { (readyz(client, server).await.0 == 200).then_some(()) }
        },
    )
    .await;
    assert!(list(&client, &server).await.get("w1").is_some());
}

async fn readyz(client: &Client, server: &Server) -> (StatusCode, String) {
    let response = client.get(server.url("/readyz")).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn redis_metric(client: &Client, server: &Server, metric: &str) -> f64 {
    let text = testkit::get_text(client, &server.url("/metrics")).await;
    testkit::metric_sum(&testkit::parse_prometheus(&text), metric, &[])
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

/// The binary stops on a setting that cannot work and prints the reason: one
/// that its configuration rejects, and one the store finds on connecting (every
/// such message is tested in `server/tests/redis_store.rs`).
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

    let env = redis_env(&topology, &[("REDIS_ADDRESS_MAP", "10.0.0.5:6379")]);
    let (ok, output) = run_until_exit(&env);
    assert!(!ok, "bad address map: exits non-zero\n{output}");
    assert!(
        output.contains("REDIS_ADDRESS_MAP: entry 1 (\"10.0.0.5:6379\") is not announced-host:port=reachable-host:port"),
        "bad address map: {output}"
    );
}

// ---------------------------------------------------------------------------
// Subcommands.

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

/// The races every store must win, on the Sentinel store: 40 creates of one ID
/// through the UI's save function, and edits racing deletes of one version.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_never_silently_overwrite_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology::start(Options::light()).await;
    let server = start_server(dir.path(), &topology, &[]);
    testkit::ui::parallel_creates_let_exactly_one_win(&server.url("")).await;
    testkit::ui::edit_delete_races_never_resurrect(&server.url(""), 100).await;
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
    testkit::admin_command(
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
    let session = testkit::sign_in(&one.url(""), "ann", "ann-password").await;
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

    let signed_out = testkit::no_redirects()
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

/// Two servers on one store under mixed load (writes through both, searches on
/// both): every write acknowledged by one is in the very next search on the
/// other, the same for an update and a delete (each server's search index
/// catches up with the store's change stream before it answers); prints how
/// long the write and that search took together.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_agree_at_once() {
    let _heavy = HEAVY.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let topology = Topology::start(Options::light()).await;
    let servers = [
        start_server(dir.path(), &topology, &[]),
        start_server(dir.path(), &topology, &[]),
    ];
    let client = client();
    let pace = Pace {
        writers: 2,
        every: Duration::from_millis(10),
        at_most: Duration::from_secs(60),
    };
    let load: Vec<Writers> = servers
        .iter()
        .enumerate()
        .map(|(i, server)| {
            let url = server.url("/set");
            let client = client.clone();
            Writers::start(&format!("load{i}"), pace, move |id| {
                let (client, url) = (client.clone(), url.clone());
                async move {
                    let body = customer(&id, "Load", &id);
                    let response = client.post(&url).json(&body).send().await;
                    let status = response.map_err(|e| e.to_string())?.status();
                    (status == 200).then_some(()).ok_or(status.to_string())
                }
            })
        })
        .collect();
    let searching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let searchers: Vec<_> = servers
        .iter()
        .map(|server| {
            let (client, url, searching) = (
                client.clone(),
                server.url("/api/list_customers"),
                searching.clone(),
            );
            tokio::spawn(async move {
                while searching.load(std::sync::atomic::Ordering::Relaxed) {
                    let found = client.post(&url).form(&[("search", "load")]).send().await;
                    assert_eq!(found.unwrap().status(), 200);
                }
            })
        })
        .collect();

    let mut took = Vec::new();
    for probe in 0..80 {
        // Spread over a few seconds of the load.
        tokio::time::sleep(Duration::from_millis(25)).await;
        let (writer, reader) = (&servers[probe % 2], &servers[1 - probe % 2]);
        let (id, name) = (format!("probe{probe}"), format!("Quokka{probe:03}"));
        let started = Instant::now();
        let (status, text, _) = set(&client, writer, &customer(&id, "Probe", &name)).await;
        assert_eq!((status.as_u16(), text.as_str()), (200, "success"));
        assert_eq!(
            search(&client, reader, &name).await,
            std::slice::from_ref(&id),
            "created"
        );
        took.push(started.elapsed());
        // Renamed through the other server: the old name finds nothing at once.
        let renamed = format!("Wombat{probe:03}");
        let (status, ..) = set(&client, reader, &customer(&id, "Probe", &renamed)).await;
        assert_eq!(status, 200);
        assert!(search(&client, writer, &name).await.is_empty(), "renamed");
        assert_eq!(
            search(&client, writer, &renamed).await,
            std::slice::from_ref(&id)
        );
        if probe % 4 == 0 {
            let deleted = client
                .post(writer.url("/api/delete_customer"))
                .header("accept", "application/json")
                .form(&[("customerID", id.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(deleted.status(), 200);
            assert!(
                search(&client, reader, &renamed).await.is_empty(),
                "deleted"
            );
        }
    }
    searching.store(false, std::sync::atomic::Ordering::Relaxed);
    for searcher in searchers {
        searcher.await.unwrap();
    }
    for writers in load {
        let report = writers.finish().await;
        assert!(
            report.errors.is_empty(),
            "{:?}",
            &report.errors[..report.errors.len().min(5)]
        );
    }
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "two servers: a write through one, then a search on the other that finds it: \
         p50 {:.1} ms, max {:.1} ms ({} probes, under load)",
        ms(took[took.len() / 2]),
        ms(took[took.len() - 1]),
        took.len()
    );
}

/// The IDs the UI's search finds for `text` through `server`.
async fn search(client: &Client, server: &Server, text: &str) -> Vec<String> {
    let found = client
        .post(server.url("/api/list_customers"))
        .form(&[("search", text)])
        .send()
        .await
        .unwrap();
    assert_eq!(found.status(), 200);
    // The answer is postcard: fields in order, so the page's customers come
    // first, each as ID, first name, last name (the rest is not read).
    #[derive(serde::Deserialize)]
    struct PageStart {
        customers: Vec<(String, String, String)>,
    }
    let body = found.bytes().await.unwrap();
    let page: PageStart = postcard::from_bytes(&body).unwrap();
    page.customers.into_iter().map(|(id, ..)| id).collect()
}
