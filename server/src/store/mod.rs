//! The stores behind [`app::domain::CustomerStore`], and choosing one from the configuration.

pub mod file;
pub mod redis;
pub mod transfer;

pub use app::domain::{CustomerStore, StoreError};

use crate::config::StoreChoice;
use std::sync::Arc;

/// The store the server runs on; `redis` is kept typed for Redis-only commands.
pub struct OpenedStore {
    pub store: Arc<dyn CustomerStore>,
    pub redis: Option<Arc<redis::RedisStore>>,
}

/// Opens the configured store, failing with a message that says what to fix.
pub async fn open(choice: &StoreChoice) -> Result<OpenedStore, String> {
    match choice {
        StoreChoice::File(path) => {
            let store = file::FileStore::open(path).map_err(|e| e.to_string())?;
            Ok(OpenedStore {
                store: Arc::new(store),
                redis: None,
            })
        }
        StoreChoice::Redis(settings) => {
            let store = Arc::new(
                redis::RedisStore::connect(settings.clone())
                    .await
                    .map_err(|e| e.to_string())?,
            );
            Ok(OpenedStore {
                store: store.clone(),
                redis: Some(store),
            })
        }
    }
}
