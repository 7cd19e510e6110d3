//! The stores behind [`app::domain::CustomerStore`], and choosing one from the configuration.

mod detached;
pub mod file;
mod metered;
pub mod order;
pub mod redis;
pub mod row;
pub mod transfer;

pub use app::domain::{CustomerStore, StoreError};
pub use detached::DetachedWrites;
pub use metered::Metered;

use crate::auth::sessions::{MemorySessions, SessionStore};
use crate::config::StoreChoice;
use std::sync::Arc;

/// The store the server runs on; `redis` is kept typed for Redis-only commands.
pub struct OpenedStore {
    pub store: Arc<dyn CustomerStore>,
    /// Where the UI's sign-in sessions live: beside the customers.
    pub sessions: Arc<dyn SessionStore>,
    pub redis: Option<Arc<redis::RedisStore>>,
}

/// Opens the configured store for `purpose` (the subcommand, named to another
/// process that finds the data file locked), failing with a message that says what to fix.
pub async fn open(choice: &StoreChoice, purpose: &str) -> Result<OpenedStore, String> {
    match choice {
        StoreChoice::File(path) => {
            let options = file::Options {
                purpose: purpose.to_owned(),
                ..Default::default()
            };
            // The file store's writer thread already finishes every write it accepts.
            let store = file::FileStore::open_with(path, options).map_err(|e| e.to_string())?;
            Ok(OpenedStore {
                store: Arc::new(Metered(store)),
                // One process serves the file: its memory is the one place.
                sessions: Arc::new(MemorySessions::default()),
                redis: None,
            })
        }
        StoreChoice::Redis(settings) => {
            let store = Arc::new(
                redis::RedisStore::connect(settings.as_ref().clone())
                    .await
                    .map_err(|e| e.to_string())?,
            );
            Ok(OpenedStore {
                store: Arc::new(Metered(DetachedWrites(store.clone()))),
                sessions: store.clone(),
                redis: Some(store),
            })
        }
    }
}
