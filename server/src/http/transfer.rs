//! Every customer in and out over HTTP, for admins, in the original
//! `customers.json` format (an object keyed by `customerID`): `GET /export`
//! downloads it (or CSV, `?format=csv`), `POST /import` upserts every customer
//! of one, after checking them all (invalid data imports nothing). Imported
//! writes are recorded in the audit trail as the admin's, with the request's ID.

use super::legacy::json_body;
use super::listing::{stream_all, Format};
use super::{ApiError, AppState};
use crate::store::transfer::{import_json, ImportError};
use app::domain::{Author, Freshness};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};

/// Largest `POST /import` body (about 400,000 customers).
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;

/// `GET /export[?format=json|csv]`: every customer, as a download.
pub async fn export(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let mut format = Format::Json;
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        format = match (&*key, &*value) {
            ("format", "json") => Format::Json,
            ("format", "csv") => Format::Csv,
            _ => {
                return Err(ApiError::Invalid(
                    "the only parameter is format, json or csv".into(),
                ))
            }
        };
    }
    let mut response = stream_all(state.store.clone(), Freshness::Latest, format).await?;
    let file = match format {
        Format::Json => "attachment; filename=\"customers.json\"",
        Format::Csv => "attachment; filename=\"customers.csv\"",
    };
    response
        .headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static(file));
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
