//! Imports started in the UI: each upload is checked when it arrives (see
//! [`read`]), held under an unguessable token for the user who sent it, and
//! written in a background task once confirmed, so that its outcome never
//! depends on the browser staying connected.
//!
//! Each row is written only over what the import read for it (a create only
//! if the ID is free, an update only of the version read), so a customer
//! someone else changes meanwhile is reported, not overwritten; a row equal to
//! what is stored is left alone, so importing a file again is harmless.

mod read;

pub use read::{customer_in_entry, read_file, FileRows, CSV_COLUMNS};

use app::domain::{
    Author, Customer, CustomerStore, Freshness, ImportRefusal, ImportReport, ImportStage, Imports,
    Precondition, RowProblem, StoreError, ROWS_SHOWN,
};
use futures::{stream, StreamExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Uploads held at once; beyond, the oldest one not running makes room.
const HELD: usize = 8;
/// How long an upload not running is kept after it was last looked at.
const KEPT_FOR: Duration = Duration::from_secs(60 * 60);
/// Rows written at once: enough to overlap round trips to Redis, few enough
/// that the UI's own requests are not stuck behind a long queue.
const IN_FLIGHT: usize = 32;
/// Valid rows a preview shows.
const SAMPLE: usize = 5;

/// Why an upload was not held.
#[derive(Debug, PartialEq, Eq)]
pub struct Busy;

/// Every upload held, by token.
pub struct Uploads {
    store: Arc<dyn CustomerStore>,
    held: Mutex<HashMap<String, Arc<Upload>>>,
}

/// One upload: its owner, its rows until they are written, and its report.
struct Upload {
    owner: String,
    /// Taken by the import that writes them.
    customers: Mutex<Option<Vec<(u64, Customer)>>>,
    report: Mutex<ImportReport>,
    touched: Mutex<Instant>,
}

impl Upload {
    fn report(&self) -> MutexGuard<'_, ImportReport> {
        lock(&self.report)
    }

    fn is_running(&self) -> bool {
        self.report().is_running()
    }

    /// How long no one has looked at it, at `now`.
    fn idle_at(&self, now: Instant) -> Duration {
        now.saturating_duration_since(*lock(&self.touched))
    }
}

/// A lock's value even after a panic while it was held: every update of
/// these values is whole before the lock is let go.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Uploads {
    pub fn new(store: Arc<dyn CustomerStore>) -> Self {
        Self {
            store,
            held: Mutex::new(HashMap::new()),
        }
    }

    fn held(&self) -> MutexGuard<'_, HashMap<String, Arc<Upload>>> {
        lock(&self.held)
    }

    /// Holds what `file_name` held for `owner`; the token to name it by.
    pub fn hold(&self, owner: &Author, file_name: String, file: FileRows) -> Result<String, Busy> {
        let mut rejected_rows = file.rejected;
        let rejected = rejected_rows.len() as u64;
        rejected_rows.truncate(ROWS_SHOWN);
        let report = ImportReport {
            file_name,
            stage: ImportStage::Ready,
            rows: file.rows,
            valid: file.customers.len() as u64,
            sample: (file.customers.iter().take(SAMPLE))
                .map(|(_, customer)| customer.clone())
                .collect(),
            rejected,
            rejected_rows,
            ..blank_report()
        };
        let now = Instant::now();
        let mut held = self.held();
        held.retain(|_, upload| upload.is_running() || upload.idle_at(now) < KEPT_FOR);
        if held.len() >= HELD {
            let oldest = (held.iter())
                .filter(|(_, upload)| !upload.is_running())
                .max_by_key(|(_, upload)| upload.idle_at(now))
                .map(|(token, _)| token.clone())
                .ok_or(Busy)?;
            held.remove(&oldest);
        }
        let token = random_token();
        let upload = Upload {
            owner: owner.actor.clone(),
            customers: Mutex::new(Some(file.customers)),
            report: Mutex::new(report),
            touched: Mutex::new(now),
        };
        held.insert(token.clone(), Arc::new(upload));
        Ok(token)
    }

    /// The upload `token` names, if it is `owner`'s.
    fn upload(&self, token: &str, owner: &Author) -> Option<Arc<Upload>> {
        let upload = self.held().get(token).cloned()?;
        if upload.owner != owner.actor {
            return None;
        }
        *lock(&upload.touched) = Instant::now();
        Some(upload)
    }
}

impl Imports for Uploads {
    fn report(&self, token: &str, owner: &Author) -> Option<ImportReport> {
        self.upload(token, owner)
            .map(|upload| upload.report().clone())
    }

