//! `import` and `export`: moving the original `customers.json` format in and out of any store.

use super::CustomerStore;
use crate::customer_json::customer_from_object;
use app::domain::{Author, Customer, Precondition};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Upserts `import` keeps in flight.
const IMPORT_IN_FLIGHT: usize = 64;

/// Reads an object keyed by `customerID` and upserts every customer, after
/// checking all of them: an invalid file imports nothing.
pub async fn import(store: &dyn CustomerStore, file: &Path) -> Result<usize, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let value: Value = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is not valid JSON: {e}", file.display()))?;
    let Value::Object(entries) = value else {
        return Err(format!(
            "{} must hold a JSON object keyed by customerID",
            file.display()
        ));
    };
    let customers = entries
        .iter()
        .map(|(key, value)| {
            customer_entry(key, value).map_err(|e| format!("{}: {e}", file.display()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Many writes in flight at once: the file store commits them in groups and
    // Redis pipelines them, instead of one sync or round trip per customer.
    use futures::{stream, StreamExt, TryStreamExt};
    let import = Author::command("import");
    stream::iter(&customers)
        .map(|customer| store.put(customer, Precondition::None, &import))
        .buffer_unordered(IMPORT_IN_FLIGHT)
        .try_for_each(|_| async { Ok(()) })
        .await
        .map_err(|e| e.to_string())?;
    Ok(customers.len())
}

fn customer_entry(key: &str, value: &Value) -> Result<Customer, String> {
    let fields: &Map<String, Value> = value
        .as_object()
        .ok_or_else(|| format!("entry {key:?} is not an object"))?;
    let customer =
        customer_from_object(fields).map_err(|errors| format!("entry {key:?}: {errors}"))?;
    // The ID is stored NFC-normalised; the key may be in another normal form.
    if customer.id != key && app::domain::lookup_keys(key)[0] != customer.id {
        return Err(format!("entry {key:?} has customerID {:?}", customer.id));
    }
    Ok(customer)
}

/// Writes every customer, in ID order, as an object keyed by `customerID`.
pub async fn export(store: &dyn CustomerStore, file: &Path) -> Result<usize, String> {
    let mut all = BTreeMap::new();
    let mut from = None;
    loop {
        let batch = store.scan_json(from).await.map_err(|e| e.to_string())?;
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
