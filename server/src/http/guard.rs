//! What every request passes before a handler sees it, and what every answer
//! carries, so the service can face an unfriendly network:
//!
//! - a `Host` allow-list (DNS rebinding: a hostile name resolving to us);
//! - state-changing requests from a browser only from our own origin
//!   (`Sec-Fetch-Site`, else `Origin`): cross-site forms and `no-cors` fetches
//!   get 403 and change nothing; programs, which send neither header, are served;
//! - server functions only in the encoding the UI sends, and small;
//! - security headers on every answer (the pages' CSP, with its per-response
//!   nonce, is set where the page is rendered: `app::shell`).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};

/// Where the UI's server functions are mounted.
pub const SERVER_FN_PREFIX: &str = "/api/";
/// The encoding of every server function the UI calls, and of its plain form posts.
const SERVER_FN_ENCODING: &str = "application/x-www-form-urlencoded";

/// The host names this server answers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AllowedHosts {
    Any,
    Names(Vec<String>),
}

impl AllowedHosts {
    /// `ALLOWED_HOSTS`: comma-separated names or addresses (ports ignored), or `*`
    /// for any. By default the listen address and the loopback names.
    pub fn parse(spec: Option<&str>, listen: SocketAddr) -> Result<Self, String> {
        let spec = spec.map(str::trim).filter(|s| !s.is_empty());
        let Some(spec) = spec else {
            let mut names = vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
                "::1".to_owned(),
            ];
            if !listen.ip().is_unspecified() {
                names.push(listen.ip().to_string());
            }
            names.dedup();
            return Ok(AllowedHosts::Names(names));
        };
        if spec == "*" {
            return Ok(AllowedHosts::Any);
        }
        let names = spec
            .split(',')
            .map(|name| hostname(name.trim()).map(str::to_ascii_lowercase))
            .collect::<Option<Vec<_>>>()
            .filter(|names| !names.is_empty())
            .ok_or_else(|| {
                format!("ALLOWED_HOSTS must be `*` or comma-separated host names, not {spec:?}")
            })?;
        Ok(AllowedHosts::Names(names))
    }

    fn allows(&self, host: &str) -> bool {
        match self {
            AllowedHosts::Any => true,
            // The names were checked when parsed, so a match needs no check of its own.
            AllowedHosts::Names(names) => {
                without_port(host).is_some_and(|h| names.iter().any(|n| n.eq_ignore_ascii_case(h)))
            }
        }
    }
}

/// The host of a `Host` header or `ALLOWED_HOSTS` entry, without port,
/// brackets or a trailing dot.
fn without_port(value: &str) -> Option<&str> {
    let host = match value.strip_prefix('[') {
        Some(rest) => rest.split_once(']')?.0,
        None => match value.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            _ => value,
        },
    };
    Some(host.strip_suffix('.').unwrap_or(host))
}

/// [`without_port`], and `None` when what remains is not a plausible host.
fn hostname(value: &str) -> Option<&str> {
    let host = without_port(value)?;
    let plausible = !host.is_empty()
        && (host.parse::<IpAddr>().is_ok()
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    plausible.then_some(host)
}

pub struct Guard {
    pub allowed_hosts: AllowedHosts,
    /// Largest server-function body accepted.
    pub max_body_bytes: usize,
    /// Who may do what.
    pub access: std::sync::Arc<crate::auth::Access>,
    /// Whose `X-Forwarded-*` headers are believed.
    pub trusted_proxies: super::TrustedProxies,
    /// The stylesheet of the pages answered here (refusals of page requests).
    pub stylesheet_href: &'static str,
    /// Time for a whole request, answer included (then 408).
    pub request_limit: std::time::Duration,
    /// Time for a request's body to arrive.
    pub body_read_limit: std::time::Duration,
    /// When reads may be stale: each client's last write, so its reads hold it.
    pub own_writes: Option<super::OwnWrites>,
}

fn refuse(status: StatusCode, message: &'static str) -> Response {
    (status, message).into_response()
}

/// The guard's verdict on a request before any handler sees it: the refusal to
/// send instead, if any (security headers are added by [`with_security_headers`]).
pub fn refusal(guard: &Guard, request: &Request) -> Option<Response> {
    let mut refusal = check(guard, request)?;
    if request.method() != Method::GET && request.method() != Method::HEAD {
        // The body was not read: this connection cannot carry another request.
        refusal
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Some(refusal)
}

fn check(guard: &Guard, request: &Request<Body>) -> Option<Response> {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))?;
    if !guard.allowed_hosts.allows(host) {
        return Some(refuse(
            StatusCode::BAD_REQUEST,
            "unknown Host: this server answers only to the names in its ALLOWED_HOSTS setting",
        ));
    }
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if changes_state && is_cross_site(headers, host) {
        return Some(refuse(
            StatusCode::FORBIDDEN,
            "cross-site request refused: changes must come from this site's own pages",
        ));
    }
    if request.uri().path().starts_with(SERVER_FN_PREFIX) && *request.method() == Method::POST {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase());
        if content_type.as_deref() != Some(SERVER_FN_ENCODING) {
            return Some(refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/x-www-form-urlencoded",
            ));
        }
        let length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if length.is_some_and(|length| length > guard.max_body_bytes) {
            return Some(refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request body too large",
            ));
        }
    }
    None
}

