//! The one thread that changes the store: group commit and compaction.
//!
//! Requests queue on a channel. The thread takes every request waiting, checks
//! each one's precondition against the state including the earlier ones, appends
//! all their journal lines with one write and one `fdatasync`, and only then
//! publishes the new state and answers. So concurrent writers share a sync,
//! readers never see a write that is not on disk, and a write, once queued, is
//! finished by this thread whether or not its client is still waiting.
//!
//! When the journal has grown as large as the data (at least `compact_after`
//! entries), it is set aside as `.journal.old` and a new one begun; a second
//! thread writes the state of that moment as the new snapshot and versions file,
//! then deletes the old journal. Writes go on meanwhile: the state is a
//! persistent map, so taking it costs a pointer copy. A store that closes
//! cleanly compacts once more, so the snapshot alone is complete.

use super::audit::AuditLog;
use super::files::DataFiles;
use super::journal::{self, Entry};
use super::lock::DataLock;
use super::Records;
use crate::store::order::Orders;
use crate::store::row::Row;
use app::domain::{
    Action, AuditEntry, Author, Conflict, Customer, Precondition, StoreError, Stored, Version,
};
use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use tokio::sync::oneshot;

/// Requests committed with one sync at most: bounds the latency a batch adds.
const MAX_BATCH: usize = 4096;

pub enum Change {
    Put(Customer),
    Remove(String),
}

impl Change {
    fn key(&self) -> &str {
        match self {
            Change::Put(customer) => &customer.id,
            Change::Remove(key) => key,
        }
    }
}

#[derive(Debug)]
pub enum Outcome {
    Put(Version),
    Removed(bool),
}

pub struct Request {
    pub change: Change,
    pub precondition: Precondition,
    pub author: Author,
    pub reply: oneshot::Sender<Result<Outcome, StoreError>>,
}

/// What readers see: the last state whose journal lines are synced.
pub type Published = Arc<RwLock<Snapshot>>;

/// The customers by ID, and in each order a list is sorted in. Cloning shares
/// everything (persistent maps), so readers take a copy and let go of the lock.
#[derive(Clone, Default)]
pub struct Snapshot {
    pub records: Records,
    /// `None` until the writer has sorted the customers loaded at start (a few
    /// hundred ms at 100,000), which it does before its first write, while
    /// reads by ID are already served (see [`Writer::run`]).
    pub orders: Option<Orders>,
}

pub struct Writer {
    pub files: DataFiles,
    pub journal: File,
    /// Bytes of whole lines in the journal: where a failed append is cut back to.
    pub journal_len: u64,
    /// Entries in the current journal, to decide when to compact.
    pub journal_entries: usize,
    /// Every change, who made it, and the values before and after.
    pub audit: AuditLog,
    pub records: Records,
    /// `records` in each sort order, changed with them (built by `run`).
    pub orders: Orders,
    /// Told once the orders are published.
    pub orders_ready: tokio::sync::watch::Sender<bool>,
    pub revision: u64,
    pub published: Published,
    pub compact_after: usize,
    /// Set when a failed append could not be undone: the journal's end is
    /// unknown, so every later write is refused until a restart replays it.
    pub broken: bool,
    pub compaction: Option<JoinHandle<io::Result<()>>>,
    /// Dropped last, when the thread ends: no other process may open the files before.
    pub _lock: DataLock,
}

impl Writer {
    pub fn run(mut self, requests: Receiver<Request>) {
        // Sorted here rather than in `open`, so that the server answers by ID at
        // once; lists wait for `orders_ready`, writes queue until it is done.
        let rows: Vec<Row> = (self.records.iter())
            .map(|(id, stored)| Row::new(id, &stored.customer))
            .collect();
        self.orders = Orders::from_rows(&rows);
        self.publish();
        let _ = self.orders_ready.send(true);
        if self.files.old_journal().exists() {
            // A compaction was cut short (crash, or a failure before the restart).
            self.compact();
        }
        while let Ok(first) = requests.recv() {
            let mut batch = vec![first];
            batch.extend(requests.try_iter().take(MAX_BATCH - 1));
            self.commit(batch);
            self.reap_compaction();
            if self.compaction.is_none() && self.journal_entries >= self.compact_threshold() {
                self.compact();
            }
        }
        // Closing: leave the snapshot complete, so `customers.json` alone holds
        // every customer for whoever reads it while no server runs.
        if let Some(compaction) = self.compaction.take() {
            log_compaction(compaction.join());
        }
        if self.journal_entries > 0 || self.files.old_journal().exists() {
            self.compact();
            if let Some(compaction) = self.compaction.take() {
                log_compaction(compaction.join());
            }
        }
    }

