//! The original JSON API over real HTTP against the real server binary.

use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::path::PathBuf;
use testkit::{sample_data, Server};

/// A server on a private copy of the original sample data.
fn start_with_sample() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("customers.json");
    std::fs::copy(sample_data(), &data).unwrap();
    let server = Server::start(&data);
    (dir, server)
}

async fn get_json(client: &Client, url: &str) -> (StatusCode, String, Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.text().await.unwrap();
    let value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {body}"));
    (status, content_type, value)
}

async fn post_set(
    client: &Client,
    body: impl Into<reqwest::Body>,
    content_type: Option<&str>,
    url: &str,
) -> (StatusCode, String) {
    let mut request = client.post(url).body(body);
    if let Some(content_type) = content_type {
        request = request.header(CONTENT_TYPE, content_type);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn list_returns_every_customer_keyed_by_id() {
    let (_dir, server) = start_with_sample();
    let client = Client::new();
    let (status, content_type, body) = get_json(&client, &server.url("/")).await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let expected: Value = serde_json::from_slice(&std::fs::read(sample_data()).unwrap()).unwrap();
    assert_eq!(body, expected);

    // What curl and requests send gets JSON too.
    let response = client
        .get(server.url("/"))
        .header(ACCEPT, "*/*")
        .send()
        .await
        .unwrap();
    assert!(response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
}

#[tokio::test]
async fn list_of_an_empty_store_is_an_empty_object() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("none-yet.json"));
    let (status, _, body) = get_json(&Client::new(), &server.url("/")).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({}));
}

#[tokio::test]
async fn list_streams_thousands_of_customers_as_one_object() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("many.json");
    let many: serde_json::Map<String, Value> = (0..2500)
        .map(|i| {
            let id = format!("id{i:05}");
            (
                id.clone(),
                json!({"customerID": id, "firstName": "F", "lastName": "L"}),
            )
        })
        .collect();
    std::fs::write(&data, serde_json::to_vec(&many).unwrap()).unwrap();
    let server = Server::start(&data);
    let (_, _, body) = get_json(&Client::new(), &server.url("/")).await;
    assert_eq!(body, Value::Object(many));
}

#[tokio::test]
async fn a_browser_asking_for_html_gets_the_ui() {
    let (_dir, server) = start_with_sample();
    let response = Client::new()
        .get(server.url("/"))
        .header(
            ACCEPT,
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("Janmohamed"), "the list is server-rendered");
}

#[tokio::test]
async fn get_one_customer_or_404_with_empty_object() {
    let (_dir, server) = start_with_sample();
    let client = Client::new();
    let (status, content_type, body) = get_json(&client, &server.url("/get/a")).await;
    assert_eq!(status, 200);
    assert!(content_type.starts_with("application/json"));
    assert_eq!(
        body,
        json!({"customerID": "a", "firstName": "James", "lastName": "Baker"})
    );

    let (status, content_type, body) = get_json(&client, &server.url("/get/nobody")).await;
    assert_eq!(status, 404);
    assert!(content_type.starts_with("application/json"));
    assert_eq!(body, json!({}));
}

#[tokio::test]
async fn set_stores_and_answers_success() {
    let (_dir, server) = start_with_sample();
    let client = Client::new();
    let body =
        json!({"customerID": "h", "firstName": "Grace", "lastName": "Hopper", "extra": [1, 2]});
    let (status, text) = post_set(
        &client,
        body.to_string(),
        Some("application/json"),
        &server.url("/set"),
    )
    .await;
    assert_eq!((status.as_u16(), text.as_str()), (200, "success"));
    let (_, _, stored) = get_json(&client, &server.url("/get/h")).await;
    assert_eq!(
        stored,
        json!({"customerID": "h", "firstName": "Grace", "lastName": "Hopper"}),
        "extra fields are ignored"
    );

    // Overwrite.
    let body = json!({"customerID": "h", "firstName": "Grace B.", "lastName": "Hopper"});
    let (status, _) = post_set(
        &client,
        body.to_string(),
        Some("application/json; charset=utf-8"),
        &server.url("/set"),
    )
    .await;
    assert_eq!(status, 200);
    let (_, _, stored) = get_json(&client, &server.url("/get/h")).await;
    assert_eq!(stored["firstName"], "Grace B.");
    let (_, _, all) = get_json(&client, &server.url("/")).await;
    assert_eq!(all.as_object().unwrap().len(), 8);
}

