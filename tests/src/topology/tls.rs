//! Certificates for TLS tests, made with the `openssl` command line in a test's
//! directory: a CA, a server certificate for 127.0.0.1 and `redis.test`, a client
//! certificate, an expired server certificate and a second, unrelated CA.

use std::path::{Path, PathBuf};

/// The DNS name in the server certificates (besides the IP address 127.0.0.1).
pub const SERVER_NAME: &str = "redis.test";

#[derive(Clone, Debug)]
pub struct Certs {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    pub expired_cert: PathBuf,
    pub expired_key: PathBuf,
    /// A CA that signed none of the above.
    pub other_ca: PathBuf,
}

impl Certs {
    pub fn generate(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).expect("certificate directory");
        let path = |name: &str| dir.join(name);
        let ext = path("leaf.ext");
        std::fs::write(
            &ext,
            format!(
                "subjectAltName=IP:127.0.0.1,DNS:{SERVER_NAME}\n\
                 extendedKeyUsage=serverAuth,clientAuth\n\
                 basicConstraints=CA:FALSE\n"
            ),
        )
        .expect("extensions file");
        self_signed(&path("ca.key"), &path("ca.crt"), "test CA");
        self_signed(&path("other-ca.key"), &path("other-ca.crt"), "unrelated CA");
        let leaf = |name: &str, days: &str| {
            let (key, cert) = (path(&format!("{name}.key")), path(&format!("{name}.crt")));
            let csr = path(&format!("{name}.csr"));
            new_key(&key, &csr, name, &[]);
            // `-days 0`: valid from now until now, so expired a second later.
            openssl(&[
                "x509",
                "-req",
                "-in",
                s(&csr),
                "-CA",
                s(&path("ca.crt")),
                "-CAkey",
                s(&path("ca.key")),
                "-CAcreateserial",
                "-days",
                days,
                "-extfile",
                s(&ext),
                "-out",
                s(&cert),
            ]);
            (cert, key)
        };
        let (server_cert, server_key) = leaf("server", "2");
        let (client_cert, client_key) = leaf("client", "2");
        let (expired_cert, expired_key) = leaf("expired", "0");
        Self {
            ca: path("ca.crt"),
            server_cert,
            server_key,
            client_cert,
            client_key,
            expired_cert,
            expired_key,
            other_ca: path("other-ca.crt"),
        }
    }

    /// TLS details for a test's own admin connections (always with the client certificate).
    pub fn client_tls(&self) -> redis::TlsCertificates {
        redis::TlsCertificates {
            client_tls: Some(redis::ClientTlsConfig {
                client_cert: std::fs::read(&self.client_cert).expect("client certificate"),
                client_key: std::fs::read(&self.client_key).expect("client key"),
            }),
            root_cert: Some(std::fs::read(&self.ca).expect("CA certificate")),
        }
    }
}

fn self_signed(key: &Path, cert: &Path, name: &str) {
    new_key(key, cert, name, &["-x509", "-days", "2"]);
}

/// `openssl req`: a new P-256 key in `key`, and in `out` a certificate request
/// for `name` (or, with `-x509` among `extra`, a self-signed certificate).
fn new_key(key: &Path, out: &Path, name: &str, extra: &[&str]) {
    let subject = format!("/CN={name}");
    let mut args = vec!["req"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]);
    args.extend_from_slice(&[
        "-nodes",
        "-keyout",
        s(key),
        "-out",
        s(out),
        "-subj",
        &subject,
    ]);
    openssl(&args);
}

fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

fn openssl(args: &[&str]) {
    super::network::run_checked("openssl", args, "scripts/setup.sh installs it");
}