    fn publish(&self) {
        *self.published.write().unwrap_or_else(|e| e.into_inner()) = Snapshot {
            records: self.records.clone(),
            orders: Some(self.orders.clone()),
        };
    }

    fn compact_threshold(&self) -> usize {
        self.compact_after.max(self.records.len())
    }

    fn commit(&mut self, batch: Vec<Request>) {
        if self.broken {
            for request in batch {
                let _ = request.reply.send(Err(broken()));
            }
            return;
        }
        let mut next = self.records.clone();
        let mut next_orders = self.orders.clone();
        let mut revision = self.revision;
        let mut lines = Vec::with_capacity(batch.len() * 96);
        let mut audited = Vec::with_capacity(batch.len());
        let at_ms = now_ms();
        let mut outcomes = Vec::with_capacity(batch.len());
        for request in &batch {
            let key = request.change.key();
            let current = next.get(key);
            if !request.precondition.holds(current.map(|s| s.version)) {
                let current = current.map(|stored| Stored::clone(stored));
                outcomes.push(Err(StoreError::Conflict(Conflict { current })));
                continue;
            }
            match &request.change {
                Change::Put(customer) => {
                    revision += 1;
                    let entry = Entry {
                        rev: revision,
                        put: Some(customer.clone()),
                        del: None,
                    };
                    entry.encode(&mut lines);
                    audited.push(AuditEntry {
                        id: revision.to_string(),
                        at_ms,
                        actor: request.author.actor.clone(),
                        request_id: request.author.request_id.clone(),
                        action: Action::of(current.is_some(), true),
                        customer_id: key.to_owned(),
                        before: current.map(|s| s.customer.clone()),
                        after: Some(customer.clone()),
                        version: Some(Version(revision)),
                    });
                    let stored = Stored {
                        customer: entry.put.expect("just set"),
                        version: Version(revision),
                    };
                    let stored = Arc::new(stored);
                    let row = Row::new(key, &stored.customer);
                    let old = next.insert(Arc::from(key), stored);
                    let old = old.map(|old| Row::new(key, &old.customer));
                    next_orders.replace(old.as_ref(), row);
                    outcomes.push(Ok(Outcome::Put(Version(revision))));
                }
                Change::Remove(_) if current.is_none() => {
                    outcomes.push(Ok(Outcome::Removed(false)));
                }
                Change::Remove(key) => {
                    revision += 1;
                    let entry = Entry {
                        rev: revision,
                        put: None,
                        del: Some(key.clone()),
                    };
                    entry.encode(&mut lines);
                    audited.push(AuditEntry {
                        id: revision.to_string(),
                        at_ms,
                        actor: request.author.actor.clone(),
                        request_id: request.author.request_id.clone(),
                        action: Action::Delete,
                        customer_id: key.clone(),
                        before: current.map(|s| s.customer.clone()),
                        after: None,
                        version: None,
                    });
                    if let Some(old) = next.remove(key.as_str()) {
                        next_orders.remove(&Row::new(key, &old.customer));
                    }
                    outcomes.push(Ok(Outcome::Removed(true)));
                }
            }
        }
        let written = outcomes.iter().filter(|o| o.is_ok()).count();
        if !lines.is_empty() {
            if let Err(error) = self.append_audited(&audited, &lines) {
                tracing::error!(file = %self.files.journal().display(), %error, "journal write failed; {} writes refused", written);
                let refuse = || {
                    if self.broken {
                        broken()
                    } else {
                        StoreError::Unavailable(
                            "the data file cannot be written right now; nothing was changed".into(),
                        )
                    }
                };
                for (request, outcome) in batch.into_iter().zip(outcomes) {
                    let answer = match outcome {
                        Err(conflict) => Err(conflict),
                        Ok(_) => Err(refuse()),
                    };
                    let _ = request.reply.send(answer);
                }
                return;
            }
            self.journal_entries += written;
            self.audit.publish(audited);
        }
        self.records = next;
        self.orders = next_orders;
        self.revision = revision;
        self.publish();
        for (request, outcome) in batch.into_iter().zip(outcomes) {
            let _ = request.reply.send(outcome);
        }
    }

