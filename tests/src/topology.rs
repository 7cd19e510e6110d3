//! Real `redis-server` / `redis-sentinel` processes for tests: a master, replicas
//! and sentinels on free loopback ports in a temp dir, killed on drop. The store's
//! tests (`server/tests`) and the binary's (`tests/tests`) both use it.

pub mod network;
pub mod tls;

pub use network::{AppSide, Network};
use network::{Layout, Site, LOOPBACK};
use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo, Value,
};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tls::Certs;

pub const PASSWORD: &str = "test-secret";
pub const MASTER_NAME: &str = "mymaster";

#[derive(Clone, Debug)]
pub struct Options {
    pub replicas: usize,
    pub sentinels: usize,
    pub down_after_ms: u64,
    /// An ACL user (name, password, rules) on every sentinel, besides the
    /// password-less default user the test's own admin connections use.
    pub sentinel_user: Option<(&'static str, &'static str, &'static str)>,
    pub tls: Tls,
    /// Where the nodes run and how they reach each other (and the test them).
    pub network: Network,
    /// Lines added to every data node's configuration (`min-replicas-to-write 1`...).
    pub data_conf: String,
}

/// How the nodes talk: plain TCP, or TLS only (no plain port), asking clients
/// for a certificate or not. Replication and sentinels use TLS too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls {
    Off,
    /// Server certificates only (`tls-auth-clients no`).
    OneWay,
    /// Clients must show a certificate signed by the CA (`tls-auth-clients yes`).
    Mutual,
    /// As `OneWay`, and the store checks the certificates against their DNS name
    /// (`REDIS_TLS_SERVER_NAME`) rather than the addresses it connects to.
    OneWayByName,
}

/// How to reach one node of a running topology, for the admin helpers below,
/// which know only a port: its address (a namespace's, or loopback) and, with
/// TLS, the certificates.
#[derive(Clone)]
struct Reach {
    host: String,
    certs: Option<Certs>,
}

static REACH: Mutex<BTreeMap<u16, Reach>> = Mutex::new(BTreeMap::new());

fn reach(port: u16) -> Reach {
    REACH
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&port)
        .cloned()
        .unwrap_or_else(|| Reach {
            host: LOOPBACK.to_owned(),
            certs: None,
        })
}

impl Options {
    /// One master and one sentinel: enough for everything but failovers.
    pub fn light() -> Self {
        Self {
            replicas: 0,
            sentinels: 1,
            down_after_ms: 1000,
            sentinel_user: None,
            tls: Tls::Off,
            network: Network::Loopback,
            data_conf: String::new(),
        }
    }

    /// Master, two replicas, three sentinels (quorum 2).
    pub fn full() -> Self {
        Self {
            replicas: 2,
            sentinels: 3,
            down_after_ms: 1000,
            sentinel_user: None,
            tls: Tls::Off,
            network: Network::Loopback,
            data_conf: String::new(),
        }
    }
}

struct Node {
    port: u16,
    conf: PathBuf,
    sentinel: bool,
    /// The network namespace to run in, if any.
    namespace: Option<String>,
    child: Option<Child>,
}

impl Node {
    fn spawn(&mut self) {
        let program = if self.sentinel {
            "redis-sentinel"
        } else {
            "redis-server"
        };
        let mut command = match &self.namespace {
            Some(namespace) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", namespace, program]);
                command
            }
            None => Command::new(program),
        };
        let child = command
            .arg(&self.conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        self.child = Some(child);
    }

    /// SIGKILL: no shutdown, no goodbye to replicas or sentinels.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub struct Topology {
    dir: tempfile::TempDir,
    options: Options,
    /// With TLS: the certificates, made in `dir`.
    pub certs: Option<Certs>,
    data: Vec<Node>,
    sentinels: Vec<Node>,
    /// Dropped after the nodes (fields drop in order).
    layout: Layout,
    /// With namespaces: the host's listeners on the nodes' port numbers.
    _host_port_claims: Vec<TcpListener>,
}

impl Drop for Topology {
    fn drop(&mut self) {
        let mut reach = REACH.lock().unwrap_or_else(|e| e.into_inner());
        for node in self.sentinels.iter_mut().chain(self.data.iter_mut()) {
            node.kill();
            reach.remove(&node.port);
        }
        drop(reach);
        if std::thread::panicking() {
            // A failed test keeps the nodes' configs and logs for a post-mortem.
            let kept = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
            eprintln!("redis topology logs kept in {}", kept.keep().display());
        }
    }
}

