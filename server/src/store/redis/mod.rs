//! Customers in Redis, with the master found through Redis Sentinel.
//!
//! - `settings`: what to connect to; `error`: why connecting failed.
//! - `master` + `sentinel`: which server is the master, following failovers.
//! - `request` + `retry`: one operation, retried with backoff until its deadline.
//! - `layout`: key names and Lua scripts; `migrate`: import of the legacy layout.
//! - `replicas`: reads from replicas, within a bound on their lag.
//! - `search`: searches over an in-memory index kept in sync by a change stream.
//! - `audit`: reading the audit trail the write script records.
//! - `sessions`: the UI's sign-in sessions ([`crate::auth::sessions`]).
//!
//! Everything goes through one multiplexed connection to the master (plus one
//! for writes when `WAIT` is used, and one per replica when reads may go there):
//! requests share it by pipelining, so there is no pool to size and a failover
//! replaces exactly one connection.

mod addr;
mod address_map;
mod audit;
mod conn;
mod driver;
mod error;
mod failover_state;
mod follower;
mod haystacks;
mod layout;
mod master;
mod migrate;
mod replicas;
mod request;
mod retry;
mod search;
mod sentinel;
mod sessions;
mod settings;
mod status;

pub use address_map::{AddressMap, AddressMapError};
pub use error::ConnectError;
pub use migrate::{MigrationReport, SkippedKey};
pub use settings::{
    parse_sentinels, ClientCertificate, ReadFrom, RedisSettings, RedisTarget, SentinelListError,
    TlsSettings,
};

use app::domain::{
    AuditPage, AuditQuery, Author, Conflict, Customer, CustomerStore, Freshness, JsonBatch, Page,
    PageQuery, Precondition, StoreError, Stored, StoredJson, Version,
};
use async_trait::async_trait;
use layout::Keys;
use master::{Discovery, Tracker};
use redis::Value;
use request::{run, Access, OpError, RoundTrips};
use retry::Backoff;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Fields per `HSCAN` call (index loads, `scan_json`): bounded work per call keeps a search
/// from blocking other clients, and 1000 keeps the number of round trips low.
const SCAN_COUNT: usize = 1000;
/// How long `connect` waits for the sentinel subscriptions to be in place.
const SUBSCRIBE_WAIT: Duration = Duration::from_secs(1);

