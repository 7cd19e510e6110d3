//! The server as an unfriendly network meets it, over real HTTP against the real
//! binary: hostile `Host` headers, cross-site writes, server functions fed what
//! the UI never sends, and the headers every answer must carry; and what a slow
//! one gets: the browser bundle compressed.

use reqwest::Client;
use std::time::Duration;
use testkit::{get_json, ui, Server};

fn sample_server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("customers.json");
    std::fs::copy(testkit::sample_data(), &data).unwrap();
    let server = Server::start(&data);
    (dir, server)
}

#[tokio::test]
async fn unknown_hosts_are_refused() {
    let (_dir, server) = sample_server();
    let client = Client::new();
    for (host, expected) in [
        ("evil.example", 400),
        (&*format!("evil.example:{}", server.port), 400),
        (&*format!("localhost:{}", server.port), 200),
        (&*format!("127.0.0.1:{}", server.port), 200),
    ] {
        let response = client
            .get(server.url("/get/a"))
            .header("Host", host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "Host: {host}");
    }
}

#[tokio::test]
async fn cross_site_writes_are_refused_and_change_nothing() {
    let (_dir, server) = sample_server();
    let client = Client::new();
    let before = get_json(&client, &server.url("/")).await;
    let attempts = [
        (
            "/api/delete_customer",
            "customerID=a",
            "application/x-www-form-urlencoded",
            Some(("origin", "http://evil.example")),
        ),
        (
            "/api/delete_customer",
            "customerID=a",
            "application/x-www-form-urlencoded",
            Some(("sec-fetch-site", "cross-site")),
        ),
        (
            "/api/delete_customer",
            "customerID=a",
            "application/x-www-form-urlencoded",
            Some(("sec-fetch-site", "same-site")),
        ),
        (
            "/api/save_customer",
            "customerID=x&firstName=E&lastName=Vil",
            "text/plain",
            None,
        ),
        (
            "/api/save_customer",
            "{\"customerID\":\"x\"}",
            "application/json",
            None,
        ),
        (
            "/set",
            "{\"customerID\":\"a\",\"firstName\":\"E\",\"lastName\":\"Vil\"}",
            "application/json",
            Some(("origin", "http://evil.example")),
        ),
    ];
    for (path, body, content_type, header) in attempts {
        let mut request = client
            .post(server.url(path))
            .header("Content-Type", content_type)
            .body(body);
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let status = request.send().await.unwrap().status().as_u16();
        assert!(
            [403, 415].contains(&status),
            "{path} {content_type} {header:?}: {status}"
        );
    }
    assert_eq!(
        get_json(&client, &server.url("/")).await,
        before,
        "nothing changed"
    );

    // Our own pages, and programs (which send no Origin), still write.
    let own = format!("http://127.0.0.1:{}", server.port);
    let (status, _) = ui::call_with(
        &client,
        &server.url(""),
        "delete_customer",
        &[("customerID", "a")],
        &[("origin", &own)],
    )
    .await;
    assert!(status.is_success() || status.is_redirection(), "{status}");
    ui::set(&client, &server.url(""), "b", "Still", "Works").await;
}

