//! The `CustomerStore` contract, written once and run against every store.
//! A store's test file implements [`Harness`] and calls [`store_contract_tests!`].

use app::domain::{
    Action, AuditQuery, Author, Conflict, Cursor, Customer, CustomerStore, Freshness, PageQuery,
    Precondition, Sort, SortField, StoreError, Version,
};
use async_trait::async_trait;
use std::sync::Arc;

/// Who the contract's writes are by.
pub fn tester() -> Author {
    Author {
        actor: "user:tester".into(),
        request_id: Some("test-request".into()),
    }
}

/// The short forms tests write with, by [`tester`].
#[async_trait]
pub trait Writes {
    /// Inserts the customer or replaces the one with the same ID.
    async fn upsert(&self, customer: &Customer) -> Result<Version, StoreError>;
    /// Inserts the customer; a conflict when the ID is taken.
    async fn create(&self, customer: &Customer) -> Result<Version, StoreError>;
    /// Deletes the customer whatever its version; `Ok(false)` when there was none.
    async fn delete(&self, id: &str) -> Result<bool, StoreError>;
}

#[async_trait]
impl<S: CustomerStore + ?Sized> Writes for S {
    async fn upsert(&self, customer: &Customer) -> Result<Version, StoreError> {
        self.put(customer, Precondition::None, &tester()).await
    }

    async fn create(&self, customer: &Customer) -> Result<Version, StoreError> {
        self.put(customer, Precondition::Absent, &tester()).await
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        self.delete_if(id, Precondition::None, &tester()).await
    }
}

/// How the contract gets stores to test.
pub trait Harness: Sync {
    /// A new, empty store.
    fn fresh(&self) -> impl std::future::Future<Output = Arc<dyn CustomerStore>> + Send;
    /// Another instance over the same data as `previous` (the most recent `fresh`
    /// store), which is closed first, as in a restart.
    fn reopen(
        &self,
        previous: Arc<dyn CustomerStore>,
    ) -> impl std::future::Future<Output = Arc<dyn CustomerStore>> + Send;
}

pub fn customer(id: &str, first: &str, last: &str) -> Customer {
    Customer {
        id: id.into(),
        first_name: first.into(),
        last_name: last.into(),
    }
}

fn ids(customers: &[Customer]) -> Vec<&str> {
    customers.iter().map(|c| c.id.as_str()).collect()
}

async fn page(
    store: &dyn CustomerStore,
    search: Option<&str>,
    cursor: Cursor,
    limit: usize,
) -> app::domain::Page {
    store
        .list(&PageQuery::new(search, cursor, limit), Freshness::Latest)
        .await
        .expect("list succeeds")
}

pub async fn upsert_then_get(h: &impl Harness) {
    let store = h.fresh().await;
    assert_eq!(store.get("a", Freshness::Latest).await.unwrap(), None);
    let a = customer("a", "James", "Baker");
    store.upsert(&a).await.unwrap();
    assert_eq!(store.get("a", Freshness::Latest).await.unwrap(), Some(a));
    assert_eq!(store.count().await.unwrap(), 1);
}

pub async fn overwrite_replaces(h: &impl Harness) {
    let store = h.fresh().await;
    store
        .upsert(&customer("a", "James", "Baker"))
        .await
        .unwrap();
    let newer = customer("a", "Jim", "Baker-Smith");
    store.upsert(&newer).await.unwrap();
    assert_eq!(
        store.get("a", Freshness::Latest).await.unwrap(),
        Some(newer)
    );
    assert_eq!(store.count().await.unwrap(), 1);
    assert_eq!(
        page(&*store, None, Cursor::Start, 10).await.customers.len(),
        1
    );
}

pub async fn delete_removes(h: &impl Harness) {
    let store = h.fresh().await;
    store.upsert(&customer("a", "A", "A")).await.unwrap();
    store.upsert(&customer("b", "B", "B")).await.unwrap();
    assert!(store.delete("a").await.unwrap());
    assert!(
        !store.delete("a").await.unwrap(),
        "second delete finds nothing"
    );
    assert!(!store.delete("never").await.unwrap());
    assert_eq!(store.get("a", Freshness::Latest).await.unwrap(), None);
    assert_eq!(store.count().await.unwrap(), 1);
    assert_eq!(
        ids(&page(&*store, None, Cursor::Start, 10).await.customers),
        ["b"]
    );
}

