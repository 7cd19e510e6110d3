//! What the tests share: starting the real server binary on a free loopback port
//! with its own data file and talking to it over real HTTP (here, [`api`], [`ui`]);
//! real Redis topologies ([`topology`]); one write-load harness ([`load`]).

pub mod api;
pub mod load;
pub mod topology;
pub mod ui;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server binary under test: `SERVER_BIN`, else the newest build in the target dir.
pub fn server_binary() -> PathBuf {
    if let Ok(path) = std::env::var("SERVER_BIN") {
        return PathBuf::from(path);
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| manifest_dir().join("../target"));
    ["release", "debug"]
        .iter()
        .map(|profile| target.join(profile).join("customer-records"))
        .filter(|path| path.exists())
        .max_by_key(|path| path.metadata().and_then(|m| m.modified()).ok())
        .expect("no server binary: build it first (scripts/test.sh does) or set SERVER_BIN")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .unwrap()
        .port()
}

/// The port of the server's "listening on http://ADDRESS:PORT" log line.
fn listening_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once("listening on http://")?;
    let address = rest.split_whitespace().next()?;
    address.rsplit_once(':')?.1.parse().ok()
}

/// A running server process, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    pub data_file: PathBuf,
    env: Vec<(String, String)>,
    /// Every line the server has logged so far.
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the server on the embedded store with `data_file`.
    pub fn start(data_file: &Path) -> Server {
        Server::start_with_env(data_file, &[])
    }

    pub fn start_with_env(data_file: &Path, env: &[(&str, &str)]) -> Server {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Server::spawn(data_file.to_owned(), None, env)
    }

    /// Starts the server on `port`, or on one the kernel picks (read back from
    /// the server's "listening on" line): a port found free beforehand can be
    /// taken by another test in between.
    fn spawn(data_file: PathBuf, port: Option<u16>, env: Vec<(String, String)>) -> Server {
        let mut command = Command::new(server_binary());
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            // Warnings, and the server's own start-up lines (its address).
            .env("RUST_LOG", "warn,server=info")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", port.unwrap_or(0)))
            .arg("--data-file")
            .arg(&data_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Ok(site) = std::env::var("LEPTOS_SITE_ROOT") {
            command.env("LEPTOS_SITE_ROOT", site);
        }
        for (key, value) in &env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("start the server binary");
        // Forward the server's log (stdout) and errors (stderr) so a failing test
        // shows them, and keep them.
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (address_tx, address_rx) = std::sync::mpsc::channel();
        let outputs: [Box<dyn std::io::Read + Send>; 2] = [
            Box::new(child.stdout.take().unwrap()),
            Box::new(child.stderr.take().unwrap()),
        ];
        for output in outputs {
            let kept = log.clone();
            let address_tx = address_tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(output).lines().map_while(Result::ok) {
                    eprintln!("[server] {line}");
                    if let Some(port) = listening_port(&line) {
                        let _ = address_tx.send(port);
                    }
                    kept.lock().unwrap().push(line);
                }
            });
        }
        let port = match address_rx.recv_timeout(Duration::from_secs(20)) {
            Ok(port) => port,
            Err(_) => panic!(
                "the server did not say where it listens within 20 s: {:#?}",
                log.lock().unwrap()
            ),
        };
        let server = Server {
            child,
            port,
            data_file,
            env,
            log,
        };
        server.wait_until_ready();
        server
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server did not start listening on port {}", self.port);
    }

    /// The lines the server has logged so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process with SIGKILL (no chance to clean up) and waits for it.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits up to `within` for the process to exit; its exit
    /// status, or `None` if it was still running (then it is killed).
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        use nix::sys::signal::{kill, Signal};
        use nix::unistd::Pid;
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill_hard();
        None
    }

    /// Starts the same configuration again (same data file and port).
    pub fn restart(mut self) -> Server {
        self.kill_hard();
        let data_file = self.data_file.clone();
        let env = std::mem::take(&mut self.env);
        let port = self.port;
        drop(self);
        Server::spawn(data_file, Some(port), env)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the server binary as a one-shot command (import, export, ...) and
/// returns (success, stdout + stderr).
pub fn run_command(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut command = Command::new(server_binary());
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.args(args).output().expect("run the server binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// `GET url`, as text (whatever the status).
pub async fn get_text(client: &reqwest::Client, url: &str) -> String {
    client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// `GET url`, parsed as JSON (whatever the status).
pub async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e:?}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url} is not JSON: {e}"))
}

/// The sample data of the original app, shipped with the repository.
pub fn sample_data() -> PathBuf {
    manifest_dir().join("fixtures/customers.json")
}

/// This crate's directory, as cargo gives it to the running test: the path
/// compiled in goes stale when a build is reused from another checkout.
fn manifest_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// Parses Prometheus text (what `/metrics` answers): sample name with labels
/// (as written) → value. Panics on a line that is not a comment or a sample.
pub fn parse_prometheus(text: &str) -> std::collections::BTreeMap<String, f64> {
    let mut samples = std::collections::BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (name, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("not a Prometheus sample: {line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a Prometheus value: {line:?}"));
        samples.insert(name.to_owned(), value);
    }
    samples
}

