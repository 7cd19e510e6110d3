//! `GET /audit/export`: the audit trail (admins), newest first, as JSON Lines
//! (one entry per line, the fields of [`AuditEntry`]), optionally only one
//! customer's (`?customer=ID`) or one actor's (`?actor=user:ann`). Streamed
//! page by page from the store, so memory stays bounded.

use super::{ApiError, AppState};
use app::domain::{AuditEntry, AuditQuery, CustomerStore};
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures::stream;
use serde::Deserialize;
use std::sync::Arc;

/// Entries per store call while exporting.
const PAGE: usize = 1000;

#[derive(Deserialize)]
pub struct ExportFilter {
    customer: Option<String>,
    actor: Option<String>,
}

pub async fn export(
    State(state): State<AppState>,
    Query(filter): Query<ExportFilter>,
) -> Result<Response, ApiError> {
    let non_empty = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
    let query = AuditQuery {
        customer_id: non_empty(filter.customer),
        actor: non_empty(filter.actor),
        older_than: None,
        limit: PAGE,
    };
    let store: Arc<dyn CustomerStore> = state.store.clone();
    // The first page before the answer: a store that is down is a 503.
    let first = store.audit(&query).await?;
    let pages = stream::unfold(Some((first, query)), move |state| {
        let store = store.clone();
        async move {
            let (page, mut query) = state?;
            let lines = lines_of(&page.entries);
            let next = match page.next {
                None => None,
                Some(older_than) => {
                    query.older_than = Some(older_than);
                    match store.audit(&query).await {
                        Ok(page) => Some((page, query)),
                        Err(error) => {
                            // Headers are gone: abort, so the export is seen to be incomplete.
                            tracing::warn!(%error, "audit export aborted");
                            return Some((Err(std::io::Error::other(error)), None));
                        }
                    }
                }
            };
            Some((Ok(lines), next))
        }
    });
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"audit.jsonl\""),
            ),
        ],
        Body::from_stream(pages),
    )
        .into_response())
}

fn lines_of(entries: &[AuditEntry]) -> Bytes {
    let mut out = Vec::with_capacity(entries.len() * 256);
    for entry in entries {
        serde_json::to_writer(&mut out, entry).expect("an audit entry serialises");
        out.push(b'\n');
    }
    Bytes::from(out)
}
