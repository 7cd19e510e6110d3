//! Opening connections to data nodes and sentinels, over TCP or TLS, with
//! timeouts on everything.

pub use super::addr::{show, Addr};
use super::settings::{RedisSettings, TlsSettings};
use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Client, ClientTlsConfig, ConnectionAddr, ConnectionInfo,
    IntoConnectionInfo, RedisConnectionInfo, RedisError, RedisResult, TlsCertificates, Value,
};
use std::future::Future;
use std::time::Duration;

/// Where to connect and how (plain TCP, or TLS with its certificates).
#[derive(Clone, Debug)]
pub struct Endpoint {
    info: ConnectionInfo,
    /// With a TLS server name set, `info` names that server name as its host
    /// (the TLS library checks the certificate against the host it is given), and
    /// this is the address actually dialled.
    dial: Option<Addr>,
}

impl Endpoint {
    pub fn info(&self) -> &ConnectionInfo {
        &self.info
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.info.addr(), ConnectionAddr::TcpTls { .. })
    }

    /// `config`, dialling the node's own address where the host in `info` is a
    /// TLS server name.
    fn dialling(&self, config: AsyncConnectionConfig) -> AsyncConnectionConfig {
        match &self.dial {
            Some(addr) => config.set_dns_resolver(Dial(addr.clone())),
            None => config,
        }
    }
}

/// Resolves whatever name it is asked for to one node's address.
struct Dial(Addr);

impl redis::io::AsyncDNSResolver for Dial {
    fn resolve<'a, 'b: 'a>(
        &'a self,
        _host: &'b str,
        _port: u16,
    ) -> redis::RedisFuture<'a, Box<dyn Iterator<Item = std::net::SocketAddr> + Send + 'a>> {
        Box::pin(async move {
            let found = tokio::net::lookup_host((self.0 .0.as_str(), self.0 .1)).await?;
            Ok(Box::new(found.collect::<Vec<_>>().into_iter())
                as Box<dyn Iterator<Item = std::net::SocketAddr> + Send>)
        })
    }
}

/// A data node (master or replica) at `addr`.
pub fn data_node(settings: &RedisSettings, addr: &Addr) -> RedisResult<Endpoint> {
    let redis = data_credentials(settings, RedisConnectionInfo::default());
    endpoint(settings.tls.as_ref(), addr, redis)
}

/// The fixed server of a `Single` target. Credentials and database from the
/// settings win over those in the URL; `rediss://` means TLS.
pub fn single(settings: &RedisSettings, url: &str) -> RedisResult<Endpoint> {
    let info = url.into_connection_info()?;
    let addr = match info.addr() {
        ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
            (host.clone(), *port)
        }
        // A Unix socket: no TLS, nothing to map.
        _ => {
            let redis = data_credentials(settings, info.redis_settings().clone());
            return Ok(Endpoint {
                info: info.set_redis_settings(redis),
                dial: None,
            });
        }
    };
    // `rediss://` asks for TLS even where the settings name no certificates.
    let secure = matches!(info.addr(), ConnectionAddr::TcpTls { .. });
    let tls = settings.tls.as_ref().or(secure.then_some(&SYSTEM_TRUST));
    endpoint(
        tls,
        &addr,
        data_credentials(settings, info.redis_settings().clone()),
    )
}

fn data_credentials(
    settings: &RedisSettings,
    mut redis: RedisConnectionInfo,
) -> RedisConnectionInfo {
    if let Some(username) = &settings.username {
        redis = redis.set_username(username);
    }
    if let Some(password) = &settings.password {
        redis = redis.set_password(password);
    }
    if settings.db != 0 {
        redis = redis.set_db(settings.db);
    }
    redis
}

/// A sentinel: its own user and password, no database, and no `CLIENT SETINFO`
/// (older sentinels reject it).
pub fn sentinel(settings: &RedisSettings, addr: &Addr) -> RedisResult<Endpoint> {
    let mut redis = RedisConnectionInfo::default().set_skip_set_lib_name();
    if let Some(username) = &settings.sentinel_username {
        redis = redis.set_username(username);
    }
    if let Some(password) = &settings.sentinel_password {
        redis = redis.set_password(password);
    }
    endpoint(settings.tls.as_ref(), addr, redis)
}

