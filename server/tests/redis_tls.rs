//! The Redis store over TLS, against real `redis-server` and `redis-sentinel`
//! processes that speak only TLS (clients, replication and sentinels alike), with
//! certificates the tests make: one-way and mutual TLS, and certificates checked
//! by server name, through both kinds of failover, and start-up errors that say
//! what is wrong.

#[allow(dead_code)] // only its writes are used here
mod contract;
mod support;

use server::store::redis::{ClientCertificate, RedisSettings, RedisStore};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::{
    free_ports, writes_through, Disruption, Options, Outcome, StoreSettings, Tls, Topology,
};

/// Every write through both failovers: no error, and none acknowledged by a replica lost.
async fn through_both_failovers(tls: Tls) {
    for disruption in [Disruption::KillMaster, Disruption::SentinelFailover] {
        let name = format!("{tls:?}, {disruption:?}");
        for Outcome {
            prefix,
            writes,
            errors,
            lost,
            longest_request: longest,
        } in writes_through(
            disruption,
            Options {
                tls,
                ..Options::full()
            },
        )
        .await
        {
            println!("{name}: {prefix} {writes} writes, {lost} lost, longest {longest:?}");
            assert!(writes > 100, "{name}: {prefix} kept writing");
            assert_eq!(errors, Vec::<String>::new(), "{name}: {prefix} no error");
            if prefix == "acked:" {
                assert_eq!(
                    lost, 0,
                    "{name}: every write confirmed by a replica survives"
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_way_tls_through_failovers() {
    through_both_failovers(Tls::OneWay).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_through_failovers() {
    through_both_failovers(Tls::Mutual).await;
}

/// Certificates checked against the name they carry, not the address dialled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_by_server_name_through_failovers() {
    through_both_failovers(Tls::OneWayByName).await;
}

async fn connect_error(settings: RedisSettings) -> String {
    let mut settings = settings;
    settings.request_deadline = Duration::from_secs(2);
    RedisStore::connect(settings)
        .await
        .err()
        .expect("connect fails")
        .to_string()
}

fn assert_says(error: &str, words: &[&str]) {
    for word in words {
        assert!(error.contains(word), "{error:?} should say {word:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_start_up_errors_say_what_is_wrong() {
    let topology = Topology::start(Options {
        tls: Tls::Mutual,
        ..Options::light()
    })
    .await;
    let certs = topology.certs.clone().unwrap();
    let read = |path: &std::path::Path| std::fs::read(path).unwrap();

    // The right settings connect.
    RedisStore::connect(topology.settings("tls:"))
        .await
        .expect("connects over mutual TLS");

    let mut wrong_ca = topology.settings("tls:");
    wrong_ca.tls.as_mut().unwrap().ca_pem = Some(read(&certs.other_ca));
    let error = connect_error(wrong_ca).await;
    assert_says(&error, &["certificate", "REDIS_TLS_CA_FILE"]);
    println!("wrong CA: {error}");

    let mut no_client_certificate = topology.settings("tls:");
    no_client_certificate.tls.as_mut().unwrap().client = None;
    let error = connect_error(no_client_certificate).await;
    assert_says(&error, &["client certificate", "REDIS_TLS_CERT_FILE"]);
    println!("no client certificate: {error}");

    // The server name, not the address, is what the certificate is checked against.
    let mut wrong_name = topology.settings("tls:");
    wrong_name.tls.as_mut().unwrap().server_name = Some("elsewhere.test".to_owned());
    let error = connect_error(wrong_name).await;
    assert_says(&error, &["does not name", "REDIS_TLS_SERVER_NAME"]);
    println!("a server name the certificate lacks: {error}");

    let mut plain_to_tls = topology.settings("tls:");
    plain_to_tls.tls = None;
    let error = connect_error(plain_to_tls).await;
    assert_says(&error, &["REDIS_TLS"]);
    println!("plain text to a TLS port: {error}");

    // TLS to a plain-text port.
    let plain = Topology::start(Options::light()).await;
    let mut tls_to_plain = plain.settings("tls:");
    tls_to_plain.tls = topology.settings("tls:").tls;
    let error = connect_error(tls_to_plain).await;
    assert_says(&error, &["TLS", "plain-text"]);
    println!("TLS to a plain-text port: {error}");

    // A server whose certificate has expired, reached through a rediss:// URL.
    let expired = ExpiredServer::start(&certs);
    // Its certificate was valid for the second it was made in.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut settings = RedisSettings::single(format!("rediss://127.0.0.1:{}", expired.port));
    settings.tls = topology.settings("tls:").tls;
    settings.tls.as_mut().unwrap().client = Some(ClientCertificate {
        cert_pem: read(&certs.client_cert),
        key_pem: read(&certs.client_key),
    });
    let error = connect_error(settings).await;
    assert_says(&error, &["expired"]);
    println!("expired certificate: {error}");
}

/// A lone `redis-server` on a TLS port, presenting an expired certificate.
struct ExpiredServer {
    port: u16,
    child: Child,
}

impl ExpiredServer {
    fn start(certs: &support::tls::Certs) -> Self {
        let port = free_ports(1)[0];
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--tls-cert-file")
            .arg(&certs.expired_cert)
            .arg("--tls-key-file")
            .arg(&certs.expired_key)
            .arg("--tls-ca-cert-file")
            .arg(&certs.ca)
            .args(["--tls-auth-clients", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { port, child }
    }
}

impl Drop for ExpiredServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
