//! Who may do what, over real HTTP against the real server binary: users
//! (HTTP Basic, or a session from the sign-in page) and API tokens (bearer)
//! made with the `user` and `token` subcommands, every route and server
//! function × no, wrong and right credentials × each role; and changes to the
//! users file taking effect at once.

use reqwest::{Client, Method, StatusCode};
use std::time::Duration;
use testkit::topology::wait_for;
use testkit::{admin_command, run_admin, sample_data, Server};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Role {
    Viewer,
    Editor,
    Admin,
}

const ROLES: [(Role, &str); 3] = [
    (Role::Viewer, "viewer"),
    (Role::Editor, "editor"),
    (Role::Admin, "admin"),
];

/// A request body: (content type, body).
type Body = Option<(&'static str, &'static str)>;

/// Every route and server function, with the role it needs (`None`: anyone).
fn routes() -> Vec<(Method, &'static str, Body, Option<Role>)> {
    let form = "application/x-www-form-urlencoded";
    vec![
        (Method::GET, "/", None, Some(Role::Viewer)),
        (Method::GET, "/get/a", None, Some(Role::Viewer)),
        (
            Method::POST,
            "/set",
            Some((
                "application/json",
                r#"{"customerID":"n1","firstName":"N","lastName":"One"}"#,
            )),
            Some(Role::Editor),
        ),
        (Method::GET, "/new", None, Some(Role::Viewer)),
        (Method::GET, "/edit?id=a", None, Some(Role::Viewer)),
        (Method::GET, "/delete?id=a", None, Some(Role::Viewer)),
        (
            Method::POST,
            "/api/list_customers",
            Some((form, "search=")),
            Some(Role::Viewer),
        ),
        (
            Method::POST,
            "/api/get_customer",
            Some((form, "id=a")),
            Some(Role::Viewer),
        ),
        (
            Method::POST,
            "/api/save_customer",
            Some((form, "customerID=n2&firstName=N&lastName=Two")),
            Some(Role::Editor),
        ),
        (
            Method::POST,
            "/api/delete_customer",
            Some((form, "customerID=no-such-customer")),
            Some(Role::Editor),
        ),
        (Method::GET, "/history?id=a", None, Some(Role::Editor)),
        (
            Method::POST,
            "/api/customer_history",
            Some((form, "id=a")),
            Some(Role::Editor),
        ),
        (Method::GET, "/audit", None, Some(Role::Admin)),
        (Method::GET, "/export", None, Some(Role::Admin)),
        (
            Method::POST,
            "/import",
            Some(("application/json", "{}")),
            Some(Role::Admin),
        ),
        (Method::GET, "/audit/export", None, Some(Role::Admin)),
        (
            Method::POST,
            "/api/audit_log",
            Some((form, "actor=")),
            Some(Role::Admin),
        ),
        (Method::GET, "/metrics", None, Some(Role::Admin)),
        (Method::GET, "/healthz", None, None),
        (Method::GET, "/readyz", None, None),
        (Method::GET, "/favicon.svg", None, None),
    ]
}

