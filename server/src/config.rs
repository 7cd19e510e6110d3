//! The server's configuration, parsed once at start-up from flags with
//! environment-variable fallbacks (the original app's `REDIS_*` names included).

use crate::store::redis::{
    parse_sentinels, AddressMap, ClientCertificate, ReadFrom, RedisSettings, RedisTarget,
    TlsSettings,
};
use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "customer-records",
    version,
    about = "Customer records: web UI and JSON API"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long,
        env = "LISTEN_ADDR",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub listen: SocketAddr,

    /// Data file of the embedded store (used when no Redis is configured).
    #[arg(
        long,
        env = "DATA_FILE",
        default_value = "./customers.json",
        global = true
    )]
    pub data_file: PathBuf,

    /// Folder holding the compiled site (the `pkg/` bundle and public assets).
    #[arg(
        long,
        env = "LEPTOS_SITE_ROOT",
        default_value = "target/site",
        global = true
    )]
    pub site_root: String,

    /// Host names (or addresses) the server answers to, comma-separated, or `*` for
    /// any; other `Host` headers get 400. Default: the listen address and the
    /// loopback names.
    #[arg(long, env = "ALLOWED_HOSTS", global = true)]
    pub allowed_hosts: Option<String>,

    /// Serve `/metrics` (and a `/readyz` that names the store) on this address
    /// instead of the public one.
    #[arg(long, env = "METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// `on`: requests must name a user or token of `USERS_FILE`, or, while it
    /// holds none, only clients on this machine are served (protected mode, as
    /// Redis has). `off`: every client is served without sign-in.
    #[arg(long, env = "AUTH", value_enum, default_value_t = AuthMode::On, global = true)]
    pub auth: AuthMode,

    /// Users and API tokens allowed in (kept by the `user` and `token` subcommands).
    #[arg(
        long,
        env = "USERS_FILE",
        default_value = "./users.json",
        global = true
    )]
    pub users_file: PathBuf,

    /// A UI session ends after this many seconds unused.
    #[arg(
        long,
        env = "SESSION_IDLE_TIMEOUT_S",
        default_value_t = 30 * 60,
        global = true
    )]
    pub session_idle_timeout_s: u64,

    /// A UI session ends this many seconds after signing in, however much it is used.
    #[arg(
        long,
        env = "SESSION_LIFETIME_S",
        default_value_t = 12 * 60 * 60,
        global = true
    )]
    pub session_lifetime_s: u64,

    /// Reverse proxies (addresses or networks, comma-separated) whose
    /// `X-Forwarded-For` and `X-Forwarded-Proto` are believed.
    #[arg(long, env = "TRUSTED_PROXIES", global = true)]
    pub trusted_proxies: Option<String>,

    #[command(flatten)]
    pub limits: LimitArgs,

    #[command(flatten)]
    pub redis: RedisArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// Sign-in with the users and tokens of `USERS_FILE`; while there are none,
    /// loopback clients only.
    #[value(alias = "protected")]
    On,
    /// Serve every client, without sign-in.
    Off,
}

/// `REDIS_READ_FROM`'s values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReadFromArg {
    Master,
    ReplicaPreferred,
}

/// How much the server takes from clients before it closes on them.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Connections served at once; more are closed as soon as they are accepted.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 10_000, global = true)]
    pub max_connections: usize,
    /// Time a connection may wait for its next request, from connecting or from
    /// its previous answer, in milliseconds.
    #[arg(
        long,
        env = "KEEP_ALIVE_TIMEOUT_MS",
        default_value_t = 5_000,
        global = true
    )]
    pub keep_alive_timeout_ms: u64,
    /// Time for a whole request head, from its first byte, in milliseconds.
    #[arg(
        long,
        env = "HEADER_READ_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub header_read_timeout_ms: u64,
    /// Time for a request body, in milliseconds.
    #[arg(
        long,
        env = "BODY_READ_TIMEOUT_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub body_read_timeout_ms: u64,
    /// Time for a whole request, answer included, in milliseconds (then 408).
    #[arg(
        long,
        env = "REQUEST_TIMEOUT_MS",
        default_value_t = 30_000,
        global = true
    )]
    pub request_timeout_ms: u64,
    /// On SIGTERM, how long requests in flight may take to finish, in milliseconds.
    #[arg(
        long,
        env = "SHUTDOWN_GRACE_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub shutdown_grace_ms: u64,
}

