//! The store's side of the shared test support: settings that point a store at a
//! real topology (`testkit::topology`), the rights the README lists for its ACL
//! users, and failovers under the shared write-load harness.
#![allow(dead_code)] // each test file uses a different part

mod failover;

pub use failover::*;
pub use testkit::topology::*;

use server::store::redis::{AddressMap, ClientCertificate, RedisSettings, TlsSettings};

/// The data-node rights the store needs, as the README documents them for the
/// prefix `customers:`; the tests use them with their own prefixes.
pub const DATA_USER_RULES: &str = "~{prefix}* -@all \
    +role +wait +eval +evalsha +script|load +get +set +getex +del +type +incr +append +strlen \
    +hget +hmget +hset +hdel +hlen +hscan +xadd +xrange +xrevrange";

/// The sentinels' rights the store needs, as the README documents them.
pub const SENTINEL_USER_RULES: &str = "+ping +sentinel|get-master-addr-by-name +psubscribe &*";

/// An ACL user on the sentinels with exactly [`SENTINEL_USER_RULES`].
pub const SENTINEL_USER: (&str, &str, &str) = ("records", "sentinel-secret", SENTINEL_USER_RULES);

/// The store's user on the data nodes in the tests, limited to [`DATA_USER_RULES`].
pub const DATA_USER: (&str, &str) = ("records", "records-secret");

/// Store settings for a running [`Topology`].
pub trait StoreSettings {
    /// Store settings for this topology, under `prefix`.
    fn settings(&self, prefix: &str) -> RedisSettings;

    /// Gives [`DATA_USER`] the rights of [`DATA_USER_RULES`] for keys starting with
    /// `prefix` on every data node (adding to those for other prefixes), and returns
    /// store settings that sign in as it.
    async fn narrow_settings(&self, prefix: &str) -> RedisSettings;
}

impl StoreSettings for Topology {
    async fn narrow_settings(&self, prefix: &str) -> RedisSettings {
        let rules = DATA_USER_RULES.replace("{prefix}", prefix);
        self.add_data_user(DATA_USER.0, DATA_USER.1, &rules).await;
        let mut settings = self.settings(prefix);
        settings.username = Some(DATA_USER.0.to_owned());
        settings.password = Some(DATA_USER.1.to_owned());
        settings
    }

    fn settings(&self, prefix: &str) -> RedisSettings {
        let mut settings = RedisSettings::sentinel(self.sentinel_addrs(), MASTER_NAME);
        settings.password = Some(PASSWORD.to_owned());
        settings.key_prefix = prefix.to_owned();
        if let Some((name, password, _)) = self.sentinel_user() {
            settings.sentinel_username = Some(name.to_owned());
            settings.sentinel_password = Some(password.to_owned());
        }
        settings.address_map = AddressMap::parse(&self.address_map()).unwrap();
        settings.tls = self.certs.as_ref().map(|certs| TlsSettings {
            ca_pem: Some(std::fs::read(&certs.ca).unwrap()),
            client: (self.tls() == Tls::Mutual).then(|| ClientCertificate {
                cert_pem: std::fs::read(&certs.client_cert).unwrap(),
                key_pem: std::fs::read(&certs.client_key).unwrap(),
            }),
            server_name: (self.tls() == Tls::OneWayByName).then(|| tls::SERVER_NAME.to_owned()),
        });
        settings
    }
}
