//! Debian's Pebble (a peer ACME CA written by others) and pebble-challtestsrv (its DNS) on
//! free loopback ports, for tests that run Arbor's client against it. The listener
//! certificate is made with the openssl CLI; both processes are killed on drop. Tests that
//! get `None` print why and pass: Pebble is not installed.

use arbor_client::AcmeClient;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Debian's pebble binary.
pub const PEBBLE: &str = "/usr/bin/pebble";
/// Debian's pebble-challtestsrv binary.
pub const CHALLTESTSRV: &str = "/usr/bin/pebble-challtestsrv";

/// How to start Pebble.
#[derive(Debug, Clone)]
pub struct PebbleOptions<'a> {
    /// Port its VA validates http-01 on.
    pub http_port: u16,
    /// Port its VA validates tls-alpn-01 on.
    pub tls_port: u16,
    /// Extra environment (e.g. `PEBBLE_ALTERNATE_ROOTS`).
    pub env: &'a [(&'a str, &'a str)],
    /// Merged into the `pebble` object of its JSON config.
    pub extra: serde_json::Value,
}

/// One running pebble + challtestsrv.
pub struct Pebble {
    /// Config, listener certificate (`ca.pem`, `leaf.pem`) and logs.
    pub dir: tempfile::TempDir,
    children: Vec<Child>,
    /// `https://127.0.0.1:PORT/dir`.
    pub directory: String,
    /// Management interface port (roots, certificate status).
    pub mgmt: u16,
    /// The CA of Pebble's HTTPS listener (PEM).
    pub listener_ca: Vec<u8>,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a `localhost`/127.0.0.1 leaf for Pebble's listener, in `d`.
fn listener_certificate(d: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-days",
        "2",
        "-subj",
        "/CN=test listener CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    openssl(d, &ca);
    let mut leaf = vec!["req"];
    leaf.extend(ec);
    leaf.extend([
        "-subj",
        "/CN=localhost",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
    ]);
    openssl(d, &leaf);
    std::fs::write(
        d.join("leaf.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .expect("write leaf.ext");
    openssl(
        d,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ],
    );
}

impl Pebble {
    /// Starts Pebble (`PEBBLE_VA_NOSLEEP=1`, `PEBBLE_AUTHZREUSE=0`, then `o.env`) and waits
    /// until its directory answers; `None` when Pebble is not installed.
    pub async fn start(o: PebbleOptions<'_>) -> Option<Pebble> {
        if !Path::new(PEBBLE).exists() || !Path::new(CHALLTESTSRV).exists() {
            eprintln!("SKIP: {PEBBLE} or {CHALLTESTSRV} not installed (apt-get install pebble)");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        listener_certificate(d);
        let (acme, mgmt, dns, dns_mgmt) = (free_port(), free_port(), free_port(), free_port());
        let mut config = serde_json::json!({ "pebble": {
            "listenAddress": format!("127.0.0.1:{acme}"),
            "managementListenAddress": format!("127.0.0.1:{mgmt}"),
            "certificate": d.join("leaf.pem"),
            "privateKey": d.join("leaf.key"),
            "httpPort": o.http_port,
            "tlsPort": o.tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false
        }});
        if let (Some(obj), Some(add)) = (config["pebble"].as_object_mut(), o.extra.as_object()) {
            obj.extend(add.clone());
        }
        std::fs::write(d.join("pebble.json"), config.to_string()).expect("write config");
        let log = |name: &str| Stdio::from(std::fs::File::create(d.join(name)).expect("log file"));
        let challtestsrv = Command::new(CHALLTESTSRV)
            .args([
                "-dns01",
                &format!("127.0.0.1:{dns}"),
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-management",
                &format!("127.0.0.1:{dns_mgmt}"),
            ])
            .stdout(log("challtestsrv.log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("start challtestsrv");
        let mut cmd = Command::new(PEBBLE);
        cmd.args([
            "-config",
            &d.join("pebble.json").to_string_lossy(),
            "-dnsserver",
            &format!("127.0.0.1:{dns}"),
        ])
        .env("PEBBLE_VA_NOSLEEP", "1")
        .env("PEBBLE_AUTHZREUSE", "0")
        .stdout(log("pebble.log"))
        .stderr(Stdio::null());
        for (k, v) in o.env {
            cmd.env(k, v);
        }
        let pebble = cmd.spawn().expect("start pebble");
        let listener_ca = std::fs::read(d.join("ca.pem")).expect("read ca.pem");
        let p = Pebble {
            dir,
            children: vec![challtestsrv, pebble],
            directory: format!("https://127.0.0.1:{acme}/dir"),
            mgmt,
            listener_ca,
        };
        for _ in 0..100 {
            if AcmeClient::new(&p.directory, Some(&p.listener_ca))
                .await
                .is_ok()
            {
                return Some(p);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = std::fs::read_to_string(p.path("pebble.log")).unwrap_or_default();
        panic!("pebble did not come up: {log}");
    }

    /// A client trusting Pebble's listener.
    pub async fn client(&self) -> AcmeClient {
        AcmeClient::new(&self.directory, Some(&self.listener_ca))
            .await
            .expect("client connects")
    }

    /// A management-interface GET (issuing roots, certificate status).
    pub async fn mgmt_get(&self, path: &str) -> (u16, String) {
        let certs = reqwest::Certificate::from_pem_bundle(&self.listener_ca).expect("ca pem");
        let http = reqwest::Client::builder()
            .tls_certs_merge(certs)
            .build()
            .expect("http client");
        let r = http
            .get(format!("https://127.0.0.1:{}{path}", self.mgmt))
            .send()
            .await
            .expect("mgmt reachable");
        (r.status().as_u16(), r.text().await.expect("mgmt body"))
    }

    /// A file in Pebble's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}
