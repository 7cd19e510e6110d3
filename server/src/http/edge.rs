//! The one middleware in front of every route, inside the request-ID layers:
//! the request ID of its log lines, the guard's checks, who the request acts
//! for and whether that one may, the security headers and the request metrics.
//! One middleware rather than four, because each layer costs a boxed future
//! and a clone of the service behind it on every request, which showed in the
//! benchmark of the cheapest route (`GET /get/{id}`).

use super::guard::{self, Guard};
use super::observe::RequestMetrics;
use crate::auth::{Principal, Refusal};
use crate::logging;
use app::api::CustomerError;
use app::domain::Author;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;

pub async fn edge(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    let metrics = RequestMetrics::start(&request);
    let id = request.headers().get("x-request-id").cloned();
    let target = guard::Target::of(request.uri().path());
    let response = match guard::refusal(&guard, &request) {
        None => logging::with_request_id(id, authorized(&guard, request, next)).await,
        Some(refusal) => unread_body_closes(&request, refusal),
    };
    metrics.finish(response.status());
    guard::with_security_headers(response, target)
}

/// Runs the request if its credentials allow it; the principal goes into its
/// extensions for what comes after. A browser opening a page without a
/// session is sent to sign in, and back afterwards.
async fn authorized(guard: &Guard, mut request: Request, next: Next) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| guard.trusted_proxies.client(peer.ip(), request.headers()));
    let decision = guard
        .access
        .authorize(
            client,
            request.method(),
            request.uri().path(),
            request.headers(),
        )
        .await;
    match decision {
        Ok(principal) => {
            if let Principal::User { name, role } = &principal {
                let with_session = !request.headers().contains_key(header::AUTHORIZATION);
                request.extensions_mut().insert(app::SignedIn {
                    name: name.to_string(),
                    role: role.as_str().to_owned(),
                    with_session,
                });
            }
            if !matches!(*request.method(), Method::GET | Method::HEAD) {
                // Who a write is by, for the audit trail.
                let request_id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                request.extensions_mut().insert(Author {
                    actor: principal.actor(),
                    request_id,
                });
            }
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(refusal) => {
            refusal.record();
            let request = &request;
            let browser = from_a_browser(request.headers());
            let sign_in = matches!(refusal, Refusal::SignInRequired | Refusal::SessionEnded);
            let navigation = is_page_navigation(request);
            let mut response = if sign_in && navigation {
                let back = request.uri().path_and_query().map_or("/", |p| p.as_str());
                let ended = matches!(refusal, Refusal::SessionEnded);
                super::sign_in::redirect_to_sign_in(back, ended)
            } else if navigation {
                super::sign_in::refused_page(guard.stylesheet_href, refusal)
            } else if request.uri().path().starts_with(guard::SERVER_FN_PREFIX) {
                server_fn_refusal(refusal)
            } else {
                refusal.into_response()
            };
            if browser {
                // Only programs get the Basic challenge: a browser would open its
                // own password dialog instead of showing the sign-in page.
                let challenges = response.headers_mut().get_all(header::WWW_AUTHENTICATE);
                let bearer_only: Vec<_> = challenges
                    .iter()
                    .filter(|v| !v.as_bytes().starts_with(b"Basic"))
                    .cloned()
                    .collect();
                response.headers_mut().remove(header::WWW_AUTHENTICATE);
                for challenge in bearer_only {
                    response
                        .headers_mut()
                        .append(header::WWW_AUTHENTICATE, challenge);
                }
            }
            unread_body_closes(request, response)
        }
    }
}

/// A request refused here leaves its body unread, so hyper cannot keep the
/// connection: say so, or a client would send its next request on a
/// connection that is about to close (and see it fail).
fn unread_body_closes(request: &Request, mut response: Response) -> Response {
    let headers = request.headers();
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length != "0");
    if has_body {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A refused server-function call, in the error encoding the UI decodes, so
/// the page shows what happened rather than a failure to read the answer.
fn server_fn_refusal(refusal: Refusal) -> Response {
    let error = match &refusal {
        Refusal::SignInRequired | Refusal::SessionEnded | Refusal::WrongCredentials => {
            CustomerError::SignInRequired
        }
        Refusal::NotAllowed { .. } | Refusal::ProtectedMode => {
            CustomerError::NotAllowed(super::sign_in::user_message(&refusal))
        }
        _ => CustomerError::Request(super::sign_in::user_message(&refusal)),
    };
    let mut response = refusal.into_response();
    // The cookie of an ended session stays until the next page: that page then
    // says the session ended, rather than only asking to sign in.
    response.headers_mut().remove(header::SET_COOKIE);
    let body = serde_json::to_string(&error).unwrap_or_default();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    *response.body_mut() = axum::body::Body::from(body);
    response
}

/// Browsers send `Sec-Fetch-Mode` with every request; programs do not.
fn from_a_browser(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key("sec-fetch-mode")
}

/// A page the user opened (a link, the address bar, a form without JavaScript),
/// rather than a program's or a script's request.
fn is_page_navigation(request: &Request) -> bool {
    let headers = request.headers();
    match headers.get("sec-fetch-mode") {
        Some(mode) => mode == "navigate",
        None => {
            matches!(*request.method(), Method::GET | Method::HEAD)
                && headers
                    .get(header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|accept| accept.contains("text/html"))
        }
    }
}