impl LimitArgs {
    pub fn limits(&self) -> crate::http::Limits {
        crate::http::Limits {
            max_connections: self.max_connections.max(1),
            keep_alive: Duration::from_millis(self.keep_alive_timeout_ms.max(1)),
            header_read: Duration::from_millis(self.header_read_timeout_ms.max(1)),
            body_read: Duration::from_millis(self.body_read_timeout_ms.max(1)),
            request: Duration::from_millis(self.request_timeout_ms.max(1)),
            shutdown_grace: Duration::from_millis(self.shutdown_grace_ms),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web UI and the JSON API (the default).
    Serve,
    /// Load customers from a JSON file in the `customers.json` format into the store.
    Import { file: PathBuf },
    /// Write every customer of the store to a JSON file in the `customers.json` format.
    Export { file: PathBuf },
    /// Import the original app's Redis layout (one bare key per customer).
    MigrateLegacy,
    /// Add a user to `USERS_FILE` (or change one's password and role); the
    /// password is read from the terminal, or from one line of standard input.
    #[command(subcommand)]
    User(UserCommand),
    /// API tokens for programs calling the JSON API (`Authorization: Bearer`).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Ask the server on `--listen` for `/healthz`; exit 0 when it answers 200
    /// (the Docker image's HEALTHCHECK: no curl needed in the image).
    Healthcheck,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user, or set an existing one's password and role.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: crate::auth::Role,
    },
    /// Remove a user (refused at once by a running server).
    Remove { name: String },
    /// List the users and their roles.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (the only time it is shown: only its hash is kept).
    Create {
        name: String,
        #[arg(long, value_enum)]
        role: crate::auth::Role,
    },
    /// Revoke a token (refused at once by a running server).
    Revoke { name: String },
    /// List the tokens' names and roles.
    List,
}

impl Command {
    /// The subcommand's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Serve => "serve",
            Command::Import { .. } => "import",
            Command::Export { .. } => "export",
            Command::MigrateLegacy => "migrate-legacy",
            Command::Healthcheck => "healthcheck",
            Command::User(_) => "user",
            Command::Token(_) => "token",
        }
    }
}

