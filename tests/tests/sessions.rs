//! Signing in to the UI with the sign-in page, over real HTTP against the real
//! server binary on the file store: the session cookie, where browsers are sent
//! without one, expiry, signing out everywhere, slowed failures, and what a
//! reverse proxy is believed about.

use reqwest::StatusCode;
use std::path::Path;
use std::time::Duration;
use testkit::{no_redirects, sample_data, server_with_users, session_cookie, sign_in, Server};

/// A server on the sample data with one editor, `ann`, plus `env`.
fn server_with_ann(dir: &Path, env: &[(&str, &str)]) -> Server {
    server_with_users(dir, &[("ann", "editor")], env)
}

/// `GET path` as a browser opening a page (no redirects followed), with the session.
async fn open_page(server: &Server, path: &str, session: Option<&str>) -> reqwest::Response {
    let mut request = no_redirects()
        .get(server.url(path))
        .header("accept", "text/html")
        .header("sec-fetch-mode", "navigate")
        .header("sec-fetch-site", "same-origin");
    if let Some(token) = session {
        request = request.header("cookie", format!("session={token}"));
    }
    request.send().await.unwrap()
}

/// `GET /get/a` with the session, as a program: its status.
async fn get_a(server: &Server, session: &str) -> StatusCode {
    no_redirects()
        .get(server.url("/get/a"))
        .header("cookie", format!("other=1; session={session}"))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn the_sign_in_page_starts_a_session_and_signing_out_ends_it_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_ann(dir.path(), &[]);
    let client = no_redirects();

    // A page opened without a session sends the browser to sign in, and back after.
    let response = open_page(&server, "/edit?id=a", None).await;
    assert_eq!(response.status(), 303);
    assert_eq!(
        response.headers()["location"],
        "/sign-in?next=/edit%3Fid%3Da"
    );
    let page = open_page(&server, "/sign-in?next=/edit%3Fid%3Da", None).await;
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("form-action 'self'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"name="next" value="/edit?id=a""#), "{html}");
    assert!(html.contains(r#"autocomplete="current-password""#));
    // Programs are told, not redirected.
    let program = client.get(server.url("/get/a")).send().await.unwrap();
    assert_eq!(program.status(), 401);

    // A wrong password: the form again, with a message, and nothing typed but the name.
    let response = client
        .post(server.url("/sign-in"))
        .form(&[
            ("name", "ann"),
            ("password", "not-her-password"),
            ("next", "/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(session_cookie(&response).is_none());
    let html = response.text().await.unwrap();
    assert!(html.contains("Wrong user name or password."), "{html}");
    assert!(html.contains(r#"value="ann""#) && !html.contains("not-her-password"));

    // The right one: a session cookie only the server reads, and back to the page.
    let response = client
        .post(server.url("/sign-in"))
        .form(&[
            ("name", "ann"),
            ("password", "ann-password"),
            ("next", "/edit?id=a"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/edit?id=a");
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let session = session_cookie(&response).unwrap();
    let page = open_page(&server, "/edit?id=a", Some(&session)).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Signed in as") && html.contains("ann"),
        "{html}"
    );
    assert!(html.contains(r#"action="/sign-out""#));
    assert_eq!(get_a(&server, &session).await, 200);

    // `next` never leads off the site.
    for elsewhere in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let response = client
            .post(server.url("/sign-in"))
            .form(&[
                ("name", "ann"),
                ("password", "ann-password"),
                ("next", elsewhere),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["location"], "/", "{elsewhere}");
    }

    // Two sessions of hers; the same session used in two places ("everywhere").
    let other = sign_in(&server.url(""), "ann", "ann-password").await;
    assert_ne!(other, session);
    let response = client
        .post(server.url("/sign-out"))
        .header("cookie", format!("session={session}"))
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/sign-in?note=out");
    assert!(response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(
        get_a(&server, &session).await,
        401,
        "ended for every holder"
    );
    let page = open_page(&server, "/", Some(&session)).await;
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/sign-in?next=/&note=ended");
    assert_eq!(
        get_a(&server, &other).await,
        200,
        "her other session goes on"
    );

    // Signing out is a state change: refused from another site.
    let response = client
        .post(server.url("/sign-out"))
        .header("cookie", format!("session={other}"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(get_a(&server, &other).await, 200);

    // Malformed forms are the client's mistake.
    let response = client
        .post(server.url("/sign-in"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=ann")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn sessions_end_when_idle_and_at_the_end_of_their_lifetime() {
    let dir = tempfile::tempdir().unwrap();
    let times = [("SESSION_IDLE_TIMEOUT_S", "2"), ("SESSION_LIFETIME_S", "4")];
    let server = server_with_ann(dir.path(), &times);
    let base = server.url("");

    // Used every second: on until its lifetime is over.
    let busy = sign_in(&base, "ann", "ann-password").await;
    let idle = sign_in(&base, "ann", "ann-password").await;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert_eq!(get_a(&server, &busy).await, 200);
    }
    // Not used for 3 s (> 2 s idle).
    assert_eq!(get_a(&server, &idle).await, 401, "idle too long");
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(get_a(&server, &busy).await, 401, "past its 4 s lifetime");
}

#[tokio::test]
async fn failed_sign_ins_on_the_page_are_slowed_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_ann(dir.path(), &[]);
    let client = no_redirects();
    let attempt = |password: &'static str| {
        let request = client
            .post(server.url("/sign-in"))
            .form(&[("name", "ann"), ("password", password)]);
        async move { request.send().await.unwrap() }
    };
    for _ in 0..5 {
        assert_eq!(attempt("wrong").await.status(), 401);
    }
    let response = attempt("ann-password").await;
    assert_eq!(
        response.status(),
        429,
        "slowed even with the right password"
    );
    assert!(response.headers().contains_key("retry-after"));
    let html = response.text().await.unwrap();
    assert!(html.contains("Too many failed sign-ins"), "{html}");
    let logged = server.log_lines();
    assert!(
        logged
            .iter()
            .any(|line| line.contains("wrong password") && line.contains("ann")),
        "{logged:#?}"
    );
}

#[tokio::test]
async fn forwarding_headers_are_believed_only_from_trusted_proxies() {
    let dir = tempfile::tempdir().unwrap();
    // This test's client plays the proxy, on loopback.
    let behind_proxy = server_with_ann(dir.path(), &[("TRUSTED_PROXIES", "127.0.0.1, ::1")]);
    let direct_dir = tempfile::tempdir().unwrap();
    let direct = server_with_ann(direct_dir.path(), &[]);
    let sign_in_over_https = |server: &Server| {
        let request = no_redirects()
            .post(server.url("/sign-in"))
            .header("x-forwarded-proto", "https")
            .form(&[("name", "ann"), ("password", "ann-password")]);
        async move { request.send().await.unwrap() }
    };
    let cookie = |response: &reqwest::Response| {
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let proxied = sign_in_over_https(&behind_proxy).await;
    assert!(
        cookie(&proxied).contains("; Secure"),
        "{}",
        cookie(&proxied)
    );
    let forged = sign_in_over_https(&direct).await;
    assert!(!cookie(&forged).contains("Secure"), "{}", cookie(&forged));

    // Failures are counted for the client the proxy names, not for the proxy.
    let client = no_redirects();
    let attempt = |from: &'static str, name: &'static str| {
        let request = client
            .post(behind_proxy.url("/sign-in"))
            .header("x-forwarded-for", from)
            .form(&[("name", name), ("password", "wrong")]);
        async move { request.send().await.unwrap().status() }
    };
    for i in 0..40 {
        let name: &'static str = Box::leak(format!("guess-{i}").into_boxed_str());
        let status = attempt("203.0.113.7", name).await;
        assert!(status == 401 || status == 429, "{status}");
    }
    assert_eq!(attempt("203.0.113.7", "someone").await, 429);
    assert_eq!(
        attempt("198.51.100.2", "someone").await,
        401,
        "another client behind the same proxy is not slowed"
    );
}

#[tokio::test]
async fn protected_mode_counts_the_forwarded_client_behind_a_trusted_proxy() {
    // No users: protected mode serves only this machine. A proxy on this
    // machine must not make every client look local.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("customers.json");
    std::fs::copy(sample_data(), &data).unwrap();
    let users = dir.path().join("users.json");
    let server = Server::start_with_env(
        &data,
        &[
            ("TRUSTED_PROXIES", "127.0.0.1"),
            ("USERS_FILE", users.to_str().unwrap()),
        ],
    );
    let get = |forwarded_for: Option<&'static str>| {
        let mut request = no_redirects().get(server.url("/get/a"));
        if let Some(from) = forwarded_for {
            request = request.header("x-forwarded-for", from);
        }
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(get(None).await, 200);
    assert_eq!(get(Some("127.0.0.1")).await, 200);
    assert_eq!(get(Some("203.0.113.9")).await, 403);
    // No sign-in is needed on this server: the page says so.
    let page = open_page(&server, "/sign-in", None).await;
    assert!(page.text().await.unwrap().contains("No sign-in is needed"));
}

/// The pages the server writes without Leptos (sign-in, refusals) come in the
/// theme the cookie names, as every other page does, with a description.
#[tokio::test]
async fn the_sign_in_page_keeps_the_chosen_theme() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_with_ann(dir.path(), &[]);
    for (cookie, theme) in [
        ("theme=dark", Some("dark")),
        ("a=1; theme=light", Some("light")),
        ("theme=system", None),
        ("", None),
    ] {
        let page = no_redirects()
            .get(server.url("/sign-in"))
            .header("accept", "text/html")
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        let opening = html.lines().find(|line| line.starts_with("<html")).unwrap();
        match theme {
            Some(theme) => assert_eq!(opening, format!(r#"<html lang="en" data-theme="{theme}">"#)),
            None => assert_eq!(opening, r#"<html lang="en">"#, "{cookie}"),
        }
        assert!(
            html.contains(r#"<meta name="description" content=""#),
            "{html}"
        );
    }
}
