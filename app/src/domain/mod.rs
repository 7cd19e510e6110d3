//! The customer domain: what a customer is, which customers are valid, and
//! what a store of customers must do. Nothing here knows about Redis, files or HTTP.

mod audit;
mod customer;
mod import;
mod page;
mod search;
mod sort;
mod status;
#[cfg(feature = "ssr")]
mod store;
mod version;

pub use audit::{Action, AuditEntry, AuditPage, AuditQuery, Author};
pub use customer::{
    length_in_chars, lookup_keys, Customer, CustomerDraft, Field, FieldError, FieldValue, Problem,
    ValidationErrors,
};
#[cfg(feature = "ssr")]
pub use import::Imports;
pub use import::{ImportRefusal, ImportReport, ImportStage, RowProblem, ROWS_SHOWN};
pub use page::{Cursor, Page, PageQuery};
pub use search::{fold, haystack, matches, Needle};
pub use sort::{natural_key, Sort, SortField};
pub use status::{ReplicaStatus, SentinelStatus, StoreEvent, StoreStatus, EVENTS_KEPT};
#[cfg(feature = "ssr")]
pub use store::{CustomerStore, Freshness, JsonBatch, StoreError, StoredJson};
pub use version::{Conflict, Precondition, Stored, Version};