/// Redis settings; Sentinel is used when `REDIS_SENTINELS` is set, else `REDIS_URL`.
#[derive(Debug, Args)]
pub struct RedisArgs {
    /// Sentinels as `host:port,host:port,...`.
    #[arg(long, env = "REDIS_SENTINELS", global = true)]
    pub redis_sentinels: Option<String>,
    /// Name of the master the sentinels monitor.
    #[arg(
        long,
        env = "REDIS_MASTER_NAME",
        default_value = "mymaster",
        global = true
    )]
    pub redis_master_name: String,
    /// A single Redis without Sentinel, e.g. `redis://127.0.0.1:6379`.
    #[arg(long, env = "REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    #[arg(long, env = "REDIS_USERNAME", global = true)]
    pub redis_username: Option<String>,
    #[arg(long, env = "REDIS_PASSWORD", hide_env_values = true, global = true)]
    pub redis_password: Option<String>,
    /// The sentinels' ACL user, when they have users (with `REDIS_SENTINEL_PASSWORD`).
    #[arg(long, env = "REDIS_SENTINEL_USERNAME", global = true)]
    pub redis_sentinel_username: Option<String>,
    #[arg(
        long,
        env = "REDIS_SENTINEL_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub redis_sentinel_password: Option<String>,
    #[arg(long, env = "REDIS_DB", default_value_t = 0, global = true)]
    pub redis_db: i64,
    #[arg(
        long,
        env = "REDIS_KEY_PREFIX",
        default_value = "customers:",
        global = true
    )]
    pub redis_key_prefix: String,
    /// Timeout of one Redis command, in milliseconds.
    #[arg(long, env = "REDIS_TIMEOUT_MS", default_value_t = 1000, global = true)]
    pub redis_timeout_ms: u64,
    /// Total time one operation may spend retrying, in milliseconds.
    #[arg(
        long,
        env = "REDIS_REQUEST_DEADLINE_MS",
        default_value_t = 10_000,
        global = true
    )]
    pub redis_request_deadline_ms: u64,
    /// Replicas that must confirm each write (`WAIT`); 0 disables the check.
    #[arg(
        long,
        env = "REDIS_MIN_REPLICAS_ACK",
        default_value_t = 0,
        global = true
    )]
    pub redis_min_replicas_ack: u32,
    /// Where reads go: `master`, or `replica-preferred` (a replica at most
    /// `REDIS_MAX_REPLICA_LAG_MS` behind that holds the client's own writes).
    #[arg(
        long,
        env = "REDIS_READ_FROM",
        value_enum,
        default_value_t = ReadFromArg::Master,
        global = true
    )]
    pub redis_read_from: ReadFromArg,
    /// How far behind the master a replica may be and still serve reads, in milliseconds.
    #[arg(
        long,
        env = "REDIS_MAX_REPLICA_LAG_MS",
        default_value_t = 1000,
        global = true
    )]
    pub redis_max_replica_lag_ms: u64,
    /// Days the audit trail keeps an entry; 0 keeps every entry for good.
    #[arg(
        long,
        env = "REDIS_AUDIT_RETENTION_DAYS",
        default_value_t = 365,
        global = true
    )]
    pub redis_audit_retention_days: u64,
    /// TLS to the sentinels and data nodes (Sentinel set-up; `REDIS_URL` says `rediss://`).
    #[arg(
        long,
        env = "REDIS_TLS",
        default_value_t = false,
        value_parser = clap::builder::BoolishValueParser::new(),
        action = clap::ArgAction::Set,
        global = true
    )]
    pub redis_tls: bool,
    /// PEM file of the CAs that signed the Redis servers' certificates (default: the system's).
    #[arg(long, env = "REDIS_TLS_CA_FILE", global = true)]
    pub redis_tls_ca_file: Option<PathBuf>,
    /// PEM client certificate, for servers that require one (with `REDIS_TLS_KEY_FILE`).
    #[arg(long, env = "REDIS_TLS_CERT_FILE", global = true)]
    pub redis_tls_cert_file: Option<PathBuf>,
    /// `announced-host:port=reachable-host:port,...`: where to reach the servers the
    /// sentinels report at addresses not reachable from here (Docker, Kubernetes, NAT).
    #[arg(long, env = "REDIS_ADDRESS_MAP", global = true)]
    pub redis_address_map: Option<String>,
    /// PEM private key of the client certificate.
    #[arg(long, env = "REDIS_TLS_KEY_FILE", global = true)]
    pub redis_tls_key_file: Option<PathBuf>,
    /// The name the servers' certificates carry, checked instead of the addresses
    /// connected to (certificates made for a service name rather than each node).
    #[arg(long, env = "REDIS_TLS_SERVER_NAME", global = true)]
    pub redis_tls_server_name: Option<String>,
}

impl RedisArgs {
    /// The TLS settings, with their files read; `None` for plain TCP.
    fn tls(&self, target: &RedisTarget) -> Result<Option<TlsSettings>, String> {
        let wanted = match target {
            RedisTarget::Sentinel { .. } => self.redis_tls,
            RedisTarget::Single { url } => {
                let secure = url.starts_with("rediss://");
                if self.redis_tls && !secure {
                    return Err("REDIS_TLS=true, but REDIS_URL is not rediss://...: \
                                write the URL as rediss://"
                        .into());
                }
                secure
            }
        };
        let given = [
            ("REDIS_TLS_CA_FILE", self.redis_tls_ca_file.is_some()),
            ("REDIS_TLS_CERT_FILE", self.redis_tls_cert_file.is_some()),
            ("REDIS_TLS_KEY_FILE", self.redis_tls_key_file.is_some()),
            (
                "REDIS_TLS_SERVER_NAME",
                self.redis_tls_server_name.is_some(),
            ),
        ];
        if !wanted {
            return match given.iter().find(|(_, set)| *set) {
                Some((name, _)) => Err(format!(
                    "{name} is set but TLS is off: set REDIS_TLS=true (or use a rediss:// REDIS_URL)"
                )),
                None => Ok(None),
            };
        }
        let read = |name: &str, path: &PathBuf| {
            std::fs::read(path).map_err(|e| format!("{name}: cannot read {}: {e}", path.display()))
        };
        let client =
            match (&self.redis_tls_cert_file, &self.redis_tls_key_file) {
                (Some(cert), Some(key)) => Some(ClientCertificate {
                    cert_pem: read("REDIS_TLS_CERT_FILE", cert)?,
                    key_pem: read("REDIS_TLS_KEY_FILE", key)?,
                }),
                (None, None) => None,
                _ => return Err(
                    "REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE go together: set both or neither"
                        .into(),
                ),
            };
        let ca_pem = match &self.redis_tls_ca_file {
            Some(path) => Some(read("REDIS_TLS_CA_FILE", path)?),
            None => None,
        };
        let server_name = match self.redis_tls_server_name.as_deref().map(str::trim) {
            None => None,
            Some(name) if rustls::pki_types::ServerName::try_from(name).is_ok() => {
                Some(name.to_owned())
            }
            Some(name) => {
                return Err(format!(
                    "REDIS_TLS_SERVER_NAME must be a DNS name or an IP address, not {name:?}"
                ))
            }
        };
        Ok(Some(TlsSettings {
            ca_pem,
            client,
            server_name,
        }))
    }
}