#[tokio::test]
async fn url_encoded_ids_work() {
    let (_dir, server) = start_with_sample();
    let client = Client::new();
    for id in ["with space", "ünïcødé", "a?b#c&d", "100%", "名前"] {
        let body = json!({"customerID": id, "firstName": "F", "lastName": "L"});
        let (status, _) = post_set(
            &client,
            body.to_string(),
            Some("application/json"),
            &server.url("/set"),
        )
        .await;
        assert_eq!(status, 200, "{id}");
        let encoded: String = id
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let (status, _, stored) = get_json(&client, &server.url(&format!("/get/{encoded}"))).await;
        assert_eq!(status, 200, "{id}");
        assert_eq!(stored["customerID"], id);
    }
    let (status, _, _) = get_json(&client, &server.url("/get/with%20space")).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn missing_fields_are_reported_in_the_original_order() {
    let (_dir, server) = start_with_sample();
    let client = Client::new();
    let cases = [
        (json!({}), "customerID required"),
        (
            json!({"firstName": "a", "lastName": "b"}),
            "customerID required",
        ),
        (
            json!({"customerID": "x", "lastName": "b"}),
            "firstName required",
        ),
        (
            json!({"customerID": "x", "firstName": "a"}),
            "lastName required",
        ),
        (json!({"customerID": "x"}), "firstName required"),
    ];
    for (body, message) in cases {
        let (status, text) = post_set(
            &client,
            body.to_string(),
            Some("application/json"),
            &server.url("/set"),
        )
        .await;
        assert_eq!((status.as_u16(), text.as_str()), (400, message), "{body}");
    }
}

/// (what is wrong, body, content type, expected status, expected message prefix)
type BadInput<'a> = (&'a str, Vec<u8>, Option<&'a str>, u16, &'a str);

