//! Every customer as one streamed answer: the original JSON object (`GET /`,
//! `GET /export`) or CSV (`GET /export?format=csv`). Read batch by batch from
//! [`CustomerStore::scan_json`], so memory stays bounded however many customers
//! there are.

use super::ApiError;
use app::domain::{Customer, CustomerStore, Freshness};
use axum::body::{Body, Bytes};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use futures::{stream, StreamExt};
use std::sync::Arc;

/// How a listing is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `{"id": {...}, ...}`, byte for byte the original app's.
    Json,
    /// RFC 4180 with the header `customerID,firstName,lastName` (see [`csv_cell`]).
    Csv,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    fn head(self) -> &'static [u8] {
        match self {
            Format::Json => b"{",
            Format::Csv => b"customerID,firstName,lastName\r\n",
        }
    }

    fn tail(self) -> &'static [u8] {
        match self {
            Format::Json => b"}",
            Format::Csv => b"",
        }
    }

    /// Appends one batch; `sent_any`: records were written before it.
    fn write(
        self,
        chunk: &mut Vec<u8>,
        records: Vec<(String, String)>,
        sent_any: bool,
    ) -> std::io::Result<()> {
        match self {
            Format::Json => {
                for (n, (id, json)) in records.into_iter().enumerate() {
                    if sent_any || n > 0 {
                        chunk.push(b',');
                    }
                    serde_json::to_writer(&mut *chunk, &id).expect("string serialises");
                    chunk.push(b':');
                    chunk.extend_from_slice(json.as_bytes());
                }
            }
            Format::Csv => {
                let mut writer = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::CRLF)
                    .from_writer(&mut *chunk);
                for (id, json) in records {
                    // A record that is not a customer cannot be written as one:
                    // the download breaks rather than leave it out unsaid.
                    let customer: Customer = serde_json::from_str(&json).map_err(|_| {
                        tracing::warn!(%id, "export: a stored record is not a customer");
                        std::io::Error::other("a stored record is not a customer")
                    })?;
                    let cells = [&id, &customer.first_name, &customer.last_name];
                    writer
                        .write_record(cells.map(|cell| csv_cell(cell).into_owned().into_bytes()))?;
                }
                writer.flush()?;
            }
        }
        Ok(())
    }
}

/// A CSV cell that a spreadsheet will not run: one starting with `=`, `+`,
/// `-`, `@`, a tab or a carriage return is a formula to Excel and LibreOffice,
/// so it gets a leading `'` (OWASP's advice for CSV injection), which they
/// show as text. Every other value is written as stored.
pub fn csv_cell(value: &str) -> std::borrow::Cow<'_, str> {
    match value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        true => format!("'{value}").into(),
        false => value.into(),
    }
}

/// Every customer in `format`. A store failure before the first byte is an
/// error answer (503); one after it aborts the body, so the client sees a
/// broken response rather than a silently short one.
pub async fn stream_all(
    store: Arc<dyn CustomerStore>,
    fresh: Freshness,
    format: Format,
) -> Result<Response, ApiError> {
    let first = store.scan_json(None, fresh).await?;
    // State: the batch to write, and whether records were written before it.
    let batches = stream::unfold(Some((first, false)), move |state| {
        let store = store.clone();
        async move {
            let (batch, sent_any) = state?;
            let written = sent_any || !batch.records.is_empty();
            let mut chunk = Vec::with_capacity(batch.records.len() * 96);
            if let Err(error) = format.write(&mut chunk, batch.records, sent_any) {
                return Some((Err(error), None));
            }
            let next = match batch.next {
                None => None,
                Some(from) => match store.scan_json(Some(from), fresh).await {
                    Ok(batch) => Some((batch, written)),
                    Err(error) => {
                        tracing::warn!(%error, "listing stream aborted");
                        return Some((Err(std::io::Error::other(error)), None));
                    }
                },
            };
            Some((Ok(Bytes::from(chunk)), next))
        }
    });
    let body = stream::once(async move { Ok(Bytes::from_static(format.head())) })
        .chain(batches)
        .chain(stream::once(async move {
            Ok(Bytes::from_static(format.tail()))
        }));
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        )],
        Body::from_stream(body),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(records: &[(&str, &str, &str)]) -> String {
        let records = records
            .iter()
            .map(|(id, first, last)| {
                let json =
                    serde_json::json!({"customerID": id, "firstName": first, "lastName": last});
                (id.to_string(), json.to_string())
            })
            .collect();
        let mut chunk = Vec::new();
        Format::Csv.write(&mut chunk, records, false).unwrap();
        String::from_utf8(chunk).unwrap()
    }

    #[test]
    fn csv_quotes_what_needs_it_and_defuses_formulas() {
        assert_eq!(
            csv(&[
                ("a", "Ann", "Lee"),
                ("b,1", "Jo \"JJ\"", "O'Neil\nSmith"),
                ("c", "=1+1", "@SUM(A1)"),
                ("d", "Zoë", "-x"),
            ]),
            "a,Ann,Lee\r\n\"b,1\",\"Jo \"\"JJ\"\"\",\"O'Neil\nSmith\"\r\nc,'=1+1,'@SUM(A1)\r\nd,Zoë,'-x\r\n"
        );
    }

    #[test]
    fn a_record_that_is_not_a_customer_breaks_the_csv() {
        let mut chunk = Vec::new();
        let bad = vec![("x".to_owned(), "[1]".to_owned())];
        assert!(Format::Csv.write(&mut chunk, bad, false).is_err());
    }
}