pub struct RedisStore {
    tracker: Arc<Tracker>,
    /// `Some` when reads may go to replicas (`REDIS_READ_FROM=replica-preferred`).
    replicas: Option<Arc<replicas::Replicas>>,
    keys: Keys,
    tasks: Vec<JoinHandle<()>>,
    /// Entries the write scripts keep in the change stream.
    change_log_len: usize,
    /// Async lock: held across the round trips of a catch-up.
    index: tokio::sync::Mutex<search::SearchIndex>,
    /// Whether the index has been loaded once (readable without the lock).
    index_loaded: std::sync::atomic::AtomicBool,
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl RedisStore {
    /// Finds and confirms the master, then starts following it (sentinel events
    /// plus a 1 s poll). Must be called inside a Tokio runtime.
    pub async fn connect(settings: RedisSettings) -> Result<RedisStore, ConnectError> {
        let keys = Keys::new(&settings.key_prefix);
        let deadline = Instant::now() + settings.request_deadline;
        let tracker = Arc::new(Tracker::new(settings)?);
        // The master may be mid-failover at start-up: retry that (only that) for a while.
        let mut backoff = Backoff::new();
        loop {
            match tracker.resolve().await {
                Ok(_) => break,
                Err(e) if e.is_transient() && Instant::now() < deadline => {
                    tokio::time::sleep(backoff.next_delay()).await;
                }
                Err(e) => return Err(e),
            }
        }
        let mut tasks = Vec::new();
        if let Discovery::Sentinels { pool, .. } = &tracker.discovery {
            let (ready, mut subscribed) = tokio::sync::mpsc::channel(pool.all().len());
            for sentinel in pool.all() {
                let listener =
                    follower::listen(Arc::downgrade(&tracker), sentinel.clone(), ready.clone());
                tasks.push(tokio::spawn(listener));
            }
            drop(ready);
            // So that a failover right after start-up is not missed; dead sentinels just time out.
            let all = pool.all().len();
            let _ = tokio::time::timeout(SUBSCRIBE_WAIT, async {
                for _ in 0..all {
                    subscribed.recv().await;
                }
            })
            .await;
            tasks.push(tokio::spawn(follower::poll(Arc::downgrade(&tracker))));
        }
        let replicas = (tracker.settings.read_from == ReadFrom::ReplicaPreferred).then(|| {
            let replicas = Arc::new(replicas::Replicas::new(&tracker.settings));
            let poll = replicas::poll(Arc::downgrade(&replicas), Arc::downgrade(&tracker));
            tasks.push(tokio::spawn(poll));
            replicas
        });
        Ok(RedisStore {
            tracker,
            replicas,
            keys,
            tasks,
            change_log_len: layout::CHANGE_LOG_LEN,
            index: Default::default(),
            index_loaded: Default::default(),
        })
    }

    /// Keeps only about `len` entries in the change stream (default 10,000), for
    /// tests of an index that fell behind. Every store sharing a prefix should use
    /// the same value: the smallest one wins.
    pub fn with_change_log_len(mut self, len: usize) -> Self {
        self.change_log_len = len.max(1);
        self
    }

    /// The master in use, as `host:port` (`None` while re-resolving).
    pub fn master_addr(&self) -> Option<String> {
        self.tracker.current().map(|m| conn::show(&m.addr))
    }

    /// [`Self::write_all`] of one change.
    async fn write(
        &self,
        change: WriteChange<'_>,
        precondition: Precondition,
        author: &Author,
    ) -> Result<WriteReply, StoreError> {
        let mut replies = self.write_all(&[(change, precondition)], author).await?;
        Ok(replies.pop().expect("one reply per change"))
    }

    /// Runs the `WRITE` script for `changes`, in order and as one step, and when
    /// required `WAIT` in the same pipeline: `WAIT` counts the writes *of its
    /// connection*, and a pipeline keeps the two adjacent on the shared
    /// connection. An attempt that ran but was not confirmed is retried; the
    /// script recognises each change's own nonce then. One reply per change.
    async fn write_all(
        &self,
        changes: &[(WriteChange<'_>, Precondition)],
        author: &Author,
    ) -> Result<Vec<WriteReply>, StoreError> {
        let wanted = self.tracker.settings.min_replicas_ack;
        let wait_ms = self.tracker.wait_timeout().as_millis() as u64;
        let sent: Vec<SentChange> = changes
            .iter()
            .map(|&(change, precondition)| SentChange::new(&self.keys, change, precondition))
            .collect();
        // A removal whose reply was lost finds nothing on its retry: any attempt's
        // removal counts.
        let removed_before: Vec<AtomicBool> = sent.iter().map(|_| AtomicBool::new(false)).collect();
        // The oldest audit entry to keep, by this server's clock (a retention
        // of days does not mind the clocks' difference).
        let keep_from = match self.tracker.settings.audit_retention {
            Some(retention) => std::time::SystemTime::now()
                .checked_sub(retention)
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or("0".to_owned(), |since| format!("{}-0", since.as_millis())),
            None => "0".to_owned(),
        };
        let request_id = author.request_id.as_deref().unwrap_or("");
        let (keys, maxlen, keep_from, sent, removed_before) = (
            &self.keys,
            self.change_log_len,
            &keep_from,
            &sent,
            &removed_before,
        );
        let replies = run(
            &self.tracker,
            Access::Write,
            RoundTrips::One,
            |mut conn| async move {
                let mut pipe = redis::pipe();
                pipe.cmd("EVALSHA")
                    .arg(layout::WRITE_SCRIPT.get_hash())
                    .arg(5 + sent.len())
                    .arg(&keys.records)
                    .arg(&keys.changes)
                    .arg(&keys.versions)
                    .arg(&keys.revision)
                    .arg(&keys.audit);
                for change in sent {
                    pipe.arg(&change.history);
                }
                pipe.arg(maxlen)
                    .arg(&author.actor)
                    .arg(request_id)
                    .arg(keep_from);
                for change in sent {
                    change.args(&mut pipe);
                }
                if wanted > 0 {
                    pipe.cmd("WAIT").arg(wanted).arg(wait_ms);
                }
                let mut replies: Vec<Value> = match pipe.query_async(&mut conn).await {
                    // Not cached there yet (a new master, a restart): the script
                    // did not run, so load it and send the pipeline again.
                    Err(error)
                        if error.kind()
                            == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
                    {
                        layout::WRITE_SCRIPT
                            .prepare_invoke()
                            .load_async(&mut conn)
                            .await?;
                        pipe.query_async(&mut conn).await?
                    }
                    outcome => outcome?,
                };
                let confirmed = if wanted > 0 { replies.pop() } else { None };
                let each: Vec<Value> =
                    redis::from_redis_value(replies.into_iter().next().unwrap_or(Value::Nil))
                        .map_err(redis::RedisError::from)?;
                if each.len() != sent.len() {
                    return Err(OpError::Corrupt(format!(
                        "{} write replies for {} changes",
                        each.len(),
                        sent.len()
                    )));
                }
                let replies = each
                    .into_iter()
                    .map(WriteReply::parse)
                    .collect::<Result<Vec<_>, _>>()?;
                for ((reply, change), removed) in replies.iter().zip(sent).zip(removed_before) {
                    if change.op == "del" && matches!(reply, WriteReply::Done { changed: true, .. })
                    {
                        removed.store(true, Ordering::Relaxed);
                    }
                }
                if let Some(confirmed) = confirmed {
                    let got: i64 =
                        redis::from_redis_value(confirmed).map_err(redis::RedisError::from)?;
                    if got < i64::from(wanted) {
                        return Err(OpError::NotConfirmed { wanted, got });
                    }
                }
                Ok(replies)
            },
        )
        .await?;
        Ok(replies
            .into_iter()
            .zip(removed_before)
            .map(|(reply, removed)| match reply {
                _ if !removed.load(Ordering::Relaxed) => reply,
                WriteReply::Done { version, .. } => WriteReply::Done {
                    version,
                    changed: true,
                },
                WriteReply::Conflict(Conflict { current: None }) => WriteReply::Done {
                    version: None,
                    changed: true,
                },
                reply => reply,
            })
            .collect())
    }
}

/// One change as the `WRITE` script takes it.
struct SentChange<'a> {
    history: String,
    nonce: String,
    op: &'static str,
    kind: &'static str,
    expected: String,
    id: &'a str,
    json: &'a str,
}

impl<'a> SentChange<'a> {
    fn new(keys: &layout::Keys, change: WriteChange<'a>, precondition: Precondition) -> Self {
        let (op, id, json) = match change {
            WriteChange::Put { id, json } => ("put", id, json),
            WriteChange::Remove { id } => ("del", id, ""),
        };
        let (kind, expected) = match precondition {
            Precondition::None => ("none", String::new()),
            Precondition::Absent => ("absent", String::new()),
            Precondition::Exists => ("exists", String::new()),
            Precondition::Version(version) => ("version", version.to_string()),
        };
        SentChange {
            history: keys.history(id),
            nonce: format!("{:016x}", rand::random::<u64>()),
            op,
            kind,
            expected,
            id,
            json,
        }
    }

    /// Its 6 arguments, in the script's order.
    fn args(&self, pipe: &mut redis::Pipeline) {
        pipe.arg(&self.nonce)
            .arg(self.op)
            .arg(self.kind)
            .arg(&self.expected)
            .arg(self.id)
            .arg(self.json);
    }
}

/// One change for the `WRITE` script.
#[derive(Clone, Copy)]
enum WriteChange<'a> {
    Put { id: &'a str, json: &'a str },
    Remove { id: &'a str },
}

/// What the `WRITE` script answered.
enum WriteReply {
    Done {
        /// The new version (puts only).
        version: Option<Version>,
        changed: bool,
    },
    Conflict(Conflict),
}

impl WriteReply {
    fn parse(value: Value) -> Result<Self, OpError> {
        type Reply = (String, Option<String>, Option<redis::Value>);
        let (status, first, second): Reply =
            redis::from_redis_value(value).map_err(redis::RedisError::from)?;
        let version = |text: Option<&str>| text.and_then(|v| v.parse().ok()).map(Version);
        match status.as_str() {
            "ok" => Ok(WriteReply::Done {
                version: version(first.as_deref()),
                changed: matches!(second, Some(Value::Int(1))),
            }),
            "conflict" => {
                let current = match first {
                    Some(json) => {
                        let tag: Option<String> = second
                            .map(redis::from_redis_value)
                            .transpose()
                            .map_err(redis::RedisError::from)?;
                        Some(Stored {
                            customer: decode(&json)?,
                            version: Version(
                                tag.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0),
                            ),
                        })
                    }
                    None => None,
                };
                Ok(WriteReply::Conflict(Conflict { current }))
            }
            other => Err(OpError::Corrupt(format!(
                "unexpected write reply {other:?}"
            ))),
        }
    }
}

fn decode(json: &str) -> Result<Customer, OpError> {
    serde_json::from_str(json).map_err(not_a_customer)
}

fn not_a_customer(error: serde_json::Error) -> OpError {
    OpError::Corrupt(format!("stored record is not a customer: {error}"))
}

/// A stored record's fields, borrowed: checks that a record is a customer
/// (as [`decode`] would) without copying it, for a read that sends it on as
/// stored.
#[derive(serde::Deserialize)]
struct CustomerFields<'a> {
    #[serde(rename = "customerID", borrow)]
    _id: std::borrow::Cow<'a, str>,
    #[serde(rename = "firstName", borrow)]
    _first_name: std::borrow::Cow<'a, str>,
    #[serde(rename = "lastName", borrow)]
    _last_name: std::borrow::Cow<'a, str>,
}

