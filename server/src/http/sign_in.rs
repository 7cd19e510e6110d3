//! Signing in to the UI and out of it: `GET /sign-in` (the page), `POST
//! /sign-in` (the form: a session, then back to where the user was going) and
//! `POST /sign-out` (the session ends everywhere it is used).
//!
//! Plain HTML forms rendered here, with no script: they work the same with
//! and without JavaScript, and the page loads nothing it does not need. A
//! failed sign-in is answered with the form and its message directly (401,
//! 429 or 503), so nothing typed goes into a URL. Every message is one of a
//! fixed few, chosen by a code: a link cannot make the page say anything else.

use super::AppState;
use crate::auth::{sessions, Refusal};
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;
use std::net::SocketAddr;

/// The sign-in page's own policy: a stylesheet and a form, nothing else.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
    form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

#[derive(Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    /// `ended` (the session ended) or `out` (signed out): a code, not a text.
    note: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    name: String,
    password: String,
    next: Option<String>,
}

/// What the page says above the form.
enum Note {
    None,
    SessionEnded,
    SignedOut,
    NotNeeded,
    Refused(Refusal),
}

pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<SignInQuery>,
) -> Response {
    let note = if !state.guard.access.needs_sign_in() {
        Note::NotNeeded
    } else {
        match query.note.as_deref() {
            Some("ended") => Note::SessionEnded,
            Some("out") => Note::SignedOut,
            _ => Note::None,
        }
    };
    let next = safe_next(query.next.as_deref());
    render(&state, &headers, StatusCode::OK, note, "", next)
}

pub async fn sign_in(State(state): State<AppState>, request: Request) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let headers = request.headers().clone();
    let Ok(Form(form)) = Form::<SignInForm>::from_request(request, &()).await else {
        return (
            StatusCode::BAD_REQUEST,
            "the sign-in form needs a name and a password\n",
        )
            .into_response();
    };
    let next = safe_next(form.next.as_deref());
    let access = &state.guard.access;
    if !access.needs_sign_in() {
        return see_other(next);
    }
    let proxies = &state.guard.trusted_proxies;
    let client = peer.map(|peer| proxies.client(peer, &headers));
    match access.sign_in(&form.name, &form.password, client).await {
        Ok((token, principal)) => {
            tracing::info!(
                user = form.name,
                role = principal.role().as_str(),
                "signed in"
            );
            let times = access.sessions().map(|s| s.times()).unwrap_or_default();
            let secure = peer.is_some_and(|peer| proxies.is_https(peer, &headers));
            let mut response = see_other(next);
            response
                .headers_mut()
                .insert(header::SET_COOKIE, sessions::cookie(&token, times, secure));
            response
        }
        Err(refusal) => {
            refusal.record();
            let status = refusal.clone().into_response().status();
            let retry_after = match &refusal {
                Refusal::Throttled(wait) => Some(wait.as_secs().max(1)),
                _ => None,
            };
            let note = Note::Refused(refusal);
            let mut response = render(&state, &headers, status, note, &form.name, next);
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
    }
}

pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let (Some(token), Some(sessions)) = (
        crate::auth::session_token(&headers),
        state.guard.access.sessions(),
    ) {
        if let Err(error) = sessions.end(token).await {
            tracing::warn!(%error, "cannot end a session");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "you are still signed in: the store that keeps sessions cannot be reached; try again shortly\n",
            )
                .into_response();
        }
        tracing::info!("signed out");
    }
    let mut response = see_other("/sign-in?note=out");
    response
        .headers_mut()
        .insert(header::SET_COOKIE, sessions::clearing_cookie());
    response
}

/// Where a browser that opened a page without a session is sent: the sign-in
/// page, which sends it back to `back` afterwards.
pub fn redirect_to_sign_in(back: &str, ended: bool) -> Response {
    let back = safe_next(Some(back));
    let mut target = format!("/sign-in?next={}", encode_query_value(back));
    if ended {
        target.push_str("&note=ended");
    }
    let mut response = see_other(&target);
    if ended {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, sessions::clearing_cookie());
    }
    response
}

pub(super) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Only a path on this site: never another site (`//evil.example`,
/// `/\evil.example`, `https://…`), never the sign-in page itself.
pub(super) fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.contains('\\')
                && !next.starts_with("/sign-")
                && next.len() <= 2048
                && next.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            next
        }
        _ => "/",
    }
}

