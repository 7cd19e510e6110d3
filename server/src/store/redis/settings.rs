//! Typed settings for the Redis store. Environment parsing lives in `config.rs`;
//! this module only knows what the store needs and how to read a sentinel list.

pub use super::addr::{parse_sentinels, SentinelListError};
use super::address_map::AddressMap;
use std::fmt;
use std::time::Duration;

/// Where the Redis master is found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedisTarget {
    /// Ask these sentinels for the master called `master_name` and follow failovers.
    Sentinel {
        sentinels: Vec<(String, u16)>,
        master_name: String,
    },
    /// One fixed server, e.g. `redis://127.0.0.1:6379/0` (development only: no failover).
    Single { url: String },
}

#[derive(Clone, PartialEq, Eq)]
pub struct RedisSettings {
    pub target: RedisTarget,
    /// ACL user for the data nodes (`None`: the `default` user).
    pub username: Option<String>,
    /// Password for the data nodes (`requirepass` / ACL password).
    pub password: Option<String>,
    /// Password for the sentinels; `None` means the sentinels need none.
    /// The sentinels' ACL user (with `sentinel_password`), if they have users.
    pub sentinel_username: Option<String>,
    pub sentinel_password: Option<String>,
    pub db: i64,
    /// Every key the store touches starts with this.
    pub key_prefix: String,
    /// Longest wait for one command (and for one connection attempt).
    pub command_timeout: Duration,
    /// Longest time one store call may take, retries and failovers included.
    pub request_deadline: Duration,
    /// With `n >= 1`, a write is acknowledged only once `n` replicas confirmed it (`WAIT`).
    pub min_replicas_ack: u32,
    /// How long audit entries are kept (`None`: for good).
    pub audit_retention: Option<Duration>,
    /// TLS to the data nodes and sentinels (`None`: plain TCP).
    pub tls: Option<TlsSettings>,
    /// Where to reach the servers sentinels report at unreachable addresses.
    pub address_map: AddressMap,
    /// Where reads that may be a little stale go (see `replicas.rs`).
    pub read_from: ReadFrom,
    /// How stale a replica may be and still serve reads.
    pub max_replica_lag: Duration,
}

/// Which servers serve reads ([`app::domain::Freshness::Bounded`] ones).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReadFrom {
    /// Every read from the master.
    #[default]
    Master,
    /// A replica known to be at most `max_replica_lag` behind and to hold the
    /// reader's own writes, else the master.
    ReplicaPreferred,
}

/// How to speak TLS to Redis. Certificates are read once, at start-up.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificates of the CAs to trust (`None`: the system's trust store).
    pub ca_pem: Option<Vec<u8>>,
    /// PEM client certificate and key, for servers that ask for one (mutual TLS).
    pub client: Option<ClientCertificate>,
    /// The name every server's certificate is checked against (and sent as SNI),
    /// instead of the address connected to: for certificates that name a
    /// service rather than each node's address.
    pub server_name: Option<String>,
}

#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

// Hand-written so private keys never end up in logs.
impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("ca", &self.ca_pem.as_ref().map(|_| "<from file>"))
            .field(
                "client_certificate",
                &self.client.as_ref().map(|_| "<from file>"),
            )
            .field("server_name", &self.server_name)
            .finish()
    }
}

impl RedisSettings {
    pub const DEFAULT_KEY_PREFIX: &'static str = "customers:";
    pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_millis(1000);
    pub const DEFAULT_REQUEST_DEADLINE: Duration = Duration::from_secs(10);
    pub const DEFAULT_AUDIT_RETENTION: Duration = Duration::from_secs(365 * 24 * 60 * 60);
    pub const DEFAULT_MAX_REPLICA_LAG: Duration = Duration::from_millis(1000);

    /// Settings with defaults for everything but the target.
    pub fn new(target: RedisTarget) -> Self {
        Self {
            target,
            username: None,
            password: None,
            sentinel_username: None,
            sentinel_password: None,
            db: 0,
            key_prefix: Self::DEFAULT_KEY_PREFIX.to_owned(),
            command_timeout: Self::DEFAULT_COMMAND_TIMEOUT,
            request_deadline: Self::DEFAULT_REQUEST_DEADLINE,
            min_replicas_ack: 0,
            audit_retention: Some(Self::DEFAULT_AUDIT_RETENTION),
            tls: None,
            address_map: AddressMap::default(),
            read_from: ReadFrom::Master,
            max_replica_lag: Self::DEFAULT_MAX_REPLICA_LAG,
        }
    }

    /// Settings for a sentinel-managed master, with defaults for the rest.
    pub fn sentinel(sentinels: Vec<(String, u16)>, master_name: impl Into<String>) -> Self {
        Self::new(RedisTarget::Sentinel {
            sentinels,
            master_name: master_name.into(),
        })
    }

    /// Every check of the settings in one place (the environment's syntax is
    /// `config.rs`'s): what cannot work, said in a way that names what to change.
    pub fn validate(&self) -> Result<(), String> {
        if self.command_timeout.is_zero() || self.request_deadline.is_zero() {
            return Err("the command timeout and the request deadline must be positive".into());
        }
        if self.read_from == ReadFrom::ReplicaPreferred && self.max_replica_lag.is_zero() {
            return Err(
                "the replicas' lag bound must be positive (REDIS_MAX_REPLICA_LAG_MS)".into(),
            );
        }
        if self.key_prefix.is_empty() {
            return Err("the key prefix must not be empty: it keeps the store's keys apart".into());
        }
        if let RedisTarget::Sentinel {
            sentinels,
            master_name,
        } = &self.target
        {
            if sentinels.is_empty() {
                return Err("no sentinels given".into());
            }
            if master_name.trim().is_empty() {
                return Err("empty master name".into());
            }
            if self.sentinel_username.is_some() && self.sentinel_password.is_none() {
                return Err("REDIS_SENTINEL_USERNAME needs REDIS_SENTINEL_PASSWORD".into());
            }
        }
        Ok(())
    }

    /// Settings for one fixed server URL, with defaults for the rest.
    pub fn single(url: impl Into<String>) -> Self {
        Self::new(RedisTarget::Single { url: url.into() })
    }
}

// Hand-written so passwords never end up in logs.
impl fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |p: &Option<String>| p.as_ref().map(|_| "<redacted>");
        f.debug_struct("RedisSettings")
            .field("target", &self.target)
            .field("username", &self.username)
            .field("password", &redact(&self.password))
            .field("sentinel_username", &self.sentinel_username)
            .field("sentinel_password", &redact(&self.sentinel_password))
            .field("db", &self.db)
            .field("key_prefix", &self.key_prefix)
            .field("command_timeout", &self.command_timeout)
            .field("request_deadline", &self.request_deadline)
            .field("min_replicas_ack", &self.min_replicas_ack)
            .field("audit_retention", &self.audit_retention)
            .field("tls", &self.tls)
            .field("address_map", &self.address_map)
            .field("read_from", &self.read_from)
            .field("max_replica_lag", &self.max_replica_lag)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_passwords() {
        let mut settings = RedisSettings::sentinel(vec![("h".into(), 1)], "m");
        settings.password = Some("secret".into());
        assert!(!format!("{settings:?}").contains("secret"));
    }
}