/// Ports nobody listens on right now (all bound at once, so they differ).
pub fn free_ports(n: usize) -> Vec<u16> {
    ports_of(&bind_free_ports(n))
}

fn bind_free_ports(n: usize) -> Vec<TcpListener> {
    (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port"))
        .collect()
}

fn ports_of(listeners: &[TcpListener]) -> Vec<u16> {
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

impl Topology {
    pub async fn start(options: Options) -> Topology {
        let dir = tempfile::tempdir().expect("temp dir");
        let listeners = bind_free_ports(1 + options.replicas + options.sentinels);
        let ports = ports_of(&listeners);
        let layout = Layout::create(options.network);
        // Nodes in a namespace do not hold their ports on the host, so another
        // test could be handed the same numbers, and the per-port `REACH` entries
        // would then be overwritten or removed under this topology: it keeps them.
        let host_port_claims = if layout.namespaced() {
            listeners
        } else {
            drop(listeners); // now, not at the end of `start`: the nodes bind these
            Vec::new()
        };
        let certs = (options.tls != Tls::Off).then(|| Certs::generate(&dir.path().join("certs")));
        let tls_conf = certs
            .as_ref()
            .map(|certs| tls_conf(certs, options.tls))
            .unwrap_or_default();
        let data_sites: Vec<Site> = (0..=options.replicas)
            .map(|index| layout.data_site(index))
            .collect();
        let sentinel_site = layout.sentinel_site();
        {
            let mut reach = REACH.lock().unwrap_or_else(|e| e.into_inner());
            let sites = data_sites.iter().chain(std::iter::repeat(&sentinel_site));
            for (port, site) in ports.iter().zip(sites) {
                let reach_node = Reach {
                    host: site.test_host.clone(),
                    certs: certs.clone(),
                };
                reach.insert(*port, reach_node);
            }
        }
        let place = Place {
            dir: dir.path(),
            tls_conf: &tls_conf,
            data_conf: &options.data_conf,
        };
        let master = (data_sites[0].peer_host.clone(), ports[0]);
        let mut data = Vec::new();
        for (index, (port, site)) in ports.iter().zip(&data_sites).enumerate() {
            let replica_of = (index > 0).then_some(&master);
            data.push(data_node(&place, site, *port, replica_of));
        }
        let quorum = options.sentinels.min(2);
        let sentinels = ports[options.replicas + 1..]
            .iter()
            .map(|port| {
                sentinel_node(
                    &place,
                    &sentinel_site,
                    *port,
                    &master,
                    quorum,
                    options.down_after_ms,
                    options.sentinel_user,
                )
            })
            .collect();
        let mut topology = Topology {
            dir,
            options,
            certs,
            layout,
            _host_port_claims: host_port_claims,
            data,
            sentinels,
        };
        for node in &mut topology.data {
            node.spawn();
        }
        for node in &topology.data {
            topology.wait_ping(node.port, true).await;
        }
        for port in topology.data_ports().into_iter().skip(1) {
            wait_replica_in_sync(port, Duration::from_secs(15)).await;
        }
        for node in &mut topology.sentinels {
            node.spawn();
        }
        for index in 0..topology.sentinels.len() {
            topology.wait_sentinel_ready(index).await;
        }
        topology
    }

    /// Creates the ACL user `name` on every data node, or adds `rules` to it (ACLs
    /// are per node, not replicated). A new user has no keys, channels or commands.
    pub async fn add_data_user(&self, name: &str, password: &str, rules: &str) {
        for port in self.data_ports() {
            let mut admin = data_conn(port).await.expect("admin connection");
            let mut command = redis::cmd("ACL");
            command.arg("SETUSER").arg(name).arg("on");
            command.arg(format!(">{password}"));
            command.arg(rules.split_whitespace().collect::<Vec<_>>());
            let _: () = command
                .query_async(&mut admin)
                .await
                .unwrap_or_else(|e| panic!("ACL SETUSER {name} {rules} on {port}: {e}"));
        }
    }

    /// The address the test reaches the node on `port` at.
    pub fn addr_of(&self, port: u16) -> String {
        format!("{}:{port}", reach(port).host)
    }

    /// Behind NAT: the addresses the sentinels report, mapped to where the test
    /// reaches them (`announced=reachable`, as `REDIS_ADDRESS_MAP` takes them).
    pub fn address_map(&self) -> String {
        if self.options.network != Network::BehindNat {
            return String::new();
        }
        let entries: Vec<String> = self
            .data_ports()
            .iter()
            .map(|port| format!("{LOOPBACK}:{port}={}", self.addr_of(*port)))
            .collect();
        entries.join(",")
    }

    /// Cuts the first master off from the replicas and sentinels, and from the
    /// test too if it is `app`'s side (needs [`Network::Split`]).
    pub fn partition(&self, app: AppSide) {
        self.layout.partition(app);
    }

    /// Ends [`Topology::partition`].
    pub fn heal(&self) {
        self.layout.heal();
    }

    /// The sentinels' ACL user, if they have one: (name, password, rules).
    pub fn sentinel_user(&self) -> Option<(&'static str, &'static str, &'static str)> {
        self.options.sentinel_user
    }

    /// The sentinels' `down-after-milliseconds`.
    pub fn down_after_ms(&self) -> u64 {
        self.options.down_after_ms
    }

    pub fn tls(&self) -> Tls {
        self.options.tls
    }

    pub fn data_ports(&self) -> Vec<u16> {
        self.data.iter().map(|n| n.port).collect()
    }

    pub fn sentinel_addrs(&self) -> Vec<(String, u16)> {
        self.sentinels
            .iter()
            .map(|n| (reach(n.port).host, n.port))
            .collect()
    }

    async fn wait_ping(&self, port: u16, data: bool) {
        wait_for(
            Duration::from_secs(10),
            &format!("PING on {port}"),
            || async move {
                let mut conn = if data {
                    data_conn(port).await.ok()?
                } else {
                    sentinel_conn(port).await.ok()?
                };
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .ok()
            },
        )
        .await;
    }

    /// Waits until the sentinel knows the master, every replica and every other sentinel.
    async fn wait_sentinel_ready(&self, index: usize) {
        let port = self.sentinels[index].port;
        let (replicas, others) = (self.options.replicas, self.sentinels.len() - 1);
        wait_for(
            Duration::from_secs(20),
            &format!("sentinel {port} ready"),
            || async move {
                let mut conn = sentinel_conn(port).await.ok()?;
                let info: Vec<String> = redis::cmd("SENTINEL")
                    .arg("master")
                    .arg(MASTER_NAME)
                    .query_async(&mut conn)
                    .await
                    .ok()?;
                let field = |name: &str| -> Option<usize> {
                    let at = info.iter().position(|f| f == name)?;
                    info.get(at + 1)?.parse().ok()
                };
                (field("num-slaves")? >= replicas && field("num-other-sentinels")? >= others)
                    .then_some(())
            },
        )
        .await;
    }

    /// The master as the first reachable sentinel names it.
    pub async fn master_port(&self) -> Option<u16> {
        for node in self.sentinels.iter().filter(|n| n.child.is_some()) {
            let Ok(mut conn) = sentinel_conn(node.port).await else {
                continue;
            };
            let answer: Option<(String, u16)> = redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(MASTER_NAME)
                .query_async(&mut conn)
                .await
                .ok()?;
            return answer.map(|(_, port)| port);
        }
        None
    }

    /// `SENTINEL FAILOVER` through the first running sentinel.
    pub async fn failover(&self) {
        self.try_failover()
            .await
            .expect("SENTINEL FAILOVER accepted");
    }

    /// `SENTINEL FAILOVER`, or why the sentinel refused it (`NOGOODSLAVE` while
    /// no replica looks healthy to it yet, say).
    pub async fn try_failover(&self) -> Result<(), String> {
        let node = self
            .sentinels
            .iter()
            .find(|n| n.child.is_some())
            .expect("a sentinel");
        let mut conn = sentinel_conn(node.port).await.expect("sentinel connection");
        let reply: Value = redis::cmd("SENTINEL")
            .arg("FAILOVER")
            .arg(MASTER_NAME)
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        assert_eq!(reply, Value::Okay);
        Ok(())
    }

    /// The master every running sentinel names, if they agree and it says ROLE master.
    pub async fn agreed_master(&self) -> Option<u16> {
        let mut named = Vec::new();
        for node in self.sentinels.iter().filter(|n| n.child.is_some()) {
            let mut conn = sentinel_conn(node.port).await.ok()?;
            let (_, master): (String, u16) = redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(MASTER_NAME)
                .query_async(&mut conn)
                .await
                .ok()?;
            named.push(master);
        }
        let master = *named.first()?;
        if named.iter().any(|p| *p != master) {
            return None;
        }
        (role(master).await? == "master").then_some(master)
    }

    /// Waits until every running sentinel names a master other than `old`, and it says
    /// ROLE master. (Under load the sentinels may fail over once more afterwards: a test
    /// that needs the settled master asks [`Topology::agreed_master`] again at its end.)
    pub async fn wait_new_master(&self, old: u16, within: Duration) -> u16 {
        wait_for(within, "a new master", || async move {
            self.agreed_master().await.filter(|new| *new != old)
        })
        .await
    }

    /// SIGKILLs the data node on `port`.
    pub fn kill_data(&mut self, port: u16) {
        let node = self
            .data
            .iter_mut()
            .find(|n| n.port == port)
            .expect("a data node");
        node.kill();
    }

    /// SIGSTOPs (`paused`) or SIGCONTs the data node on `port`: a server that
    /// hangs with its connections open, as one whose machine stalls.
    pub fn pause_data(&self, port: u16, paused: bool) {
        let node = self
            .data
            .iter()
            .find(|n| n.port == port)
            .expect("a data node");
        let child = node.child.as_ref().expect("a running data node");
        let signal = if paused {
            nix::sys::signal::Signal::SIGSTOP
        } else {
            nix::sys::signal::Signal::SIGCONT
        };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, signal).expect("signal the data node");
    }

    /// SIGKILLs the current master and returns its port.
    pub async fn kill_master(&mut self) -> u16 {
        let port = self.master_port().await.expect("a master");
        self.kill_data(port);
        port
    }

    pub fn stop_sentinel(&mut self, index: usize) {
        self.sentinels[index].kill();
    }

    /// Restarts a stopped sentinel from its (self-rewritten) config.
    pub async fn start_sentinel(&mut self, index: usize) {
        self.sentinels[index].spawn();
        self.wait_ping(self.sentinels[index].port, false).await;
    }

    pub fn stop_all_sentinels(&mut self) {
        for index in 0..self.sentinels.len() {
            self.stop_sentinel(index);
        }
    }

    pub async fn start_all_sentinels(&mut self) {
        for index in 0..self.sentinels.len() {
            self.start_sentinel(index).await;
        }
    }
}

/// The lines that make a node speak only TLS on its port (the `port` line comes after).
fn tls_conf(certs: &Certs, tls: Tls) -> String {
    format!(
        "tls-port {{port}}\ntls-cert-file {}\ntls-key-file {}\ntls-ca-cert-file {}\n\
         tls-auth-clients {}\ntls-replication yes\n",
        certs.server_cert.display(),
        certs.server_key.display(),
        certs.ca.display(),
        if tls == Tls::Mutual { "yes" } else { "no" },
    )
}

/// `port P` for plain TCP; `port 0` and `tls-port P` (and the rest) with TLS.
fn listen_conf(port: u16, tls_conf: &str) -> String {
    if tls_conf.is_empty() {
        format!("port {port}\n")
    } else {
        format!("port 0\n{}", tls_conf.replace("{port}", &port.to_string()))
    }
}

/// What every node of a topology shares: its directory and configuration parts.
struct Place<'a> {
    dir: &'a std::path::Path,
    tls_conf: &'a str,
    /// Lines added to every data node's configuration.
    data_conf: &'a str,
}

