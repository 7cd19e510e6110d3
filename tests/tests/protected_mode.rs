//! Protected mode: with no users configured, only clients on the server's own
//! machine are served; adding a user ends it (then everyone signs in), and
//! `AUTH=off` opens the server to everyone.
//!
//! "Another machine" is a network namespace the test creates, joined to the
//! server's own namespace by a veth pair, so the test's traffic never leaves
//! namespaces of its own (needs root and `ip`, as CI has).

use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};
use testkit::{sample_data, server_binary};

const SERVER_ADDRESS: &str = "10.77.0.1";
const CLIENT_ADDRESS: &str = "10.77.0.2";
const PORT: u16 = 3000;

/// Two namespaces, `server` and `client`, joined by a veth pair; deleted on drop
/// (which also deletes the pair).
struct Network {
    server: String,
    client: String,
}

impl Network {
    fn create() -> Network {
        let tag = format!("{}", std::process::id() % 100_000);
        let network = Network {
            server: format!("crs{tag}"),
            client: format!("crc{tag}"),
        };
        let (veth_server, veth_client) = (format!("vs{tag}"), format!("vc{tag}"));
        for namespace in [&network.server, &network.client] {
            let _ = Command::new("ip")
                .args(["netns", "del", namespace])
                .output();
            ip(&["netns", "add", namespace]);
            network.ip_in(namespace, &["link", "set", "lo", "up"]);
        }
        ip(&[
            "link",
            "add",
            &veth_server,
            "netns",
            &network.server,
            "type",
            "veth",
            "peer",
            "name",
            &veth_client,
            "netns",
            &network.client,
        ]);
        for (namespace, device, address) in [
            (&network.server, &veth_server, SERVER_ADDRESS),
            (&network.client, &veth_client, CLIENT_ADDRESS),
        ] {
            network.ip_in(
                namespace,
                &["addr", "add", &format!("{address}/30"), "dev", device],
            );
            network.ip_in(namespace, &["link", "set", device, "up"]);
        }
        network
    }

    fn ip_in(&self, namespace: &str, args: &[&str]) {
        let mut all = vec!["-n", namespace];
        all.extend_from_slice(args);
        ip(&all);
    }

    /// `curl` run in `namespace`: (HTTP status, body).
    fn curl(&self, namespace: &str, args: &[&str]) -> (u16, String) {
        let output = Command::new("ip")
            .args(["netns", "exec", namespace, "curl", "-sS", "-m", "5"])
            .args(["-w", "\n%{http_code}"])
            .args(args)
            .output()
            .expect("run curl");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (status.trim().parse().unwrap_or(0), body.to_owned())
    }

    fn request_from_other_machine(&self, path: &str, extra: &[&str]) -> (u16, String) {
        let url = format!("http://{SERVER_ADDRESS}:{PORT}{path}");
        let mut args = extra.to_vec();
        args.push(&url);
        self.curl(&self.client, &args)
    }

    fn request_from_server_machine(&self, path: &str, extra: &[&str]) -> (u16, String) {
        let url = format!("http://127.0.0.1:{PORT}{path}");
        let mut args = extra.to_vec();
        args.push(&url);
        self.curl(&self.server, &args)
    }

    /// The server binary in the server's namespace, listening on every interface.
    fn start_server(&self, data_file: &Path, log: &Path, env: &[(&str, &str)]) -> Child {
        let log = std::fs::File::create(log).expect("create the log");
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.server])
            .arg(server_binary())
            .args(["--listen", &format!("0.0.0.0:{PORT}"), "--data-file"])
            .arg(data_file)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .env(
                "ALLOWED_HOSTS",
                format!("{SERVER_ADDRESS},localhost,127.0.0.1"),
            )
            // The log goes to stdout, start-up errors to stderr: both into `log`.
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if let Ok(site) = std::env::var("LEPTOS_SITE_ROOT") {
            command.env("LEPTOS_SITE_ROOT", site);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("start the server in its namespace");
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.request_from_server_machine("/healthz", &[]).0 != 200 {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        child
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for namespace in [&self.server, &self.client] {
            let _ = Command::new("ip")
                .args(["netns", "del", namespace])
                .output();
        }
    }
}

