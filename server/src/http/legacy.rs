//! The original app's JSON API, kept byte-compatible for the programs that call it:
//! `GET /` (for non-browsers), `GET /get/{id}` and `POST /set`.

use super::listing::{stream_all, Format};
use super::{ApiError, AppState};
use crate::customer_json::customer_from_object;
use app::domain::{
    Author, Conflict, Customer, CustomerStore, Freshness, Precondition, StoreError, Version,
};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Map, Value};
use std::sync::Arc;

/// `GET /` answers programs with the JSON listing and browsers with the UI's
/// customers page (`page`): only a client that names `text/html` in `Accept` is
/// a browser here, as curl and requests send `*/*`.
pub async fn root<P, F>(store: Arc<dyn CustomerStore>, request: Request, page: P) -> Response
where
    P: FnOnce(Request) -> F,
    F: std::future::Future<Output = Response>,
{
    if accepts_html(request.headers()) {
        return page(request).await;
    }
    match list_all(store, freshness(&request)).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// How fresh the request's reads must be (see [`super::own_writes`]).
pub fn freshness(request: &Request) -> Freshness {
    request.extensions().get().copied().unwrap_or_default()
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| value.contains("text/html"))
}

/// The original listing, `{"id": {...}, ...}` (see [`super::listing`]).
pub async fn list_all(
    store: Arc<dyn CustomerStore>,
    fresh: Freshness,
) -> Result<Response, ApiError> {
    stream_all(store, fresh, Format::Json).await
}

/// `GET /get/{id}`: the customer, or `{}` with 404. The `ETag` is its version,
/// for a later `POST /set` with `If-Match`.
pub async fn get_customer(
    State(state): State<AppState>,
    fresh: Option<Extension<Freshness>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let fresh = fresh.map_or_else(Freshness::default, |Extension(fresh)| fresh);
    Ok(match state.store.find_json(&id, fresh).await? {
        Some(stored) => {
            let mut response = json_answer(stored.json);
            response
                .headers_mut()
                .insert(header::ETAG, etag(stored.version));
            response
        }
        None => (StatusCode::NOT_FOUND, Json(Map::new())).into_response(),
    })
}

/// A 200 answer of `json`, whose header map is sized once for everything the
/// answer will carry (the security headers and request ID are added on the way
/// out): grown step by step it was four allocations per `GET /get/{id}`.
fn json_answer(json: String) -> Response {
    let mut response = Response::new(axum::body::Body::from(json));
    let headers = response.headers_mut();
    headers.reserve(super::guard::ANSWER_HEADERS);
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// `POST /set`: validates the JSON body with the shared rules and stores it, as
/// an upsert (what the original app did) or, with `If-Match`, only over the
/// version named (412 otherwise).
pub async fn set_customer(
    State(state): State<AppState>,
    Extension(author): Extension<Author>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, body, ApiError::BodyTooLarge)?;
    let precondition = if_match(&headers)?;
    let customer = parse_customer(&body)?;
    let version = state
        .store
        .put(&customer, precondition, &author)
        .await
        .map_err(|error| match error {
            StoreError::Conflict(conflict) => ApiError::PreconditionFailed(conflict),
            other => ApiError::Store(other),
        })?;
    Ok(([(header::ETAG, etag(version))], "success").into_response())
}