/// Bad inputs: each gets a 4xx with a plain message, and nothing stored changes.
#[tokio::test]
async fn bad_inputs_get_a_clear_4xx_and_change_nothing() {
    let (_dir, server) = start_with_sample();
    let client = Client::new();
    let json_type = Some("application/json");
    let long_id = "i".repeat(129);
    let long_name = "n".repeat(201);
    let huge = json!({"customerID": "big", "firstName": "a", "lastName": "b", "pad": "x".repeat(70 * 1024)}).to_string();
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let cases: Vec<BadInput> = vec![
        (
            "truncated object",
            b"{\"customerID\": \"x\"".to_vec(),
            json_type,
            400,
            "malformed JSON",
        ),
        (
            "lone brace",
            b"{".to_vec(),
            json_type,
            400,
            "malformed JSON",
        ),
        ("empty body", b"".to_vec(), json_type, 400, "malformed JSON"),
        (
            "trailing garbage",
            b"{} x".to_vec(),
            json_type,
            400,
            "malformed JSON",
        ),
        (
            "single quotes",
            b"{'customerID': 'x'}".to_vec(),
            json_type,
            400,
            "malformed JSON",
        ),
        (
            "invalid UTF-8",
            b"{\"customerID\": \"\xff\xfe\"}".to_vec(),
            json_type,
            400,
            "malformed JSON",
        ),
        (
            "deeply nested",
            deep.into_bytes(),
            json_type,
            400,
            "malformed JSON",
        ),
        (
            "null body",
            b"null".to_vec(),
            json_type,
            400,
            "request body must be a JSON object",
        ),
        (
            "array body",
            b"[]".to_vec(),
            json_type,
            400,
            "request body must be a JSON object",
        ),
        (
            "string body",
            b"\"a\"".to_vec(),
            json_type,
            400,
            "request body must be a JSON object",
        ),
        (
            "number body",
            b"42".to_vec(),
            json_type,
            400,
            "request body must be a JSON object",
        ),
        (
            "numeric ID",
            br#"{"customerID": 7, "firstName": "a", "lastName": "b"}"#.to_vec(),
            json_type,
            400,
            "customerID must be a string",
        ),
        (
            "object first name",
            br#"{"customerID": "x", "firstName": {}, "lastName": "b"}"#.to_vec(),
            json_type,
            400,
            "firstName must be a string",
        ),
        (
            "array last name",
            br#"{"customerID": "x", "firstName": "a", "lastName": ["b"]}"#.to_vec(),
            json_type,
            400,
            "lastName must be a string",
        ),
        (
            "boolean last name",
            br#"{"customerID": "x", "firstName": "a", "lastName": true}"#.to_vec(),
            json_type,
            400,
            "lastName must be a string",
        ),
        (
            "null ID",
            br#"{"customerID": null, "firstName": "a", "lastName": "b"}"#.to_vec(),
            json_type,
            400,
            "customerID required",
        ),
        (
            "blank ID",
            br#"{"customerID": "   ", "firstName": "a", "lastName": "b"}"#.to_vec(),
            json_type,
            400,
            "customerID required",
        ),
        (
            "blank first name",
            br#"{"customerID": "x", "firstName": "", "lastName": "b"}"#.to_vec(),
            json_type,
            400,
            "firstName required",
        ),
        (
            "slash in ID",
            br#"{"customerID": "a/b", "firstName": "a", "lastName": "b"}"#.to_vec(),
            json_type,
            400,
            "customerID must not contain '/'",
        ),
        (
            "control character in ID",
            br#"{"customerID": "a\u0007", "firstName": "a", "lastName": "b"}"#.to_vec(),
            json_type,
            400,
            "customerID must not contain control characters",
        ),
        (
            "newline in last name",
            br#"{"customerID": "x", "firstName": "a", "lastName": "b\nc"}"#.to_vec(),
            json_type,
            400,
            "lastName must not contain control characters",
        ),
        (
            "ID too long",
            format!(r#"{{"customerID": "{long_id}", "firstName": "a", "lastName": "b"}}"#)
                .into_bytes(),
            json_type,
            400,
            "customerID must be at most 128 characters",
        ),
        (
            "name too long",
            format!(r#"{{"customerID": "x", "firstName": "{long_name}", "lastName": "b"}}"#)
                .into_bytes(),
            json_type,
            400,
            "firstName must be at most 200 characters",
        ),
        (
            "body over 64 KiB",
            huge.into_bytes(),
            json_type,
            413,
            "request body exceeds 64 KiB",
        ),
        (
            "no content type",
            br#"{"customerID": "x", "firstName": "a", "lastName": "b"}"#.to_vec(),
            None,
            415,
            "Content-Type must be application/json",
        ),
        (
            "text/plain",
            br#"{"customerID": "x", "firstName": "a", "lastName": "b"}"#.to_vec(),
            Some("text/plain"),
            415,
            "Content-Type must be application/json",
        ),
        (
            "form encoding",
            b"customerID=x&firstName=a&lastName=b".to_vec(),
            Some("application/x-www-form-urlencoded"),
            415,
            "Content-Type must be application/json",
        ),
    ];
    assert!(cases.len() >= 20);

    let (_, _, before) = get_json(&client, &server.url("/")).await;
    let file_before = std::fs::read(&server.data_file).unwrap();
    for (name, body, content_type, status, message) in cases {
        let (got_status, text) = post_set(&client, body, content_type, &server.url("/set")).await;
        assert_eq!(got_status.as_u16(), status, "{name}: {text}");
        assert!(
            text.starts_with(message),
            "{name}: expected {message:?}, got {text:?}"
        );
    }
    // Wrong methods are 4xx too.
    let response = client.get(server.url("/set")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    let response = client.post(server.url("/get/a")).send().await.unwrap();
    assert_eq!(response.status(), 405);

    let (_, _, after) = get_json(&client, &server.url("/")).await;
    assert_eq!(after, before, "the store is unchanged");
    assert_eq!(
        std::fs::read(&server.data_file).unwrap(),
        file_before,
        "the file is unchanged"
    );
}

#[tokio::test]
async fn a_corrupt_data_file_stops_start_up_with_its_name_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("broken.json");
    std::fs::write(&data, "{\n \"a\": [\n").unwrap();
    let (ok, output) = testkit::run_command(
        &[
            "--data-file",
            data.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
        &[],
    );
    assert!(!ok, "start-up must fail");
    assert!(
        output.contains("broken.json") && output.contains("line"),
        "{output}"
    );
    assert_eq!(
        std::fs::read_to_string(&data).unwrap(),
        "{\n \"a\": [\n",
        "never overwritten"
    );
}

#[tokio::test]
async fn import_and_export_round_trip_the_original_format() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("store.json");
    let exported = dir.path().join("exported.json");
    let data_arg = data.to_str().unwrap();
    let (ok, output) = testkit::run_command(
        &[
            "--data-file",
            data_arg,
            "import",
            sample_data().to_str().unwrap(),
        ],
        &[],
    );
    assert!(ok, "{output}");
    assert!(output.contains("imported 7"), "{output}");
    let (ok, output) = testkit::run_command(
        &[
            "--data-file",
            data_arg,
            "export",
            exported.to_str().unwrap(),
        ],
        &[],
    );
    assert!(ok, "{output}");
    let original: Value = serde_json::from_slice(&std::fs::read(sample_data()).unwrap()).unwrap();
    let round_trip: Value = serde_json::from_slice(&std::fs::read(&exported).unwrap()).unwrap();
    assert_eq!(round_trip, original);
}

#[tokio::test]
async fn export_streams_csv_or_json_and_refuses_other_formats() {
    let (_dir, server) = start_with_sample();
    let client = Client::new();
    // A name a spreadsheet would run as a formula, and one that needs quotes.
    for body in [
        json!({"customerID": "x1", "firstName": "=HYPERLINK(\"http://evil\")", "lastName": "Lee"}),
        json!({"customerID": "x2", "firstName": "Ann, Jr.", "lastName": "O\"Neil"}),
    ] {
        let response = client
            .post(server.url("/set"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = client
        .get(server.url("/export?format=csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"customers.csv\""
    );
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(lines[0], "customerID,firstName,lastName");
    assert_eq!(lines[1], "a,James,Baker");
    assert!(
        lines.contains(&"x1,\"'=HYPERLINK(\"\"http://evil\"\")\",Lee"),
        "{csv}"
    );
    assert!(lines.contains(&"x2,\"Ann, Jr.\",\"O\"\"Neil\""), "{csv}");
    assert_eq!(
        lines.len(),
        1 + 9 + 1,
        "a header, 9 customers, the last line's end"
    );

    let (status, _, json) = get_json(&client, &server.url("/export?format=json")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json.as_object().unwrap().len(), 9);
    for bad in [
        "/export?format=xml",
        "/export?format=csv&x=1",
        "/export?fmt=csv",
    ] {
        let response = client.get(server.url(bad)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}