fn encode_query_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn render(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    note: Note,
    name: &str,
    next: &str,
) -> Response {
    let (message, role) = match &note {
        Note::None => (String::new(), "status"),
        Note::SessionEnded => (
            "Your session has ended. Please sign in again.".to_owned(),
            "status",
        ),
        Note::SignedOut => ("You have signed out.".to_owned(), "status"),
        Note::NotNeeded => (
            "No sign-in is needed here: this server has no users configured, or serves everyone."
                .to_owned(),
            "status",
        ),
        Note::Refused(refusal) => (user_message(refusal), "alert"),
    };
    let message = if message.is_empty() {
        String::new()
    } else {
        let class = if role == "alert" { "error" } else { "success" };
        format!(
            r#"<p class="notice {class}" role="{role}">{}</p>"#,
            escape(&message)
        )
    };
    let body = format!(
        r#"<h1>Sign in</h1>
{message}
<form method="post" action="/sign-in" class="customer-form">
<input type="hidden" name="next" value="{next}">
<div class="field"><label for="name">User name</label>
<input type="text" id="name" name="name" value="{name}" autocomplete="username" autocapitalize="none" spellcheck="false" required{autofocus_name}></div>
<div class="field"><label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required{autofocus_password}></div>
<div class="form-actions"><button type="submit" class="button primary">Sign in</button></div>
</form>"#,
        next = escape(next),
        name = escape(name),
        autofocus_name = if name.is_empty() { " autofocus" } else { "" },
        autofocus_password = if name.is_empty() { "" } else { " autofocus" },
    );
    let stylesheet = app::stylesheet_href(&state.leptos_options);
    document(headers, stylesheet, status, "Sign in", &body)
}

/// A whole page around `body` (HTML), with the site's header and stylesheet,
/// in the theme the request's cookie names (as the app's pages are).
pub(super) fn document(
    request: &HeaderMap,
    stylesheet: &str,
    status: StatusCode,
    title: &str,
    body: &str,
) -> Response {
    let theme = app::theme::theme_of_request(request).attribute();
    let theme = theme.map_or(String::new(), |theme| format!(r#" data-theme="{theme}""#));
    let html = format!(
        r#"<!DOCTYPE html>
<html lang="en"{theme}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="description" content="Find, add, edit and remove customer records.">
<title>{title} · Customer records</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{stylesheet}">
</head>
<body>
<header class="site-header"><a href="/" class="brand">Customer records</a></header>
<main id="main">
{body}
</main>
</body>
</html>
"#,
        title = escape(title),
        stylesheet = escape(stylesheet),
    );
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_POLICY),
    );
    response
}

/// The page for a refused navigation (a link, or a form posted without
/// JavaScript): the refusal's status and message, and the ways on.
pub fn refused_page(request: &HeaderMap, stylesheet: &str, refusal: Refusal) -> Response {
    let plain = refusal.clone().into_response();
    let title = match plain.status() {
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
        _ => "Not available right now",
    };
    let body = format!(
        r#"<h1>{title}</h1>
<p class="notice error" role="alert">{}</p>
<p><a href="/">Back to the customers</a> · <a href="/sign-in">Sign in as someone else</a></p>"#,
        escape(&user_message(&refusal)),
    );
    let mut page = document(request, stylesheet, plain.status(), title, &body);
    for name in [header::RETRY_AFTER, header::CONNECTION] {
        if let Some(value) = plain.headers().get(&name) {
            page.headers_mut().insert(name, value.clone());
        }
    }
    page
}

/// A refusal in the words the UI shows.
pub fn user_message(refusal: &Refusal) -> String {
    match refusal {
        Refusal::WrongCredentials => "Wrong user name or password.".into(),
        Refusal::Throttled(wait) => format!(
            "Too many failed sign-ins for this user or from this address. Try again in {} s.",
            wait.as_secs().max(1)
        ),
        Refusal::Busy => "Too many sign-ins are being checked right now. Try again shortly.".into(),
        Refusal::Unavailable | Refusal::SessionsUnavailable => {
            "Signing in is unavailable right now. Try again shortly; if it keeps failing, tell the administrator.".into()
        }
        Refusal::SignInRequired | Refusal::SessionEnded => {
            "You are not signed in, or your session has ended. Sign in again.".into()
        }
        Refusal::NotAllowed { has, needs, .. } => format!(
            "Not allowed: you are signed in as a {}, and this needs the {} role. \
             Ask an administrator if you need it.",
            has.as_str(),
            needs.as_str()
        ),
        Refusal::ProtectedMode => "This server has no users yet, so it serves only its own machine. \
            An administrator can add users there with `customer-records user add`."
            .into(),
    }
}

pub(super) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/edit?id=a%20b")), "/edit?id=a%20b");
        for elsewhere in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "evil",
            "/sign-in?next=/",
            "/a b",
            "",
        ] {
            assert_eq!(safe_next(Some(elsewhere)), "/", "{elsewhere}");
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(encode_query_value("/edit?id=a&b"), "/edit%3Fid%3Da%26b");
        assert_eq!(
            escape(r#"<a href="x">'&"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"
        );
    }
}
