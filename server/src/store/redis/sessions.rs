//! UI sessions in Redis: one string per session, `{prefix}session:<id>`, whose
//! expiry is the session's idle timeout, pushed back on every use (`GETEX`).
//! Every server on the store sees the same sessions, and they follow the master
//! through failovers like customer writes do (retried, and confirmed by `WAIT`
//! when `REDIS_MIN_REPLICAS_ACK` asks for it).

use super::request::{run, Access, OpError, RoundTrips};
use super::RedisStore;
use crate::auth::sessions::{Session, SessionStore};
use app::domain::StoreError;
use async_trait::async_trait;
use redis::Value;
use std::time::Duration;

impl RedisStore {
    fn session_key(&self, id: &str) -> String {
        format!("{}session:{id}", self.keys.prefix)
    }

    /// Runs one writing command on the master and, when `REDIS_MIN_REPLICAS_ACK`
    /// asks for it, `WAIT`s for the replicas in the same pipeline (as customer
    /// writes do): a session begun or ended then survives a failover.
    async fn write_confirmed(&self, command: &redis::Cmd) -> Result<(), StoreError> {
        let wanted = self.tracker.settings.min_replicas_ack;
        let wait_ms = self.tracker.wait_timeout().as_millis() as u64;
        run(
            &self.tracker,
            Access::Write,
            RoundTrips::One,
            |mut conn| async move {
                let mut pipe = redis::pipe();
                pipe.add_command(command.clone());
                if wanted > 0 {
                    pipe.cmd("WAIT").arg(wanted).arg(wait_ms);
                }
                let replies: Vec<Value> = pipe.query_async(&mut conn).await?;
                if let (true, Some(confirmed)) = (wanted > 0, replies.get(1)) {
                    let got: i64 = redis::from_redis_value(confirmed.clone())
                        .map_err(redis::RedisError::from)?;
                    if got < i64::from(wanted) {
                        return Err(OpError::NotConfirmed { wanted, got });
                    }
                }
                Ok(())
            },
        )
        .await
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn create(&self, id: &str, session: &Session, idle: Duration) -> Result<(), StoreError> {
        let idle_ms = idle.as_millis().max(1) as u64;
        let mut set = redis::cmd("SET");
        set.arg(self.session_key(id))
            .arg(session.encode())
            .arg("PX")
            .arg(idle_ms);
        self.write_confirmed(&set).await
    }

    async fn resume(&self, id: &str, idle: Duration) -> Result<Option<Session>, StoreError> {
        let key = &self.session_key(id);
        let idle_ms = idle.as_millis().max(1) as u64;
        // GETEX changes the key's expiry: a write, so it goes to the master.
        let stored: Option<String> = run(
            &self.tracker,
            Access::Write,
            RoundTrips::One,
            |mut conn| async move {
                let stored: Option<String> = redis::cmd("GETEX")
                    .arg(key)
                    .arg("PX")
                    .arg(idle_ms)
                    .query_async(&mut conn)
                    .await?;
                Ok(stored)
            },
        )
        .await?;
        match stored {
            None => Ok(None),
            Some(stored) => Session::decode(&stored)
                .map(Some)
                .ok_or_else(|| StoreError::Failed(format!("a stored session is not one: {key}"))),
        }
    }

    async fn end(&self, id: &str) -> Result<(), StoreError> {
        let mut del = redis::cmd("DEL");
        del.arg(self.session_key(id));
        self.write_confirmed(&del).await
    }
}
