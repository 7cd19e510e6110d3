//! Crash safety of the embedded store: SIGKILL the server during a stream of
//! writes, restart it, and find every acknowledged write in a valid file.

use e2e::Server;
use reqwest::Client;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_writes_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("customers.json");
    let mut server = Server::start(&data);
    let url = server.url("/set");

    // id -> the last version the server acknowledged.
    let acknowledged: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let writers: Vec<_> = (0..4)
        .map(|writer| {
            let url = url.clone();
            let acknowledged = acknowledged.clone();
            tokio::spawn(async move {
                let client = Client::builder().timeout(Duration::from_secs(5)).build().unwrap();
                // Bounded: stops at the first failure (the kill) or after 5,000 writes.
                for n in 0..5_000u32 {
                    // Ten IDs per writer, rewritten over and over: overwrites must survive too.
                    let id = format!("w{writer}-{}", n % 10);
                    let body = json!({"customerID": id, "firstName": "Version", "lastName": n.to_string()});
                    match client.post(&url).json(&body).send().await {
                        Ok(response) if response.status() == 200 => {
                            acknowledged.lock().unwrap().insert(id, n);
                        }
                        _ => break,
                    }
                }
            })
        })
        .collect();

    // Let writes flow, then kill the server without warning.
    let started = std::time::Instant::now();
    while acknowledged
        .lock()
        .unwrap()
        .values()
        .filter(|&&n| n >= 10)
        .count()
        < 20
        && started.elapsed() < Duration::from_secs(20)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill_hard();
    for writer in writers {
        writer.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 20,
        "writes were flowing before the kill"
    );

    // The file is valid JSON in the original format...
    let bytes = std::fs::read(&data).expect("data file exists");
    let stored: Value = serde_json::from_slice(&bytes).expect("the file is never torn");
    assert!(stored.is_object());

    // ...and the restarted server has every acknowledged write (or a later one).
    let server = server.restart();
    let client = Client::new();
    for (id, version) in &acknowledged {
        let response = client
            .get(server.url(&format!("/get/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{id} was acknowledged but is gone");
        let customer: Value = response.json().await.unwrap();
        let stored_version: u32 = customer["lastName"].as_str().unwrap().parse().unwrap();
        assert!(
            stored_version >= *version,
            "{id}: acknowledged version {version}, found {stored_version}"
        );
    }
}