pub async fn pages_walk_in_id_order(h: &impl Harness) {
    let store = h.fresh().await;
    // Inserted out of order on purpose.
    for i in (0..53).rev() {
        store
            .upsert(&customer(&format!("c{i:03}"), "F", "L"))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor = Cursor::Start;
    let mut pages = 0;
    loop {
        let p = page(&*store, None, cursor, 10).await;
        assert_eq!(p.total, 53);
        assert_eq!(p.offset, pages * 10, "page {pages} starts at its position");
        assert_eq!(
            p.before.is_some(),
            pages > 0,
            "only the first page has no previous"
        );
        seen.extend(p.customers.iter().map(|c| c.id.clone()));
        pages += 1;
        match p.after {
            Some(after) => cursor = Cursor::After(after),
            None => break,
        }
    }
    let expected: Vec<String> = (0..53).map(|i| format!("c{i:03}")).collect();
    assert_eq!(seen, expected);
    assert_eq!(pages, 6);

    // Walking back from the end gives the previous page, in ascending order.
    let back = page(&*store, None, Cursor::Before("c050".into()), 10).await;
    assert_eq!(ids(&back.customers).first(), Some(&"c040"));
    assert_eq!(ids(&back.customers).last(), Some(&"c049"));
    assert_eq!(back.after.as_deref(), Some("c049"));
    assert_eq!(back.before.as_deref(), Some("c040"));
    assert_eq!(back.offset, 40);
    let first = page(&*store, None, Cursor::Before("c005".into()), 10).await;
    assert_eq!(
        ids(&first.customers),
        ["c000", "c001", "c002", "c003", "c004"]
    );
    assert_eq!(first.before, None);
    assert_eq!(first.offset, 0);

    // A page at an ID is the whole page it falls in (or would, if it is not
    // there), the page paging from the first meets.
    for id in ["c020", "c025", "c029", "c020a"] {
        let at = page(&*store, None, Cursor::At(id.into()), 10).await;
        assert_eq!(ids(&at.customers).first(), Some(&"c020"), "at {id}");
        assert_eq!((at.offset, at.before.as_deref()), (20, Some("c020")));
        assert_eq!(at.after.as_deref(), Some("c029"));
    }
    let at = page(&*store, None, Cursor::At("c029a".into()), 10).await;
    assert_eq!(ids(&at.customers).first(), Some(&"c030"));
    let at = page(&*store, None, Cursor::At("c007".into()), 10).await;
    assert_eq!((at.offset, at.before), (0, None));
    assert_eq!(ids(&at.customers).first(), Some(&"c000"));
    let at = page(&*store, None, Cursor::At("c051".into()), 10).await;
    assert_eq!(ids(&at.customers), ["c050", "c051", "c052"]);
    assert_eq!((at.offset, at.after), (50, None));
    // Among a search's matches (c040 to c049) in threes: c045 is on c043-c045.
    let at = page(&*store, Some("c04"), Cursor::At("c045".into()), 3).await;
    assert_eq!(ids(&at.customers), ["c043", "c044", "c045"]);
    assert_eq!(at.offset, 3);
    // A customer gone that would sort after whole pages: the last page, not an
    // empty one.
    let at = page(&*store, Some("c04"), Cursor::At("c049a".into()), 5).await;
    assert_eq!(ids(&at.customers), ["c045", "c046", "c047", "c048", "c049"]);
    assert_eq!(
        (at.offset, at.before.as_deref(), at.after),
        (5, Some("c045"), None)
    );

    // The last page holds what is left after whole pages (the 51st to 53rd
    // of 53 in pages of 10), and knows where it is.
    let last = page(&*store, None, Cursor::End, 10).await;
    assert_eq!(ids(&last.customers), ["c050", "c051", "c052"]);
    assert_eq!((last.before.as_deref(), last.after), (Some("c050"), None));
    assert_eq!(last.offset, 50);

    // A search is placed among its own matches (c040 to c049).
    let search = page(&*store, Some("c04"), Cursor::After("c042".into()), 3).await;
    assert_eq!(ids(&search.customers), ["c043", "c044", "c045"]);
    assert_eq!((search.total, search.offset), (10, 3));
    let search = page(&*store, Some("c04"), Cursor::End, 3).await;
    assert_eq!(ids(&search.customers), ["c049"]);
    assert_eq!((search.offset, search.after), (9, None));
    let search = page(&*store, Some("c04"), Cursor::Before("c047".into()), 3).await;
    assert_eq!(ids(&search.customers), ["c044", "c045", "c046"]);
    assert_eq!(search.offset, 4);
}

pub async fn pages_sort_by_any_column_either_way(h: &impl Harness) {
    let store = h.fresh().await;
    for (id, first, last) in [
        ("10", "Zoë", "Müller"),
        ("2", "anna", "Muller"),
        ("1", "Ana", "Fernández"),
        ("100", "Bob", "fernandez"),
        ("c9", "Émile", "Zola"),
        ("c10", "Carl", "Adams"),
    ] {
        store.upsert(&customer(id, first, last)).await.unwrap();
    }
    let sorted = |field, descending| Sort { field, descending };
    let walk = |sort: Sort, search: Option<&'static str>| {
        let store = &store;
        async move {
            // Two at a time, following `after`, to check the cursors too.
            let (mut seen, mut cursor) = (Vec::new(), Cursor::Start);
            loop {
                let query = PageQuery::new(search, cursor, 2).sorted(sort);
                let page = store
                    .list(&query, Freshness::Latest)
                    .await
                    .expect("list succeeds");
                assert_eq!(page.offset as usize, seen.len(), "{sort:?}: placed");
                seen.extend(page.customers.iter().map(|c| c.id.clone()));
                match page.after {
                    Some(after) => cursor = Cursor::After(after),
                    None => return (seen, page.total),
                }
            }
        }
    };
    let (by_id, total) = walk(Sort::default(), None).await;
    assert_eq!(
        (by_id, total),
        (strings(&["1", "2", "10", "100", "c9", "c10"]), 6)
    );
    let (by_id_down, _) = walk(sorted(SortField::Id, true), None).await;
    assert_eq!(by_id_down, strings(&["c10", "c9", "100", "10", "2", "1"]));
    // Case and accents ignored; ties broken by the other name, then the ID.
    let (by_last, _) = walk(sorted(SortField::LastName, false), None).await;
    assert_eq!(by_last, strings(&["c10", "1", "100", "2", "10", "c9"]));
    let (by_first_down, _) = walk(sorted(SortField::FirstName, true), None).await;
    assert_eq!(
        by_first_down,
        strings(&["10", "c9", "c10", "100", "2", "1"])
    );
    let (matches, total) = walk(sorted(SortField::LastName, true), Some("muller")).await;
    assert_eq!((matches, total), (strings(&["10", "2"]), 2));
    // The last page, and the one before a cursor, in name order.
    let by_last = sorted(SortField::LastName, false);
    let end = store
        .list(
            &PageQuery::new(None, Cursor::End, 2).sorted(by_last),
            Freshness::Latest,
        )
        .await
        .unwrap();
    assert_eq!((ids(&end.customers), end.offset), (vec!["10", "c9"], 4));
    let before = PageQuery::new(None, Cursor::Before("2".into()), 2).sorted(by_last);
    let before = store.list(&before, Freshness::Latest).await.unwrap();
    assert_eq!(
        (ids(&before.customers), before.offset),
        (vec!["1", "100"], 1)
    );
    // A rename moves the customer in name order at once.
    store
        .upsert(&customer("c9", "Émile", "Aardvark"))
        .await
        .unwrap();
    let (by_last, _) = walk(by_last, None).await;
    assert_eq!(by_last.first().map(String::as_str), Some("c9"));
}