/// The sum of every sample of `metric` whose labels contain all of `labels`.
pub fn metric_sum(
    samples: &std::collections::BTreeMap<String, f64>,
    metric: &str,
    labels: &[&str],
) -> f64 {
    samples
        .iter()
        .filter(|(name, _)| {
            (name.as_str() == metric || name.starts_with(&format!("{metric}{{")))
                && labels.iter().all(|l| name.contains(l))
        })
        .map(|(_, value)| value)
        .sum()
}

/// Signs in through the sign-in form as a browser without JavaScript would;
/// returns the session cookie's token. Panics unless it succeeds.
pub async fn sign_in(base: &str, name: &str, password: &str) -> String {
    let response = no_redirects()
        .post(format!("{base}/sign-in"))
        .form(&[("name", name), ("password", password), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "signing in as {name}");
    session_cookie(&response).expect("a session cookie")
}

/// The token of the `session` cookie an answer sets, if it sets one.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|cookie| cookie.strip_prefix("session="))
        .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        .filter(|token| !token.is_empty())
}

/// A client that shows redirects instead of following them.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Runs `customer-records ARGS` on `users_file` with `stdin`: whether it
/// succeeded, its stdout and its stderr.
pub fn run_admin(users_file: &Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(server_binary())
        .args(args)
        .env_clear()
        .env("USERS_FILE", users_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses its arguments exits without reading stdin, so a
    // broken pipe here is part of a normal refusal, not a failure.
    if let Err(error) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// [`run_admin`], which must succeed; its stdout.
pub fn admin_command(users_file: &Path, args: &[&str], stdin: &str) -> String {
    let (ok, stdout, stderr) = run_admin(users_file, args, stdin);
    assert!(ok, "{args:?}: {stderr}");
    stdout
}

/// Adds each `(name, role)` to `users_file`, with the password `<name>-password`.
pub fn add_users(users_file: &Path, users: &[(&str, &str)]) {
    for (name, role) in users {
        admin_command(
            users_file,
            &["user", "add", name, "--role", role],
            &format!("{name}-password\n"),
        );
    }
}

/// A server on a copy of the sample data in `dir`, with `users` (see
/// [`add_users`]) in `dir/users.json`, and `env`.
pub fn server_with_users(dir: &Path, users: &[(&str, &str)], env: &[(&str, &str)]) -> Server {
    let users_file = dir.join("users.json");
    let data = dir.join("customers.json");
    std::fs::copy(sample_data(), &data).unwrap();
    add_users(&users_file, users);
    let mut env = env.to_vec();
    env.push(("USERS_FILE", users_file.to_str().unwrap()));
    Server::start_with_env(&data, &env)
}