fn data_node(place: &Place, site: &Site, port: u16, replica_of: Option<&(String, u16)>) -> Node {
    let node_dir = place.dir.join(format!("redis-{port}"));
    std::fs::create_dir_all(&node_dir).unwrap();
    let mut conf = format!(
        "{listen}{bind}dir {dir}\nlogfile {dir}/redis.log\n\
         requirepass {PASSWORD}\nmasterauth {PASSWORD}\nsave \"\"\nappendonly no\n\
         repl-diskless-sync yes\nrepl-diskless-sync-delay 0\n{extra}",
        listen = listen_conf(port, place.tls_conf),
        bind = site.bind,
        extra = place.data_conf,
        dir = node_dir.display()
    );
    if let Some((host, master)) = replica_of {
        conf.push_str(&format!("replicaof {host} {master}\n"));
    }
    let path = node_dir.join("redis.conf");
    std::fs::write(&path, conf).unwrap();
    Node {
        port,
        conf: path,
        sentinel: false,
        namespace: site.namespace.clone(),
        child: None,
    }
}

fn sentinel_node(
    place: &Place,
    site: &Site,
    port: u16,
    (master_host, master): &(String, u16),
    quorum: usize,
    down_after_ms: u64,
    user: Option<(&str, &str, &str)>,
) -> Node {
    let node_dir = place.dir.join(format!("sentinel-{port}"));
    std::fs::create_dir_all(&node_dir).unwrap();
    // A short failover-timeout: a failed election is retried after twice this.
    let conf = format!(
        "{listen}{bind}dir {dir}\nlogfile {dir}/sentinel.log\n\
         sentinel monitor {MASTER_NAME} {master_host} {master} {quorum}\n\
         sentinel auth-pass {MASTER_NAME} {PASSWORD}\n\
         sentinel down-after-milliseconds {MASTER_NAME} {down_after_ms}\n\
         sentinel failover-timeout {MASTER_NAME} 4000\n\
         sentinel parallel-syncs {MASTER_NAME} 2\n{user}",
        listen = listen_conf(port, place.tls_conf),
        bind = site.bind,
        dir = node_dir.display(),
        user = user
            .map(|(name, password, rules)| format!("user {name} on >{password} {rules}\n"))
            .unwrap_or_default(),
    );
    let path = node_dir.join("sentinel.conf");
    std::fs::write(&path, conf).unwrap();
    Node {
        port,
        conf: path,
        sentinel: true,
        namespace: site.namespace.clone(),
        child: None,
    }
}

