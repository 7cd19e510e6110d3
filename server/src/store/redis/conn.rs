//! Opening connections to data nodes and sentinels, with timeouts on everything.

use super::settings::RedisSettings;
use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Client, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo,
    RedisResult, Value,
};
use std::future::Future;
use std::time::Duration;

/// A server address as sentinels report it.
pub type Addr = (String, u16);

pub fn show(addr: &Addr) -> String {
    format!("{}:{}", addr.0, addr.1)
}

/// Connection details for a data node (master or replica) at `addr`.
pub fn data_node(settings: &RedisSettings, addr: &Addr) -> RedisResult<ConnectionInfo> {
    let info = addr.clone().into_connection_info()?;
    Ok(with_credentials(settings, info))
}

/// Connection details for the fixed server of a `Single` target. Credentials and
/// database from the settings win over those in the URL.
pub fn single(settings: &RedisSettings, url: &str) -> RedisResult<ConnectionInfo> {
    Ok(with_credentials(settings, url.into_connection_info()?))
}

fn with_credentials(settings: &RedisSettings, info: ConnectionInfo) -> ConnectionInfo {
    let mut redis = info.redis_settings().clone();
    if let Some(username) = &settings.username {
        redis = redis.set_username(username);
    }
    if let Some(password) = &settings.password {
        redis = redis.set_password(password);
    }
    if settings.db != 0 {
        redis = redis.set_db(settings.db);
    }
    info.set_redis_settings(redis)
}

/// Connection details for a sentinel: its own user and password, no database,
/// and no `CLIENT SETINFO` (older sentinels reject it).
pub fn sentinel(settings: &RedisSettings, addr: &Addr) -> RedisResult<ConnectionInfo> {
    let mut redis = RedisConnectionInfo::default().set_skip_set_lib_name();
    if let Some(username) = &settings.sentinel_username {
        redis = redis.set_username(username);
    }
    if let Some(password) = &settings.sentinel_password {
        redis = redis.set_password(password);
    }
    Ok(addr
        .clone()
        .into_connection_info()?
        .set_redis_settings(redis))
}

/// Opens a multiplexed connection: one TCP connection that many concurrent
/// requests share by pipelining. Unlike a `ConnectionManager` it never reconnects
/// on its own, which is what we want: after an error the *master* may have moved,
/// so the tracker decides where the next connection goes.
pub async fn open(
    info: ConnectionInfo,
    connect_timeout: Duration,
    response_timeout: Duration,
) -> RedisResult<MultiplexedConnection> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(connect_timeout))
        .set_response_timeout(Some(response_timeout));
    let client = Client::open(info)?;
    // Belt and braces: the handshake (AUTH, SELECT) is bounded too.
    within(
        connect_timeout + response_timeout,
        client.get_multiplexed_async_connection_with_config(&config),
    )
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

/// The node's replication role as `ROLE` reports it: "master", "slave" or "sentinel".
pub async fn role(conn: &mut MultiplexedConnection) -> RedisResult<String> {
    let reply: Vec<Value> = redis::cmd("ROLE").query_async(conn).await?;
    match reply.first() {
        Some(first) => Ok(redis::from_redis_value_ref(first)?),
        None => Ok(String::new()),
    }
}