#[async_trait]
impl CustomerStore for RedisStore {
    async fn fetch(&self, key: &str, fresh: Freshness) -> Result<Option<Stored>, StoreError> {
        let Some(StoredJson { json, version }) = self.fetch_json(key, fresh).await? else {
            return Ok(None);
        };
        // Checked by `fetch_json`: this cannot fail unless serde itself does.
        let customer = serde_json::from_str(&json)
            .map_err(|e| StoreError::Failed(format!("stored record is not a customer: {e}")))?;
        Ok(Some(Stored { customer, version }))
    }

    /// The record as stored, checked to be a customer but not decoded: `GET
    /// /get/{id}` sends it on (decoding and encoding it again was a tenth of
    /// that request's CPU).
    async fn fetch_json(
        &self,
        key: &str,
        fresh: Freshness,
    ) -> Result<Option<StoredJson>, StoreError> {
        let keys = &self.keys;
        let replicas = self.replicas.as_deref();
        let (found, _) = replicas::read(
            &self.tracker,
            replicas,
            fresh,
            RoundTrips::One,
            |mut conn, _| async move {
                // The version first, then the record, in one pipeline: Redis runs
                // a connection's commands in order, so a write landing between
                // them pairs the record with an *older* version, never a newer
                // one, and an `If-Match` with that version is refused (412)
                // rather than overwriting what it did not see. Half the Redis
                // time of a script or a MULTI, and less of ours than a MULTI.
                let (tag, json): (Option<String>, Option<String>) = redis::pipe()
                    .hget(&keys.versions, key)
                    .hget(&keys.records, key)
                    .query_async(&mut conn)
                    .await?;
                let Some(json) = json else { return Ok(None) };
                serde_json::from_str::<CustomerFields>(&json).map_err(not_a_customer)?;
                Ok(Some(StoredJson {
                    json,
                    version: Version(layout::parse_version_tag(tag.as_deref())),
                }))
            },
        )
        .await?;
        Ok(found)
    }

