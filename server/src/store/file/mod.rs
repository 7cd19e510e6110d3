//! The embedded store: customers in memory, a snapshot file in the original
//! app's format (an object keyed by `customerID`) and a journal of the writes
//! since, owned by one process at a time.
//!
//! - `files`: which files, and replacing one atomically;
//! - `lock`: one owning process per data file;
//! - `journal`: the line format, replay, and the versions file;
//! - `audit`: the audit trail, written with the journal;
//! - `writer`: the thread that commits writes in groups and compacts.
//!
//! Reads never wait for the disk: they clone the published state, a persistent
//! map, which costs a pointer copy however many customers there are.

mod audit;
mod files;
mod journal;
mod lock;
mod writer;

pub use lock::LockError;

use super::order::{Matcher, Orders};
use super::row::Row;
use super::{CustomerStore, StoreError};
use app::domain::{
    AuditPage, AuditQuery, Author, Cursor, Customer, Freshness, JsonBatch, Page, PageQuery,
    Precondition, SortField, Stored, StoredJson, Version,
};
use async_trait::async_trait;
use files::DataFiles;
use std::ops::Bound;
use std::path::Path;
use std::sync::{mpsc, Arc, RwLock};
use tokio::sync::oneshot;
use writer::{Change, Outcome, Request, Writer};

/// Customers by ID. Shared pointers keep a copy of the map (a snapshot for a
/// reader or for compaction) from copying any customer.
type Records = imbl::OrdMap<Arc<str>, Arc<Stored>>;

/// Customers per [`CustomerStore::scan_json`] batch.
const SCAN_BATCH: usize = 1000;

/// How the store behaves; the defaults suit a server.
#[derive(Clone, Debug)]
pub struct Options {
    /// What the owning process does, named to a second process that finds the file locked.
    pub purpose: String,
    /// Journal entries before a compaction is considered (it also waits until
    /// the journal has as many entries as there are customers).
    pub compact_after: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            purpose: "serve".into(),
            compact_after: 10_000,
        }
    }
}

pub struct FileStore {
    shown: String,
    published: writer::Published,
    /// True once the writer has published the sort orders.
    sorted: tokio::sync::watch::Receiver<bool>,
    trail: audit::Trail,
    requests: Option<mpsc::Sender<Request>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// Why the data file could not be opened. Start-up stops on any of these.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open data file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Locked(#[from] LockError),
    #[error("data file {path} is not valid customer JSON at line {line}, column {column}: {message} (the file was left untouched)")]
    Parse {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("data file {path} holds customer {key:?} whose customerID is {id:?}")]
    KeyMismatch {
        path: String,
        key: String,
        id: String,
    },
}

