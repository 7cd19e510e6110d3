//! Every customer in and out over HTTP, for admins, in the original
//! `customers.json` format (an object keyed by `customerID`): `GET /export`
//! downloads it, `POST /import` upserts every customer of one, after checking
//! them all (invalid data imports nothing). Imported writes are recorded in
//! the audit trail as the admin's, with the request's ID.

use super::legacy::{json_body, list_all};
use super::{ApiError, AppState};
use crate::store::transfer::{import_json, ImportError};
use app::domain::{Author, Freshness};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

/// Largest `POST /import` body (about 400,000 customers).
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

pub async fn export(State(state): State<AppState>) -> Result<Response, ApiError> {
    let mut response = list_all(state.store.clone(), Freshness::Latest).await?;
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"customers.json\""),
    );
    Ok(response)
}

pub async fn import(
    State(state): State<AppState>,
    Extension(author): Extension<Author>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, body, ApiError::ImportTooLarge)?;
    match import_json(state.store.as_ref(), &body, &author).await {
        Ok(imported) => {
            tracing::info!(imported, "customers imported");
            Ok(Json(serde_json::json!({ "imported": imported })).into_response())
        }
        Err(invalid @ ImportError::Invalid(_)) => Err(ApiError::Invalid(invalid.to_string())),
        Err(ImportError::Store {
            imported,
            total,
            error,
        }) => {
            tracing::warn!(%error, imported, total, "import stopped by a store failure");
            Err(ApiError::PartlyImported { imported, total })
        }
    }
}