async fn connect(port: u16, password: Option<&str>) -> redis::RedisResult<MultiplexedConnection> {
    let mut redis = RedisConnectionInfo::default().set_skip_set_lib_name();
    if let Some(password) = password {
        redis = redis.set_password(password);
    }
    let Reach { host, certs } = reach(port);
    let client = match certs {
        None => Client::open(
            (host.as_str(), port)
                .into_connection_info()?
                .set_redis_settings(redis),
        )?,
        Some(certs) => {
            let addr = ConnectionAddr::TcpTls {
                host,
                port,
                insecure: false,
                tls_params: None,
            };
            let info = addr.into_connection_info()?.set_redis_settings(redis);
            Client::build_with_tls(info, certs.client_tls())?
        }
    };
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_millis(500)))
        .set_response_timeout(Some(Duration::from_secs(2)));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// An admin connection to a data node.
pub async fn data_conn(port: u16) -> redis::RedisResult<MultiplexedConnection> {
    connect(port, Some(PASSWORD)).await
}

pub async fn sentinel_conn(port: u16) -> redis::RedisResult<MultiplexedConnection> {
    connect(port, None).await
}

/// The `ROLE` of a data node ("master"/"slave"), `None` if unreachable.
pub async fn role(port: u16) -> Option<String> {
    let mut conn = data_conn(port).await.ok()?;
    let reply: Vec<Value> = redis::cmd("ROLE").query_async(&mut conn).await.ok()?;
    redis::from_redis_value_ref(reply.first()?).ok()
}

/// Polls `probe` every 50 ms until it gives a value; panics after `within`.
pub async fn wait_for<T, F, Fut>(within: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            started.elapsed() < within,
            "timed out after {within:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `port` is a replica whose link to its master is up.
pub async fn wait_replica_in_sync(port: u16, within: Duration) {
    wait_for(within, &format!("replica {port} in sync"), || async move {
        let info: String = redis::cmd("INFO")
            .arg("replication")
            .query_async(&mut data_conn(port).await.ok()?)
            .await
            .ok()?;
        (info.contains("role:slave") && info.contains("master_link_status:up")).then_some(())
    })
    .await;
}
