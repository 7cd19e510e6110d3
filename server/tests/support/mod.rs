//! Real `redis-server` / `redis-sentinel` processes for tests (see `topology.rs`),
//! plus the store settings that point at them.
#![allow(dead_code)] // each test file uses a different part

mod topology;

pub use topology::*;

use server::store::redis::RedisSettings;

impl Topology {
    /// Store settings for this topology, under `prefix`.
    pub fn settings(&self, prefix: &str) -> RedisSettings {
        let mut settings = RedisSettings::sentinel(self.sentinel_addrs(), MASTER_NAME);
        settings.password = Some(PASSWORD.to_owned());
        settings.key_prefix = prefix.to_owned();
        settings
    }
}
