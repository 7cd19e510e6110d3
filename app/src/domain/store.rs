use super::{
    lookup_keys, AuditPage, AuditQuery, Author, Conflict, Customer, Page, PageQuery, Precondition,
    StoreStatus, Stored, Version,
};
use async_trait::async_trait;
use std::borrow::Cow;
use std::future::Future;
use std::time::Instant;

/// Why a store operation did not happen. Whatever the reason, nothing was half-done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write's precondition did not hold (the ID is taken, the customer is
    /// gone or was changed by someone else); nothing was changed.
    #[error("{0}")]
    Conflict(Conflict),
    /// The backing store could not be reached or could not confirm the operation
    /// in time; the client may retry later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The store answered, but the operation failed (for example a disk error).
    #[error("store error: {0}")]
    Failed(String),
}

/// See [`CustomerStore::scan_json`].
#[derive(Debug, Default)]
pub struct JsonBatch {
    pub records: Vec<(String, String)>,
    /// Where the next batch starts; `None` when the pass is complete.
    pub next: Option<String>,
}

/// A customer as stored, as the JSON of a [`Customer`] (the original app's
/// field names): what `GET /get/{id}` sends, so that a store holding JSON hands
/// it over without decoding and encoding it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredJson {
    pub json: String,
    pub version: Version,
}

impl From<&Stored> for StoredJson {
    fn from(stored: &Stored) -> Self {
        Self {
            json: serde_json::to_string(&stored.customer).expect("a customer serialises"),
            version: stored.version,
        }
    }
}

/// The first of `keys` (an ID's [`lookup_keys`]) under which `fetch` finds
/// anything, and what it found there.
async fn first_found<'k, T, Found>(
    keys: &'k [Cow<'k, str>],
    fetch: impl Fn(&'k str) -> Found,
) -> Result<Option<T>, StoreError>
where
    Found: Future<Output = Result<Option<T>, StoreError>>,
{
    for key in keys {
        if let Some(found) = fetch(key).await? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// How recent what a read returns must be. A store that always reads its
/// latest state (the file store; Redis reading from the master) serves both alike.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Freshness {
    /// Every write acknowledged before the read began.
    #[default]
    Latest,
    /// At most the store's staleness bound old (Redis replicas:
    /// `REDIS_MAX_REPLICA_LAG_MS`), and holding every write acknowledged before
    /// `own_writes`: the reader's own last write, so that it reads its writes.
    Bounded { own_writes: Option<Instant> },
}

/// Everything the application needs from a store of customers.
///
/// Implementations make every write durable before returning `Ok`, check a
/// write's precondition and apply it as one atomic step, and keep listing and
/// counting independent of any other data they share their backing storage with.
#[async_trait]
pub trait CustomerStore: Send + Sync + 'static {
    /// The record stored under exactly this key (no normalisation).
    async fn fetch(&self, key: &str, fresh: Freshness) -> Result<Option<Stored>, StoreError>;

    /// [`Self::fetch`]'s record as JSON (see [`StoredJson`]); a store that holds
    /// JSON returns it as held.
    async fn fetch_json(
        &self,
        key: &str,
        fresh: Freshness,
    ) -> Result<Option<StoredJson>, StoreError> {
        Ok(self.fetch(key, fresh).await?.as_ref().map(StoredJson::from))
    }

    /// Stores the customer if `precondition` holds for the record with its ID,
    /// and returns the customer's new version; otherwise fails with
    /// [`StoreError::Conflict`] and changes nothing. The change and its audit
    /// entry (by `author`) are one step: both happen or neither.
    async fn put(
        &self,
        customer: &Customer,
        precondition: Precondition,
        author: &Author,
    ) -> Result<Version, StoreError>;

    /// Stores every customer whatever is stored under its ID, each as
    /// [`Self::put`] with [`Precondition::None`] stores one (an import), in as
    /// few steps as the store can. `Ok` once all are stored; after an error,
    /// some may be.
    async fn put_all(&self, customers: &[Customer], author: &Author) -> Result<(), StoreError> {
        // All at once: a store that commits writes in groups commits these together.
        let puts = customers
            .iter()
            .map(|customer| self.put(customer, Precondition::None, author));
        futures::future::try_join_all(puts).await?;
        Ok(())
    }

    /// Removes the record stored under exactly this key if `precondition` holds,
    /// recording it as [`Self::put`] does. `Ok(false)` when there was none (and
    /// the precondition allowed that); nothing is recorded then.
    async fn remove(
        &self,
        key: &str,
        precondition: Precondition,
        author: &Author,
    ) -> Result<bool, StoreError>;

    /// A page of the audit trail, newest first. A deleted customer's entries stay.
    async fn audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError>;

    /// One page in ID order, optionally filtered by a case-insensitive search.
    async fn list(&self, query: &PageQuery, fresh: Freshness) -> Result<Page, StoreError>;

    async fn count(&self) -> Result<u64, StoreError>;

    /// One batch of a pass over every customer in ID order, each once, as
    /// `(id, customer JSON)` ready to send: whole listings (`GET /`, export) then
    /// neither decode nor re-encode records. Start with `None`, continue with
    /// `next` until it is `None`. A customer written during the pass may or may
    /// not be in it. `fresh` applies to the pass as a whole, from its start.
    async fn scan_json(
        &self,
        from: Option<String>,
        fresh: Freshness,
    ) -> Result<JsonBatch, StoreError>;

    /// A short description for logs, e.g. `file ./customers.json`.
    fn describe(&self) -> String;

    /// Loads what the store keeps in memory to answer reads (the Redis store's
    /// search index), so that no request pays for it; a server calls it at start
    /// and reports ready only once it has succeeded.
    async fn warm_up(&self) -> Result<(), StoreError>;

    /// Whether [`Self::warm_up`] has succeeded (or there was nothing to load).
    fn is_warm(&self) -> bool;

    /// What the store is and, if it is replicated, how its nodes stand now
    /// (the status page). Never fails: what cannot be read is said in it.
    async fn status(&self) -> StoreStatus;

    /// The customer a client asks for by `id`, in its normalised form first,
    /// then as given (see [`lookup_keys`]).
    async fn find(&self, id: &str, fresh: Freshness) -> Result<Option<Stored>, StoreError> {
        first_found(&lookup_keys(id), |key| self.fetch(key, fresh)).await
    }

    /// [`Self::find`]'s customer as JSON (see [`StoredJson`]).
    async fn find_json(
        &self,
        id: &str,
        fresh: Freshness,
    ) -> Result<Option<StoredJson>, StoreError> {
        first_found(&lookup_keys(id), |key| self.fetch_json(key, fresh)).await
    }

    async fn get(&self, id: &str, fresh: Freshness) -> Result<Option<Customer>, StoreError> {
        Ok(self.find(id, fresh).await?.map(|stored| stored.customer))
    }

    /// Deletes the customer a client names by `id` (see [`Self::find`]) if
    /// `precondition` holds; `Ok(false)` when there was none and that was allowed.
    async fn delete_if(
        &self,
        id: &str,
        precondition: Precondition,
        author: &Author,
    ) -> Result<bool, StoreError> {
        let keys = lookup_keys(id);
        let last = keys.len() - 1;
        for (i, key) in keys.iter().enumerate() {
            match self.remove(key, precondition, author).await {
                Ok(false) if i < last => continue,
                Err(StoreError::Conflict(Conflict { current: None })) if i < last => continue,
                outcome => return outcome,
            }
        }
        Ok(false)
    }
}
