//! The embedded store: one JSON file in the original app's format (an object
//! keyed by `customerID`), served from memory, rewritten atomically on every write.

use super::{CustomerStore, StoreError};
use app::domain::{matches, Cursor, Customer, JsonBatch, Page, PageQuery};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::io::Write;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use tokio::sync::Mutex;

type Records = BTreeMap<String, Customer>;

/// Customers per [`CustomerStore::scan_json`] batch.
const SCAN_BATCH: usize = 1000;

pub struct FileStore {
    path: PathBuf,
    /// The committed state. Readers clone the `Arc` and never wait for disk I/O.
    records: RwLock<Arc<Records>>,
    /// Serialises writers, so each write sees the previous one and none is lost.
    writer: Mutex<()>,
}

/// Why the data file could not be opened. Start-up stops on any of these.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot read data file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
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
    /// Loads the file if it exists; a missing file is an empty store, created on first write.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, OpenError> {
        let path = path.into();
        let shown = path.display().to_string();
        let records = match std::fs::read(&path) {
            Ok(bytes) => parse(&bytes).map_err(|e| match e {
                ParseError::Json(e) => OpenError::Parse {
                    path: shown.clone(),
                    line: e.line(),
                    column: e.column(),
                    message: e.to_string(),
                },
                ParseError::KeyMismatch { key, id } => OpenError::KeyMismatch {
                    path: shown.clone(),
                    key,
                    id,
                },
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Records::new(),
            Err(source) => {
                return Err(OpenError::Read {
                    path: shown,
                    source,
                })
            }
        };
        Ok(Self {
            path,
            records: RwLock::new(Arc::new(records)),
            writer: Mutex::new(()),
        })
    }

    fn snapshot(&self) -> Arc<Records> {
        self.records.read().expect("records lock poisoned").clone()
    }

    /// Applies `change` to a copy of the records, makes it durable, then publishes it.
    /// Returns what `change` returned.
    async fn write<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut Records) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let _turn = self.writer.lock().await;
        let mut next = (*self.snapshot()).clone();
        let outcome = change(&mut next);
        let path = self.path.clone();
        let next = tokio::task::spawn_blocking(move || persist(&path, &next).map(|()| next))
            .await
            .map_err(|e| StoreError::Failed(format!("write task failed: {e}")))?
            .map_err(|e| {
                StoreError::Failed(format!("cannot write {}: {e}", self.path.display()))
            })?;
        *self.records.write().expect("records lock poisoned") = Arc::new(next);
        Ok(outcome)
    }
}

enum ParseError {
    Json(serde_json::Error),
    KeyMismatch { key: String, id: String },
}

fn parse(bytes: &[u8]) -> Result<Records, ParseError> {
    let records: Records = serde_json::from_slice(bytes).map_err(ParseError::Json)?;
    if let Some((key, customer)) = records.iter().find(|(key, c)| **key != c.id) {
        return Err(ParseError::KeyMismatch {
            key: key.clone(),
            id: customer.id.clone(),
        });
    }
    Ok(records)
}

/// Writes the records to a temporary file beside `path`, syncs it, and renames it
/// over `path`: a crash leaves either the old file or the new one, never a torn one.
fn persist(path: &Path, records: &Records) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp_path = dir.join(format!(".{file_name}.tmp"));
    let mut temp = std::fs::File::create(&temp_path)?;
    let mut out = std::io::BufWriter::new(&mut temp);
    serde_json::to_writer_pretty(&mut out, records)?;
    out.write_all(b"\n")?;
    out.flush()?;
    drop(out);
    temp.sync_all()?;
    std::fs::rename(&temp_path, path)?;
    // The rename is only durable once the directory entry is.
    std::fs::File::open(dir)?.sync_all()
}

#[async_trait]
impl CustomerStore for FileStore {
    async fn get(&self, id: &str) -> Result<Option<Customer>, StoreError> {
        Ok(self.snapshot().get(id).cloned())
    }

    async fn upsert(&self, customer: &Customer) -> Result<(), StoreError> {
        let customer = customer.clone();
        self.write(move |records| {
            records.insert(customer.id.clone(), customer);
        })
        .await
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        if !self.snapshot().contains_key(id) {
            return Ok(false);
        }
        let id = id.to_owned();
        self.write(move |records| records.remove(&id).is_some())
            .await
    }

    async fn list(&self, query: &PageQuery) -> Result<Page, StoreError> {
        let records = self.snapshot();
        let (range, reverse) = match &query.cursor {
            Cursor::Start => ((Bound::Unbounded, Bound::Unbounded), false),
            Cursor::After(id) => ((Bound::Excluded(id.as_str()), Bound::Unbounded), false),
            Cursor::Before(id) => ((Bound::Unbounded, Bound::Excluded(id.as_str())), true),
        };
        let take = query.limit + 1;
        let in_range = records.range::<str, _>(range).map(|(_, c)| c);
        let Some(needle) = query.needle() else {
            let window: Vec<Customer> = if reverse {
                in_range.rev().take(take).cloned().collect()
            } else {
                in_range.take(take).cloned().collect()
            };
            return Ok(Page::from_window(
                &query.cursor,
                query.limit,
                window,
                records.len() as u64,
            ));
        };
        // A search reads every record once: it counts all matches and keeps the
        // window of them that the cursor asks for.
        let mut total = 0u64;
        let mut window = Vec::with_capacity(take);
        let mut keep = |customer: &Customer, in_window: bool| {
            total += 1;
            if in_window && window.len() < take {
                window.push(customer.clone());
            }
        };
        let in_window = |id: &str| match &query.cursor {
            Cursor::Start => true,
            Cursor::After(after) => id > after.as_str(),
            Cursor::Before(before) => id < before.as_str(),
        };
        let matching = records.values().filter(|c| matches(c, &needle));
        if reverse {
            matching.rev().for_each(|c| keep(c, in_window(&c.id)));
        } else {
            matching.for_each(|c| keep(c, in_window(&c.id)));
        }
        Ok(Page::from_window(&query.cursor, query.limit, window, total))
    }

    async fn count(&self) -> Result<u64, StoreError> {
        Ok(self.snapshot().len() as u64)
    }

    async fn scan_json(&self, from: Option<String>) -> Result<JsonBatch, StoreError> {
        let records = self.snapshot();
        let start = match &from {
            Some(after) => Bound::Excluded(after.as_str()),
            None => Bound::Unbounded,
        };
        let mut batch = JsonBatch::default();
        for (id, customer) in records.range::<str, _>((start, Bound::Unbounded)) {
            if batch.records.len() == SCAN_BATCH {
                batch.next = batch.records.last().map(|(id, _)| id.clone());
                break;
            }
            let json = serde_json::to_string(customer).expect("customer serialises");
            batch.records.push((id.clone(), json));
        }
        Ok(batch)
    }

    fn describe(&self) -> String {
        format!("embedded file store {}", self.path.display())
    }
}
