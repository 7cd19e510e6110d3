use app::domain::{Conflict, StoreError};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Every way a JSON API request can fail, each with the status and the plain
/// message a client can act on.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Content-Type must be application/json")]
    UnsupportedContentType,
    #[error("request body exceeds {} KiB", super::MAX_BODY_BYTES / 1024)]
    BodyTooLarge,
    #[error("cannot read request body: {0}")]
    UnreadableBody(String),
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("request body must be a JSON object")]
    NotAnObject,
    /// A validation rule was broken; the message names the field and the rule.
    #[error("{0}")]
    Invalid(String),
    #[error("If-Match must be * or one entity tag from GET /get/{{id}}, such as \"12\"")]
    BadIfMatch,
    /// `If-Match` named a version that is not the stored one.
    #[error("precondition failed: {0}")]
    PreconditionFailed(Conflict),
    #[error("an import is at most {} MiB", super::transfer::MAX_IMPORT_BYTES / (1024 * 1024))]
    ImportTooLarge,
    /// The store failed part-way through an import; its cause goes to the log.
    #[error("the customer store failed after {imported} of {total} customers were imported; importing the same data again is safe (each customer is replaced whole)")]
    PartlyImported { imported: usize, total: usize },
    /// The store's own message (addresses, paths) goes to the log, not to the client.
    #[error("{}", store_message(.0))]
    Store(#[from] StoreError),
}

fn store_message(error: &StoreError) -> String {
    match error {
        StoreError::Conflict(conflict) => conflict.to_string(),
        StoreError::Unavailable(_) => {
            "the customer store is unavailable right now; nothing was changed, try again shortly"
                .into()
        }
        StoreError::Failed(_) => "the customer store failed; nothing was changed".into(),
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::UnsupportedContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BodyTooLarge | ApiError::ImportTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::PartlyImported { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::UnreadableBody(_)
            | ApiError::MalformedJson(_)
            | ApiError::NotAnObject
            | ApiError::Invalid(_)
            | ApiError::BadIfMatch => StatusCode::BAD_REQUEST,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::Store(StoreError::Conflict(_)) => StatusCode::CONFLICT,
            ApiError::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Store(StoreError::Failed(_)) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Store(error) = &self {
            tracing::warn!(%error, "store operation failed");
        }
        let mut response = (self.status(), self.to_string()).into_response();
        if let ApiError::PreconditionFailed(Conflict {
            current: Some(stored),
        }) = &self
        {
            let tag = format!("\"{}\"", stored.version);
            if let Ok(tag) = axum::http::HeaderValue::from_str(&tag) {
                response.headers_mut().insert(axum::http::header::ETAG, tag);
            }
        }
        if self.status() == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, 1.into());
        }
        response
    }
}
