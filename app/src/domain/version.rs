use super::Customer;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A customer's revision: every write gives the record a new one, larger than
/// any the store has handed out before (a store-wide sequence, so a customer
/// deleted and created again never reuses an old revision).
///
/// Version 0 marks a record written before versions existed.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Version(pub u64);

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::str::FromStr for Version {
    type Err = std::num::ParseIntError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        text.trim().parse().map(Version)
    }
}

/// A customer as stored, with the revision it is at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stored {
    pub customer: Customer,
    pub version: Version,
}

/// What a write requires of the record it replaces or removes. The store checks
/// it and writes in one atomic step, so two writers cannot both pass the check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precondition {
    /// Write whatever is there (the legacy `POST /set` upsert).
    None,
    /// Only if there is no customer with this ID (create).
    Absent,
    /// Only if the customer exists, at any revision.
    Exists,
    /// Only if the customer exists at exactly this revision (edit, `If-Match`).
    Version(Version),
}

impl Precondition {
    /// Does the record currently stored (if any) satisfy this precondition?
    pub fn holds(self, current: Option<Version>) -> bool {
        match (self, current) {
            (Precondition::None, _) => true,
            (Precondition::Absent, current) => current.is_none(),
            (Precondition::Exists, current) => current.is_some(),
            (Precondition::Version(wanted), Some(current)) => wanted == current,
            (Precondition::Version(_), None) => false,
        }
    }
}

/// A write refused because its precondition did not hold; nothing was changed.
/// Carries what is stored now, so the user can compare and decide.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// The customer as stored now; `None` when there is none with that ID.
    pub current: Option<Stored>,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.current {
            Some(stored) => write!(
                f,
                "customer {:?} is at version {}, which the write did not expect",
                stored.customer.id, stored.version
            ),
            None => f.write_str("there is no such customer (it may have been deleted)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preconditions() {
        let v = |n| Some(Version(n));
        assert!(Precondition::None.holds(None) && Precondition::None.holds(v(3)));
        assert!(Precondition::Absent.holds(None) && !Precondition::Absent.holds(v(0)));
        assert!(Precondition::Exists.holds(v(0)) && !Precondition::Exists.holds(None));
        assert!(Precondition::Version(Version(3)).holds(v(3)));
        assert!(!Precondition::Version(Version(3)).holds(v(4)));
        assert!(!Precondition::Version(Version(3)).holds(None));
    }

    #[test]
    fn versions_parse_and_print_as_numbers() {
        assert_eq!(" 42 ".parse::<Version>().unwrap(), Version(42));
        assert!("x".parse::<Version>().is_err());
        assert_eq!(Version(7).to_string(), "7");
    }
}
