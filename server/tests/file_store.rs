//! The store contract and the file-specific guarantees of the embedded store.

mod contract;

use app::domain::{CustomerStore, Freshness, StoreError, Version};
use contract::{customer, Writes};
use server::store::file::{FileStore, Options};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
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

    async fn reopen(&self, previous: Arc<dyn CustomerStore>) -> Arc<dyn CustomerStore> {
        drop(previous);
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
    // The directory cargo gives the running test, not the one compiled in (stale
    // when a build is reused from another checkout).
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let sample = manifest.join("../tests/fixtures/customers.json");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.json");
    std::fs::copy(&sample, &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let store = FileStore::open(&path).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    assert_eq!(runtime.block_on(store.count()).unwrap(), 7);
    let a = runtime
        .block_on(store.get("a", Freshness::Latest))
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.first_name.as_str(), a.last_name.as_str()),
        ("James", "Baker")
    );
    drop(store);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "opening and closing without writes never rewrites"
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

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test]
async fn writes_are_journaled_and_a_clean_close_leaves_the_original_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.json");
    let store = FileStore::open(&path).unwrap();
    store.upsert(&customer("x", "First", "Last")).await.unwrap();
    assert!(
        !path.exists(),
        "a write goes to the journal, not the snapshot"
    );
    let journal = std::fs::read_to_string(dir.path().join("new.json.journal")).unwrap();
    assert!(journal.contains(r#""put":{"customerID":"x""#), "{journal}");
    drop(store);
    assert_eq!(
        read_json(&path),
        serde_json::json!({"x": {"customerID": "x", "firstName": "First", "lastName": "Last"}})
    );
    assert_eq!(
        names_in(dir.path()),
        [
            "new.json",
            "new.json.audit",
            "new.json.journal",
            "new.json.lock",
            "new.json.versions"
        ],
        "no temporary file or old journal is left behind"
    );
    assert_eq!(
        std::fs::metadata(dir.path().join("new.json.journal"))
            .unwrap()
            .len(),
        0
    );
}

#[tokio::test]
async fn a_second_owner_of_the_data_file_is_refused_with_who_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.json");
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink("customers.json", &link).unwrap();
    let store = FileStore::open(&path).unwrap();
    for second in [&path, &link] {
        let options = Options {
            purpose: "import".into(),
            ..Options::default()
        };
        let error = FileStore::open_with(second, options)
            .err()
            .expect("one owner at a time")
            .to_string();
        assert!(
            error.contains("in use by another customer-records process"),
            "{error}"
        );
        assert!(
            error.contains(&format!("pid {}", std::process::id())),
            "{error}"
        );
        assert!(error.contains("customer-records serve"), "{error}");
    }
    drop(store);
    FileStore::open(&link).expect("free again once the owner closed it");
}

#[tokio::test]
async fn a_symlinked_data_file_is_written_through_and_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let target = data.join("customers.json");
    std::fs::write(&target, "{}").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("customers.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();

    let store = FileStore::open(&link).unwrap();
    store.upsert(&customer("a", "A", "A")).await.unwrap();
    drop(store);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(read_json(&target)["a"]["firstName"], "A");
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    assert!(
        data.join("customers.json.journal").exists(),
        "side files live beside the target"
    );
}

#[tokio::test]
async fn a_torn_last_journal_line_is_dropped_and_nothing_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.json");
    let journal = dir.path().join("customers.json.journal");
    let store = FileStore::open(&path).unwrap();
    store.upsert(&customer("a", "A", "A")).await.unwrap();
    store.upsert(&customer("b", "B", "B")).await.unwrap();
    // Stop without the closing compaction, as a crash would: keep the journal as it is now.
    let kept = std::fs::read(&journal).unwrap();
    drop(store);
    let mut torn = kept.clone();
    torn.extend_from_slice(br#"{"rev":3,"put":{"customerID":"c","firstN"#);
    std::fs::write(&journal, &torn).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::fs::remove_file(dir.path().join("customers.json.versions")).unwrap();

    let store = FileStore::open(&path).unwrap();
    assert_eq!(store.count().await.unwrap(), 2);
    assert_eq!(
        std::fs::read(&journal).unwrap(),
        kept,
        "the torn tail is cut off"
    );
    let v = store.upsert(&customer("d", "D", "D")).await.unwrap();
    assert!(v.0 >= 3, "revisions continue after the replayed ones");
    let reopened = {
        drop(store);
        FileStore::open(&path).unwrap()
    };
    assert_eq!(reopened.count().await.unwrap(), 3);
}