impl FileStore {
    /// Opens the store with the default options (see [`Self::open_with`]).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        Self::open_with(path, Options::default())
    }

    /// Takes the data file's lock, loads the snapshot (a missing file is an empty
    /// store), replays the journal and starts the writer thread.
    pub fn open_with(path: impl AsRef<Path>, options: Options) -> Result<Self, OpenError> {
        let started = std::time::Instant::now();
        let shown = path.as_ref().display().to_string();
        let io = |source| OpenError::Io {
            path: shown.clone(),
            source,
        };
        let files = DataFiles::resolve(path.as_ref()).map_err(io)?;
        let lock = lock::acquire(&files, &options.purpose)?;
        files.remove_stale_temp_files();

        let mut records = load_snapshot(&files)?;
        let versions = journal::read_versions(&files.versions()).map_err(io)?;
        let mut revision = versions.revision;
        for (id, version) in versions.versions {
            if let Some(stored) = records.get_mut(id.as_str()) {
                Arc::make_mut(stored).version = Version(version);
            }
        }
        let mut apply = |entry: journal::Entry| {
            revision = revision.max(entry.rev);
            let version = Version(entry.rev);
            match (entry.put, entry.del) {
                (Some(customer), _) => {
                    let id: Arc<str> = Arc::from(customer.id.as_str());
                    records.insert(id, Arc::new(Stored { customer, version }));
                }
                (None, Some(id)) => {
                    records.remove(id.as_str());
                }
                (None, None) => {}
            }
        };
        let mut replayed = 0;
        if let Some(old) = journal::replay(&files.old_journal(), &mut apply).map_err(io)? {
            replayed += old.entries;
        }
        let current = journal::replay(&files.journal(), &mut apply).map_err(io)?;
        let journal = files.open_append(&files.journal()).map_err(io)?;
        let (journal_len, journal_entries) = match current {
            Some(replay) => {
                if !replay.torn.is_empty() {
                    keep_torn_tail(&files, &replay.torn);
                    journal.set_len(replay.valid_len).map_err(io)?;
                    journal.sync_all().map_err(io)?;
                }
                replayed += replay.entries;
                (replay.valid_len, replay.entries)
            }
            None => {
                files.sync_dir().map_err(io)?;
                (0, 0)
            }
        };
        tracing::debug!(
            customers = records.len(),
            journal_entries = replayed,
            ms = started.elapsed().as_millis() as u64,
            "data file loaded"
        );

        let audit = audit::AuditLog::open(&files, revision).map_err(io)?;
        let trail = audit.trail.clone();
        let published = Arc::new(RwLock::new(writer::Snapshot {
            records: records.clone(),
            orders: None,
        }));
        let (orders_ready, sorted) = tokio::sync::watch::channel(false);
        let writer = Writer {
            files,
            journal,
            journal_len,
            journal_entries,
            audit,
            records,
            orders: Orders::default(),
            orders_ready,
            revision,
            published: published.clone(),
            compact_after: options.compact_after.max(1),
            broken: false,
            compaction: None,
            _lock: lock,
        };
        let (requests, queue) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("file-store-writer".into())
            .spawn(move || writer.run(queue))
            .map_err(io)?;
        Ok(Self {
            shown,
            published,
            sorted,
            trail,
            requests: Some(requests),
            writer: Some(thread),
        })
    }

    fn records(&self) -> Records {
        self.snapshot().records
    }

    fn snapshot(&self) -> writer::Snapshot {
        self.published
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Hands a change to the writer thread and waits for its outcome. The change
    /// is committed or refused whether or not this future is still awaited.
    async fn submit(
        &self,
        change: Change,
        precondition: Precondition,
        author: &Author,
    ) -> Result<Outcome, StoreError> {
        let (reply, outcome) = oneshot::channel();
        let stopped = writer_stopped;
        self.requests
            .as_ref()
            .ok_or_else(stopped)?
            .send(Request {
                change,
                precondition,
                author: author.clone(),
                reply,
            })
            .map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

/// Finishes queued writes and any compaction, then releases the data file's lock.
impl Drop for FileStore {
    fn drop(&mut self) {
        drop(self.requests.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

/// A torn last write is dropped (it was never acknowledged). If what is dropped
/// holds a whole line, it is not a simple torn append: keep it beside the journal.
fn keep_torn_tail(files: &DataFiles, torn: &[u8]) {
    if torn.contains(&b'\n') {
        let kept = files.journal().with_extension(format!(
            "journal.damaged-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        ));
        let saved = std::fs::write(&kept, torn);
        tracing::warn!(bytes = torn.len(), kept = %kept.display(), saved = saved.is_ok(),
            "the journal has a damaged part; replayed up to it and set the rest aside");
    } else {
        tracing::warn!(
            bytes = torn.len(),
            "dropped a write cut off by a crash at the end of the journal (it was never acknowledged)"
        );
    }
}

fn writer_stopped() -> StoreError {
    StoreError::Failed("the store's writer has stopped".into())
}

fn load_snapshot(files: &DataFiles) -> Result<Records, OpenError> {
    let path = files.shown.clone();
    let bytes = match std::fs::read(&files.snapshot) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Records::new()),
        Err(source) => return Err(OpenError::Io { path, source }),
    };
    let parsed: std::collections::BTreeMap<String, Customer> = serde_json::from_slice(&bytes)
        .map_err(|e| OpenError::Parse {
            path: path.clone(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
    let mut records = Records::new();
    for (key, customer) in parsed {
        if key != customer.id {
            return Err(OpenError::KeyMismatch {
                path,
                key,
                id: customer.id,
            });
        }
        let stored = Stored {
            customer,
            version: Version(0),
        };
        records.insert(Arc::from(key), Arc::new(stored));
    }
    Ok(records)
}

#[async_trait]
impl CustomerStore for FileStore {
    /// Every read sees the latest state: `fresh` asks nothing more.
    async fn fetch(&self, key: &str, _: Freshness) -> Result<Option<Stored>, StoreError> {
        Ok(self.records().get(key).map(|stored| Stored::clone(stored)))
    }

    /// Encoded from the record held, without copying it first.
    async fn fetch_json(&self, key: &str, _: Freshness) -> Result<Option<StoredJson>, StoreError> {
        Ok(self
            .records()
            .get(key)
            .map(|stored| StoredJson::from(&**stored)))
    }

    async fn put(
        &self,
        customer: &Customer,
        precondition: Precondition,
        author: &Author,
    ) -> Result<Version, StoreError> {
        match self
            .submit(Change::Put(customer.clone()), precondition, author)
            .await?
        {
            Outcome::Put(version) => Ok(version),
            Outcome::Removed(_) => unreachable!("a put is answered with its version"),
        }
    }

    async fn remove(
        &self,
        key: &str,
        precondition: Precondition,
        author: &Author,
    ) -> Result<bool, StoreError> {
        match self
            .submit(Change::Remove(key.to_owned()), precondition, author)
            .await?
        {
            Outcome::Removed(removed) => Ok(removed),
            Outcome::Put(_) => unreachable!("a removal is answered with whether it removed"),
        }
    }

    async fn audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        let trail = self.trail.read().unwrap_or_else(|e| e.into_inner());
        Ok(audit::query(&trail, query))
    }

    async fn list(&self, query: &PageQuery, _: Freshness) -> Result<Page, StoreError> {
        self.warm_up().await?;
        let writer::Snapshot { records, orders } = self.snapshot();
        let orders = orders.ok_or_else(writer_stopped)?;
        let sort = query.sort;
        let cursor_row = match &query.cursor {
            Cursor::After(id) | Cursor::Before(id) | Cursor::At(id) => {
                match records.get(id.as_str()) {
                    Some(stored) => Some(Row::new(id, &stored.customer)),
                    None => (sort.field == SortField::Id).then(|| Row::of_id(id)),
                }
            }
            Cursor::Start | Cursor::End => None,
        };
        Ok(match query.needle() {
            None => orders.page(query, cursor_row),
            Some(needle) => {
                let matcher = Matcher::new(&needle);
                let matches = orders
                    .rows()
                    .filter(|row| row.matches(&matcher))
                    .cloned()
                    .collect();
                orders.page_among(query, matches, cursor_row)
            }
        })
    }

    async fn count(&self) -> Result<u64, StoreError> {
        Ok(self.records().len() as u64)
    }

    async fn scan_json(&self, from: Option<String>, _: Freshness) -> Result<JsonBatch, StoreError> {
        let records = self.records();
        let start = match &from {
            Some(after) => Bound::Excluded(after.as_str()),
            None => Bound::Unbounded,
        };
        let mut batch = JsonBatch::default();
        for (id, stored) in records.range::<_, str>((start, Bound::Unbounded)) {
            if batch.records.len() == SCAN_BATCH {
                batch.next = batch.records.last().map(|(id, _)| id.clone());
                break;
            }
            let json = serde_json::to_string(&stored.customer).expect("customer serialises");
            batch.records.push((id.to_string(), json));
        }
        Ok(batch)
    }

    /// Everything is in memory from the moment the store opens.
    /// Waits for the writer to have sorted the customers loaded at start.
    async fn warm_up(&self) -> Result<(), StoreError> {
        let mut sorted = self.sorted.clone();
        sorted
            .wait_for(|sorted| *sorted)
            .await
            .map_err(|_| writer_stopped())?;
        Ok(())
    }

    fn is_warm(&self) -> bool {
        *self.sorted.borrow()
    }

    /// The file's path is the operator's business, not the page's.
    async fn status(&self) -> app::domain::StoreStatus {
        app::domain::StoreStatus {
            kind: "Embedded file store (one server process, no replicas)".into(),
            ..Default::default()
        }
    }

    fn describe(&self) -> String {
        format!("embedded file store {}", self.shown)
    }
}
