//! The legacy JSON API as the programs that call it use it.

use crate::Server;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// A customer as `POST /set` takes it and `GET /get/{id}` gives it.
pub fn customer(id: &str, first: &str, last: &str) -> Value {
    json!({"customerID": id, "firstName": first, "lastName": last})
}

/// `POST /set`: status, body and how long it took.
pub async fn set(
    client: &Client,
    server: &Server,
    customer: &Value,
) -> (StatusCode, String, Duration) {
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
pub async fn get(client: &Client, server: &Server, id: &str) -> (StatusCode, String) {
    let response = client
        .get(server.url(&format!("/get/{id}")))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /get/{id}: {e}"));
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// `GET /` as a program asks for it: every customer, as one JSON object.
pub async fn list(client: &Client, server: &Server) -> Value {
    let response = client.get(server.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200, "GET /");
    let body = response.text().await.unwrap();
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET / is not JSON ({e}): {body}"))
}

/// Stores a customer and reads it back, asserting both answers (`what` names the case).
pub async fn assert_set_works(client: &Client, server: &Server, id: &str, what: &str) {
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
