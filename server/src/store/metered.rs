//! Counts and times every store operation, by operation and outcome, for
//! `/metrics` (`store_operations_total`, `store_operation_duration_seconds`).

use crate::metric_handles::{Counters, Histograms};
use app::domain::{
    AuditPage, AuditQuery, Author, Customer, CustomerStore, JsonBatch, Page, PageQuery,
    Precondition, StoreError, Stored, Version,
};
use async_trait::async_trait;
use std::future::Future;
use std::time::Instant;

pub struct Metered<S>(pub S);

async fn measured<T>(
    operation: &'static str,
    work: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    let started = Instant::now();
    let outcome = work.await;
    let label = match &outcome {
        Ok(_) => "ok",
        Err(StoreError::Conflict(_)) => "conflict",
        Err(StoreError::Unavailable(_)) => "unavailable",
        Err(StoreError::Failed(_)) => "failed",
    };
    static OPERATIONS: Counters<(&str, &str)> = Counters::new();
    static DURATIONS: Histograms<&str> = Histograms::new();
    OPERATIONS
        .get((operation, label), || {
            metrics::counter!("store_operations_total", "operation" => operation, "outcome" => label)
        })
        .increment(1);
    DURATIONS
        .get(
            operation,
            || metrics::histogram!("store_operation_duration_seconds", "operation" => operation),
        )
        .record(started.elapsed().as_secs_f64());
    outcome
}

#[async_trait]
impl<S: CustomerStore> CustomerStore for Metered<S> {
    async fn fetch(&self, key: &str) -> Result<Option<Stored>, StoreError> {
        measured("fetch", self.0.fetch(key)).await
    }

    async fn put(
        &self,
        customer: &Customer,
        precondition: Precondition,
        author: &Author,
    ) -> Result<Version, StoreError> {
        measured("put", self.0.put(customer, precondition, author)).await
    }

    async fn remove(
        &self,
        key: &str,
        precondition: Precondition,
        author: &Author,
    ) -> Result<bool, StoreError> {
        measured("remove", self.0.remove(key, precondition, author)).await
    }

    async fn audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        measured("audit", self.0.audit(query)).await
    }

    async fn list(&self, query: &PageQuery) -> Result<Page, StoreError> {
        measured("list", self.0.list(query)).await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        measured("count", self.0.count()).await
    }

    async fn scan_json(&self, from: Option<String>) -> Result<JsonBatch, StoreError> {
        measured("scan", self.0.scan_json(from)).await
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}
