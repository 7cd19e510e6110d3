//! The store contract and the file-specific guarantees of the embedded store.

mod contract;

use app::domain::CustomerStore;
use server::store::file::FileStore;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

struct FileHarness {
    dir: tempfile::TempDir,
    latest: Mutex<Option<PathBuf>>,
}

impl FileHarness {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            latest: Mutex::new(None),
        }
    }
}

impl contract::Harness for FileHarness {
    async fn fresh(&self) -> Arc<dyn CustomerStore> {
        let path = self.dir.path().join("customers.json");
        *self.latest.lock().unwrap() = Some(path.clone());
        Arc::new(FileStore::open(path).unwrap())
    }

    async fn reopen_latest(&self) -> Arc<dyn CustomerStore> {
        let path = self
            .latest
            .lock()
            .unwrap()
            .clone()
            .expect("a fresh store first");
        Arc::new(FileStore::open(path).unwrap())
    }
}

store_contract_tests!(FileHarness::new());

#[test]
fn loads_the_original_sample_file_unchanged() {
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/customers.json");
    let before = std::fs::read(&sample).unwrap();
    let store = FileStore::open(&sample).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(runtime.block_on(store.count()).unwrap(), 7);
    let a = runtime.block_on(store.get("a")).unwrap().unwrap();
    assert_eq!(
        (a.first_name.as_str(), a.last_name.as_str()),
        ("James", "Baker")
    );
    assert_eq!(
        std::fs::read(&sample).unwrap(),
        before,
        "opening never rewrites"
    );
}

#[test]
fn a_corrupt_file_is_reported_with_its_position_and_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.json");
    let corrupt = b"{\n  \"a\": {\"customerID\": \"a\", \"firstName\": \"x\",\n  oops\n}";
    std::fs::write(&path, corrupt).unwrap();
    let error = FileStore::open(&path)
        .err()
        .expect("a corrupt file must not open")
        .to_string();
    assert!(error.contains(&path.display().to_string()), "{error}");
    assert!(error.contains("line 3"), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), corrupt);
}

#[test]
fn a_record_under_the_wrong_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.json");
    std::fs::write(
        &path,
        r#"{"a": {"customerID": "b", "firstName": "x", "lastName": "y"}}"#,
    )
    .unwrap();
    let error = FileStore::open(&path)
        .err()
        .expect("mismatch refused")
        .to_string();
    assert!(
        error.contains("\"a\"") && error.contains("\"b\""),
        "{error}"
    );
}

#[tokio::test]
async fn the_file_is_created_on_first_write_in_the_original_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.json");
    let store = FileStore::open(&path).unwrap();
    assert!(!path.exists(), "opening does not create the file");
    store
        .upsert(&contract::customer("x", "First", "Last"))
        .await
        .unwrap();
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        written,
        serde_json::json!({"x": {"customerID": "x", "firstName": "First", "lastName": "Last"}})
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "no temporary file is left behind: {leftovers:?}"
    );
}

#[tokio::test]
async fn a_failed_write_is_reported_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.json");
    let store = FileStore::open(&path).unwrap();
    store
        .upsert(&contract::customer("a", "A", "A"))
        .await
        .unwrap();
    // Make the directory unwritable for the temp file: replace it with a file of the same name.
    std::fs::create_dir(dir.path().join(".customers.json.tmp")).unwrap();
    let result = store.upsert(&contract::customer("b", "B", "B")).await;
    assert!(
        result.is_err(),
        "the write could not happen and must say so"
    );
    assert_eq!(
        store.get("b").await.unwrap(),
        None,
        "memory does not run ahead of disk"
    );
    assert_eq!(store.count().await.unwrap(), 1);
}