fn etag(version: Version) -> HeaderValue {
    // Written by hand: `format!` showed in the profile of `GET /get/{id}`.
    let mut text = [b'"'; 22];
    let mut at = 21;
    let mut n = version.0;
    loop {
        at -= 1;
        text[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    HeaderValue::from_bytes(&text[at - 1..]).expect("digits and quotes are a valid header")
}

/// The precondition an `If-Match` header asks for: `*` (any existing version)
/// or one strong entity tag; none without the header.
fn if_match(headers: &HeaderMap) -> Result<Precondition, ApiError> {
    let mut values = headers.get_all(header::IF_MATCH).iter();
    let Some(value) = values.next() else {
        return Ok(Precondition::None);
    };
    let bad = || ApiError::BadIfMatch;
    if values.next().is_some() {
        return Err(bad());
    }
    let text = value.to_str().map_err(|_| bad())?.trim();
    if text == "*" {
        return Ok(Precondition::Exists);
    }
    if text.starts_with("W/") {
        // RFC 9110: If-Match compares strongly, so a weak tag never matches.
        return Err(ApiError::PreconditionFailed(Conflict { current: None }));
    }
    let tag = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or_else(bad)?;
    tag.parse().map(Precondition::Version).map_err(|_| bad())
}

/// A JSON request's body: 415 unless it says it is JSON, `too_large` (413)
/// past the route's limit, 400 when it cannot be read.
pub fn json_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    too_large: ApiError,
) -> Result<Bytes, ApiError> {
    if !is_json(headers) {
        return Err(ApiError::UnsupportedContentType);
    }
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large
        } else {
            ApiError::UnreadableBody(rejection.body_text())
        }
    })
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Parses a `/set` body into a valid customer; extra fields are ignored.
fn parse_customer(body: &[u8]) -> Result<Customer, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    let Value::Object(fields) = value else {
        return Err(ApiError::NotAnObject);
    };
    customer_from_object(&fields).map_err(|errors| {
        ApiError::Invalid(
            errors
                .first()
                .map(|e| e.message())
                .unwrap_or_else(|| "invalid customer".into()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_etag_is_the_version_in_quotes() {
        for (version, expected) in [
            (0, "\"0\""),
            (7, "\"7\""),
            (1234567890, "\"1234567890\""),
            (u64::MAX, "\"18446744073709551615\""),
        ] {
            assert_eq!(etag(Version(version)), expected);
        }
    }

    fn message(body: &str) -> String {
        parse_customer(body.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn fields_are_checked_in_the_original_order() {
        assert_eq!(message("{}"), "customerID required");
        assert_eq!(message(r#"{"customerID":"a"}"#), "firstName required");
        assert_eq!(
            message(r#"{"customerID":"a","firstName":"b"}"#),
            "lastName required"
        );
        assert_eq!(
            message(r#"{"customerID":null,"firstName":"b","lastName":"c"}"#),
            "customerID required"
        );
        assert_eq!(
            message(r#"{"customerID":1,"firstName":"b","lastName":"c"}"#),
            "customerID must be a string"
        );
    }

    #[test]
    fn malformed_and_non_object_bodies_say_so() {
        assert!(message("{").starts_with("malformed JSON"));
        assert_eq!(message("[]"), "request body must be a JSON object");
        assert_eq!(message("\"x\""), "request body must be a JSON object");
    }

    #[test]
    fn extra_fields_are_ignored() {
        let customer =
            parse_customer(br#"{"customerID":"a","firstName":"b","lastName":"c","age":3}"#)
                .unwrap();
        assert_eq!(customer.id, "a");
    }

    #[test]
    fn if_match_forms() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::IF_MATCH, HeaderValue::from_str(value).unwrap());
            if_match(&headers)
        };
        assert_eq!(if_match(&HeaderMap::new()).unwrap(), Precondition::None);
        assert_eq!(with("*").unwrap(), Precondition::Exists);
        assert_eq!(
            with(" \"12\" ").unwrap(),
            Precondition::Version(Version(12))
        );
        assert!(matches!(with("12"), Err(ApiError::BadIfMatch)));
        assert!(matches!(with("\"x\""), Err(ApiError::BadIfMatch)));
        assert!(matches!(with("\"1\", \"2\""), Err(ApiError::BadIfMatch)));
        assert!(matches!(
            with("W/\"1\""),
            Err(ApiError::PreconditionFailed(_))
        ));
    }

    #[test]
    fn json_content_types() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(is_json(&headers));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!is_json(&headers));
    }
}
