//! `import` and `export`: moving the original `customers.json` format in and out of any store.

use super::{CustomerStore, StoreError};
use app::domain::{Author, Customer, Freshness};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Customers per [`CustomerStore::put_all`]: Redis runs each batch as one
/// script, a few milliseconds during which it serves no one else.
const IMPORT_BATCH: usize = 256;
/// Batches `import` keeps in flight, so that the round trips overlap.
const BATCHES_IN_FLIGHT: usize = 4;

/// Why an import did not happen, or not wholly.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The data is not an object of valid customers keyed by `customerID`:
    /// nothing was imported.
    #[error("{0}; nothing was imported")]
    Invalid(String),
    /// The store failed part-way: the customers imported before stay.
    #[error("the store failed after {imported} of {total} customers were imported: {error}")]
    Store {
        imported: usize,
        total: usize,
        error: StoreError,
    },
}

/// Reads an object keyed by `customerID` from `file` and upserts every
/// customer, after checking all of them: an invalid file imports nothing.
pub async fn import(store: &dyn CustomerStore, file: &Path) -> Result<usize, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    import_json(store, &bytes, &Author::command("import"))
        .await
        .map_err(|error| format!("{}: {error}", file.display()))
}

/// [`import`] of JSON already read (the admins' `POST /import` too), each
/// write recorded as `author`'s.
pub async fn import_json(
    store: &dyn CustomerStore,
    json: &[u8],
    author: &Author,
) -> Result<usize, ImportError> {
    let value: Value = serde_json::from_slice(json)
        .map_err(|e| ImportError::Invalid(format!("not valid JSON: {e}")))?;
    let Value::Object(entries) = value else {
        return Err(ImportError::Invalid(
            "the data must be a JSON object keyed by customerID".into(),
        ));
    };
    let customers = entries
        .iter()
        .map(|(key, value)| customer_entry(key, value))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ImportError::Invalid)?;
    // Batches of writes, several in flight: the file store commits them in
    // groups, and Redis runs each batch as one script, instead of one sync or
    // round trip per customer.
    use futures::{stream, StreamExt};
    let mut imported = 0;
    // Owned batches: a stream of borrowing futures is not `Send` for axum.
    let mut outcomes = stream::iter(customers.chunks(IMPORT_BATCH).map(<[Customer]>::to_vec))
        .map(|batch| async move { (batch.len(), store.put_all(&batch, author).await) })
        .buffer_unordered(BATCHES_IN_FLIGHT);
    while let Some((size, outcome)) = outcomes.next().await {
        match outcome {
            Ok(()) => imported += size,
            Err(error) => {
                // Let the batches already sent finish, so the count is at least
                // what is stored (a failed batch may be stored in part).
                while let Some((size, outcome)) = outcomes.next().await {
                    imported += if outcome.is_ok() { size } else { 0 };
                }
                return Err(ImportError::Store {
                    imported,
                    total: customers.len(),
                    error,
                });
            }
        }
    }
    Ok(customers.len())
}

fn customer_entry(key: &str, value: &Value) -> Result<Customer, String> {
    crate::import::customer_in_entry(key, value)
        .map_err(|reason| format!("entry {key:?}: {reason}"))
}

/// Writes every customer, in ID order, as an object keyed by `customerID`.
pub async fn export(store: &dyn CustomerStore, file: &Path) -> Result<usize, String> {
    let mut all = BTreeMap::new();
    let mut from = None;
    loop {
        let batch = store
            .scan_json(from, Freshness::Latest)
            .await
            .map_err(|e| e.to_string())?;
        for (id, json) in batch.records {
            let value: Value = serde_json::from_str(&json)
                .map_err(|e| format!("stored customer {id:?} is not JSON: {e}"))?;
            all.insert(id, value);
        }
        match batch.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    let count = all.len();
    let json = serde_json::to_vec_pretty(&all).expect("JSON serialises");
    std::fs::write(file, json).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    Ok(count)
}