/// TLS trusting the system's CAs, without a client certificate.
const SYSTEM_TRUST: TlsSettings = TlsSettings {
    ca_pem: None,
    client: None,
    server_name: None,
};

/// Plain TCP to `addr`, or TLS with the given certificates.
fn endpoint(
    tls: Option<&TlsSettings>,
    addr: &Addr,
    redis: RedisConnectionInfo,
) -> RedisResult<Endpoint> {
    let Some(tls) = tls else {
        let info = addr
            .clone()
            .into_connection_info()?
            .set_redis_settings(redis);
        return Ok(Endpoint { info, dial: None });
    };
    let plain = ConnectionAddr::TcpTls {
        host: tls.server_name.clone().unwrap_or_else(|| addr.0.clone()),
        port: addr.1,
        insecure: false,
        tls_params: None,
    }
    .into_connection_info()?
    .set_redis_settings(redis);
    let certificates = TlsCertificates {
        client_tls: tls.client.as_ref().map(|c| ClientTlsConfig {
            client_cert: c.cert_pem.clone(),
            client_key: c.key_pem.clone(),
        }),
        root_cert: tls.ca_pem.clone(),
    };
    let info = Client::build_with_tls(plain, certificates)?
        .get_connection_info()
        .clone();
    let dial = tls.server_name.is_some().then(|| addr.clone());
    Ok(Endpoint { info, dial })
}

/// Opens a multiplexed connection: one TCP connection that many concurrent
/// requests share by pipelining. Unlike a `ConnectionManager` it never reconnects
/// on its own, which is what we want: after an error the *master* may have moved,
/// so the tracker decides where the next connection goes.
pub async fn open(
    endpoint: &Endpoint,
    connect_timeout: Duration,
    response_timeout: Duration,
) -> RedisResult<MultiplexedConnection> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(connect_timeout))
        .set_response_timeout(Some(response_timeout));
    connect(endpoint, config, connect_timeout + response_timeout).await
}

/// Opens a connection that receives a sentinel's events: RESP3, whose pushes
/// arrive on the returned channel (a `Disconnection` push when the connection
/// drops), while the connection still answers commands such as `PING`.
pub async fn open_subscriber(
    endpoint: &Endpoint,
    timeout: Duration,
) -> RedisResult<(
    MultiplexedConnection,
    tokio::sync::mpsc::UnboundedReceiver<redis::PushInfo>,
)> {
    let (pushes, received) = tokio::sync::mpsc::unbounded_channel();
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
        .set_push_sender(pushes);
    let mut resp3 = endpoint.clone();
    resp3.info = resp3.info.clone().set_redis_settings(
        resp3
            .info
            .redis_settings()
            .clone()
            .set_protocol(redis::ProtocolVersion::RESP3),
    );
    let conn = connect(&resp3, config, timeout * 2).await?;
    Ok((conn, received))
}

async fn connect(
    endpoint: &Endpoint,
    config: AsyncConnectionConfig,
    limit: Duration,
) -> RedisResult<MultiplexedConnection> {
    // Belt and braces: the handshake (TLS, AUTH, SELECT) is bounded too.
    within(limit, async {
        match endpoint.info.addr() {
            ConnectionAddr::Tcp(host, port) => {
                let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                let redis = endpoint.info.redis_settings();
                let (conn, driver) =
                    MultiplexedConnection::new_with_config(redis, stream, config).await?;
                super::driver::spawn(driver);
                Ok(conn)
            }
            // TLS and Unix sockets: the crate's connectors (it keeps them to itself,
            // so these drivers run as it spawns them).
            _ => {
                let client = Client::open(endpoint.info.clone())?;
                client
                    .get_multiplexed_async_connection_with_config(&endpoint.dialling(config))
                    .await
            }
        }
    })
    .await
}

