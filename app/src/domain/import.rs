//! Importing a file of customers in the UI: checked first (a preview with
//! each rejected row and why), then written in the background with progress,
//! then summed up. The server holds each upload; the UI only reads reports.

use super::Customer;
use serde::{Deserialize, Serialize};

/// Rows of each kind a report names one by one; beyond these it only counts.
pub const ROWS_SHOWN: usize = 100;

/// One row of the file that was not imported, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowProblem {
    /// The CSV line (the header is line 1), or the JSON entry (from 1).
    pub row: u64,
    /// The row's `customerID` as written, possibly empty.
    pub id: String,
    pub reason: String,
}

/// Where an upload is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportStage {
    /// Checked; waiting for the user to confirm.
    Ready,
    Running,
    Finished,
    /// The store failed part way (the reason is the user's to read): what was
    /// written stays, and importing the file again skips it as unchanged.
    Stopped(String),
}

/// What an upload holds and, once started, what its import has done.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub file_name: String,
    pub stage: ImportStage,
    /// Rows read from the file (without the CSV header).
    pub rows: u64,
    /// Valid rows: what an import writes or finds unchanged.
    pub valid: u64,
    /// The first valid rows, to show what the file holds.
    pub sample: Vec<Customer>,
    pub rejected: u64,
    /// The first [`ROWS_SHOWN`] rejected rows.
    pub rejected_rows: Vec<RowProblem>,
    /// Valid rows the import has dealt with so far.
    pub done: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Rows not written because someone else created, changed or deleted
    /// that customer between the import reading it and writing it.
    pub conflicts: u64,
    pub conflict_rows: Vec<RowProblem>,
    /// Seconds the import has run (so far, or in all once finished).
    pub seconds: f64,
}

impl ImportReport {
    pub fn is_running(&self) -> bool {
        self.stage == ImportStage::Running
    }
}

/// Why an upload could not be acted on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ImportRefusal {
    #[error("This import is no longer available (an upload is kept for an hour). Please upload the file again.")]
    Gone,
    #[error("This file has nothing that can be imported.")]
    NothingToImport,
}

/// The uploads the server holds, as the UI's server functions see them: each
/// is named by an unguessable token and belongs to the user who uploaded it.
#[cfg(feature = "ssr")]
pub trait Imports: Send + Sync + 'static {
    /// The upload's report, if it exists and is `owner`'s.
    fn report(&self, token: &str, owner: &super::Author) -> Option<ImportReport>;

    /// Starts writing the upload's valid rows in the background, recorded as
    /// `author`'s; its outcome does not depend on the request that asked.
    /// Starting one already started does nothing.
    fn start(&self, token: &str, author: &super::Author) -> Result<(), ImportRefusal>;

    /// Forgets an upload not running; `false` if there was none of `owner`'s.
    fn discard(&self, token: &str, owner: &super::Author) -> bool;
}