/// A browser says where a request comes from with `Sec-Fetch-Site` (all current
/// ones) or at least `Origin` (on every cross-origin POST). Anything but our own
/// origin is refused; a request with neither header is not from a browser page.
fn is_cross_site(headers: &HeaderMap, host: &str) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return false;
    };
    let authority = origin.to_str().ok().and_then(|o| {
        o.strip_prefix("http://")
            .or_else(|| o.strip_prefix("https://"))
    });
    !authority.is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

/// What a request asked for, as far as its answer's headers depend on it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `/`: JSON or HTML by `Accept`.
    Root,
    /// `/pkg/…`: the content-hashed bundle.
    Bundle,
    Other,
}

impl Target {
    pub fn of(path: &str) -> Self {
        if path == "/" {
            Target::Root
        } else if path.starts_with("/pkg/") {
            Target::Bundle
        } else {
            Target::Other
        }
    }
}

/// How many headers a small answer ends with: its content type and one more
/// of its own (an `ETag`, say), the request ID, and the five set here.
pub const ANSWER_HEADERS: usize = 8;

/// Caching, framing and sniffing rules for every answer. Pages set their own
/// CSP (with the nonce of their scripts); every other answer gets one that
/// allows nothing.
pub fn with_security_headers(mut response: Response, target: Target) -> Response {
    let ok = response.status().is_success();
    let headers = response.headers_mut();
    if ok && target == Target::Bundle {
        // The bundle's file names carry their content's hash (cargo-leptos `hash-files`).
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    // Header values made at compile time: `from_static` checks each byte.
    const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");
    const DENY: HeaderValue = HeaderValue::from_static("DENY");
    const SAME_ORIGIN: HeaderValue = HeaderValue::from_static("same-origin");
    const NOTHING_ALLOWED: HeaderValue =
        HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'");
    const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");
    const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
    let set = |headers: &mut HeaderMap, name, value: HeaderValue| {
        headers.entry(name).or_insert(value);
    };
    set(headers, header::X_CONTENT_TYPE_OPTIONS, NOSNIFF);
    set(headers, header::X_FRAME_OPTIONS, DENY);
    set(headers, header::REFERRER_POLICY, SAME_ORIGIN);
    set(headers, header::CONTENT_SECURITY_POLICY, NOTHING_ALLOWED);
    // Customer data must not stay in shared or browser caches; other static
    // files (the favicon) are revalidated; the bundle set its own above.
    let is_asset = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            [
                "text/css",
                "text/javascript",
                "application/javascript",
                "application/wasm",
                "image/",
            ]
            .iter()
            .any(|prefix| t.starts_with(prefix))
        });
    set(
        headers,
        header::CACHE_CONTROL,
        if is_asset { NO_CACHE } else { NO_STORE },
    );
    // Static files go out brotli- or gzip-compressed or as they are, by what
    // the client accepts: a cache must not give one client another's.
    let varies_by_encoding = headers.get_all(header::VARY).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.to_ascii_lowercase().contains("accept-encoding"))
    });
    if is_asset && !varies_by_encoding {
        headers.append(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    }
    if target == Target::Root {
        // `GET /` answers JSON or HTML by `Accept`.
        headers.append(header::VARY, HeaderValue::from_static("Accept"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_compared_without_port_case_or_trailing_dot() {
        let listen: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        let hosts = AllowedHosts::parse(None, listen).unwrap();
        for ok in [
            "localhost:3000",
            "LOCALHOST",
            "127.0.0.1:3000",
            "[::1]:3000",
            "localhost.",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:3000",
            "localhost.evil.example",
            "",
            "[::1",
            "a b",
        ] {
            assert!(!hosts.allows(refused), "{refused}");
        }
        let hosts = AllowedHosts::parse(Some("Records.Example.com, 10.0.0.5"), listen).unwrap();
        assert!(hosts.allows("records.example.com:8443"));
        assert!(hosts.allows("10.0.0.5"));
        assert!(!hosts.allows("localhost"));
        assert_eq!(
            AllowedHosts::parse(Some("*"), listen).unwrap(),
            AllowedHosts::Any
        );
        assert!(AllowedHosts::parse(Some("a/b"), listen).is_err());
        let everywhere: SocketAddr = "0.0.0.0:3000".parse().unwrap();
        assert!(!AllowedHosts::parse(None, everywhere)
            .unwrap()
            .allows("0.0.0.0"));
    }

    #[test]
    fn only_our_own_origin_may_change_state() {
        let with = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(*name, HeaderValue::from_static(value));
            }
            is_cross_site(&headers, "127.0.0.1:3000")
        };
        assert!(!with(&[]), "programs send neither header");
        assert!(!with(&[("sec-fetch-site", "same-origin")]));
        assert!(with(&[("sec-fetch-site", "cross-site")]));
        assert!(with(&[("sec-fetch-site", "same-site")]));
        assert!(!with(&[("origin", "http://127.0.0.1:3000")]));
        assert!(with(&[("origin", "http://127.0.0.1:4000")]));
        assert!(with(&[("origin", "null")]));
        assert!(with(&[("origin", "https://evil.example")]));
    }
}