/// Runs a redis future with a timeout that reports as an I/O timeout.
pub async fn within<T>(
    limit: Duration,
    future: impl Future<Output = RedisResult<T>>,
) -> RedisResult<T> {
    match tokio::time::timeout(limit, future).await {
        Ok(result) => result,
        Err(_) => Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {} ms", limit.as_millis()),
        )
        .into()),
    }
}

/// A node's replication role, as `ROLE` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    Master,
    /// `ROLE` says "slave".
    Replica,
    Sentinel,
    /// Anything else a server might say, kept for the log.
    Other(String),
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Master => "master",
            Role::Replica => "replica",
            Role::Sentinel => "sentinel",
            Role::Other(other) => other,
        })
    }
}

pub async fn role(conn: &mut MultiplexedConnection) -> RedisResult<Role> {
    let reply: Vec<Value> = redis::cmd("ROLE").query_async(conn).await?;
    let name: String = match reply.first() {
        Some(first) => redis::from_redis_value_ref(first)?,
        None => String::new(),
    };
    Ok(match name.as_str() {
        "master" => Role::Master,
        "slave" => Role::Replica,
        "sentinel" => Role::Sentinel,
        _ => Role::Other(name),
    })
}

/// An error as one short line, saying what to fix when it is a TLS problem.
/// `tls` tells whether the connection used TLS.
pub fn explain(e: &RedisError, tls: bool) -> String {
    if e.kind() == redis::ErrorKind::AuthenticationFailed {
        return "AUTH failed".to_owned();
    }
    let line = e.to_string().lines().next().unwrap_or_default().to_owned();
    let hint = if tls {
        tls_hint(&line)
    } else {
        plain_hint(&line)
    };
    match hint {
        Some(hint) => format!("{hint} ({line})"),
        None => line,
    }
}

/// What a TLS failure means, from rustls's wording.
fn tls_hint(line: &str) -> Option<&'static str> {
    let says = |words: &[&str]| words.iter().any(|w| line.contains(w));
    Some(
        if says(&["UnknownIssuer", "UnknownCA"]) && line.contains("invalid peer") {
            "TLS: the server's certificate is not signed by a CA we trust (see REDIS_TLS_CA_FILE)"
        } else if says(&["expired", "Expired"]) {
            "TLS: the server's certificate has expired"
        } else if says(&["NotValidYet", "not valid before"]) {
            "TLS: the server's certificate is not valid yet (check the clocks)"
        } else if says(&["NotValidForName", "not valid for name"]) {
            "TLS: the server's certificate does not name the address connected to \
         (it must name the addresses the sentinels report, or set \
         REDIS_TLS_SERVER_NAME to the name it has)"
        } else if says(&["CertificateRequired"]) {
            "TLS: the server requires a client certificate \
         (set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE)"
        } else if says(&[
            "alert: BadCertificate",
            "alert: UnknownCA",
            "alert: CertificateUnknown",
        ]) {
            "TLS: the server rejected our client certificate (see REDIS_TLS_CERT_FILE)"
        } else if says(&["corrupt message", "InvalidContentType", "InvalidMessage"]) {
            "TLS: the server does not speak TLS here (a plain-text port?)"
        } else if says(&["timed out", "no answer within"]) {
            "TLS: no answer to the TLS greeting (a plain-text port?)"
        } else if says(&HUNG_UP) {
            // With TLS 1.3 a missing client certificate is often seen only as the
            // server closing the connection after the handshake.
            "TLS: the server hung up (does it require a client certificate? \
         set REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE)"
        } else {
            return None;
        },
    )
}

/// How the I/O layer words a connection the server closed.
const HUNG_UP: [&str; 5] = [
    "reset by peer",
    "Broken pipe",
    "broken pipe",
    "closed",
    "end of file",
];

/// A plain-text client that a TLS port hung up on.
fn plain_hint(line: &str) -> Option<&'static str> {
    let says = |words: &[&str]| words.iter().any(|w| line.contains(w));
    says(&HUNG_UP)
        .then_some("the server hung up (a TLS port? then set REDIS_TLS=true or use rediss://)")
}