enum Credentials<'a> {
    None,
    Basic(&'a str, &'a str),
    Bearer(&'a str),
    /// A session cookie's token.
    Session(&'a str),
}

async fn call(
    client: &Client,
    server: &Server,
    method: &Method,
    path: &str,
    body: Option<(&str, &str)>,
    credentials: &Credentials<'_>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut request = client.request(method.clone(), server.url(path));
    if let Some((content_type, body)) = body {
        request = request
            .header("content-type", content_type)
            .body(body.to_owned());
    }
    request = match credentials {
        Credentials::None => request,
        Credentials::Basic(name, password) => request.basic_auth(name, Some(password)),
        Credentials::Bearer(token) => request.bearer_auth(token),
        Credentials::Session(token) => request.header("cookie", format!("session={token}")),
    };
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// The status of `GET /get/a` with `credentials`.
async fn get_a(client: &Client, server: &Server, credentials: &Credentials<'_>) -> StatusCode {
    call(client, server, &Method::GET, "/get/a", None, credentials)
        .await
        .0
}

#[tokio::test]
async fn every_route_checks_credentials_and_roles() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.json");
    let data = dir.path().join("customers.json");
    std::fs::copy(sample_data(), &data).unwrap();
    let mut tokens = Vec::new();
    for (_, role) in ROLES {
        admin_command(
            &users,
            &["user", "add", role, "--role", role],
            &format!("{role}-password\n"),
        );
        let token = admin_command(
            &users,
            &["token", "create", &format!("{role}-token"), "--role", role],
            "",
        );
        tokens.push(token.trim().to_owned());
    }
    let listed = admin_command(&users, &["user", "list"], "");
    assert!(
        listed.contains("viewer") && listed.contains("admin"),
        "{listed}"
    );
    assert!(!std::fs::read_to_string(&users)
        .unwrap()
        .contains("viewer-password"));

    let mut server = Server::start_with_env(&data, &[("USERS_FILE", users.to_str().unwrap())]);
    let mut client = Client::new();
    for (method, path, body, needed) in routes() {
        // A fresh server (and connections) for each route: the wrong credentials
        // tried on all of them would otherwise trip the sign-in throttle (tested
        // on its own below).
        server = server.restart();
        client = Client::new();
        // Ready first: the store loads its data just after the server listens.
        wait_for(Duration::from_secs(20), "the server ready", || {
            let ready = client.get(server.url("/readyz")).send();
            async move { (ready.await.ok()?.status() == 200).then_some(()) }
        })
        .await;
        // No credentials, wrong ones, an unknown user, a wrong token, a session
        // that never was.
        for credentials in [
            Credentials::None,
            Credentials::Basic("editor", "wrong-password"),
            Credentials::Basic("nobody", "editor-password"),
            Credentials::Bearer("crt_0000"),
            Credentials::Session("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
        ] {
            let (status, headers, text) =
                call(&client, &server, &method, path, body, &credentials).await;
            match needed {
                None => assert_eq!(status, 200, "{method} {path} is open: {text}"),
                Some(_) => {
                    assert_eq!(status, 401, "{method} {path}: {text}");
                    let challenges: Vec<_> = headers.get_all("www-authenticate").iter().collect();
                    assert!(challenges
                        .iter()
                        .any(|c| c.to_str().unwrap().starts_with("Basic")));
                    assert!(challenges
                        .iter()
                        .any(|c| c.to_str().unwrap().starts_with("Bearer")));
                }
            }
        }
        // Each role, by password, by token and by a signed-in session.
        for ((role, name), token) in ROLES.iter().zip(&tokens) {
            let password = format!("{name}-password");
            let session = testkit::sign_in(&server.url(""), name, &password).await;
            for credentials in [
                Credentials::Basic(name, &password),
                Credentials::Bearer(token),
                Credentials::Session(&session),
            ] {
                let (status, _, text) =
                    call(&client, &server, &method, path, body, &credentials).await;
                if needed.is_some_and(|needed| *role < needed) {
                    assert_eq!(status, 403, "{name} on {method} {path}: {text}");
                    assert!(text.contains(name) && text.contains("needs"), "{text}");
                } else {
                    assert!(
                        status != 401 && status != 403 && status.as_u16() < 500,
                        "{name} on {method} {path}: {status} {text}"
                    );
                }
            }
        }
    }

    // With credentials, the legacy routes answer exactly as before.
    let viewer = Credentials::Basic("viewer", "viewer-password");
    let (status, _, text) = call(&client, &server, &Method::GET, "/get/a", None, &viewer).await;
    assert_eq!(status, 200);
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sample_data()).unwrap()).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        expected["a"]
    );
    let (status, _, text) = call(&client, &server, &Method::GET, "/get/nope", None, &viewer).await;
    assert_eq!((status.as_u16(), text.as_str()), (404, "{}"));

    // A revoked token, a removed user (and their sessions) and a changed
    // password are refused at once; a changed user's sessions end.
    let viewer_session = testkit::sign_in(&server.url(""), "viewer", "viewer-password").await;
    let viewer_session = Credentials::Session(&viewer_session);
    assert_eq!(get_a(&client, &server, &viewer_session).await, 200);
    let editor_session = testkit::sign_in(&server.url(""), "editor", "editor-password").await;
    let editor_session = Credentials::Session(&editor_session);
    let set = |credentials| {
        let (client, server) = (&client, &server);
        async move {
            let body = Some((
                "application/json",
                r#"{"customerID":"r1","firstName":"R","lastName":"One"}"#,
            ));
            call(client, server, &Method::POST, "/set", body, credentials)
                .await
                .0
        }
    };
    assert_eq!(set(&editor_session).await, 200);
    admin_command(
        &users,
        &["user", "add", "editor", "--role", "viewer"],
        "editor-password
",
    );
    assert_eq!(
        set(&editor_session).await,
        401,
        "saving a user (a new password hash) ends their sessions"
    );
    let demoted = testkit::sign_in(&server.url(""), "editor", "editor-password").await;
    assert_eq!(
        set(&Credentials::Session(&demoted)).await,
        403,
        "a viewer now"
    );
    admin_command(
        &users,
        &["user", "add", "editor", "--role", "editor"],
        "editor-password
",
    );
    let editor_token = Credentials::Bearer(&tokens[1]);
    assert_eq!(get_a(&client, &server, &editor_token).await, 200);
    admin_command(&users, &["token", "revoke", "editor-token"], "");
    assert_eq!(get_a(&client, &server, &editor_token).await, 401);
    assert_eq!(get_a(&client, &server, &viewer).await, 200);
    admin_command(&users, &["user", "remove", "viewer"], "");
    assert_eq!(get_a(&client, &server, &viewer).await, 401);
    assert_eq!(get_a(&client, &server, &viewer_session).await, 401);
    admin_command(
        &users,
        &["user", "add", "viewer", "--role", "viewer"],
        "viewer-password
",
    );
    assert_eq!(
        get_a(&client, &server, &viewer_session).await,
        401,
        "a removed user's session stays ended when the name comes back"
    );
    let old = Credentials::Basic("editor", "editor-password");
    assert_eq!(get_a(&client, &server, &old).await, 200);
    admin_command(
        &users,
        &["user", "add", "editor", "--role", "editor"],
        "a-new-password\n",
    );
    assert_eq!(get_a(&client, &server, &old).await, 401);
    let new = Credentials::Basic("editor", "a-new-password");
    assert_eq!(get_a(&client, &server, &new).await, 200);
}

