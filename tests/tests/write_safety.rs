//! Writes to the embedded store through the real server binary, as unfriendly
//! clients make them: clients that reset mid-request, racing writers, a second
//! process on the same file, look-alike IDs, and `If-Match`.

use reqwest::Client;
use serde_json::{json, Value};
use std::io::Write;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::Duration;
use testkit::{run_command, ui, Server};

/// A data file in the original format with `count` customers.
fn write_customers(path: &Path, count: usize) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    out.write_all(b"{").unwrap();
    for i in 0..count {
        let sep = if i == 0 { "" } else { "," };
        write!(
            out,
            r#"{sep}"c{i:06}":{{"customerID":"c{i:06}","firstName":"First{i}","lastName":"Last{i}"}}"#
        )
        .unwrap();
    }
    out.write_all(b"}").unwrap();
}

/// Every whole journal line parses: the journal is never torn between writes.
fn assert_files_parse(data: &Path) {
    if data.exists() {
        let snapshot: Value =
            serde_json::from_slice(&std::fs::read(data).unwrap()).expect("the snapshot parses");
        assert!(snapshot.is_object());
    }
    let journal = std::fs::read_to_string(data.with_extension("json.journal")).unwrap_or_default();
    for line in journal.lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|e| panic!("journal line {line:?}: {e}"));
    }
}

