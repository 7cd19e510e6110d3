//! Running one store operation against the master until it succeeds, fails for
//! good, or the request deadline passes.
//!
//! Every operation is safe to repeat: reads trivially, writes because they are
//! whole-record upserts and deletes. So any attempt that may not have happened
//! (I/O error, timeout, READONLY...) is simply tried again, on a freshly resolved
//! master when the old connection is suspect.

use super::master::Tracker;
use super::retry::{classify, Backoff, Cause, Failure};
use app::domain::StoreError;
use redis::aio::MultiplexedConnection;
use redis::RedisError;
use std::future::Future;
use tokio::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    /// Writes wait while a failover is in progress and use the write connection.
    Write,
}

/// Why one attempt failed.
#[derive(Debug)]
pub enum OpError {
    Redis(RedisError),
    /// `WAIT` saw fewer replicas than required.
    NotConfirmed {
        wanted: u32,
        got: i64,
    },
    /// Stored data is not what the store wrote: retrying will not fix it.
    Corrupt(String),
    /// A replica has not reached what this server has read already; the
    /// master has (see `replicas::read`).
    Behind,
}

impl From<RedisError> for OpError {
    fn from(e: RedisError) -> Self {
        OpError::Redis(e)
    }
}

/// How many round trips to Redis one attempt of an operation makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundTrips {
    /// One command or one pipeline: the connection's response timeout bounds it.
    One,
    /// Any number (a scan, say): only the deadline bounds it.
    Many,
}

pub async fn run<T, F, Fut>(
    tracker: &Tracker,
    access: Access,
    round_trips: RoundTrips,
    mut op: F,
) -> Result<T, StoreError>
where
    F: FnMut(MultiplexedConnection) -> Fut,
    Fut: Future<Output = Result<T, OpError>>,
{
    let started = Instant::now();
    let deadline = started + tracker.settings.request_deadline;
    let mut backoff = Backoff::new();
    let mut changes = tracker.changes();
    loop {
        changes.borrow_and_update();
        let failure = match attempt(tracker, access, round_trips, deadline, &mut op).await {
            Ok(value) => return Ok(value),
            Err(Failure::Fatal(cause)) => return Err(StoreError::Failed(cause.to_string())),
            Err(failure) => failure,
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(StoreError::Unavailable(format!(
                "{} (gave up after {} ms)",
                failure.cause(),
                (now - started).as_millis()
            )));
        }
        tracing::debug!(failure = %failure.cause(), "redis attempt failed; retrying");
        metrics::counter!("redis_retries_total").increment(1);
        let wake = (now + backoff.next_delay()).min(deadline);
        // A topology change (e.g. +switch-master) is worth an immediate retry.
        let _ = tokio::time::timeout_at(wake, changes.changed()).await;
    }
}

async fn attempt<T, F, Fut>(
    tracker: &Tracker,
    access: Access,
    round_trips: RoundTrips,
    deadline: Instant,
    op: &mut F,
) -> Result<T, Failure>
where
    F: FnMut(MultiplexedConnection) -> Fut,
    Fut: Future<Output = Result<T, OpError>>,
{
    if access == Access::Write {
        tracker
            .wait_writable(deadline)
            .await
            .map_err(|paused| Failure::Busy(paused.into()))?;
    }
    let master = tracker
        .master(deadline)
        .await
        .map_err(|none| Failure::Stale(none.into()))?;
    let conn = match access {
        Access::Read => master.conn.clone(),
        Access::Write => master.write_conn.clone(),
    };
    // A single round trip ends by the connection's response timeout; when that
    // comes before the deadline, the attempt needs no timer of its own (one
    // timer less per request showed in the benchmark of `GET /get/{id}`).
    let bounded_before_deadline = round_trips == RoundTrips::One
        && deadline.saturating_duration_since(Instant::now()) > tracker.response_timeout(access);
    let outcome = if bounded_before_deadline {
        Ok(op(conn).await)
    } else {
        tokio::time::timeout_at(deadline, op(conn)).await
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(_) => {
            tracker.invalidate(master.generation, &Cause::NoAnswer);
            return Err(Failure::Stale(Cause::NoAnswer));
        }
    };
    match outcome {
        Ok(value) => Ok(value),
        Err(OpError::Redis(e)) => {
            let failure = classify(e);
            if let Failure::Stale(why) = &failure {
                tracker.invalidate(master.generation, why);
            }
            Err(failure)
        }
        Err(OpError::NotConfirmed { wanted, got }) => {
            metrics::counter!("redis_wait_shortfalls_total").increment(1);
            Err(Failure::Busy(Cause::NotConfirmed { wanted, got }))
        }
        Err(OpError::Corrupt(message)) => Err(Failure::Fatal(Cause::Corrupt(message))),
        Err(OpError::Behind) => Err(Failure::Fatal(Cause::Corrupt(
            "the master is behind this server's search index".into(),
        ))),
    }
}
