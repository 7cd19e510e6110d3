//! Counts and times every store operation, by operation and outcome, for
//! `/metrics` (`store_operations_total`, `store_operation_duration_seconds`).

use app::domain::{
    AuditPage, AuditQuery, Author, Customer, CustomerStore, Freshness, JsonBatch, Page, PageQuery,
    Precondition, StoreError, Stored, StoredJson, Version,
};
use async_trait::async_trait;
use metrics::{Counter, Histogram};
use std::future::Future;
use std::sync::OnceLock;
use std::time::Instant;

pub struct Metered<S>(pub S);

/// One store operation's metric handles, registered on its first use: a
/// lookup per call by labels showed in the profile of `GET /get/{id}`.
struct Operation {
    name: &'static str,
    handles: OnceLock<Handles>,
}

struct Handles {
    /// By outcome, in the order of [`outcome`].
    outcomes: [Counter; 4],
    duration: Histogram,
}

const OUTCOMES: [&str; 4] = ["ok", "conflict", "unavailable", "failed"];

fn outcome<T>(result: &Result<T, StoreError>) -> usize {
    match result {
        Ok(_) => 0,
        Err(StoreError::Conflict(_)) => 1,
        Err(StoreError::Unavailable(_)) => 2,
        Err(StoreError::Failed(_)) => 3,
    }
}

impl Operation {
    const fn new(name: &'static str) -> Self {
        Self {
            name,
            handles: OnceLock::new(),
        }
    }

    fn handles(&self) -> &Handles {
        let operation = self.name;
        self.handles.get_or_init(|| Handles {
            outcomes: OUTCOMES.map(|outcome| {
                metrics::counter!("store_operations_total", "operation" => operation, "outcome" => outcome)
            }),
            duration: metrics::histogram!("store_operation_duration_seconds", "operation" => operation),
        })
    }
}

static FETCH: Operation = Operation::new("fetch");
static PUT: Operation = Operation::new("put");
static PUT_ALL: Operation = Operation::new("put_all");
static REMOVE: Operation = Operation::new("remove");
static AUDIT: Operation = Operation::new("audit");
static LIST: Operation = Operation::new("list");
static COUNT: Operation = Operation::new("count");
static SCAN: Operation = Operation::new("scan");

async fn measured<T>(
    operation: &'static Operation,
    work: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    let result = work.await;
    let handles = operation.handles();
    handles.outcomes[outcome(&result)].increment(1);
    handles.duration.record(started.elapsed().as_secs_f64());
    result
}

#[async_trait]
impl<S: CustomerStore> CustomerStore for Metered<S> {
    async fn fetch(&self, key: &str, fresh: Freshness) -> Result<Option<Stored>, StoreError> {
        measured(&FETCH, self.0.fetch(key, fresh)).await
    }

    async fn fetch_json(
        &self,
        key: &str,
        fresh: Freshness,
    ) -> Result<Option<StoredJson>, StoreError> {
        measured(&FETCH, self.0.fetch_json(key, fresh)).await
    }

    async fn put(
        &self,
        customer: &Customer,
        precondition: Precondition,
        author: &Author,
    ) -> Result<Version, StoreError> {
        measured(&PUT, self.0.put(customer, precondition, author)).await
    }

    async fn put_all(&self, customers: &[Customer], author: &Author) -> Result<(), StoreError> {
        measured(&PUT_ALL, self.0.put_all(customers, author)).await
    }

    async fn remove(
        &self,
        key: &str,
        precondition: Precondition,
        author: &Author,
    ) -> Result<bool, StoreError> {
        measured(&REMOVE, self.0.remove(key, precondition, author)).await
    }

    async fn audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        measured(&AUDIT, self.0.audit(query)).await
    }

    async fn list(&self, query: &PageQuery, fresh: Freshness) -> Result<Page, StoreError> {
        measured(&LIST, self.0.list(query, fresh)).await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        measured(&COUNT, self.0.count()).await
    }

    async fn warm_up(&self) -> Result<(), StoreError> {
        self.0.warm_up().await
    }

    fn is_warm(&self) -> bool {
        self.0.is_warm()
    }

    async fn status(&self) -> app::domain::StoreStatus {
        self.0.status().await
    }

    async fn scan_json(
        &self,
        from: Option<String>,
        fresh: Freshness,
    ) -> Result<JsonBatch, StoreError> {
        measured(&SCAN, self.0.scan_json(from, fresh)).await
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}
