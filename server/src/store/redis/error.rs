//! Why the store could not find a usable master. Returned by `RedisStore::connect`
//! and, rendered as text, inside `StoreError::Unavailable` at run time.

use super::addr::Addr;

/// Each message names what to fix: the password, the master name, the sentinel list...
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("invalid redis settings: {0}")]
    InvalidSettings(String),
    /// AUTH failed (WRONGPASS), or the server wants a password we do not have (NOAUTH).
    #[error("{server} rejected the credentials ({detail}): wrong or missing password")]
    WrongPassword { server: String, detail: String },
    /// At least one sentinel answered, and none knows the name.
    #[error(
        "no sentinel knows a master named {master_name:?} (asked {}); check the master name",
        .sentinels.join(", ")
    )]
    UnknownMasterName {
        master_name: String,
        sentinels: Vec<String>,
    },
    #[error("no sentinel reachable (tried {})", .tried.join(", "))]
    NoSentinelReachable { tried: Vec<String> },
    /// The master was named, but could not be reached or confirmed as master (ROLE).
    #[error("redis master {master} not reachable: {}", .attempts.join("; "))]
    MasterUnreachable {
        master: String,
        attempts: Vec<String>,
    },
}

/// Why a request found no master to send to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoMaster {
    /// Another request's resolution was still running at the deadline.
    #[error("timed out waiting for the master to be found")]
    WaitedForResolution,
    /// This request's resolution did not finish by the deadline.
    #[error("timed out finding the master{}", before.as_ref().map(|e| format!(" (before: {e})")).unwrap_or_default())]
    ResolutionTimedOut { before: Option<ConnectError> },
    /// The latest resolution, this request's or one it waited for, failed.
    #[error(transparent)]
    NotFound(ConnectError),
}

/// Writes wait while a failover is in progress; this one waited until its deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("failover in progress: writes are paused")]
pub struct WritesPaused;

impl ConnectError {
    /// Worth retrying at connect time: the master may be moving right now.
    pub fn is_transient(&self) -> bool {
        matches!(self, ConnectError::MasterUnreachable { .. })
    }
}

/// What one resolution pass learned, to explain a failure.
#[derive(Default)]
pub struct Findings {
    /// Some sentinel named a master.
    pub named: bool,
    pub tried: Vec<Addr>,
    /// Named masters that could not be confirmed, and why.
    pub failures: Vec<String>,
    pub master_auth: Option<ConnectError>,
    pub sentinel_auth: Option<ConnectError>,
    pub unknown: Vec<String>,
    pub unreachable: Vec<String>,
}

impl Findings {
    /// The most specific explanation: a wrong password first, then an unreachable
    /// master, then an unknown name, and only then "no sentinel reachable".
    pub fn into_error(mut self, master_name: &str) -> ConnectError {
        if let Some(auth) = self.master_auth {
            auth
        } else if self.named {
            ConnectError::MasterUnreachable {
                master: master_name.to_owned(),
                attempts: self.failures,
            }
        } else if let Some(auth) = self.sentinel_auth {
            auth
        } else if !self.unknown.is_empty() {
            ConnectError::UnknownMasterName {
                master_name: master_name.to_owned(),
                sentinels: self.unknown,
            }
        } else {
            self.unreachable.extend(self.failures);
            ConnectError::NoSentinelReachable {
                tried: self.unreachable,
            }
        }
    }
}