#[tokio::test]
async fn an_interrupted_compaction_is_finished_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.json");
    std::fs::write(
        &path,
        r#"{"old": {"customerID": "old", "firstName": "O", "lastName": "O"}}"#,
    )
    .unwrap();
    // The state a crash between setting the journal aside and writing the snapshot leaves.
    std::fs::write(
        dir.path().join("customers.json.journal.old"),
        concat!(
            r#"{"rev":1,"put":{"customerID":"a","firstName":"A","lastName":"A"}}"#,
            "\n",
            r#"{"rev":2,"del":"old"}"#,
            "\n",
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("customers.json.journal"),
        concat!(
            r#"{"rev":3,"put":{"customerID":"b","firstName":"B","lastName":"B"}}"#,
            "\n"
        ),
    )
    .unwrap();
    let store = FileStore::open(&path).unwrap();
    assert_eq!(store.get("old", Freshness::Latest).await.unwrap(), None);
    assert_eq!(
        store
            .find("a", Freshness::Latest)
            .await
            .unwrap()
            .unwrap()
            .version,
        Version(1)
    );
    assert_eq!(
        store
            .find("b", Freshness::Latest)
            .await
            .unwrap()
            .unwrap()
            .version,
        Version(3)
    );
    drop(store);
    assert!(!dir.path().join("customers.json.journal.old").exists());
    let snapshot = read_json(&path);
    assert_eq!(snapshot.as_object().unwrap().len(), 2);
    let reopened = FileStore::open(&path).unwrap();
    assert_eq!(
        reopened
            .find("b", Freshness::Latest)
            .await
            .unwrap()
            .unwrap()
            .version,
        Version(3)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compaction_under_concurrent_writes_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.json");
    let options = Options {
        compact_after: 100,
        ..Options::default()
    };
    let store = Arc::new(FileStore::open_with(&path, options).unwrap());
    let writers = (0..16).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut last = Vec::new();
            for i in 0..300 {
                let id = format!("w{w}-{}", i % 50);
                let version = store
                    .upsert(&customer(&id, "W", &i.to_string()))
                    .await
                    .unwrap();
                last.push((id, i, version));
            }
            last
        })
    });
    let mut expected = std::collections::BTreeMap::new();
    for writer in writers.collect::<Vec<_>>() {
        for (id, i, version) in writer.await.unwrap() {
            expected.insert(id, (i, version));
        }
    }
    // Restart without the closing compaction's help: copy the files as they are
    // once the last compaction (if one is running) is done.
    let old_journal = dir.path().join("customers.json.journal.old");
    for _ in 0..200 {
        if !old_journal.exists() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        dir.path().join("customers.json.versions").exists(),
        "it compacted"
    );
    let copy = tempfile::tempdir().unwrap();
    for name in names_in(dir.path()) {
        if !name.ends_with(".lock") {
            std::fs::copy(dir.path().join(&name), copy.path().join(&name)).unwrap();
        }
    }
    let reopened = FileStore::open(copy.path().join("customers.json")).unwrap();
    assert_eq!(reopened.count().await.unwrap(), expected.len() as u64);
    for (id, (i, version)) in &expected {
        let stored = reopened.find(id, Freshness::Latest).await.unwrap().unwrap();
        assert_eq!(stored.customer.last_name, i.to_string(), "{id}");
        assert_eq!(stored.version, *version, "{id}");
    }
}

#[tokio::test]
async fn a_full_disk_refuses_the_write_and_changes_nothing() {
    // A small tmpfs of its own: the one way to fill a disk for real in a test.
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        mounted,
        "mounting a tmpfs needs root (CI and the dev machines run as root)"
    );
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(dir.path());
    let path = dir.path().join("customers.json");
    let filler = dir.path().join("filler");
    let store = FileStore::open(&path).unwrap();
    store.upsert(&customer("a", "A", "A")).await.unwrap();
    std::fs::write(&filler, vec![b'x'; 60 * 1024]).unwrap_or(());
    let long = "n".repeat(200);
    let mut refused = None;
    let mut acknowledged = vec!["a".to_owned()];
    for i in 0..100 {
        let id = format!("fill-{i}");
        match store.upsert(&customer(&id, &long, &long)).await {
            Ok(_) => acknowledged.push(id),
            Err(error) => {
                refused = Some((id, error));
                break;
            }
        }
    }
    let (id, error) = refused.expect("the disk fills up");
    assert!(matches!(error, StoreError::Unavailable(_)), "{error}");
    assert!(
        !error.to_string().contains(&*dir.path().to_string_lossy()),
        "no path in {error}"
    );
    assert_eq!(
        store.get(&id, Freshness::Latest).await.unwrap(),
        None,
        "memory does not run ahead of disk"
    );
    std::fs::remove_file(&filler).unwrap();
    store.upsert(&customer("after", "A", "A")).await.unwrap();
    acknowledged.push("after".into());
    drop(store);
    let reopened = FileStore::open(&path).unwrap();
    for id in &acknowledged {
        assert!(
            reopened.get(id, Freshness::Latest).await.unwrap().is_some(),
            "{id} was acknowledged"
        );
    }
    assert_eq!(reopened.count().await.unwrap(), acknowledged.len() as u64);
}

#[tokio::test]
async fn audit_lines_of_writes_that_never_completed_are_dropped_at_start() {
    // A crash between the audit file's sync and the journal's leaves an audit
    // line for a write that did not happen: the next start drops it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("customers.json");
    let store = FileStore::open(&path).unwrap();
    store.upsert(&customer("x", "First", "Last")).await.unwrap();
    drop(store);
    let audit = dir.path().join("customers.json.audit");
    let kept = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(kept.lines().count(), 1, "{kept}");
    let never = r#"{"id":"99","at_ms":1,"actor":"user:x","request_id":null,"action":"create","customer_id":"y","before":null,"after":{"customerID":"y","firstName":"Y","lastName":"Y"},"version":99}"#;
    std::fs::write(&audit, format!("{kept}{never}\n{{\"torn")).unwrap();

    let store = FileStore::open(&path).unwrap();
    let trail = store
        .audit(&app::domain::AuditQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(trail.entries.len(), 1);
    assert_eq!(trail.entries[0].customer_id, "x");
    assert_eq!(std::fs::read_to_string(&audit).unwrap(), kept);
    // And the next write's entry follows the kept one.
    store.upsert(&customer("z", "Z", "Z")).await.unwrap();
    assert_eq!(std::fs::read_to_string(&audit).unwrap().lines().count(), 2);
}
