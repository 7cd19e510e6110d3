//! The UI's server functions called as the hydrated UI calls them (form-encoded
//! POSTs to `/api/...`), and the write races every store must win: shared by the
//! file-store and the Sentinel-store tests.

use reqwest::{Client, StatusCode};
use serde_json::json;

/// Posts a server function's form fields; returns the status and the body.
pub async fn call(
    client: &Client,
    base: &str,
    function: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String) {
    call_with(client, base, function, fields, &[]).await
}

/// [`call`] with extra request headers (e.g. the `Origin` a browser sends).
pub async fn call_with(
    client: &Client,
    base: &str,
    function: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut request = client.post(format!("{base}/api/{function}")).form(fields);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    (status, response.text().await.unwrap_or_default())
}

/// `POST /set` without preconditions; panics unless it is stored.
pub async fn set(client: &Client, base: &str, id: &str, first: &str, last: &str) {
    let response = client
        .post(format!("{base}/set"))
        .json(&json!({"customerID": id, "firstName": first, "lastName": last}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "storing {id}");
}

/// The customer's version from `GET /get/{id}`'s `ETag`, `None` on 404.
pub async fn etag_version(client: &Client, base: &str, id: &str) -> Option<String> {
    let response = client.get(format!("{base}/get/{id}")).send().await.unwrap();
    if response.status() == 404 {
        return None;
    }
    assert_eq!(response.status(), 200);
    let tag = response.headers()["etag"].to_str().unwrap().to_owned();
    Some(tag.trim_matches('"').to_owned())
}

/// 40 creates of one ID through the UI's save function at once: exactly one
/// may be told "saved", the 39 others that the ID is taken.
pub async fn parallel_creates_let_exactly_one_win(base: &str) {
    let client = Client::new();
    let attempts: Vec<_> = (0..40)
        .map(|i| {
            let (client, base) = (client.clone(), base.to_owned());
            tokio::spawn(async move {
                let last = format!("Writer {i}");
                let fields = [
                    ("customerID", "contested"),
                    ("firstName", "Same"),
                    ("lastName", last.as_str()),
                ];
                (i, call(&client, &base, "save_customer", &fields).await)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        let (i, (status, body)) = attempt.await.unwrap();
        if status.is_success() || status.is_redirection() {
            winners.push(i);
        } else {
            assert_eq!(status, 400, "attempt {i}: {body}");
            assert!(
                body.contains(r#"{"Taken":"contested"}"#),
                "attempt {i}: the ID is taken: {body}"
            );
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    let stored: serde_json::Value =
        crate::get_json(&client, &format!("{base}/get/contested")).await;
    assert_eq!(
        stored["lastName"],
        format!("Writer {}", winners[0]),
        "the winner's values are stored"
    );
}

/// An edit and a delete of the same version at once, `rounds` times: exactly
/// one wins each time, and a deleted customer never comes back.
pub async fn edit_delete_races_never_resurrect(base: &str, rounds: usize) {
    let client = Client::new();
    for round in 0..rounds {
        let id = format!("race-{round}");
        set(&client, base, &id, "Before", "Race").await;
        let version = etag_version(&client, base, &id).await.expect("just stored");
        let edit = {
            let (client, base, id, version) =
                (client.clone(), base.to_owned(), id.clone(), version.clone());
            tokio::spawn(async move {
                let fields = [
                    ("existing", id.as_str()),
                    ("version", version.as_str()),
                    ("firstName", "Edited"),
                    ("lastName", "Race"),
                ];
                call(&client, &base, "save_customer", &fields).await
            })
        };
        let delete = {
            let (client, base, id, version) =
                (client.clone(), base.to_owned(), id.clone(), version.clone());
            tokio::spawn(async move {
                let fields = [("customerID", id.as_str()), ("version", version.as_str())];
                call(&client, &base, "delete_customer", &fields).await
            })
        };
        let ((edit_status, edit_body), (delete_status, delete_body)) =
            (edit.await.unwrap(), delete.await.unwrap());
        let ok = |s: StatusCode| s.is_success() || s.is_redirection();
        let now = etag_version(&client, base, &id).await;
        match (ok(edit_status), ok(delete_status)) {
            (true, false) => {
                assert_eq!(delete_status, 409, "round {round}: {delete_body}");
                assert!(now.is_some(), "round {round}: the edit won, the customer stays");
            }
            (false, true) => {
                assert_eq!(edit_status, 409, "round {round}: {edit_body}");
                assert!(edit_body.contains("Deleted"), "round {round}: {edit_body}");
                assert_eq!(now, None, "round {round}: the deleted customer came back");
            }
            _ => panic!("round {round}: exactly one must win: edit {edit_status} {edit_body}, delete {delete_status} {delete_body}"),
        }
    }
}
