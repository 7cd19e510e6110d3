use super::{Customer, Page, PageQuery};
use async_trait::async_trait;

/// Why a store operation did not happen. Either way, nothing was half-done.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
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

/// Everything the application needs from a store of customers.
///
/// Implementations must make every write durable before returning `Ok`, and
/// must keep listing and counting independent of any other data they share
/// their backing storage with.
#[async_trait]
pub trait CustomerStore: Send + Sync + 'static {
    async fn get(&self, id: &str) -> Result<Option<Customer>, StoreError>;

    /// Inserts the customer or replaces the one with the same ID.
    async fn upsert(&self, customer: &Customer) -> Result<(), StoreError>;

    /// Deletes the customer; `Ok(false)` when there was none with that ID.
    async fn delete(&self, id: &str) -> Result<bool, StoreError>;

    /// One page in ID order, optionally filtered by a case-insensitive search.
    async fn list(&self, query: &PageQuery) -> Result<Page, StoreError>;

    async fn count(&self) -> Result<u64, StoreError>;

    /// One batch of a pass over every customer in ID order, each once, as
    /// `(id, customer JSON)` ready to send: whole listings (`GET /`, export) then
    /// neither decode nor re-encode records. Start with `None`, continue with
    /// `next` until it is `None`. A customer written during the pass may or may
    /// not be in it.
    async fn scan_json(&self, from: Option<String>) -> Result<JsonBatch, StoreError>;

    /// A short description for logs, e.g. `file ./customers.json`.
    fn describe(&self) -> String;
}
