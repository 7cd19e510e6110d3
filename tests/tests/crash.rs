//! Crash safety of the embedded store: SIGKILL the server during 32 concurrent
//! writers, 20 times over, restarting it each time, and find every acknowledged
//! write (of every round so far) after each restart.

use reqwest::Client;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testkit::Server;

const WRITERS: usize = 32;
const ROUNDS: usize = 20;

/// id -> the last `lastName` (a counter) the server acknowledged for it.
type Acknowledged = Arc<Mutex<HashMap<String, u32>>>;

async fn write_until_failure(url: String, round: usize, writer: usize, acknowledged: Acknowledged) {
    let client = Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    // Bounded: stops at the first failure (the kill) or after 2,000 writes.
    for n in 0..2_000u32 {
        // A few IDs per writer, rewritten over and over: overwrites must survive too.
        let id = format!("r{round}-w{writer}-{}", n % 5);
        let body = json!({"customerID": id, "firstName": "Version", "lastName": n.to_string()});
        match client.post(&url).json(&body).send().await {
            Ok(response) if response.status() == 200 => {
                acknowledged.lock().unwrap().insert(id, n);
            }
            Ok(response) => panic!("{id}: a write answered {}", response.status()),
            Err(_) => break,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_concurrent_writes_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("customers.json");
    let mut server = Server::start(&data);
    let acknowledged: Acknowledged = Arc::default();
    let client = Client::new();
    for round in 0..ROUNDS {
        let before = acknowledged.lock().unwrap().len();
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                tokio::spawn(write_until_failure(
                    server.url("/set"),
                    round,
                    writer,
                    acknowledged.clone(),
                ))
            })
            .collect();
        // Let writes flow (a varying while), then kill the server without warning.
        let started = Instant::now();
        let wanted = before + 40 + round * 7;
        while acknowledged.lock().unwrap().len() < wanted
            && started.elapsed() < Duration::from_secs(20)
        {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        server.kill_hard();
        for writer in writers {
            writer.await.unwrap();
        }
        assert!(
            acknowledged.lock().unwrap().len() > before,
            "round {round}: writes were flowing"
        );

        server = server.restart();
        let listing: Value = testkit::get_json(&client, &server.url("/")).await;
        let stored = listing.as_object().expect("GET / lists an object");
        for (id, last) in acknowledged.lock().unwrap().iter() {
            let found: u32 = stored
                .get(id)
                .unwrap_or_else(|| panic!("round {round}: {id} was acknowledged but is gone"))
                ["lastName"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            // A write sent after the last acknowledged one may have landed too.
            assert!(
                found >= *last,
                "round {round}: {id}: acknowledged {last}, found {found}"
            );
        }
    }
}
