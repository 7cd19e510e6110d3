//! Real `redis-server` / `redis-sentinel` processes for tests (see `topology.rs`),
//! plus the store settings that point at them and the failover write-load harness
//! (which needs the test binary's `contract` module).
#![allow(dead_code)] // each test file uses a different part

mod failover;
mod topology;

pub use failover::*;
pub use topology::*;

use server::store::redis::{ClientCertificate, RedisSettings, TlsSettings};

impl Topology {
    /// Store settings for this topology, under `prefix`.
    pub fn settings(&self, prefix: &str) -> RedisSettings {
        let mut settings = RedisSettings::sentinel(self.sentinel_addrs(), MASTER_NAME);
        settings.password = Some(PASSWORD.to_owned());
        settings.key_prefix = prefix.to_owned();
        settings.tls = self.certs.as_ref().map(|certs| TlsSettings {
            ca_pem: Some(std::fs::read(&certs.ca).unwrap()),
            client: (self.tls() == Tls::Mutual).then(|| ClientCertificate {
                cert_pem: std::fs::read(&certs.client_cert).unwrap(),
                key_pem: std::fs::read(&certs.client_key).unwrap(),
            }),
        });
        settings
    }
}
