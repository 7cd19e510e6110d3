//! The audit trail: who changed which customer, when, in which request, and
//! the values before and after. Stores record an entry with every change, in
//! the same step as the change itself, so the trail has exactly the changes
//! that happened.

use super::{Customer, Version};
use serde::{Deserialize, Serialize};

/// Who asked for a change: recorded with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// `user:NAME`, `token:NAME`, `local` (protected mode: a client on the
    /// server's machine), `anyone` (`AUTH=off`) or `command:NAME` (a subcommand).
    pub actor: String,
    /// The request's `X-Request-Id`, to find its log lines.
    pub request_id: Option<String>,
}

impl Author {
    /// A subcommand run by the operator (`import`, `migrate-legacy`).
    pub fn command(name: &str) -> Self {
        Self {
            actor: format!("command:{name}"),
            request_id: None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "create" => Some(Action::Create),
            "update" => Some(Action::Update),
            "delete" => Some(Action::Delete),
            _ => None,
        }
    }

    /// What a change to a record that was `before` is.
    pub fn of(before_exists: bool, after_exists: bool) -> Self {
        match (before_exists, after_exists) {
            (_, false) => Action::Delete,
            (false, true) => Action::Create,
            (true, true) => Action::Update,
        }
    }
}

/// One change, as the trail keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Unique in the store and ordered as the changes were: the cursor of
    /// [`AuditQuery::older_than`].
    pub id: String,
    /// When, in milliseconds since the Unix epoch (the store's clock).
    pub at_ms: u64,
    pub actor: String,
    pub request_id: Option<String>,
    pub action: Action,
    pub customer_id: String,
    pub before: Option<Customer>,
    pub after: Option<Customer>,
    /// The customer's version after the change (`None` for a deletion).
    pub version: Option<Version>,
}

/// Which entries, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Only this customer's changes (its ID exactly as stored).
    pub customer_id: Option<String>,
    /// Only this actor's (as recorded, e.g. `user:ann`).
    pub actor: Option<String>,
    /// Only entries older than this one (the previous page's `next`).
    pub older_than: Option<String>,
    pub limit: usize,
}

impl AuditQuery {
    pub const DEFAULT_LIMIT: usize = 50;
    pub const MAX_LIMIT: usize = 1000;

    /// Does `entry` pass the filters (the cursor aside)?
    pub fn admits(&self, entry: &AuditEntry) -> bool {
        self.customer_id
            .as_ref()
            .is_none_or(|id| *id == entry.customer_id)
            && self.actor.as_ref().is_none_or(|a| *a == entry.actor)
    }

    /// The limit, within 1..=[`Self::MAX_LIMIT`].
    pub fn bounded_limit(&self) -> usize {
        self.limit.clamp(1, Self::MAX_LIMIT)
    }
}

/// One page of the trail.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Where the next (older) page starts, if there may be one.
    pub next: Option<String>,
}