/// Which store the server uses.
#[derive(Debug)]
pub enum StoreChoice {
    File(PathBuf),
    Redis(Box<RedisSettings>),
}

impl Config {
    /// How to serve, checked: the `ALLOWED_HOSTS` list must parse.
    pub fn serving(&self) -> Result<crate::Serving, String> {
        Ok(crate::Serving {
            listen: self.listen,
            site_root: self.site_root.clone(),
            allowed_hosts: crate::http::AllowedHosts::parse(
                self.allowed_hosts.as_deref(),
                self.listen,
            )?,
            limits: self.limits.limits(),
            metrics_listen: self.metrics_listen,
            access: crate::auth::Access::new(self.auth == AuthMode::Off, self.users_file.clone())?,
            session_times: crate::auth::sessions::SessionTimes {
                idle: Duration::from_secs(self.session_idle_timeout_s.max(1)),
                lifetime: Duration::from_secs(self.session_lifetime_s.max(1)),
            },
            trusted_proxies: crate::http::TrustedProxies::parse(
                self.trusted_proxies.as_deref().unwrap_or(""),
            )?,
            own_writes_window: self.replica_lag_bound(),
        })
    }

    /// How stale a read may be, when a Redis store reads from replicas.
    fn replica_lag_bound(&self) -> Option<Duration> {
        let redis = &self.redis;
        let set = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.trim().is_empty());
        let on_redis = set(&redis.redis_sentinels) || set(&redis.redis_url);
        (on_redis && redis.redis_read_from == ReadFromArg::ReplicaPreferred)
            .then(|| Duration::from_millis(redis.redis_max_replica_lag_ms))
    }

    pub fn store_choice(&self) -> Result<StoreChoice, String> {
        let redis = &self.redis;
        // An empty variable (`REDIS_SENTINELS=`) counts as not set.
        let set = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
        let target = if let Some(sentinels) = set(&redis.redis_sentinels) {
            RedisTarget::Sentinel {
                sentinels: parse_sentinels(&sentinels)
                    .map_err(|e| format!("REDIS_SENTINELS: {e}"))?,
                master_name: redis.redis_master_name.clone(),
            }
        } else if let Some(url) = set(&redis.redis_url) {
            RedisTarget::Single { url }
        } else {
            return Ok(StoreChoice::File(self.data_file.clone()));
        };
        let tls = redis.tls(&target)?;
        let address_map = AddressMap::parse(redis.redis_address_map.as_deref().unwrap_or(""))
            .map_err(|e| format!("REDIS_ADDRESS_MAP: {e}"))?;
        Ok(StoreChoice::Redis(Box::new(RedisSettings {
            target,
            username: redis.redis_username.clone(),
            password: redis.redis_password.clone(),
            sentinel_username: redis.redis_sentinel_username.clone(),
            sentinel_password: redis.redis_sentinel_password.clone(),
            db: redis.redis_db,
            key_prefix: redis.redis_key_prefix.clone(),
            command_timeout: Duration::from_millis(redis.redis_timeout_ms),
            request_deadline: Duration::from_millis(redis.redis_request_deadline_ms),
            min_replicas_ack: redis.redis_min_replicas_ack,
            audit_retention: (redis.redis_audit_retention_days > 0)
                .then(|| Duration::from_secs(redis.redis_audit_retention_days * 24 * 60 * 60)),
            tls,
            address_map,
            read_from: match redis.redis_read_from {
                ReadFromArg::Master => ReadFrom::Master,
                ReadFromArg::ReplicaPreferred => ReadFrom::ReplicaPreferred,
            },
            max_replica_lag: Duration::from_millis(redis.redis_max_replica_lag_ms),
        })))
    }
}
