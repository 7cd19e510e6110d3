//! The audit trail over real HTTP against the real server binary: every write,
//! by every way in (`POST /set`, the UI's server functions with a session or
//! Basic, an API token, the `import` subcommand, protected mode), recorded with
//! its actor, request ID and values; who may read it; its export; and the
//! admins' import and export of every customer.

use reqwest::Client;
use serde_json::{json, Value};
use testkit::api::customer;
use testkit::{
    add_users, admin_command, run_command, sample_data, server_with_users, sign_in, ui, Server,
};

/// `GET /audit/export` (with `query`) as `ada`, the admin: the entries, newest first.
async fn export(server: &Server, query: &str) -> Vec<Value> {
    let response = Client::new()
        .get(server.url(&format!("/audit/export{query}")))
        .basic_auth("ada", Some("ada-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    response
        .text()
        .await
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test]
async fn every_write_is_recorded_with_its_actor_request_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.json");
    let data = dir.path().join("customers.json");
    let users_env = ("USERS_FILE", users.to_str().unwrap());
    add_users(&users, &[("ada", "admin"), ("ed", "editor")]);
    let token = admin_command(
        &users,
        &["token", "create", "nightly", "--role", "editor"],
        "",
    );
    let token = token.trim();

    // `import` before the server holds the data file.
    let (imported, output) = run_command(
        &[
            "--data-file",
            data.to_str().unwrap(),
            "import",
            sample_data().to_str().unwrap(),
        ],
        &[users_env],
    );
    assert!(imported, "{output}");
    let server = Server::start_with_env(&data, &[users_env]);
    let client = Client::new();

    // POST /set by a user, with the request ID the client chose.
    let response = client
        .post(server.url("/set"))
        .basic_auth("ed", Some("ed-password"))
        .header("x-request-id", "set-by-ed-1")
        .json(&customer("au1", "Ann", "Lee"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The UI's save, with a session.
    let session = sign_in(&server.url(""), "ed", "ed-password").await;
    let response = client
        .post(server.url("/api/save_customer"))
        .header("cookie", format!("session={session}"))
        .form(&[
            ("customerID", "au1"),
            ("firstName", "Anne"),
            ("lastName", "Lee"),
            ("existing", "au1"),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let save_request = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    // POST /set with an API token.
    let response = client
        .post(server.url("/set"))
        .bearer_auth(token)
        .json(&customer("au1", "Anne", "Lee-Smith"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The UI's delete, with Basic.
    let response = client
        .post(server.url("/api/delete_customer"))
        .basic_auth("ed", Some("ed-password"))
        .form(&[("customerID", "au1")])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());

    let history = export(&server, "?customer=au1").await;
    let summary: Vec<_> = history
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [
            ("delete", "user:ed"),
            ("update", "token:nightly"),
            ("update", "user:ed"),
            ("create", "user:ed"),
        ]
    );
    let [deleted, by_token, by_session, created] = &history[..] else {
        unreachable!()
    };
    assert_eq!(created["request_id"], "set-by-ed-1");
    assert_eq!(created["before"], Value::Null);
    assert_eq!(created["after"], customer("au1", "Ann", "Lee"));
    assert_eq!(by_session["request_id"], save_request.as_str());
    assert_eq!(by_session["before"], customer("au1", "Ann", "Lee"));
    assert_eq!(by_session["after"], customer("au1", "Anne", "Lee"));
    assert_eq!(by_token["after"], customer("au1", "Anne", "Lee-Smith"));
    assert_eq!(deleted["before"], customer("au1", "Anne", "Lee-Smith"));
    assert_eq!(deleted["after"], Value::Null);
    assert!(deleted["at_ms"].as_u64() >= created["at_ms"].as_u64());

    // The import, one entry per customer.
    let imported = export(&server, "?actor=command:import").await;
    let sample: serde_json::Map<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(sample_data()).unwrap()).unwrap();
    assert_eq!(imported.len(), sample.len());
    assert!(imported
        .iter()
        .all(|e| e["action"] == "create" && e["request_id"].is_null()));

    // Who may read it: a customer's history for editors, everyone's for admins.
    let as_ed = |path: &str| {
        client
            .get(server.url(path))
            .basic_auth("ed", Some("ed-password"))
            .send()
    };
    assert_eq!(as_ed("/audit/export").await.unwrap().status(), 403);
    assert_eq!(as_ed("/audit").await.unwrap().status(), 403);
    let page = as_ed("/history?id=au1").await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("token:nightly") && html.contains("Lee-Smith"),
        "{html}"
    );
    let log = client
        .get(server.url("/audit?actor=token:nightly"))
        .basic_auth("ada", Some("ada-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(log.status(), 200);
    let html = log.text().await.unwrap();
    assert!(html.contains("last name “Lee” → “Lee-Smith”"), "{html}");
    assert!(
        !html.contains("set-by-ed-1"),
        "filtered to the token's changes"
    );

    // The trail survives a restart.
    let server = server.restart();
    assert_eq!(export(&server, "?customer=au1").await, history);
}

#[tokio::test]
async fn protected_mode_writes_are_by_local() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("customers.json");
    let users = dir.path().join("users.json");
    let server = Server::start_with_env(&data, &[("USERS_FILE", users.to_str().unwrap())]);
    let client = Client::new();
    ui::set(&client, &server.url(""), "p1", "Pat", "Local").await;
    let entries: Vec<Value> = client
        .get(server.url("/audit/export"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["actor"], "local");
}

#[tokio::test]
async fn admins_import_and_export_every_customer() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_users(dir.path(), &[("ada", "admin"), ("ed", "editor")], &[]);
    let client = Client::new();
    let as_user = |request: reqwest::RequestBuilder, name: &str| {
        request.basic_auth(name, Some(format!("{name}-password")))
    };

    // Export: the original format, as a download; admins only.
    let denied = as_user(client.get(server.url("/export")), "ed")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    let download = as_user(client.get(server.url("/export")), "ada")
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert!(download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("customers.json"));
    let exported: Value = download.json().await.unwrap();
    let sample: Value =
        serde_json::from_str(&std::fs::read_to_string(sample_data()).unwrap()).unwrap();
    assert_eq!(exported, sample);

    // Import: every customer upserted, as the admin's writes in the audit trail.
    let many: serde_json::Map<String, Value> = (0..2_000)
        .map(|i| {
            let id = format!("imp{i:04}");
            (
                id.clone(),
                customer(&id, "Imported", &format!("Number {i}")),
            )
        })
        .chain([("a".to_owned(), customer("a", "James", "Changed"))])
        .collect();
    let body = serde_json::to_vec(&many).unwrap();
    assert!(body.len() > 64 * 1024, "bigger than other requests may be");
    let import = |who: &str, content_type: &str, body: Vec<u8>| {
        as_user(client.post(server.url("/import")), who)
            .header("content-type", content_type)
            .header("x-request-id", "import-1")
            .body(body)
            .send()
    };
    let refused = import("ed", "application/json", body.clone())
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    assert_eq!(
        refused.headers()["connection"],
        "close",
        "its body was left unread: the connection is not reused"
    );
    assert_eq!(
        import("ada", "text/plain", body.clone())
            .await
            .unwrap()
            .status(),
        415
    );
    let done = import("ada", "application/json", body).await.unwrap();
    assert_eq!(done.status(), 200);
    assert_eq!(
        done.json::<Value>().await.unwrap(),
        json!({"imported": 2_001})
    );
    let get =
        |id: &'static str| as_user(client.get(server.url(&format!("/get/{id}"))), "ada").send();
    assert_eq!(get("imp1999").await.unwrap().status(), 200);
    let by_ada = export(&server, "?actor=user:ada").await;
    assert_eq!(by_ada.len(), 2_001);
    assert!(by_ada.iter().all(|e| e["request_id"] == "import-1"));
    let changed = by_ada.iter().find(|e| e["customer_id"] == "a").unwrap();
    assert_eq!(changed["action"], "update");
    assert_eq!(changed["before"], sample["a"]);

    // Invalid data imports nothing, and says why.
    let invalid = json!({"new1": customer("new1", "N", "One"), "bad": {"customerID": "bad", "firstName": ""}});
    let refused = import(
        "ada",
        "application/json",
        serde_json::to_vec(&invalid).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(refused.status(), 400);
    let message = refused.text().await.unwrap();
    assert!(
        message.contains("bad") && message.contains("nothing was imported"),
        "{message}"
    );
    assert_eq!(get("new1").await.unwrap().status(), 404);
    let not_json = import("ada", "application/json", b"{\"a\":".to_vec())
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
}