    fn start(&self, token: &str, author: &Author) -> Result<(), ImportRefusal> {
        let upload = self.upload(token, author).ok_or(ImportRefusal::Gone)?;
        if upload.report().valid == 0 {
            return Err(ImportRefusal::NothingToImport);
        }
        let Some(customers) = lock(&upload.customers).take() else {
            return Ok(()); // started already (a second click)
        };
        upload.report().stage = ImportStage::Running;
        tracing::info!(rows = customers.len(), actor = %author.actor, "import started");
        tokio::spawn(write_all(
            self.store.clone(),
            upload,
            customers,
            author.clone(),
        ));
        Ok(())
    }

    fn discard(&self, token: &str, owner: &Author) -> bool {
        let mut held = self.held();
        match held.get(token) {
            Some(upload) if upload.owner == owner.actor && !upload.is_running() => {
                held.remove(token);
                true
            }
            _ => false,
        }
    }
}

/// What writing one row came to.
enum Written {
    Created,
    Updated,
    Unchanged,
    /// Someone else wrote this customer between our read and our write.
    Conflict(&'static str),
    /// Not tried: the import had stopped.
    Skipped,
}

/// Writes every row, `IN_FLIGHT` at a time, counting each outcome in the
/// upload's report. A store failure stops the import: rows in flight finish
/// (so the counts are what was written), the rest are not tried.
async fn write_all(
    store: Arc<dyn CustomerStore>,
    upload: Arc<Upload>,
    customers: Vec<(u64, Customer)>,
    author: Author,
) {
    let started = Instant::now();
    let stopped = std::sync::atomic::AtomicBool::new(false);
    let (store, author, stopped) = (&*store, &author, &stopped);
    let mut outcomes = stream::iter(customers)
        .map(|(row, customer)| async move {
            if stopped.load(std::sync::atomic::Ordering::Relaxed) {
                return (row, customer, Ok(Written::Skipped));
            }
            let outcome = write_one(store, &customer, author).await;
            if outcome.is_err() {
                stopped.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            (row, customer, outcome)
        })
        .buffer_unordered(IN_FLIGHT);
    let mut failure = None;
    while let Some((row, customer, outcome)) = outcomes.next().await {
        let mut report = upload.report();
        report.seconds = started.elapsed().as_secs_f64();
        match outcome {
            Ok(Written::Skipped) => continue,
            Ok(Written::Created) => report.created += 1,
            Ok(Written::Updated) => report.updated += 1,
            Ok(Written::Unchanged) => report.unchanged += 1,
            Ok(Written::Conflict(reason)) => {
                report.conflicts += 1;
                if report.conflict_rows.len() < ROWS_SHOWN {
                    report.conflict_rows.push(RowProblem {
                        row,
                        id: customer.id,
                        reason: reason.into(),
                    });
                }
            }
            Err(error) => {
                failure.get_or_insert(error);
                continue;
            }
        }
        report.done += 1;
    }
    let mut report = upload.report();
    report.seconds = started.elapsed().as_secs_f64();
    report.stage = match failure {
        None => ImportStage::Finished,
        Some(error) => {
            tracing::warn!(%error, done = report.done, "import stopped");
            ImportStage::Stopped(stop_reason(&error))
        }
    };
    tracing::info!(
        created = report.created,
        updated = report.updated,
        unchanged = report.unchanged,
        conflicts = report.conflicts,
        seconds = report.seconds,
        "import ended"
    );
}

/// Writes one row over what is stored for its ID, if that is still what
/// was read.
async fn write_one(
    store: &dyn CustomerStore,
    customer: &Customer,
    author: &Author,
) -> Result<Written, StoreError> {
    let current = store.fetch(&customer.id, Freshness::Latest).await?;
    let (precondition, written) = match current {
        None => (Precondition::Absent, Written::Created),
        Some(stored) if stored.customer == *customer => return Ok(Written::Unchanged),
        Some(stored) => (Precondition::Version(stored.version), Written::Updated),
    };
    match store.put(customer, precondition, author).await {
        Ok(_) => Ok(written),
        Err(StoreError::Conflict(_)) => Ok(Written::Conflict(match written {
            Written::Created => "someone else created a customer with this ID during the import; theirs was kept",
            _ => "someone else changed or deleted this customer during the import; their change was kept",
        })),
        Err(error) => Err(error),
    }
}

/// Why the import stopped, for the user: what went wrong is in the log.
fn stop_reason(error: &StoreError) -> String {
    let what = match error {
        StoreError::Unavailable(_) => "The customer store became unavailable",
        _ => "The customer store failed",
    };
    format!(
        "{what}, so the import stopped. The rows written before stay; importing the same file \
         again writes the rest and leaves those unchanged."
    )
}

fn blank_report() -> ImportReport {
    ImportReport {
        file_name: String::new(),
        stage: ImportStage::Ready,
        rows: 0,
        valid: 0,
        sample: Vec::new(),
        rejected: 0,
        rejected_rows: Vec::new(),
        done: 0,
        created: 0,
        updated: 0,
        unchanged: 0,
        conflicts: 0,
        conflict_rows: Vec::new(),
        seconds: 0.0,
    }
}

/// 128 random bits, URL-safe.
fn random_token() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::file::FileStore;
    use app::domain::{AuditPage, AuditQuery, JsonBatch, Page, PageQuery, Stored, Version};

    fn customer(id: &str, first: &str) -> Customer {
        Customer {
            id: id.into(),
            first_name: first.into(),
            last_name: "Test".into(),
        }
    }

    /// The file store, where someone else writes each customer named `raced*`
    /// just after the import has read it.
    struct Racing(FileStore);

    #[async_trait::async_trait]
    impl CustomerStore for Racing {
        async fn fetch(&self, key: &str, fresh: Freshness) -> Result<Option<Stored>, StoreError> {
            let read = self.0.fetch(key, fresh).await?;
            if key.starts_with("raced") {
                let theirs = customer(key, "Theirs");
                let someone = Author::command("someone-else");
                self.0.put(&theirs, Precondition::None, &someone).await?;
            }
            Ok(read)
        }
        async fn put(
            &self,
            customer: &Customer,
            precondition: Precondition,
            author: &Author,
        ) -> Result<Version, StoreError> {
            self.0.put(customer, precondition, author).await
        }
        async fn remove(
            &self,
            key: &str,
            precondition: Precondition,
            author: &Author,
        ) -> Result<bool, StoreError> {
            self.0.remove(key, precondition, author).await
        }
        async fn audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
            self.0.audit(query).await
        }
        async fn list(&self, query: &PageQuery, fresh: Freshness) -> Result<Page, StoreError> {
            self.0.list(query, fresh).await
        }
        async fn count(&self) -> Result<u64, StoreError> {
            self.0.count().await
        }
        async fn scan_json(
            &self,
            from: Option<String>,
            fresh: Freshness,
        ) -> Result<JsonBatch, StoreError> {
            self.0.scan_json(from, fresh).await
        }
        fn describe(&self) -> String {
            self.0.describe()
        }
        async fn warm_up(&self) -> Result<(), StoreError> {
            self.0.warm_up().await
        }
        fn is_warm(&self) -> bool {
            self.0.is_warm()
        }
        async fn status(&self) -> app::domain::StoreStatus {
            self.0.status().await
        }
    }

