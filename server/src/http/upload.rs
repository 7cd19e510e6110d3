//! `POST /import/upload`: a file chosen on the import page (a plain form
//! post, with or without JavaScript). A readable file is held for its
//! uploader and the browser sent to its preview; anything else is answered
//! with a page saying why, and a way back.

use super::sign_in::{document, escape, see_other};
use super::AppState;
use crate::import::{read_file, CSV_COLUMNS};
use app::domain::Author;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Extension;

/// The longest file name shown back to the user.
const NAME_CHARS: usize = 120;

pub async fn upload(
    State(state): State<AppState>,
    Extension(author): Extension<Author>,
    request: HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Response {
    let refuse = |status, message: &str| refused(&state, &request, status, message);
    let Ok(mut form) = form else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The upload was not a file form (multipart/form-data with a field named file).",
        );
    };
    let (name, bytes) = loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name: String = field
                    .file_name()
                    .unwrap_or_default()
                    .chars()
                    .take(NAME_CHARS)
                    .collect();
                match field.bytes().await {
                    Ok(bytes) => break (name, bytes),
                    Err(error) => return unreadable_upload(&state, &request, error),
                }
            }
            Ok(Some(_)) => continue,
            Ok(None) => return refuse(StatusCode::BAD_REQUEST, "Choose a file to import."),
            Err(error) => return unreadable_upload(&state, &request, error),
        }
    };
    if name.is_empty() && bytes.is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "Choose a file to import.");
    }
    // Reading 100,000 rows takes a while: not on a thread that serves requests.
    let read =
        tokio::task::spawn_blocking(move || read_file(&name, &bytes).map(|rows| (name, rows)));
    let (name, rows) = match read.await {
        Ok(Ok(read)) => read,
        Ok(Err(reason)) => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("This file cannot be imported. {reason}"),
            )
        }
        Err(error) => {
            tracing::error!(%error, "reading an upload failed");
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The file could not be read.",
            );
        }
    };
    let name = if name.is_empty() {
        "the upload".to_owned()
    } else {
        name
    };
    match state.uploads.hold(&author, name, rows) {
        Ok(token) => see_other(&format!("/import?upload={token}")),
        Err(crate::import::Busy) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many imports are running right now. Please try again when one has finished.",
        ),
    }
}

fn unreadable_upload(state: &AppState, request: &HeaderMap, error: MultipartError) -> Response {
    let status = error.status();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!(
            "The file is larger than {} MB. Please split it and import the parts one after another.",
            super::transfer::MAX_IMPORT_BYTES / (1024 * 1024)
        )
    } else {
        "The upload could not be read; it may have been cut off. Please try again.".to_owned()
    };
    refused(state, request, status, &message)
}

/// The page for a refused upload: why, and the way back to the import page.
fn refused(state: &AppState, request: &HeaderMap, status: StatusCode, message: &str) -> Response {
    let body = format!(
        r#"<h1>Import customers</h1>
<p class="notice error" role="alert">{}</p>
<p>A file to import is CSV with the header <code>{}</code> (UTF-8), or JSON as the download of every customer is.</p>
<p><a href="/import" class="button primary">Choose another file</a> <a href="/" class="button">Back to the customers</a></p>"#,
        escape(message),
        CSV_COLUMNS.join(","),
    );
    document(
        request,
        state.guard.stylesheet_href,
        status,
        "Import customers",
        &body,
    )
}
