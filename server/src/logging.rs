//! Logs: `RUST_LOG` filters (default `info`); `LOG_FORMAT=json` writes one JSON
//! object per line. Every line logged while a request is handled ends with its
//! ID (`request_id`, a field of its own in JSON), the same ID its answer carries.
//!
//! The ID travels in a task-local rather than a span: a span per request formats
//! and stores its fields whether or not anything is logged, which showed in the
//! benchmark of the cheapest route; the task-local costs only when a line is
//! written. Like a span, it does not follow work handed to a spawned task.

use axum::http::HeaderValue;
use std::fmt;
use std::future::Future;
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, JsonFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;

tokio::task_local! {
    static REQUEST_ID: HeaderValue;
}

/// Installs the process's log subscriber (once, at start-up).
pub fn init() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let logs = tracing_subscriber::fmt()
        // Colours only for a person at a terminal, never into log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(filter);
    if std::env::var("LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        logs.fmt_fields(JsonFields::new())
            .event_format(WithRequestId {
                inner: format().json(),
                json: true,
            })
            .init();
    } else {
        logs.event_format(WithRequestId {
            inner: format(),
            json: false,
        })
        .init();
    }
}

fn format() -> format::Format {
    format::Format::default()
}

/// Runs `work` with `id` as the request ID of every line it logs.
pub async fn with_request_id<F: Future>(id: HeaderValue, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// The request's ID, if a request is being handled.
fn request_id() -> Option<String> {
    REQUEST_ID
        .try_with(|id| String::from_utf8_lossy(id.as_bytes()).into_owned())
        .ok()
}

/// A log format with the request ID added to each line written inside a request.
struct WithRequestId<F> {
    inner: F,
    json: bool,
}

impl<S, N, F> FormatEvent<S, N> for WithRequestId<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let Some(id) = request_id() else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        writeln!(
            writer,
            "{}",
            with_id(line.trim_end_matches('\n'), &id, self.json)
        )
    }
}

/// `line` with the request ID added: as the first field of a JSON object, or at
/// the end of a text line.
fn with_id(line: &str, id: &str, json: bool) -> String {
    match line.strip_prefix('{').filter(|_| json) {
        Some(rest) => {
            let id = serde_json::to_string(id).unwrap_or_default();
            let separator = if rest.trim_start().starts_with('}') {
                ""
            } else {
                ","
            };
            format!("{{\"request_id\":{id}{separator}{rest}")
        }
        None => format!("{line} request_id={id}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_id;

    #[test]
    fn the_request_id_is_a_field_of_the_line() {
        assert_eq!(
            with_id(
                "2026-11-26T00:00:00Z  WARN server: store failed",
                "ab-1",
                false
            ),
            "2026-11-26T00:00:00Z  WARN server: store failed request_id=ab-1"
        );
        let line = with_id(
            r#"{"level":"WARN","fields":{"message":"x"}}"#,
            r#"a"b"#,
            true,
        );
        let parsed: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed["request_id"], r#"a"b"#);
        assert_eq!(parsed["level"], "WARN");
        assert_eq!(with_id("{}", "x", true), r#"{"request_id":"x"}"#);
    }
}