fn ip(args: &[&str]) {
    let Output { status, stderr, .. } = Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (iproute2)");
    assert!(
        status.success(),
        "ip {}: {} (this test needs root to create network namespaces)",
        args.join(" "),
        String::from_utf8_lossy(&stderr)
    );
}

fn stop(mut server: Child) {
    let _ = server.kill();
    let _ = server.wait();
}

const NEW_CUSTOMER: &str = r#"{"customerID":"remote-1","firstName":"Rita","lastName":"Remote"}"#;

#[test]
fn only_this_machine_is_served_until_auth_is_turned_off() {
    let network = Network::create();
    let dir = tempfile::tempdir().unwrap();
    let data_file = dir.path().join("customers.json");
    std::fs::copy(sample_data(), &data_file).unwrap();
    let log = dir.path().join("server.log");
    let post = [
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "-d",
        NEW_CUSTOMER,
    ];

    // Protected mode (the default): another machine gets 403 with how to open up,
    // on every route, reading or writing.
    let users = dir.path().join("users.json");
    let users_env = ("USERS_FILE", users.to_str().unwrap());
    let server = network.start_server(&data_file, &log, &[users_env]);
    for path in ["/", "/get/a", "/healthz", "/metrics", "/new", "/pkg/x.js"] {
        let (status, body) = network.request_from_other_machine(path, &[]);
        assert_eq!(status, 403, "{path} from another machine: {body}");
        assert_eq!(body.lines().count(), 1, "one line: {body:?}");
        assert!(body.contains("AUTH=off"), "says how to open up: {body}");
        assert!(
            !body.contains(SERVER_ADDRESS) && !body.contains('/'),
            "{body}"
        );
    }
    let (status, _) = network.request_from_other_machine("/set", &post);
    assert_eq!(status, 403);
    let (status, _) = network.request_from_other_machine(
        "/api/delete_customer",
        &["-X", "POST", "-d", "customerID=a"],
    );
    assert_eq!(status, 403);
    // This machine is served, and the refused writes changed nothing.
    assert_eq!(
        network.request_from_server_machine("/get/remote-1", &[]).0,
        404
    );
    assert_eq!(network.request_from_server_machine("/get/a", &[]).0, 200);
    let (status, listing) = network.request_from_server_machine("/", &[]);
    assert_eq!(status, 200);
    let listing: serde_json::Value = serde_json::from_str(&listing).unwrap();
    let sample: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sample_data()).unwrap()).unwrap();
    assert_eq!(listing, sample, "nothing stored was changed");

    // Adding a user ends protected mode at once, without a restart: then every
    // client, on this machine or not, needs credentials.
    let mut add = Command::new(server_binary())
        .args(["user", "add", "ada", "--role", "editor"])
        .env_clear()
        .env("USERS_FILE", &users)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    add.stdin
        .take()
        .unwrap()
        .write_all(b"remote-password\n")
        .unwrap();
    assert!(add.wait().unwrap().success());
    let (status, _) = network.request_from_other_machine("/get/a", &[]);
    assert_eq!(status, 401);
    assert_eq!(network.request_from_server_machine("/get/a", &[]).0, 401);
    let (status, body) =
        network.request_from_other_machine("/get/a", &["-u", "ada:remote-password"]);
    assert_eq!(status, 200, "{body}");
    stop(server);

    // AUTH=off: served from anywhere, with a warning at start-up.
    let server = network.start_server(&data_file, &log, &[("AUTH", "off")]);
    let (status, body) = network.request_from_other_machine("/set", &post);
    assert_eq!((status, body.as_str()), (200, "success"));
    let (status, body) = network.request_from_other_machine("/get/remote-1", &[]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Rita"));
    stop(server);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("AUTH=off") && logged.contains("WARN"),
        "a warning at start-up: {logged}"
    );

    // A value that is neither is refused at start-up.
    let output = Command::new(server_binary())
        .env_clear()
        .env("AUTH", "maybe")
        .arg("--data-file")
        .arg(&data_file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("AUTH"));
}
