//! The one middleware in front of every route, inside the request-ID layers:
//! the request ID of its log lines, the guard's checks, who the request acts
//! for and whether that one may, the security headers and the request metrics.
//! One middleware rather than five (request IDs included), because each layer costs a boxed future
//! and a clone of the service behind it on every request, which showed in the
//! benchmark of the cheapest route (`GET /get/{id}`).

use super::guard::{self, Guard};
use super::observe::RequestMetrics;
use super::OwnWrites;
use crate::auth::{Principal, Refusal};
use crate::logging;
use app::api::CustomerError;
use app::domain::Author;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::timeout::TimeoutBody;

pub async fn edge(State(guard): State<Arc<Guard>>, mut request: Request, next: Next) -> Response {
    let metrics = RequestMetrics::start(&request);
    let id = request_id(&mut request);
    let target = guard::Target::of(request.uri().path());
    let mut response = match guard::refusal(&guard, &request) {
        None => logging::with_request_id(id.clone(), authorized(&guard, request, next)).await,
        Some(refusal) => unread_body_closes(&request, refusal),
    };
    metrics.finish(response.status());
    response.headers_mut().insert(X_REQUEST_ID, id);
    guard::with_security_headers(response, target)
}

/// `{prefix}-{n in hex}`, written by hand: `format!` showed in the profile of
/// `GET /get/{id}`. The text is its own shared buffer, so the copies that go
/// on the request, into the log's scope and on the answer share it (a copied
/// header value allocates again on its first clone).
fn numbered_id(prefix: &[u8; 8], n: u64) -> HeaderValue {
    let mut id = IdText {
        text: [0u8; 8 + 1 + 16],
        len: 9,
    };
    id.text[..8].copy_from_slice(prefix);
    id.text[8] = b'-';
    let digits = (u64::BITS - n.leading_zeros()).div_ceil(4).max(1) as usize;
    for (i, byte) in id.text[9..9 + digits].iter_mut().enumerate() {
        let shift = 4 * (digits - 1 - i);
        *byte = b"0123456789abcdef"[(n >> shift) as usize & 0xf];
    }
    id.len += digits;
    HeaderValue::from_maybe_shared(axum::body::Bytes::from_owner(id))
        .expect("hex digits and a dash make a header value")
}

struct IdText {
    text: [u8; 8 + 1 + 16],
    len: usize,
}

impl AsRef<[u8]> for IdText {
    fn as_ref(&self) -> &[u8] {
        &self.text[..self.len]
    }
}

const X_REQUEST_ID: header::HeaderName = header::HeaderName::from_static("x-request-id");

/// The client's `X-Request-Id` if it sent one, else a new one, set on the
/// request for what comes after (the audit trail reads it there). IDs are unique
/// to this process run: a random prefix chosen at start and a counter (a UUID
/// per request cost a random-number call each).
fn request_id(request: &mut Request) -> HeaderValue {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::LazyLock;
    static PREFIX: LazyLock<[u8; 8]> = LazyLock::new(|| {
        let mut prefix = [0; 8];
        prefix.copy_from_slice(format!("{:08x}", rand::random::<u32>()).as_bytes());
        prefix
    });
    static NEXT: AtomicU64 = AtomicU64::new(0);
    if let Some(id) = request.headers().get(X_REQUEST_ID) {
        return id.clone();
    }
    let id = numbered_id(&PREFIX, NEXT.fetch_add(1, Ordering::Relaxed));
    request.headers_mut().insert(X_REQUEST_ID, id.clone());
    id
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
            let writes = !matches!(*request.method(), Method::GET | Method::HEAD);
            // Who the request acts for: a write's author in the audit trail,
            // and the owner a page checks an upload against.
            let request_id = request
                .headers()
                .get(X_REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            request.extensions_mut().insert(Author {
                actor: principal.actor(),
                request_id,
            });
            // Reads that may be stale must still hold the client's own writes.
            let own_writes = guard.own_writes.as_ref().map(|own| {
                let who = OwnWrites::client(&principal, client);
                request.extensions_mut().insert(own.freshness(&who));
                (own, who)
            });
            request.extensions_mut().insert(principal);
            let response = within_limits(guard, request, next).await;
            if let Some((own, who)) = own_writes.filter(|_| writes) {
                own.wrote(who);
            }
            response
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
                super::sign_in::refused_page(request.headers(), guard.stylesheet_href, refusal)
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

/// Runs the request within the guard's time limits: its body must arrive within
/// one (else the handler sees a body error, 400), the whole answer within the
/// other (else 408). Here rather than as tower-http layers: two fewer services,
/// and no timer or boxed body for requests without a body.
async fn within_limits(guard: &Guard, request: Request, next: Next) -> Response {
    let request = if has_body(request.headers()) {
        let limit = guard.body_read_limit;
        request.map(|body| axum::body::Body::new(TimeoutBody::new(limit, body)))
    } else {
        request
    };
    match tokio::time::timeout(guard.request_limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

fn has_body(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|length| length != "0")
}

/// A request refused here leaves its body unread, so hyper cannot keep the
/// connection: say so, or a client would send its next request on a
/// connection that is about to close (and see it fail).
fn unread_body_closes(request: &Request, mut response: Response) -> Response {
    if has_body(request.headers()) {
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

#[cfg(test)]
mod tests {
    use super::numbered_id;

    #[test]
    fn request_ids_are_the_prefix_and_the_number_in_hex() {
        let prefix = *b"0a1b2c3d";
        for (n, expected) in [
            (0, "0a1b2c3d-0"),
            (9, "0a1b2c3d-9"),
            (255, "0a1b2c3d-ff"),
            (4096, "0a1b2c3d-1000"),
            (u64::MAX, "0a1b2c3d-ffffffffffffffff"),
        ] {
            assert_eq!(numbered_id(&prefix, n), expected);
        }
    }
}
