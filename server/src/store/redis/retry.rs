//! What to do after a failed attempt, and how long to wait before the next one.

use super::error::{NoMaster, WritesPaused};
use rand::Rng;
use redis::{ErrorKind, RedisError};
use std::time::Duration;

/// Server error codes that mean "this is not (or no longer) a usable master":
/// drop the connection and ask the sentinels again.
const STALE_CODES: &[&str] = &["READONLY", "LOADING", "MASTERDOWN", "NOAUTH"];

/// Server error codes that mean "the master is fine but cannot do it right now":
/// keep the connection and retry after a pause.
const BUSY_CODES: &[&str] = &["NOREPLICAS", "TRYAGAIN", "BUSY", "MISCONF", "OOM"];

/// How a failed attempt should be handled, and why it failed.
#[derive(Clone, Debug)]
pub enum Failure {
    /// The connection or the master is gone or demoted: re-resolve, then retry.
    Stale(Cause),
    /// The master answered but could not do it now: retry on the same connection.
    Busy(Cause),
    /// Retrying would not help (wrong type, bad data, script bug).
    Fatal(Cause),
}

/// Why an attempt failed; its message goes to the log, never to a client.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Cause {
    #[error(transparent)]
    Redis(RedisError),
    #[error(transparent)]
    NoMaster(#[from] NoMaster),
    #[error(transparent)]
    WritesPaused(#[from] WritesPaused),
    #[error("no answer from the master before the deadline")]
    NoAnswer,
    /// `WAIT` saw fewer replicas than required.
    #[error("write not confirmed by {wanted} replicas ({got} confirmed)")]
    NotConfirmed { wanted: u32, got: i64 },
    /// Stored data is not what the store wrote.
    #[error("{0}")]
    Corrupt(String),
}

impl Failure {
    pub fn cause(&self) -> &Cause {
        match self {
            Failure::Stale(cause) | Failure::Busy(cause) | Failure::Fatal(cause) => cause,
        }
    }
}

pub fn classify(err: RedisError) -> Failure {
    let failure = handling(&err);
    failure(Cause::Redis(err))
}

/// Which [`Failure`] a Redis error is.
fn handling(err: &RedisError) -> fn(Cause) -> Failure {
    if err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
    {
        return Failure::Stale;
    }
    let message = err.to_string();
    let codes = error_codes(err);
    let has = |list: &[&str]| {
        codes.iter().any(|code| list.contains(&code.as_str()))
            // Redis < 7 wraps errors raised inside scripts as "ERR ... -READONLY ...".
            || list.iter().any(|code| message.contains(&format!("-{code} ")))
    };
    if has(STALE_CODES) {
        return Failure::Stale;
    }
    if has(BUSY_CODES) {
        return Failure::Busy;
    }
    match err.kind() {
        ErrorKind::Server(_)
        | ErrorKind::Extension
        | ErrorKind::Parse
        | ErrorKind::UnexpectedReturnType
        | ErrorKind::InvalidClientConfig => Failure::Fatal,
        // Anything else comes from the client side of the connection.
        _ => Failure::Stale,
    }
}

/// Every server error code in the error, including those inside a pipeline or transaction.
pub fn error_codes(err: &RedisError) -> Vec<String> {
    let mut codes: Vec<String> = err.code().map(str::to_owned).into_iter().collect();
    if let Some(inner) = err.clone().into_server_errors() {
        codes.extend(inner.iter().map(|(_, e)| e.code().to_owned()));
    }
    codes
}

/// Is this a rejected password / missing authentication?
pub fn is_auth_error(err: &RedisError) -> bool {
    err.kind() == ErrorKind::AuthenticationFailed
        || error_codes(err)
            .iter()
            .any(|c| c == "WRONGPASS" || c == "NOAUTH")
}

/// Jittered exponential backoff: 20 ms doubling to 500 ms, each delay drawn from
/// [half, full] so that many waiting requests do not retry in lockstep.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_millis(20);
    pub const MAX: Duration = Duration::from_millis(500);

    pub fn new() -> Self {
        Self { next: Self::FIRST }
    }

    pub fn next_delay(&mut self) -> Duration {
        let full = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        let half = full / 2;
        half + rand::rng().random_range(Duration::ZERO..=half)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(code: &str, detail: &str) -> RedisError {
        redis::make_extension_error(code.to_owned(), Some(detail.to_owned()))
    }

    #[test]
    fn backoff_grows_to_the_cap_with_jitter() {
        let mut backoff = Backoff::new();
        let delays: Vec<Duration> = (0..10).map(|_| backoff.next_delay()).collect();
        assert!(delays[0] >= Duration::from_millis(10) && delays[0] <= Backoff::FIRST);
        assert!(delays.iter().all(|d| *d <= Backoff::MAX));
        assert!(delays[9] >= Backoff::MAX / 2);
    }

    #[test]
    fn classification() {
        let stale = |e: RedisError| matches!(classify(e), Failure::Stale(_));
        let busy = |e: RedisError| matches!(classify(e), Failure::Busy(_));
        assert!(stale(server_error(
            "READONLY",
            "You can't write against a read only replica."
        )));
        assert!(stale(server_error("LOADING", "loading")));
        assert!(stale(server_error(
            "ERR",
            "Error running script: @user_script:2: -READONLY You can't write"
        )));
        assert!(busy(server_error("NOREPLICAS", "Not enough good replicas")));
        assert!(matches!(
            classify(server_error("WRONGTYPE", "Operation against a key")),
            Failure::Fatal(_)
        ));
        let io: RedisError = std::io::Error::from(std::io::ErrorKind::ConnectionReset).into();
        assert!(stale(io));
        assert!(is_auth_error(&server_error(
            "WRONGPASS",
            "invalid password"
        )));
    }
}