#[tokio::test]
async fn server_functions_answer_bad_input_with_4xx_and_change_nothing() {
    let (_dir, server) = sample_server();
    let client = Client::new();
    let before = get_json(&client, &server.url("/")).await;
    // Over the 64 KiB limit, but small enough that the client finishes sending
    // before the server's early 413 closes the connection.
    let big = "x".repeat(200 * 1024);
    let cases: [(&str, String, u16); 6] = [
        ("delete_customer", String::new(), 400),
        ("delete_customer", "customerID=a&customerID=b".into(), 400),
        (
            "save_customer",
            "customerID=a&firstName=A&firstName=B&lastName=L".into(),
            400,
        ),
        (
            "save_customer",
            format!("customerID=z&firstName={big}&lastName=L"),
            413,
        ),
        (
            "delete_customer",
            "customerID=a&version=not-a-number".into(),
            400,
        ),
        ("list_customers", "search=a&after=x&after=y".into(), 400),
    ];
    for (function, body, expected) in cases {
        let response = client
            .post(server.url(&format!("/api/{function}")))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        assert_eq!(status, expected, "{function} {:.60}: {text:.200}", body);
    }
    assert_eq!(
        get_json(&client, &server.url("/")).await,
        before,
        "nothing changed"
    );
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let (_dir, server) = sample_server();
    let client = Client::new();
    for (path, accept) in [
        ("/", "text/html"),
        ("/", "*/*"),
        ("/get/a", "*/*"),
        ("/edit?id=a", "text/html"),
        ("/nowhere", "text/html"),
    ] {
        let response = client
            .get(server.url(path))
            .header("Accept", accept)
            .send()
            .await
            .unwrap();
        let headers = response.headers().clone();
        let header = |name: &str| {
            headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        assert_eq!(header("cache-control"), "no-store", "{path}");
        assert!(!header("x-request-id").is_empty(), "{path}: a request ID");
        let csp = header("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        if path == "/" {
            assert!(
                header("vary").to_ascii_lowercase().contains("accept"),
                "{path} {accept}: Vary"
            );
        }
        if accept == "text/html" {
            let nonce = csp
                .split("'nonce-")
                .nth(1)
                .and_then(|rest| rest.split('\'').next())
                .expect("a nonce");
            let page = response.text().await.unwrap();
            assert!(
                page.contains(&format!("nonce=\"{nonce}\"")),
                "{path}: the scripts carry the nonce"
            );
        }
    }
    // The bundle's names carry their content's hash, so browsers may keep them.
    let page = client
        .get(server.url("/"))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    let page = page.text().await.unwrap();
    let mut bundle = page
        .split(['"', '\''])
        .filter(|part| part.starts_with("/pkg/customer-records."))
        .map(str::to_owned)
        .collect::<Vec<_>>();
    bundle.sort();
    bundle.dedup();
    assert!(
        bundle.iter().any(|f| f.ends_with(".css")),
        "hashed stylesheet linked: {bundle:?}"
    );
    for file in &bundle {
        assert!(
            file.split('.').count() >= 3,
            "{file} has a hash in its name"
        );
        let response = client.get(server.url(file)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{file}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable",
            "{file}"
        );
    }
    let id = "given-by-the-client-42";
    let response = client
        .get(server.url("/get/a"))
        .header("X-Request-Id", id)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["x-request-id"],
        id,
        "a client's request ID is kept"
    );
}

/// The bundle goes out brotli-compressed to browsers that take it (the `.br`
/// a release build writes beside each file), gzip-compressed to those that
/// take only gzip, and as it is to the rest: the same bytes each way, with the
/// same type and caching.
#[tokio::test]
async fn the_bundle_goes_out_compressed_as_the_client_accepts() {
    use std::io::Read;
    let (_dir, server) = sample_server();
    let client = Client::new();
    let page = client.get(server.url("/")).header("Accept", "text/html");
    let page = page.send().await.unwrap().text().await.unwrap();
    let mut bundle = page
        .split('"')
        .filter(|part| part.starts_with("/pkg/") || *part == "/favicon.svg")
        .map(str::to_owned)
        .collect::<Vec<_>>();
    bundle.dedup();
    for ending in [".wasm", ".js", ".css", ".svg"] {
        assert!(
            bundle.iter().any(|f| f.ends_with(ending)),
            "{ending}: {bundle:?}"
        );
    }
    for file in &bundle {
        let fetch = |accept: &'static str| {
            let request = client.get(server.url(file));
            let request = match accept {
                "" => request,
                accept => request.header("Accept-Encoding", accept),
            };
            async move {
                let response = request.send().await.unwrap();
                assert_eq!(response.status(), 200, "{file} {accept}");
                let header = |name| {
                    let value = response.headers().get(name);
                    value
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default()
                };
                let head = [
                    header("content-encoding"),
                    header("content-type"),
                    header("cache-control"),
                    header("vary"),
                ];
                (head, response.bytes().await.unwrap().to_vec())
            }
        };
        let ([encoding, kind, caching, _], plain) = fetch("").await;
        assert_eq!(encoding, "", "{file}: as it is");
        assert!(!kind.is_empty(), "{file}: a type");
        let ([encoding, br_kind, br_caching, vary], br) = fetch("gzip, deflate, br, zstd").await;
        assert_eq!(encoding, "br", "{file}: brotli for a browser");
        assert_eq!(
            (br_kind, br_caching),
            (kind.clone(), caching.clone()),
            "{file}"
        );
        assert!(
            vary.to_ascii_lowercase().contains("accept-encoding"),
            "{file}: {vary}"
        );
        assert!(
            br.len() < plain.len(),
            "{file}: {} of {} bytes",
            br.len(),
            plain.len()
        );
        let mut decoded = Vec::new();
        brotli_decompressor::Decompressor::new(&br[..], 4096)
            .read_to_end(&mut decoded)
            .unwrap();
        assert!(decoded == plain, "{file}: the brotli answer is the file");
        let ([encoding, gz_kind, gz_caching, _], gz) = fetch("gzip").await;
        assert_eq!(encoding, "gzip", "{file}: gzip when only gzip is taken");
        assert_eq!((gz_kind, gz_caching), (kind, caching), "{file}");
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert!(decoded == plain, "{file}: the gzip answer is the file");
        if file.ends_with(".wasm") {
            assert!(
                br.len() < gz.len(),
                "{file}: brotli {} < gzip {}",
                br.len(),
                gz.len()
            );
        }
    }
}

