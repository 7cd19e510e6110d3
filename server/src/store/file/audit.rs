//! The file store's audit trail: `<data file>.audit`, one JSON line per change
//! (an [`AuditEntry`] whose `id` is the change's revision), kept whole in
//! memory for queries.
//!
//! The writer appends and syncs a batch's audit lines just before its journal
//! lines. If the journal write fails, the audit lines are cut back; if even
//! that fails, the store refuses writes until a restart. At start-up, lines for
//! revisions the snapshot and journal do not have (a crash between the two
//! syncs) are dropped. So the trail holds exactly the changes that happened,
//! and compaction, which drops the journal, leaves it alone.

use super::files::DataFiles;
use app::domain::{AuditEntry, AuditPage, AuditQuery};
use std::fs::File;
use std::io::{self, Write};
use std::sync::{Arc, RwLock};

/// The entries, oldest first; shared by the writer (appending) and readers.
pub type Trail = Arc<RwLock<Vec<AuditEntry>>>;

pub struct AuditLog {
    file: File,
    /// Bytes of whole lines: where a failed append is cut back to.
    len: u64,
    pub trail: Trail,
}

impl AuditLog {
    /// Opens the audit file, keeping the entries up to `revision` (the store's,
    /// after replaying its journal) and cutting off anything after them.
    pub fn open(files: &DataFiles, revision: u64) -> io::Result<Self> {
        let path = files.audit();
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut entries = Vec::new();
        let mut valid_len = 0;
        for line in bytes.split_inclusive(|&b| b == b'\n') {
            let whole = line.ends_with(b"\n");
            let entry = serde_json::from_slice::<AuditEntry>(line).ok();
            let happened = entry
                .as_ref()
                .and_then(|e| e.id.parse::<u64>().ok())
                .is_some_and(|rev| rev <= revision);
            match entry {
                Some(entry) if whole && happened => {
                    entries.push(entry);
                    valid_len += line.len();
                }
                _ => break,
            }
        }
        let file = files.open_append(&path)?;
        if valid_len < bytes.len() {
            tracing::warn!(
                dropped_bytes = bytes.len() - valid_len,
                "audit lines of writes that never completed were dropped"
            );
            file.set_len(valid_len as u64)?;
            file.sync_all()?;
        }
        Ok(Self {
            file,
            len: valid_len as u64,
            trail: Arc::new(RwLock::new(entries)),
        })
    }

    /// Appends and syncs `entries`' lines. On failure the error comes with
    /// whether the lines were cut back (if not, the file's end is unknown).
    pub fn append(&mut self, entries: &[AuditEntry]) -> Result<(), (io::Error, bool)> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::with_capacity(entries.len() * 256);
        for entry in entries {
            serde_json::to_writer(&mut lines, entry).expect("an audit entry serialises");
            lines.push(b'\n');
        }
        match self
            .file
            .write_all(&lines)
            .and_then(|()| self.file.sync_data())
        {
            Ok(()) => {
                self.len += lines.len() as u64;
                Ok(())
            }
            Err(error) => Err((error, self.cut_back(self.len).is_ok())),
        }
    }

    /// Removes the lines appended after `len` bytes (a batch whose journal
    /// write then failed).
    pub fn cut_back(&mut self, len: u64) -> io::Result<()> {
        self.file.set_len(len)?;
        self.file.sync_data()?;
        self.len = len;
        Ok(())
    }

    pub fn appended_bytes(&self) -> u64 {
        self.len
    }

    /// Makes appended entries visible to queries.
    pub fn publish(&self, entries: Vec<AuditEntry>) {
        self.trail
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .extend(entries);
    }
}

/// A page of `trail` (oldest first) for `query`, newest first.
pub fn query(trail: &[AuditEntry], query: &AuditQuery) -> AuditPage {
    let older_than = query
        .older_than
        .as_deref()
        .and_then(|id| id.parse::<u64>().ok());
    let limit = query.bounded_limit();
    let mut entries: Vec<AuditEntry> = trail
        .iter()
        .rev()
        .filter(|e| older_than.is_none_or(|bound| e.id.parse::<u64>().is_ok_and(|rev| rev < bound)))
        .filter(|e| query.admits(e))
        .take(limit + 1)
        .cloned()
        .collect();
    let next = (entries.len() > limit).then(|| {
        entries.truncate(limit);
        entries.last().map(|e| e.id.clone()).unwrap_or_default()
    });
    AuditPage { entries, next }
}