    async fn put(
        &self,
        customer: &Customer,
        precondition: Precondition,
        author: &Author,
    ) -> Result<Version, StoreError> {
        let json =
            serde_json::to_string(customer).map_err(|e| StoreError::Failed(e.to_string()))?;
        let change = WriteChange::Put {
            id: &customer.id,
            json: &json,
        };
        match self.write(change, precondition, author).await? {
            WriteReply::Done { version, .. } => Ok(version.unwrap_or_default()),
            WriteReply::Conflict(conflict) => Err(StoreError::Conflict(conflict)),
        }
    }

    /// One script run for all of them, so Redis does an import's hundreds of
    /// writes in one step rather than hundreds.
    async fn put_all(&self, customers: &[Customer], author: &Author) -> Result<(), StoreError> {
        let jsons = customers
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Failed(e.to_string()))?;
        let changes: Vec<_> = customers
            .iter()
            .zip(&jsons)
            .map(|(customer, json)| {
                let change = WriteChange::Put {
                    id: &customer.id,
                    json,
                };
                (change, Precondition::None)
            })
            .collect();
        for reply in self.write_all(&changes, author).await? {
            if let WriteReply::Conflict(conflict) = reply {
                return Err(StoreError::Conflict(conflict));
            }
        }
        Ok(())
    }

    /// When an attempt deleted the record but was not confirmed and then retried,
    /// the retry finds nothing: any attempt's removal counts. (After a lost reply,
    /// which cannot be told apart from "not run", a retry may still say `false`.)
    async fn remove(
        &self,
        key: &str,
        precondition: Precondition,
        author: &Author,
    ) -> Result<bool, StoreError> {
        match self
            .write(WriteChange::Remove { id: key }, precondition, author)
            .await?
        {
            WriteReply::Done { changed, .. } => Ok(changed),
            WriteReply::Conflict(conflict) => Err(StoreError::Conflict(conflict)),
        }
    }

    async fn audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        self.audit_page(query).await
    }

    /// Served from the search index (caught up first), which holds every
    /// customer in each sort order: natural ID order and names need it.
    async fn list(&self, query: &PageQuery, fresh: Freshness) -> Result<Page, StoreError> {
        self.page_from_index(query, fresh).await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let records = &self.keys.records;
        run(
            &self.tracker,
            Access::Read,
            RoundTrips::One,
            |mut conn| async move {
                Ok(redis::cmd("HLEN")
                    .arg(records)
                    .query_async(&mut conn)
                    .await?)
            },
        )
        .await
    }

    /// Served from the search index (caught up first): whole listings then cost
    /// memory reads instead of a pass over the hash per request.
    async fn scan_json(
        &self,
        from: Option<String>,
        fresh: Freshness,
    ) -> Result<JsonBatch, StoreError> {
        self.scan_index(from, fresh).await
    }

    async fn warm_up(&self) -> Result<(), StoreError> {
        self.warm_up_index().await
    }

    fn is_warm(&self) -> bool {
        self.index_loaded.load(std::sync::atomic::Ordering::Relaxed)
    }

    async fn status(&self) -> app::domain::StoreStatus {
        status::status(&self.tracker).await
    }

    fn describe(&self) -> String {
        match &self.replicas {
            Some(replicas) => format!("{}; {}", self.tracker.describe(), replicas.describe()),
            None => self.tracker.describe(),
        }
    }
}