/// No file the server hands to browsers names a folder of the machine that
/// built it. Rust keeps the source path of every possible panic in the
/// WebAssembly, and by default that is the builder's cargo folder.
#[tokio::test]
async fn the_bundle_names_no_folder_of_the_build_machine() {
    let (_dir, server) = sample_server();
    let site = std::env::var("LEPTOS_SITE_ROOT").expect("the scripts set LEPTOS_SITE_ROOT");
    let home = std::env::var("HOME").unwrap_or_default();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let mut machine_paths = vec![repo.to_str().unwrap(), "/.cargo/", "/home/"];
    if home.len() > 1 {
        machine_paths.push(&home);
    }
    let client = Client::new();
    let mut served = 0;
    for entry in std::fs::read_dir(std::path::Path::new(&site).join("pkg")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".gz") || name.ends_with(".br") {
            continue;
        }
        let response = client
            .get(server.url(&format!("/pkg/{name}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{name}");
        let body = response.bytes().await.unwrap();
        for path in &machine_paths {
            assert!(
                !body.windows(path.len()).any(|w| w == path.as_bytes()),
                "{name} names {path}"
            );
        }
        served += 1;
    }
    assert!(served >= 3, "only {served} files in {site}/pkg");
}

/// A page's headers are its own however many files are fetched while it
/// renders. leptos_axum's file handler once gave a file's answer the headers of
/// a page rendering at the same moment: the page then went out without its
/// Content-Security-Policy, and the browser refused its stylesheet and scripts
/// (about 1 page in 100 with files fetched alongside, as a browser does).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_and_files_fetched_together_keep_their_own_headers() {
    let (_dir, server) = sample_server();
    let client = Client::new();
    let page = client.get(server.url("/")).header("Accept", "text/html");
    let page = page.send().await.unwrap().text().await.unwrap();
    let stylesheet = page
        .split('"')
        .find(|part| part.starts_with("/pkg/") && part.ends_with(".css"))
        .expect("a stylesheet link")
        .to_owned();
    let policy = |response: &reqwest::Response| {
        response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let mut fetches = tokio::task::JoinSet::new();
    for worker in 0..4 {
        let (pages, base) = (client.clone(), server.url(""));
        let page = ["/edit?id=a", "/delete?id=a", "/history?id=a", "/audit"][worker];
        fetches.spawn(async move {
            let mut wrong = Vec::new();
            for _ in 0..150 {
                let response = pages.get(format!("{base}{page}")).send().await.unwrap();
                assert_eq!(response.status(), 200, "{page}");
                let policy = policy(&response);
                if !policy.contains("'nonce-") {
                    wrong.push(format!("{page}: {policy}"));
                }
            }
            wrong
        });
        let (files, base, stylesheet) = (client.clone(), server.url(""), stylesheet.clone());
        fetches.spawn(async move {
            let mut wrong = Vec::new();
            for file in std::iter::repeat_n([stylesheet.as_str(), "/favicon.svg"], 150).flatten() {
                let response = files.get(format!("{base}{file}")).send().await.unwrap();
                assert_eq!(response.status(), 200, "{file}");
                let policy = policy(&response);
                if policy != "default-src 'none'; frame-ancestors 'none'" {
                    wrong.push(format!("{file}: {policy}"));
                }
            }
            wrong
        });
    }
    let mut wrong = Vec::new();
    while let Some(found) = fetches.join_next().await {
        wrong.extend(found.unwrap());
    }
    assert!(
        wrong.is_empty(),
        "answers with another's policy: {wrong:#?}"
    );
}

#[tokio::test]
async fn a_full_disk_gets_503_naming_no_path() {
    // A small tmpfs of its own: the one way to fill a disk for real in a test.
    let dir = Mounted::new(&["-t", "tmpfs", "-o", "size=64k", "tmpfs"]);
    let server = Server::start(&dir.path().join("customers.json"));
    std::fs::write(dir.path().join("filler"), vec![b'x'; 60 * 1024]).unwrap_or(());
    let client = Client::new();
    let long = "n".repeat(200);
    let mut refused = None;
    for i in 0..200 {
        let body = serde_json::json!({"customerID": format!("fill-{i}"), "firstName": long, "lastName": long});
        let response = client
            .post(server.url("/set"))
            .json(&body)
            .send()
            .await
            .unwrap();
        if response.status() != 200 {
            let id = response.headers()["x-request-id"]
                .to_str()
                .unwrap()
                .to_owned();
            refused = Some((
                response.status().as_u16(),
                response.text().await.unwrap(),
                id,
            ));
            break;
        }
    }
    let (status, text, id) = refused.expect("the disk fills up");
    assert_eq!(status, 503, "{text}");
    // What the answer leaves out is in the log: the request's failure on a line
    // with its ID, the cause (found by the journal writer, which serves many
    // requests at once) on a line of its own. The log is read by other threads:
    // give them a moment.
    let logged_with_id = |lines: &[String]| {
        lines
            .iter()
            .any(|line| line.ends_with(&format!("request_id={id}")) && line.contains("store"))
            && lines.iter().any(|line| line.contains("No space left"))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !logged_with_id(&server.log_lines()) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let logged = server.log_lines();
    assert!(
        logged_with_id(&logged),
        "the failure is logged with request ID {id}: {logged:#?}"
    );
    let shown = dir.path().to_string_lossy().into_owned();
    assert!(
        !text.contains(&shown) && !text.contains("/tmp") && !text.contains("No space"),
        "{text}"
    );
    drop(server);
}

#[tokio::test]
async fn a_disk_gone_read_only_gets_503_naming_no_path_and_keeps_what_was_stored() {
    // An ext4 file system on a loop device, made read-only under the running
    // server as the kernel does after a disk error (`errors=remount-ro`); a
    // plain `remount,ro` is refused while the store holds its journal open.
    let image = tempfile::NamedTempFile::new().unwrap();
    image.as_file().set_len(8 << 20).unwrap();
    let formatted = std::process::Command::new("mkfs.ext4")
        .args(["-q", "-F"])
        .arg(image.path())
        .status()
        .is_ok_and(|s| s.success());
    assert!(formatted, "mkfs.ext4 (e2fsprogs) is needed");
    let image_path = image.path().to_string_lossy().into_owned();
    let dir = Mounted::new(&["-o", "loop,errors=remount-ro", &image_path]);
    let server = Server::start(&dir.path().join("customers.json"));
    let client = Client::new();
    let base = server.url("");
    ui::set(&client, &base, "kept", "Kept", "Before").await;

    let device = std::process::Command::new("findmnt")
        .args(["-n", "-o", "SOURCE"])
        .arg(dir.path())
        .output()
        .unwrap();
    let device = String::from_utf8(device.stdout).unwrap();
    let device = device.trim().trim_start_matches("/dev/");
    std::fs::write(format!("/sys/fs/ext4/{device}/trigger_fs_error"), "1").unwrap();

    let shown = dir.path().to_string_lossy().into_owned();
    let leaks = |text: &str| {
        text.contains(&shown) || text.contains("/tmp") || text.to_lowercase().contains("read-only")
    };
    let response = client
        .post(server.url("/set"))
        .json(&serde_json::json!({"customerID": "lost", "firstName": "L", "lastName": "L"}))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 503, "{text}");
    assert!(!leaks(&text), "{text}");
    let fields = [
        ("customerID", "kept"),
        ("firstName", "Changed"),
        ("lastName", "After"),
    ];
    let (status, text) = ui::call(&client, &base, "save_customer", &fields).await;
    assert_eq!(status, 503, "{text}");
    assert!(!leaks(&text), "{text}");
    let (status, text) =
        ui::call(&client, &base, "delete_customer", &[("customerID", "kept")]).await;
    assert_eq!(status, 503, "{text}");
    assert!(!leaks(&text), "{text}");

    assert_eq!(
        get_json(&client, &server.url("/get/kept")).await,
        serde_json::json!({"customerID": "kept", "firstName": "Kept", "lastName": "Before"})
    );
    let missing = client.get(server.url("/get/lost")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    drop(server);
}

/// A file system mounted on a temporary directory for one test, unmounted after.
struct Mounted(tempfile::TempDir);

impl Mounted {
    /// `mount ARGS… DIR`: needs root (CI and the dev machines run as root).
    fn new(args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(args)
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        assert!(mounted, "mount {args:?} failed (it needs root)");
        Self(dir)
    }

    fn path(&self) -> &std::path::Path {
        self.0.path()
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.0.path())
            .status();
    }
}

/// Lets this test process hold thousands of sockets.
fn raise_open_files_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    assert!(
        hard >= 16_384,
        "the hard open-files limit ({hard}) is too low for this test"
    );
}

fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb / 1024.0
}

/// Has the server closed this connection by now (no waiting)?
fn closed_already(stream: &mut std::net::TcpStream) -> bool {
    use std::io::Read;
    stream.set_nonblocking(true).unwrap();
    let closed = !matches!(
        stream.read(&mut [0u8; 512]),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
    );
    stream.set_nonblocking(false).unwrap();
    closed
}

/// Is the server's end of this connection closed (EOF or reset)?
fn closed_by_server(stream: &mut std::net::TcpStream) -> bool {
    use std::io::Read;
    stream
        .set_read_timeout(Some(std::time::Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 512];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            // A 408 answer to a half-sent body, then the close.
            Ok(_) => continue,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_and_half_sent_connections_cannot_take_the_server_down() {
    use std::io::Write;
    use std::time::{Duration, Instant};
    raise_open_files_limit();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("customers.json");
    std::fs::copy(testkit::sample_data(), &data).unwrap();
    // Idle connections go first, half-sent heads and bodies later: the test
    // tells the keep-alive timeout from the header timeout.
    let timeouts = [
        ("KEEP_ALIVE_TIMEOUT_MS", "1500"),
        ("HEADER_READ_TIMEOUT_MS", "6000"),
        ("BODY_READ_TIMEOUT_MS", "6000"),
    ];
    let server = Server::start_with_env(&data, &timeouts);
    let address = ("127.0.0.1", server.port);
    let started = Instant::now();
    let mut stalled = Vec::with_capacity(7_000);
    for i in 0..7_000 {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        match i % 7 {
            // 5,000 idle: connected, nothing sent.
            0..=4 => {}
            // 1,000 with half a request head.
            5 => stream.write_all(b"GET /get/a HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").unwrap(),
            // 1,000 with a head and half a body.
            _ => stream
                .write_all(b"POST /set HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"customerID\"")
                .unwrap(),
        }
        stalled.push(stream);
    }
    let opened_in = started.elapsed();
    assert!(
        opened_in < Duration::from_secs(3),
        "opening took {opened_in:?}: the header timeout would already run"
    );

    let client = Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let asked = Instant::now();
    let response = client
        .get(server.url("/get/a"))
        .send()
        .await
        .expect("a normal request is served");
    let answered_in = asked.elapsed();
    assert_eq!(response.status(), 200);
    assert!(
        answered_in < Duration::from_secs(1),
        "answered in {answered_in:?}"
    );
    let memory = rss_mb(server.pid());
    assert!(
        memory < 200.0,
        "server RSS {memory:.0} MB with 7,000 stalled connections"
    );

    // The keep-alive timeout closes the idle ones (1.5 s after each connected)
    // while the half-sent ones, whose first bytes came with the connection,
    // still have their 6 s.
    tokio::time::sleep(
        (opened_in + Duration::from_millis(2_000)).saturating_sub(started.elapsed()),
    )
    .await;
    let checked_at = started.elapsed();
    let mut idle_open = 0;
    let mut half_sent_closed = 0;
    for (i, stream) in stalled.iter_mut().enumerate() {
        let closed = closed_already(stream);
        match i % 7 {
            0..=4 => idle_open += usize::from(!closed),
            _ => half_sent_closed += usize::from(closed),
        }
    }
    let checked_in = started.elapsed() - checked_at;
    assert!(
        checked_at + checked_in < Duration::from_millis(5_500),
        "checking took {checked_in:?}: too slow to tell the two timeouts apart"
    );
    assert_eq!(idle_open, 0, "idle connections open at {checked_at:?}");
    assert_eq!(
        half_sent_closed, 0,
        "half-sent requests closed by {checked_at:?}, before the 6 s header and body timeouts"
    );

    // The header and body timeouts close the rest.
    tokio::time::sleep(Duration::from_millis(6_000 + 2_000).saturating_sub(started.elapsed()))
        .await;
    let mut still_open = 0;
    for stream in &mut stalled {
        if !closed_by_server(stream) {
            still_open += 1;
        }
    }
    assert_eq!(still_open, 0, "stalled connections left open by the server");
    println!("7,000 stalled connections: opened in {opened_in:?}, a request answered in {answered_in:?}, server RSS {memory:.0} MB");
}

#[tokio::test]
async fn keep_alive_and_header_timeouts_are_apart() {
    use std::io::{Read, Write};
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("customers.json");
    std::fs::copy(testkit::sample_data(), &data).unwrap();
    let timeouts = [
        ("KEEP_ALIVE_TIMEOUT_MS", "1000"),
        ("HEADER_READ_TIMEOUT_MS", "3000"),
    ];
    let server = Server::start_with_env(&data, &timeouts);
    let request = b"GET /get/a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    // Reads one answer to GET /get/a (its body ends the JSON object).
    let answer = |stream: &mut std::net::TcpStream| {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.ends_with(b"}") {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "closed: {}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8(got).unwrap()
    };

    // A kept-alive connection serves a second request within the idle time...
    let mut kept = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    kept.write_all(request).unwrap();
    assert!(answer(&mut kept).starts_with("HTTP/1.1 200"));
    std::thread::sleep(Duration::from_millis(600));
    kept.write_all(request).unwrap();
    assert!(answer(&mut kept).starts_with("HTTP/1.1 200"));
    // ...and is closed once idle longer.
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(
        closed_already(&mut kept),
        "idle 1.5 s with a 1 s keep-alive"
    );
    // So is one that sent a single request at once (its head's 3 s must not
    // stand in for the idle time after the answer).
    let mut once = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    once.write_all(request).unwrap();
    assert!(answer(&mut once).starts_with("HTTP/1.1 200"));
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(
        closed_already(&mut once),
        "idle 1.5 s after its only answer, with a 1 s keep-alive"
    );

    // A head that starts within the idle time has the header time to finish,
    // counted from its first byte.
    let mut slow = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    slow.write_all(&request[..20]).unwrap();
    std::thread::sleep(Duration::from_millis(1_200));
    assert!(!closed_already(&mut slow), "a head 1.2 s under way, of 3 s");
    slow.write_all(&request[20..]).unwrap();
    assert!(answer(&mut slow).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn sigterm_with_a_slow_client_in_flight_exits_0_within_the_grace_period() {
    use std::io::Write;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let settings = [
        ("SHUTDOWN_GRACE_MS", "2000"),
        ("BODY_READ_TIMEOUT_MS", "60000"),
    ];
    let mut server = Server::start_with_env(&dir.path().join("customers.json"), &settings);
    let mut slow = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    slow.write_all(b"POST /set HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"cust")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let asked = Instant::now();
    let status = server
        .terminate(Duration::from_secs(8))
        .expect("the server exits");
    let took = asked.elapsed();
    assert!(status.success(), "exit status {status}");
    assert!(
        took < Duration::from_millis(3_500),
        "took {took:?} for a 2 s grace period"
    );
}

#[tokio::test]
async fn sigterm_ends_an_open_status_event_stream_at_once() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    // A grace period far longer than the bound checked: only the stream ending
    // by itself lets the server exit in time.
    let settings = [("SHUTDOWN_GRACE_MS", "20000")];
    let mut server = Server::start_with_env(&dir.path().join("customers.json"), &settings);
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    stream
        .write_all(b"GET /status/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut first = [0; 512];
    let read = stream.read(&mut first).unwrap();
    let head = String::from_utf8_lossy(&first[..read]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("text/event-stream"), "{head}");
    let asked = Instant::now();
    let status = server
        .terminate(Duration::from_secs(25))
        .expect("the server exits");
    let took = asked.elapsed();
    assert!(status.success(), "exit status {status}");
    assert!(
        took < Duration::from_secs(3),
        "took {took:?} with a stream open"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let (_dir, server) = sample_server();
    let client = Client::new();
    let text = |path: &'static str| {
        let request = client.get(server.url(path));
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    assert_eq!(text("/healthz").await, (200, "ok".to_owned()));
    // Ready once the store's index is loaded (on a busy machine, a moment
    // after the server listens); until then it says why not.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match text("/readyz").await {
            (200, body) => break assert_eq!(body, "ready\n"),
            (503, body) if std::time::Instant::now() < deadline => {
                assert!(body.starts_with("not ready: still loading"), "{body}");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            other => panic!("/readyz: {other:?}"),
        }
    }
    // The Docker image's HEALTHCHECK, run beside the server it checks.
    let listen = format!("127.0.0.1:{}", server.port);
    let (healthy, output) = testkit::run_command(&["--listen", &listen, "healthcheck"], &[]);
    assert!(healthy, "{output}");
    let elsewhere = format!("127.0.0.1:{}", testkit::free_port());
    assert!(!testkit::run_command(&["--listen", &elsewhere, "healthcheck"], &[]).0);

    let scrape = || async {
        let (status, body) = text("/metrics").await;
        assert_eq!(status, 200);
        testkit::parse_prometheus(&body)
    };
    let before = scrape().await;
    for _ in 0..5 {
        client.get(server.url("/get/a")).send().await.unwrap();
    }
    ui::set(&client, &server.url(""), "m1", "Metric", "Moves").await;
    let after = scrape().await;
    let moved = |metric: &str, labels: &[&str]| {
        testkit::metric_sum(&after, metric, labels) - testkit::metric_sum(&before, metric, labels)
    };
    assert_eq!(
        moved(
            "http_requests_total",
            &["route=\"/get/{id}\"", "status=\"200\""]
        ),
        5.0
    );
    assert!(
        moved(
            "http_request_duration_seconds_count",
            &["route=\"/get/{id}\""]
        ) >= 5.0
    );
    assert_eq!(
        moved(
            "store_operations_total",
            &["operation=\"put\"", "outcome=\"ok\""]
        ),
        1.0
    );
    assert!(testkit::metric_sum(&after, "http_connections_open", &[]) >= 1.0);
}

#[tokio::test]
async fn metrics_listen_keeps_metrics_off_the_public_port() {
    let dir = tempfile::tempdir().unwrap();
    let port = testkit::free_port();
    let address = format!("127.0.0.1:{port}");
    let server = Server::start_with_env(
        &dir.path().join("customers.json"),
        &[("METRICS_LISTEN", &address)],
    );
    let client = Client::new();
    let public = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .status();
    assert_ne!(public, 200, "no metrics on the public port");
    let private = client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(private.status(), 200);
    testkit::parse_prometheus(&private.text().await.unwrap());
    let ready = testkit::get_text(&client, &format!("http://{address}/readyz")).await;
    assert!(
        ready.starts_with("ready\nstore: embedded file store"),
        "{ready}"
    );
}