#[test]
fn the_commands_refuse_bad_input_and_never_print_a_password() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.json");
    let run = |args: &[&str], stdin: &str| {
        let (ok, stdout, stderr) = run_admin(&users, args, stdin);
        (ok, stdout + &stderr)
    };
    let (ok, text) = run(&["user", "add", "ada", "--role", "editor"], "short\n");
    assert!(!ok && text.contains("8 characters"), "{text}");
    let (ok, text) = run(&["user", "add", "a b", "--role", "editor"], "long enough\n");
    assert!(!ok && text.contains("not a valid name"), "{text}");
    let (ok, text) = run(&["user", "add", "ada", "--role", "owner"], "long enough\n");
    assert!(!ok && text.contains("owner"), "{text}");
    let (ok, text) = run(&["user", "add", "ada", "--role", "editor"], "long enough\n");
    assert!(ok && !text.contains("long enough"), "{text}");
    let (ok, text) = run(&["user", "remove", "nobody"], "");
    assert!(!ok && text.contains("nobody"), "{text}");
    let (ok, text) = run(&["token", "revoke", "nothing"], "");
    assert!(!ok && text.contains("nothing"), "{text}");
}

#[tokio::test]
async fn failed_sign_ins_are_slowed_per_user_and_per_address() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.json");
    let data = dir.path().join("customers.json");
    std::fs::copy(sample_data(), &data).unwrap();
    admin_command(
        &users,
        &["user", "add", "target", "--role", "viewer"],
        "right-password\n",
    );
    let server = Server::start_with_env(&data, &[("USERS_FILE", users.to_str().unwrap())]);
    let client = Client::new();
    let get = |credentials: Credentials<'static>| {
        let (client, server) = (&client, &server);
        async move { call(client, server, &Method::GET, "/get/a", None, &credentials).await }
    };
    for _ in 0..5 {
        assert_eq!(get(Credentials::Basic("target", "wrong")).await.0, 401);
    }
    // Now slowed: refused at once, even with the right password, until the wait is over.
    let (status, headers, text) = get(Credentials::Basic("target", "wrong")).await;
    assert_eq!(status, 429, "{text}");
    let wait: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(
        get(Credentials::Basic("target", "right-password")).await.0,
        429
    );
    tokio::time::sleep(std::time::Duration::from_millis(wait * 1000 + 100)).await;
    assert_eq!(
        get(Credentials::Basic("target", "right-password")).await.0,
        200
    );
    // A success clears the user's count.
    assert_eq!(get(Credentials::Basic("target", "wrong")).await.0, 401);

    // Many names, or tokens, tried from one address slow that address.
    let names: Vec<&'static str> = (0..20)
        .map(|i| &*Box::leak(format!("guess-{i}").into_boxed_str()))
        .collect();
    for name in names {
        let status = get(Credentials::Basic(name, "x")).await.0;
        assert!(status == 401 || status == 429, "{status}");
    }
    assert_eq!(get(Credentials::Basic("someone-else", "x")).await.0, 429);
    assert_eq!(get(Credentials::Bearer("crt_guess")).await.0, 429);
}

/// Sign-ins while the users file keeps changing: the server keeps answering
/// (a reload and a remembered sign-in once took their locks in opposite orders).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sign_ins_during_users_file_changes_keep_the_server_answering() {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.json");
    let data = dir.path().join("customers.json");
    std::fs::copy(sample_data(), &data).unwrap();
    admin_command(
        &users,
        &["user", "add", "ada", "--role", "viewer"],
        "ada-password\n",
    );
    let server = Server::start_with_env(&data, &[("USERS_FILE", users.to_str().unwrap())]);
    let url = server.url("/get/a");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..8)
        .map(|_| {
            let (url, stop) = (url.clone(), stop.clone());
            tokio::spawn(async move {
                let client = Client::new();
                let mut answered = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let response = client
                        .get(&url)
                        .basic_auth("ada", Some("ada-password"))
                        .timeout(std::time::Duration::from_secs(10))
                        .send()
                        .await
                        .expect("the server answers");
                    assert_eq!(response.status(), 200);
                    answered += 1;
                }
                answered
            })
        })
        .collect();
    let users_path = users.clone();
    tokio::task::spawn_blocking(move || {
        for i in 0..15 {
            // Another user's changes: ada's password stays valid throughout.
            admin_command(
                &users_path,
                &["user", "add", &format!("u{i}"), "--role", "viewer"],
                "some-password\n",
            );
        }
    })
    .await
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in load {
        assert!(task.await.unwrap() > 0);
    }
    let health = Client::new()
        .get(server.url("/healthz"))
        .timeout(std::time::Duration::from_secs(5))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