    /// Appends a batch's audit entries, then its journal lines (see `audit.rs`);
    /// on failure neither stays.
    fn append_audited(&mut self, audited: &[AuditEntry], lines: &[u8]) -> io::Result<()> {
        let audit_len = self.audit.appended_bytes();
        if let Err((error, cut_back)) = self.audit.append(audited) {
            if !cut_back {
                tracing::error!("cannot cut the audit file back after a failed write; refusing writes until restart");
                self.broken = true;
            }
            return Err(error);
        }
        if let Err(error) = self.append(lines) {
            if let Err(undo_error) = self.audit.cut_back(audit_len) {
                tracing::error!(%undo_error, "cannot cut the audit file back after a failed journal write; refusing writes until restart");
                self.broken = true;
            }
            return Err(error);
        }
        Ok(())
    }

    /// Appends whole lines and syncs them; on failure cuts the journal back so
    /// that no partial line stays in front of later writes.
    fn append(&mut self, lines: &[u8]) -> io::Result<()> {
        let outcome = self
            .journal
            .write_all(lines)
            .and_then(|()| self.journal.sync_data());
        match outcome {
            Ok(()) => {
                self.journal_len += lines.len() as u64;
                Ok(())
            }
            Err(error) => {
                let undo = self
                    .journal
                    .set_len(self.journal_len)
                    .and_then(|()| self.journal.sync_data());
                if let Err(undo_error) = undo {
                    tracing::error!(%undo_error, "cannot cut the journal back after a failed write; refusing writes until restart");
                    self.broken = true;
                }
                Err(error)
            }
        }
    }

    /// Starts a compaction: sets the journal aside (unless an earlier, unfinished
    /// one still is) and writes the current state as the snapshot in the background.
    fn compact(&mut self) {
        let old = self.files.old_journal();
        if !old.exists() {
            if let Err(error) = self.rotate() {
                tracing::error!(%error, "cannot start a new journal; compaction postponed");
                return;
            }
        }
        let files = self.files.clone();
        let records = self.records.clone();
        let revision = self.revision;
        let thread = std::thread::Builder::new()
            .name("compaction".into())
            .spawn(move || write_snapshot(&files, &records, revision));
        match thread {
            Ok(handle) => self.compaction = Some(handle),
            Err(error) => tracing::error!(%error, "cannot start the compaction thread"),
        }
    }

    fn rotate(&mut self) -> io::Result<()> {
        let (current, old) = (self.files.journal(), self.files.old_journal());
        std::fs::rename(&current, &old)?;
        match self.files.open_append(&current) {
            Ok(journal) => {
                self.files.sync_dir()?;
                self.journal = journal;
                self.journal_len = 0;
                self.journal_entries = 0;
                Ok(())
            }
            Err(error) => {
                // Keep appending to the journal we have.
                std::fs::rename(&old, &current)?;
                Err(error)
            }
        }
    }

    fn reap_compaction(&mut self) {
        if self.compaction.as_ref().is_some_and(|c| c.is_finished()) {
            log_compaction(self.compaction.take().expect("checked").join());
        }
    }
}

/// Unavailable (503), not failed: the journal cannot be trusted until a restart
/// reads it again, which the operator can do (the log says why).
fn broken() -> StoreError {
    StoreError::Unavailable(
        "the data file could not be repaired after a failed write; nothing was changed. \
         Restart the server (see its log)"
            .into(),
    )
}

/// The snapshot and versions of one moment, then the journal they make redundant.
fn write_snapshot(files: &DataFiles, records: &Records, revision: u64) -> io::Result<()> {
    use serde::Serializer;
    let started = std::time::Instant::now();
    files.replace(&files.snapshot, |out| {
        serde_json::Serializer::pretty(&mut *out)
            .collect_map(records.iter().map(|(id, stored)| (&**id, &stored.customer)))?;
        out.write_all(b"\n")
    })?;
    files.replace(&files.versions(), |out| {
        let versions = records.iter().map(|(id, s)| (&**id, s.version.0));
        journal::write_versions(out, revision, versions)
    })?;
    std::fs::remove_file(files.old_journal())?;
    files.sync_dir()?;
    tracing::info!(
        customers = records.len(),
        ms = started.elapsed().as_millis() as u64,
        "snapshot written, journal compacted"
    );
    Ok(())
}

fn log_compaction(outcome: std::thread::Result<io::Result<()>>) {
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::error!(%error, "compaction failed; the journal is kept and it is tried again later")
        }
        Err(_) => tracing::error!("compaction thread panicked; the journal is kept"),
    }
}

/// When an audit entry is made: milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
