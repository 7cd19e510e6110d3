use app::domain::StoreError;
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
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::UnsupportedContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnreadableBody(_)
            | ApiError::MalformedJson(_)
            | ApiError::NotAnObject
            | ApiError::Invalid(_) => StatusCode::BAD_REQUEST,
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
        if self.status() == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, 1.into());
        }
        response
    }
}