fn strings(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

pub async fn search_is_case_insensitive_over_id_and_names(h: &impl Harness) {
    let store = h.fresh().await;
    store
        .upsert(&customer("a", "James", "Baker"))
        .await
        .unwrap();
    store.upsert(&customer("b", "Jonathan", "D")).await.unwrap();
    store
        .upsert(&customer("c", "Aleem", "Janmohamed"))
        .await
        .unwrap();
    store
        .upsert(&customer("bakery-1", "Ivo", "Galic"))
        .await
        .unwrap();

    let p = page(&*store, Some("BAKER"), Cursor::Start, 10).await;
    assert_eq!(
        ids(&p.customers),
        ["a", "bakery-1"],
        "matches last name and ID"
    );
    assert_eq!(p.total, 2);
    let p = page(&*store, Some("jAn"), Cursor::Start, 10).await;
    assert_eq!(ids(&p.customers), ["c"]);
    let p = page(&*store, Some("jo"), Cursor::Start, 10).await;
    assert_eq!(ids(&p.customers), ["b"]);
    let p = page(&*store, Some("nobody"), Cursor::Start, 10).await;
    assert!(p.customers.is_empty());
    assert_eq!(p.total, 0);

    // Paging within a search.
    let p = page(&*store, Some("a"), Cursor::Start, 2).await;
    assert_eq!(p.total, 4);
    assert_eq!(ids(&p.customers), ["a", "b"]);
    let p = page(&*store, Some("a"), Cursor::After(p.after.unwrap()), 2).await;
    assert_eq!(ids(&p.customers), ["bakery-1", "c"]);
    assert_eq!(p.after, None);
}

/// The same rules in every store: each word anywhere in the ID or names,
/// ignoring case and accents.
pub async fn search_matches_full_names_and_ignores_accents(h: &impl Harness) {
    let store = h.fresh().await;
    for c in [
        customer("a", "James", "Baker"),
        customer("b", "Ana", "Fernández"),
        customer("c", "Jörg", "Müller"),
        customer("d", "James", "Smith"),
    ] {
        store.upsert(&c).await.unwrap();
    }
    let found = |search: &'static str| {
        let store = store.clone();
        async move {
            ids(&page(&*store, Some(search), Cursor::Start, 10)
                .await
                .customers)
            .iter()
            .map(|id| id.to_string())
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("james baker").await, ["a"]);
    assert_eq!(found("Baker  JAMES").await, ["a"]);
    assert_eq!(found("james").await, ["a", "d"]);
    assert_eq!(found("fernandez").await, ["b"]);
    assert_eq!(found("FERNÁNDEZ").await, ["b"]);
    assert_eq!(found("muller").await, ["c"]);
    assert_eq!(found("jorg müller").await, ["c"]);
    assert!(
        found("jamesbaker").await.is_empty(),
        "a word never spans two fields"
    );
    let p = page(&*store, Some("james"), Cursor::Start, 1).await;
    assert_eq!(p.total, 2);
    // A change is searchable at once, in the new spelling only.
    store
        .upsert(&customer("b", "Ana", "Fernandes"))
        .await
        .unwrap();
    assert!(found("fernandez").await.is_empty());
    assert_eq!(found("fernandes").await, ["b"]);
}

pub async fn unicode_round_trips(h: &impl Harness) {
    let store = h.fresh().await;
    let records = [
        customer("école", "Élodie", "Ångström"),
        customer("名前", "太郎", "山田"),
        customer("emoji 🎉", "Zoë", "O'Brien \"Quoted\" \\ back"),
        customer("with space", "Ñandú", "Łódź"),
    ];
    for c in &records {
        store.upsert(c).await.unwrap();
    }
    for c in &records {
        assert_eq!(
            store.get(&c.id, Freshness::Latest).await.unwrap().as_ref(),
            Some(c)
        );
    }
    let p = page(&*store, Some("ÉLODIE"), Cursor::Start, 10).await;
    assert_eq!(ids(&p.customers), ["école"]);
    let p = page(&*store, Some("山"), Cursor::Start, 10).await;
    assert_eq!(ids(&p.customers), ["名前"]);
    // ID order ignores case and accents: "école" comes before "emoji".
    let all = page(&*store, None, Cursor::Start, 10).await;
    assert_eq!(
        ids(&all.customers),
        ["école", "emoji 🎉", "with space", "名前"]
    );
}

pub async fn concurrent_writers_lose_nothing(h: &impl Harness) {
    let store = h.fresh().await;
    let writers = (0..8).map(|w| {
        let store = store.clone();
        tokio::spawn(async move {
            for i in 0..25 {
                store
                    .upsert(&customer(
                        &format!("w{w}-{i:02}"),
                        "Writer",
                        &format!("{w}"),
                    ))
                    .await
                    .unwrap();
            }
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        writer.await.unwrap();
    }
    assert_eq!(store.count().await.unwrap(), 200);
    let reopened = h.reopen(store).await;
    assert_eq!(reopened.count().await.unwrap(), 200);
    for w in 0..8 {
        for i in 0..25 {
            let id = format!("w{w}-{i:02}");
            assert!(
                reopened
                    .get(&id, Freshness::Latest)
                    .await
                    .unwrap()
                    .is_some(),
                "{id} was acknowledged but is missing"
            );
        }
    }
}

pub async fn reopen_sees_every_acknowledged_write(h: &impl Harness) {
    let store = h.fresh().await;
    store.upsert(&customer("kept", "K", "K")).await.unwrap();
    store
        .upsert(&customer("changed", "Old", "Name"))
        .await
        .unwrap();
    store
        .upsert(&customer("changed", "New", "Name"))
        .await
        .unwrap();
    store.upsert(&customer("gone", "G", "G")).await.unwrap();
    assert!(store.delete("gone").await.unwrap());
    let reopened = h.reopen(store).await;
    assert_eq!(reopened.count().await.unwrap(), 2);
    assert_eq!(
        reopened
            .get("changed", Freshness::Latest)
            .await
            .unwrap()
            .unwrap()
            .first_name,
        "New"
    );
    assert_eq!(reopened.get("gone", Freshness::Latest).await.unwrap(), None);
    assert!(reopened
        .get("kept", Freshness::Latest)
        .await
        .unwrap()
        .is_some());
}

pub async fn scan_json_yields_everyone_once_in_id_order(h: &impl Harness) {
    let store = h.fresh().await;
    assert!(store
        .scan_json(None, Freshness::Latest)
        .await
        .unwrap()
        .records
        .is_empty());
    // More than one batch's worth (batches are 1000).
    let count = 1500;
    for i in (0..count).rev() {
        store
            .upsert(&customer(&format!("s{i:05}"), "Scan", &format!("N{i}")))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut from = None;
    let mut batches = 0;
    loop {
        let batch = store.scan_json(from, Freshness::Latest).await.unwrap();
        batches += 1;
        for (id, json) in batch.records {
            let decoded: Customer =
                serde_json::from_str(&json).expect("each record is customer JSON");
            assert_eq!(decoded.id, id);
            seen.push(decoded);
        }
        match batch.next {
            Some(next) => from = Some(next),
            None => break,
        }
    }
    assert!(batches > 1, "the pass came in batches");
    let expected: Vec<Customer> = (0..count)
        .map(|i| customer(&format!("s{i:05}"), "Scan", &format!("N{i}")))
        .collect();
    assert_eq!(seen, expected);
}

fn conflict<T: std::fmt::Debug>(outcome: Result<T, StoreError>) -> Conflict {
    match outcome {
        Err(StoreError::Conflict(conflict)) => conflict,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

pub async fn writes_check_versions_atomically(h: &impl Harness) {
    let store = h.fresh().await;
    let v1 = store.create(&customer("a", "Ann", "Lee")).await.unwrap();
    let taken = conflict(store.create(&customer("a", "Bob", "Other")).await);
    assert_eq!(taken.current.unwrap().customer.first_name, "Ann");

    let v2 = store
        .put(
            &customer("a", "Anne", "Lee"),
            Precondition::Version(v1),
            &tester(),
        )
        .await
        .unwrap();
    assert!(v2 > v1, "every write gives a newer version");
    let stale = conflict(
        store
            .put(
                &customer("a", "Stale", "Edit"),
                Precondition::Version(v1),
                &tester(),
            )
            .await,
    );
    let now = stale.current.expect("the customer exists");
    assert_eq!(
        (now.version, now.customer.first_name.as_str()),
        (v2, "Anne")
    );
    assert_eq!(
        store
            .find("a", Freshness::Latest)
            .await
            .unwrap()
            .unwrap()
            .version,
        v2
    );

    let missing = conflict(
        store
            .put(
                &customer("nobody", "N", "N"),
                Precondition::Exists,
                &tester(),
            )
            .await,
    );
    assert_eq!(missing.current, None);
    assert!(conflict(
        store
            .delete_if("a", Precondition::Version(v1), &tester())
            .await
    )
    .current
    .is_some());
    assert!(store
        .delete_if("a", Precondition::Version(v2), &tester())
        .await
        .unwrap());
    // An edit opened before the deletion finds the customer gone.
    assert_eq!(
        conflict(
            store
                .put(
                    &customer("a", "Late", "Edit"),
                    Precondition::Version(v2),
                    &tester()
                )
                .await
        )
        .current,
        None
    );
    // Created again, it never reuses a version an old form may still carry.
    let v3 = store.create(&customer("a", "New", "Ann")).await.unwrap();
    assert!(v3 > v2);
    assert_eq!(
        store
            .get("a", Freshness::Latest)
            .await
            .unwrap()
            .unwrap()
            .first_name,
        "New"
    );

    let reopened = h.reopen(store).await;
    assert_eq!(
        reopened
            .find("a", Freshness::Latest)
            .await
            .unwrap()
            .unwrap()
            .version,
        v3
    );
    let v4 = reopened.upsert(&customer("b", "B", "B")).await.unwrap();
    assert!(v4 > v3, "versions keep increasing after a restart");
}

pub async fn parallel_creates_of_one_id_let_exactly_one_win(h: &impl Harness) {
    let store = h.fresh().await;
    let attempts = (0..40).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .create(&customer("same", "Writer", &i.to_string()))
                .await
        })
    });
    let mut won = Vec::new();
    let mut conflicts = 0;
    for (i, attempt) in attempts.collect::<Vec<_>>().into_iter().enumerate() {
        match attempt.await.unwrap() {
            Ok(_) => won.push(i),
            Err(StoreError::Conflict(Conflict { current: Some(_) })) => conflicts += 1,
            Err(other) => panic!("create {i} failed: {other}"),
        }
    }
    assert_eq!((won.len(), conflicts), (1, 39));
    let stored = store.get("same", Freshness::Latest).await.unwrap().unwrap();
    assert_eq!(
        stored.last_name,
        won[0].to_string(),
        "the winner's values are stored"
    );
}

pub async fn an_edit_racing_a_delete_never_brings_the_customer_back(h: &impl Harness) {
    let store = h.fresh().await;
    for round in 0..100 {
        let id = format!("race-{round}");
        let version = store
            .create(&customer(&id, "Before", "Race"))
            .await
            .unwrap();
        let (editor, deleter) = (store.clone(), store.clone());
        let (edit_id, delete_id) = (id.clone(), id.clone());
        let edit = tokio::spawn(async move {
            editor
                .put(
                    &customer(&edit_id, "Edited", "Race"),
                    Precondition::Version(version),
                    &tester(),
                )
                .await
        });
        let delete = tokio::spawn(async move {
            deleter
                .delete_if(&delete_id, Precondition::Version(version), &tester())
                .await
        });
        let (edited, deleted) = (edit.await.unwrap(), delete.await.unwrap());
        let stored = store.get(&id, Freshness::Latest).await.unwrap();
        match (edited, deleted) {
            (Ok(_), Err(StoreError::Conflict(_))) => {
                assert_eq!(stored.unwrap().first_name, "Edited", "round {round}")
            }
            (Err(StoreError::Conflict(_)), Ok(true)) => {
                assert_eq!(
                    stored, None,
                    "round {round}: the deleted customer came back"
                )
            }
            other => panic!("round {round}: exactly one must win, got {other:?}"),
        }
    }
}

pub async fn ids_are_found_in_either_normal_form(h: &impl Harness) {
    let store = h.fresh().await;
    store
        .upsert(&customer("Jos\u{e9}", "Composed", "C"))
        .await
        .unwrap();
    let decomposed = store
        .find("Jose\u{301}", Freshness::Latest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(decomposed.customer.first_name, "Composed");
    // A record stored under a non-NFC key before IDs were normalised stays
    // readable and deletable by its own key.
    store
        .upsert(&customer("Rene\u{301}", "Legacy", "L"))
        .await
        .unwrap();
    assert_eq!(
        store
            .get("Rene\u{301}", Freshness::Latest)
            .await
            .unwrap()
            .unwrap()
            .first_name,
        "Legacy"
    );
    assert!(store.delete("Rene\u{301}").await.unwrap());
    assert!(
        store.delete("Jose\u{301}").await.unwrap(),
        "deletes the NFC record"
    );
    assert_eq!(store.count().await.unwrap(), 0);
}

/// `find_json` (what `GET /get/{id}` sends) is `find`'s customer and version,
/// as the JSON of the original app's field names, for either normal form.
pub async fn find_json_is_find_as_json(h: &impl Harness) {
    let store = h.fresh().await;
    assert_eq!(store.find_json("a", Freshness::Latest).await.unwrap(), None);
    for (id, first) in [("a", "James \"Jim\""), ("Jos\u{e9}", "Ünïcødé ☃")] {
        store.upsert(&customer(id, first, "Baker")).await.unwrap();
    }
    for asked in ["a", "Jos\u{e9}", "Jose\u{301}"] {
        let stored = store.find(asked, Freshness::Latest).await.unwrap().unwrap();
        let json = store
            .find_json(asked, Freshness::Latest)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(json.version, stored.version, "{asked}");
        assert_eq!(
            json.json,
            serde_json::to_string(&stored.customer).unwrap(),
            "{asked}"
        );
    }
}

pub async fn every_change_is_in_the_audit_trail_with_its_author(h: &impl Harness) {
    let store = h.fresh().await;
    let ann = Author {
        actor: "user:ann".into(),
        request_id: Some("req-1".into()),
    };
    let bot = Author {
        actor: "token:nightly".into(),
        request_id: None,
    };
    let v1 = store
        .put(&customer("a", "Ann", "Lee"), Precondition::Absent, &ann)
        .await
        .unwrap();
    let v2 = store
        .put(
            &customer("a", "Anne", "Lee"),
            Precondition::Version(v1),
            &bot,
        )
        .await
        .unwrap();
    store
        .put(&customer("b", "Bo", "B"), Precondition::None, &bot)
        .await
        .unwrap();
    // Refused and no-op changes are not changes.
    conflict(
        store
            .put(
                &customer("a", "Stale", "S"),
                Precondition::Version(v1),
                &ann,
            )
            .await,
    );
    assert!(!store
        .delete_if("nobody", Precondition::None, &ann)
        .await
        .unwrap());
    assert!(store
        .delete_if("a", Precondition::None, &ann)
        .await
        .unwrap());

    let everyone = store
        .audit(&AuditQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let seen: Vec<_> = everyone
        .entries
        .iter()
        .map(|e| (e.action, e.customer_id.as_str(), e.actor.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (Action::Delete, "a", "user:ann"),
            (Action::Create, "b", "token:nightly"),
            (Action::Update, "a", "token:nightly"),
            (Action::Create, "a", "user:ann"),
        ],
        "newest first"
    );
    assert_eq!(everyone.next, None);
    let [deleted, _, updated, created] = &everyone.entries[..] else {
        unreachable!()
    };
    assert_eq!(created.before, None);
    assert_eq!(created.after, Some(customer("a", "Ann", "Lee")));
    assert_eq!(created.version, Some(v1));
    assert_eq!(created.request_id.as_deref(), Some("req-1"));
    assert_eq!(updated.before, Some(customer("a", "Ann", "Lee")));
    assert_eq!(updated.after, Some(customer("a", "Anne", "Lee")));
    assert_eq!(updated.version, Some(v2));
    assert_eq!(updated.request_id, None);
    assert_eq!(deleted.before, Some(customer("a", "Anne", "Lee")));
    assert_eq!((deleted.after.as_ref(), deleted.version), (None, None));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(created.at_ms <= deleted.at_ms && now_ms - deleted.at_ms < 60_000);

    // One customer's history, kept after its deletion; one actor's changes;
    // pages that go on where the last one ended.
    let history = |customer_id: &str, actor: Option<&str>, older_than: Option<String>| AuditQuery {
        customer_id: Some(customer_id.into()),
        actor: actor.map(Into::into),
        older_than,
        limit: 2,
    };
    let first = store.audit(&history("a", None, None)).await.unwrap();
    assert_eq!(first.entries.len(), 2);
    assert_eq!(first.entries[0].action, Action::Delete);
    let rest = store
        .audit(&history("a", None, first.next.clone()))
        .await
        .unwrap();
    assert_eq!(
        rest.entries.iter().map(|e| e.action).collect::<Vec<_>>(),
        [Action::Create]
    );
    assert_eq!(rest.next, None);
    let by_bot = store
        .audit(&AuditQuery {
            actor: Some("token:nightly".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_bot.entries.len(), 2);
    let bot_on_a = store
        .audit(&history("a", Some("token:nightly"), None))
        .await
        .unwrap();
    assert_eq!(bot_on_a.entries.len(), 1);

    // The trail survives a restart.
    let reopened = h.reopen(store).await;
    let after_restart = reopened
        .audit(&AuditQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(after_restart.entries, everyone.entries);
}

/// An import's batch is stored as single puts would store it: every customer,
/// each with a version of its own (a later one for an update), each change in
/// the audit trail by its author, searchable at once and kept across a restart.
pub async fn put_all_stores_a_batch_as_single_puts_would(h: &impl Harness) {
    let store = h.fresh().await;
    let before = store
        .upsert(&customer("b0001", "Old", "Name"))
        .await
        .unwrap();
    let batch: Vec<Customer> = (0..300)
        .map(|n| customer(&format!("b{n:04}"), "Batch", &format!("Member{n}")))
        .collect();
    store.put_all(&batch, &tester()).await.unwrap();
    assert_eq!(store.count().await.unwrap(), 300);
    let mut versions = std::collections::BTreeSet::new();
    for expected in &batch {
        let stored = store
            .find(&expected.id, Freshness::Latest)
            .await
            .unwrap()
            .expect("stored");
        assert_eq!(&stored.customer, expected);
        assert!(versions.insert(stored.version), "each a version of its own");
    }
    let updated = store
        .find("b0001", Freshness::Latest)
        .await
        .unwrap()
        .unwrap();
    assert!(updated.version > before, "an update takes a later version");
    let found = page(store.as_ref(), Some("member299"), Cursor::Start, 10).await;
    assert_eq!(ids(&found.customers), ["b0299"]);
    let trail = store
        .audit(&AuditQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        trail.entries.len(),
        301,
        "the first put and the batch's 300"
    );
    let update = trail
        .entries
        .iter()
        .find(|e| e.customer_id == "b0001" && e.action == Action::Update)
        .expect("the update is in the trail");
    assert_eq!(update.before, Some(customer("b0001", "Old", "Name")));
    assert!(trail.entries.iter().all(|e| e.actor == "user:tester"));

    let reopened = h.reopen(store).await;
    assert_eq!(reopened.count().await.unwrap(), 300);
    assert_eq!(
        reopened.get("b0299", Freshness::Latest).await.unwrap(),
        Some(batch[299].clone())
    );

    // One customer twice in a batch: as two puts in a row, the later one kept.
    let twice = [
        customer("t0001", "First", "Take"),
        customer("t0001", "Second", "Take"),
    ];
    reopened.put_all(&twice, &tester()).await.unwrap();
    let stored = reopened
        .find("t0001", Freshness::Latest)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.customer, twice[1]);
    let history = reopened
        .audit(&AuditQuery {
            customer_id: Some("t0001".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    let steps: Vec<_> = history
        .entries
        .iter()
        .rev()
        .map(|e| (e.action, e.before.clone(), e.after.clone(), e.version))
        .collect();
    assert_eq!(
        steps,
        [
            (Action::Create, None, Some(twice[0].clone()), steps[0].3),
            (
                Action::Update,
                Some(twice[0].clone()),
                Some(twice[1].clone()),
                Some(stored.version)
            ),
        ]
    );
    assert!(
        steps[0].3 < steps[1].3,
        "the second put takes a later version"
    );
}

/// One `#[tokio::test]` per contract case, for the harness expression given.
#[macro_export]
macro_rules! store_contract_tests {
    ($harness:expr) => {
        mod store_contract {
            use super::*;
            macro_rules! case {
                ($name:ident) => {
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $name() {
                        let harness = $harness;
                        contract::$name(&harness).await;
                    }
                };
            }
            case!(upsert_then_get);
            case!(overwrite_replaces);
            case!(delete_removes);
            case!(pages_walk_in_id_order);
            case!(pages_sort_by_any_column_either_way);
            case!(search_is_case_insensitive_over_id_and_names);
            case!(search_matches_full_names_and_ignores_accents);
            case!(unicode_round_trips);
            case!(concurrent_writers_lose_nothing);
            case!(reopen_sees_every_acknowledged_write);
            case!(scan_json_yields_everyone_once_in_id_order);
            case!(writes_check_versions_atomically);
            case!(parallel_creates_of_one_id_let_exactly_one_win);
            case!(an_edit_racing_a_delete_never_brings_the_customer_back);
            case!(ids_are_found_in_either_normal_form);
            case!(find_json_is_find_as_json);
            case!(every_change_is_in_the_audit_trail_with_its_author);
            case!(put_all_stores_a_batch_as_single_puts_would);
        }
    };
}
