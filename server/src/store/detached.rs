//! Writes that finish whether or not their caller is still waiting.
//!
//! axum drops a handler's future when its client disconnects. A Redis write
//! dropped mid-retry (waiting out a failover, or for `WAIT`) would leave its
//! outcome to chance; run on a task of its own, it completes or fails as a
//! whole, and what an answer says is what is stored.

use app::domain::{
    AuditPage, AuditQuery, Author, Customer, CustomerStore, Freshness, JsonBatch, Page, PageQuery,
    Precondition, StoreError, Stored, StoredJson, Version,
};
use async_trait::async_trait;
use futures::future::BoxFuture;
use std::sync::Arc;

pub struct DetachedWrites<S>(pub Arc<S>);

fn lost(error: tokio::task::JoinError) -> StoreError {
    StoreError::Failed(format!("the write's task ended early: {error}"))
}

#[async_trait]
impl<S: CustomerStore> CustomerStore for DetachedWrites<S> {
    async fn fetch(&self, key: &str, fresh: Freshness) -> Result<Option<Stored>, StoreError> {
        self.0.fetch(key, fresh).await
    }

    // The inner store's future itself rather than one more box around it: this
    // is the read of every `GET /get/{id}`.
    fn fetch_json<'a, 'b, 'f>(
        &'a self,
        key: &'b str,
        fresh: Freshness,
    ) -> BoxFuture<'f, Result<Option<StoredJson>, StoreError>>
    where
        'a: 'f,
        'b: 'f,
        Self: 'f,
    {
        self.0.fetch_json(key, fresh)
    }

    async fn put(
        &self,
        customer: &Customer,
        precondition: Precondition,
        author: &Author,
    ) -> Result<Version, StoreError> {
        let (store, customer, author) = (self.0.clone(), customer.clone(), author.clone());
        tokio::spawn(async move { store.put(&customer, precondition, &author).await })
            .await
            .map_err(lost)?
    }

    async fn put_all(&self, customers: &[Customer], author: &Author) -> Result<(), StoreError> {
        let (store, customers, author) = (self.0.clone(), customers.to_vec(), author.clone());
        tokio::spawn(async move { store.put_all(&customers, &author).await })
            .await
            .map_err(lost)?
    }

    async fn remove(
        &self,
        key: &str,
        precondition: Precondition,
        author: &Author,
    ) -> Result<bool, StoreError> {
        let (store, key, author) = (self.0.clone(), key.to_owned(), author.clone());
        tokio::spawn(async move { store.remove(&key, precondition, &author).await })
            .await
            .map_err(lost)?
    }

    async fn audit(&self, query: &AuditQuery) -> Result<AuditPage, StoreError> {
        self.0.audit(query).await
    }

    async fn list(&self, query: &PageQuery, fresh: Freshness) -> Result<Page, StoreError> {
        self.0.list(query, fresh).await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        self.0.count().await
    }

    async fn scan_json(
        &self,
        from: Option<String>,
        fresh: Freshness,
    ) -> Result<JsonBatch, StoreError> {
        self.0.scan_json(from, fresh).await
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

    fn describe(&self) -> String {
        self.0.describe()
    }
}
