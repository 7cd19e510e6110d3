//! Import of the original layout: one string key per customer, named by its ID,
//! holding the customer's JSON. Legacy keys are left in place.
//!
//! Only IDs that are free in the store are imported: running the migration again
//! (e.g. at every start) must never overwrite a customer edited since.

use super::layout::{self, Keys};
use super::request::{run, Access, RoundTrips};
use super::RedisStore;
use app::domain::{
    Author, Conflict, Customer, CustomerStore, FieldValue, Precondition, StoreError,
};
use redis::Value;
use std::collections::BTreeMap;

/// Keys per `SCAN` call and per inspection script.
const SCAN_COUNT: usize = 500;
/// A customer's JSON is well under this; longer strings are not read at all.
const MAX_LEGACY_BYTES: usize = 64 * 1024;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Customers newly added to the store.
    pub imported: usize,
    /// Legacy customers the store already had, identical (an earlier migration).
    pub already_present: usize,
    /// Every other key outside the store's prefix, with why it was not imported.
    pub skipped: Vec<SkippedKey>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkippedKey {
    /// The key, lossily decoded if it is not UTF-8.
    pub key: String,
    pub reason: String,
}

impl std::fmt::Display for MigrationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "imported {} customers ({} already present); skipped {} keys",
            self.imported,
            self.already_present,
            self.skipped.len()
        )?;
        for skipped in &self.skipped {
            write!(f, "\n  {:?}: {}", skipped.key, skipped.reason)?;
        }
        Ok(())
    }
}

/// What one key outside the prefix holds.
enum Legacy {
    Customer(Customer),
    Skip(String),
}

impl RedisStore {
    /// Scans every key outside the prefix and imports the legacy customers among them.
    pub async fn migrate_legacy(&self) -> Result<MigrationReport, StoreError> {
        let found = self.scan_legacy().await?;
        let migration = Author::command("migrate-legacy");
        let mut report = MigrationReport::default();
        for (key, legacy) in found {
            let key = String::from_utf8_lossy(&key).into_owned();
            let customer = match legacy {
                Legacy::Customer(customer) => customer,
                Legacy::Skip(reason) => {
                    report.skipped.push(SkippedKey { key, reason });
                    continue;
                }
            };
            match self.put(&customer, Precondition::Absent, &migration).await {
                Ok(_) => report.imported += 1,
                Err(StoreError::Conflict(Conflict {
                    current: Some(stored),
                })) if stored.customer == customer => report.already_present += 1,
                Err(StoreError::Conflict(_)) => {
                    let reason =
                        "the store already has a different customer with this ID".to_owned();
                    report.skipped.push(SkippedKey { key, reason });
                }
                Err(other) => return Err(other),
            }
        }
        Ok(report)
    }

    /// Every key outside the prefix, inspected; a map drops SCAN's duplicates.
    async fn scan_legacy(&self) -> Result<BTreeMap<Vec<u8>, Legacy>, StoreError> {
        let keys = &self.keys;
        run(
            &self.tracker,
            Access::Read,
            RoundTrips::Many,
            |mut conn| async move {
                let mut found = BTreeMap::new();
                let mut cursor: u64 = 0;
                loop {
                    let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                        .arg(cursor)
                        .arg("COUNT")
                        .arg(SCAN_COUNT)
                        .query_async(&mut conn)
                        .await?;
                    let batch: Vec<Vec<u8>> = batch.into_iter().filter(|k| !keys.owns(k)).collect();
                    if !batch.is_empty() {
                        let entries: Vec<Vec<Value>> = redis::cmd("EVAL")
                            .arg(layout::LEGACY_BATCH)
                            .arg(batch.len())
                            .arg(&batch)
                            .arg(MAX_LEGACY_BYTES)
                            .query_async(&mut conn)
                            .await?;
                        for (key, entry) in batch.into_iter().zip(entries) {
                            if let Some(legacy) = inspect(&key, &entry, keys) {
                                found.insert(key, legacy);
                            }
                        }
                    }
                    if next == 0 {
                        return Ok(found);
                    }
                    cursor = next;
                }
            },
        )
        .await
    }
}

/// Judges one key from its `{type, value?}`; `None` for keys gone since the scan.
fn inspect(key: &[u8], entry: &[Value], keys: &Keys) -> Option<Legacy> {
    debug_assert!(!keys.owns(key));
    let kind: String = redis::from_redis_value_ref(entry.first()?).ok()?;
    let skip = |reason: String| Some(Legacy::Skip(reason));
    match kind.as_str() {
        "none" => return None,
        "string" => {}
        other => return skip(format!("not a string key ({other})")),
    }
    let Some(value) = entry.get(1) else {
        return skip(format!("string longer than {MAX_LEGACY_BYTES} bytes"));
    };
    let Ok(bytes) = redis::from_redis_value_ref::<Vec<u8>>(value) else {
        return skip("unreadable value".into());
    };
    let Ok(key) = std::str::from_utf8(key) else {
        return skip("key is not UTF-8".into());
    };
    Some(match customer_from_json(&bytes) {
        Ok(customer) if customer.id == key => Legacy::Customer(customer),
        Ok(customer) => Legacy::Skip(format!("customerID {:?} differs from the key", customer.id)),
        Err(reason) => Legacy::Skip(reason),
    })
}

/// A legacy value as a customer, validated by the same rules as any input.
fn customer_from_json(bytes: &[u8]) -> Result<Customer, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
    let object = value
        .as_object()
        .ok_or_else(|| "JSON is not an object".to_owned())?;
    let field = |name: &str| match object.get(name) {
        None | Some(serde_json::Value::Null) => FieldValue::Absent,
        Some(serde_json::Value::String(text)) => FieldValue::Text(text),
        Some(_) => FieldValue::NotText,
    };
    Customer::validate(field("customerID"), field("firstName"), field("lastName"))
        .map_err(|errors| format!("not a valid customer: {errors}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_values_are_validated() {
        let customer =
            customer_from_json(br#"{"customerID":"a","firstName":" A ","lastName":"B"}"#).unwrap();
        assert_eq!(customer.first_name, "A");
        assert_eq!(
            customer_from_json(b"hello").unwrap_err().split(':').next(),
            Some("not JSON")
        );
        assert_eq!(
            customer_from_json(br#"{"customerID":"a","firstName":1}"#).unwrap_err(),
            "not a valid customer: firstName must be a string; lastName required"
        );
        assert_eq!(
            customer_from_json(b"[1]").unwrap_err(),
            "JSON is not an object"
        );
    }
}