    async fn finished(uploads: &Uploads, token: &str, owner: &Author) -> ImportReport {
        for _ in 0..500 {
            let report = uploads.report(token, owner).expect("held");
            if !report.is_running() {
                return report;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the import did not finish");
    }

    #[tokio::test]
    async fn a_customer_someone_else_writes_meanwhile_is_kept_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let store = Racing(FileStore::open(dir.path().join("customers.json")).unwrap());
        let admin = Author::command("admin");
        store
            .put(&customer("raced-old", "Stored"), Precondition::None, &admin)
            .await
            .unwrap();
        store
            .put(&customer("same", "Same"), Precondition::None, &admin)
            .await
            .unwrap();
        let store: Arc<dyn CustomerStore> = Arc::new(store);
        let uploads = Uploads::new(store.clone());
        let file = read_file(
            "race.csv",
            b"customerID,firstName,lastName\nraced-old,Mine,Test\nraced-new,Mine,Test\nsame,Same,Test\nnew,Mine,Test\n",
        )
        .unwrap();
        let token = uploads.hold(&admin, "race.csv".into(), file).unwrap();

        // Another user cannot see, start or discard it.
        let other = Author::command("other");
        assert_eq!(uploads.report(&token, &other), None);
        assert_eq!(uploads.start(&token, &other), Err(ImportRefusal::Gone));
        assert!(!uploads.discard(&token, &other));

        uploads.start(&token, &admin).unwrap();
        let report = finished(&uploads, &token, &admin).await;
        assert_eq!(report.stage, ImportStage::Finished);
        assert_eq!(
            (
                report.created,
                report.updated,
                report.unchanged,
                report.conflicts
            ),
            (1, 0, 1, 2)
        );
        let kept: Vec<&str> = report.conflict_rows.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(kept.len(), 2);
        assert!(kept.contains(&"raced-old") && kept.contains(&"raced-new"));
        for id in ["raced-old", "raced-new"] {
            let stored = store.get(id, Freshness::Latest).await.unwrap().unwrap();
            assert_eq!(stored.first_name, "Theirs", "{id} was overwritten");
        }
        assert_eq!(
            store
                .get("new", Freshness::Latest)
                .await
                .unwrap()
                .unwrap()
                .first_name,
            "Mine"
        );
        // Started once: a second start does nothing more.
        uploads.start(&token, &admin).unwrap();
        assert_eq!(finished(&uploads, &token, &admin).await, report);
        assert!(uploads.discard(&token, &admin));
        assert_eq!(uploads.report(&token, &admin), None);
    }
}