fn set_request(body: &Value) -> Vec<u8> {
    let body = body.to_string();
    format!(
        "POST /set HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_reset_mid_write_never_corrupt_or_lose_acknowledged_writes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("customers.json");
    write_customers(&data, 200_000);
    let server = Server::start(&data);
    let client = Client::new();
    let mut acknowledged = Vec::new();
    for round in 0..50u64 {
        // Client A sends a whole write, then vanishes with a reset (SO_LINGER 0).
        let mut a = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        let a_body =
            json!({"customerID": format!("a-{round}"), "firstName": "Reset", "lastName": "Client"});
        a.write_all(&set_request(&a_body)).unwrap();
        tokio::time::sleep(Duration::from_millis(20 + round % 41)).await;
        let id = format!("b-{round}");
        let b = {
            let (client, url) = (client.clone(), server.url("/set"));
            let body =
                json!({"customerID": id, "firstName": "Patient", "lastName": round.to_string()});
            tokio::spawn(async move { client.post(url).json(&body).send().await })
        };
        let linger = nix::libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        nix::sys::socket::setsockopt(&a.as_fd(), nix::sys::socket::sockopt::Linger, &linger)
            .unwrap();
        drop(a);
        let response = b.await.unwrap().expect("B gets an answer");
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, 200, "round {round}: {text}");
        acknowledged.push(id);
        if round % 10 == 0 {
            assert_files_parse(&data);
        }
    }
    assert_files_parse(&data);
    let server = server.restart();
    for id in &acknowledged {
        let status = client
            .get(server.url(&format!("/get/{id}")))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200, "{id} was acknowledged");
    }
    let count = client
        .get(server.url("/"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let count = count.as_object().unwrap().len();
    assert!(count >= 200_050, "nothing that was there is lost: {count}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_creates_through_the_ui_let_exactly_one_win() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("customers.json"));
    ui::parallel_creates_let_exactly_one_win(&server.url("")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn edits_racing_deletes_never_bring_a_customer_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("customers.json"));
    ui::edit_delete_races_never_resurrect(&server.url(""), 100).await;
}

#[tokio::test]
async fn a_held_data_file_refuses_a_second_server_and_import() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("customers.json");
    std::fs::copy(testkit::sample_data(), &data).unwrap();
    let server = Server::start(&data);
    let file = data.to_str().unwrap();
    let listen = format!("127.0.0.1:{}", testkit::free_port());
    for args in [
        vec!["--data-file", file, "--listen", listen.as_str()],
        vec!["--data-file", file, "import", file],
        vec!["--data-file", file, "export", "/dev/null"],
    ] {
        let (ok, output) = run_command(&args, &[]);
        assert!(!ok, "{args:?} must be refused: {output}");
        assert!(
            output.contains("in use by another customer-records process"),
            "{args:?}: {output}"
        );
        assert!(
            output.contains(&format!("pid {}", server.pid())),
            "{args:?}: {output}"
        );
    }
    let status = Client::new()
        .get(server.url("/get/a"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200, "the owner is unaffected");
}

#[tokio::test]
async fn look_alike_ids_are_refused_and_normal_forms_meet() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("customers.json"));
    let client = Client::new();
    let set = |id: &str| {
        let request = client
            .post(server.url("/set"))
            .json(&json!({"customerID": id, "firstName": "F", "lastName": "L"}));
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    for (id, rule) in [
        ("a ", "whitespace"),
        (" a", "whitespace"),
        ("al\u{200b}ice", "invisible"),
        ("\u{feff}", "invisible"),
        ("a\u{202e}b", "invisible"),
        ("tag\u{e0041}", "invisible"),
    ] {
        let (status, text) = set(id).await;
        assert_eq!(status, 400, "{id:?}: {text}");
        assert!(text.contains(rule), "{id:?}: {text}");
    }
    assert_eq!(set("Jose\u{301}").await.0, 200);
    for form in ["Jos%C3%A9", "Jose%CC%81"] {
        let response = client
            .get(server.url(&format!("/get/{form}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{form}");
        let customer: Value = response.json().await.unwrap();
        assert_eq!(customer["customerID"], "Jos\u{e9}", "stored in NFC");
    }
    let all: Value = testkit::get_json(&client, &server.url("/")).await;
    assert_eq!(
        all.as_object().unwrap().len(),
        1,
        "one customer, not two: {all}"
    );
}

#[tokio::test]
async fn if_match_makes_set_conditional() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("customers.json"));
    let client = Client::new();
    let set = |body: Value, if_match: Option<&str>| {
        let mut request = client.post(server.url("/set")).json(&body);
        if let Some(tag) = if_match {
            request = request.header("If-Match", tag);
        }
        async move {
            let response = request.send().await.unwrap();
            let tag = response
                .headers()
                .get("etag")
                .map(|t| t.to_str().unwrap().to_owned());
            (
                response.status().as_u16(),
                tag,
                response.text().await.unwrap(),
            )
        }
    };
    let body = |last: &str| json!({"customerID": "m", "firstName": "Mia", "lastName": last});

    assert_eq!(
        set(body("x"), Some("*")).await.0,
        412,
        "nothing to match yet"
    );
    assert_eq!(set(body("x"), Some("\"1\"")).await.0, 412);
    let (status, created, text) = set(body("One"), None).await;
    assert_eq!(
        (status, text.as_str()),
        (200, "success"),
        "without If-Match: the old upsert"
    );
    let created = created.expect("an ETag for the new version");

    let response = client.get(server.url("/get/m")).send().await.unwrap();
    assert_eq!(response.headers()["etag"].to_str().unwrap(), created);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"customerID": "m", "firstName": "Mia", "lastName": "One"}),
        "the body is unchanged"
    );

    let (status, second, _) = set(body("Two"), Some(&created)).await;
    assert_eq!(status, 200);
    let second = second.unwrap();
    assert_ne!(second, created);
    let (status, current, text) = set(body("Stale"), Some(&created)).await;
    assert_eq!(status, 412, "{text}");
    assert_eq!(
        current.as_deref(),
        Some(second.as_str()),
        "412 names the current version"
    );
    assert_eq!(set(body("Any"), Some("*")).await.0, 200);
    for bad in ["12", "\"x\"", "\"1\", \"2\""] {
        assert_eq!(set(body("Bad"), Some(bad)).await.0, 400, "{bad}");
    }
    let stored: Value = testkit::get_json(&client, &server.url("/get/m")).await;
    assert_eq!(stored["lastName"], "Any");
}
