//! The cron client against Debian's Pebble: http-01, tls-alpn-01, preferred chain,
//! revocation.

use super::*;

/// Debian's Pebble + challtestsrv on free loopback ports, validating http-01 on `http` and
/// tls-alpn-01 on `tls`; killed on drop.
struct Pebble {
    dir: tempfile::TempDir,
    children: Vec<std::process::Child>,
    directory: String,
    mgmt: u16,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn openssl_in(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

impl Pebble {
    async fn start(http: u16, tls: u16) -> Option<Pebble> {
        const PEBBLE: &str = "/usr/bin/pebble";
        const CHALLTESTSRV: &str = "/usr/bin/pebble-challtestsrv";
        if !Path::new(PEBBLE).exists() || !Path::new(CHALLTESTSRV).exists() {
            eprintln!("SKIP: {PEBBLE} or {CHALLTESTSRV} not installed (apt-get install pebble)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        openssl_in(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
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
            ],
        );
        openssl_in(
            d,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
            ],
        );
        std::fs::write(
            d.join("leaf.ext"),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        openssl_in(
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
        let (acme, mgmt, dns, dns_mgmt) = (free_port(), free_port(), free_port(), free_port());
        let config = serde_json::json!({ "pebble": {
            "listenAddress": format!("127.0.0.1:{acme}"),
            "managementListenAddress": format!("127.0.0.1:{mgmt}"),
            "certificate": d.join("leaf.pem"),
            "privateKey": d.join("leaf.key"),
            "httpPort": http,
            "tlsPort": tls,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false
        }});
        std::fs::write(d.join("pebble.json"), config.to_string()).unwrap();
        let log = |n: &str| std::process::Stdio::from(std::fs::File::create(d.join(n)).unwrap());
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
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start challtestsrv");
        let pebble = Command::new(PEBBLE)
            .args([
                "-config",
                &d.join("pebble.json").to_string_lossy(),
                "-dnsserver",
            ])
            .arg(format!("127.0.0.1:{dns}"))
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_AUTHZREUSE", "0")
            .env("PEBBLE_ALTERNATE_ROOTS", "1")
            .stdout(log("pebble.log"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start pebble");
        let p = Pebble {
            directory: format!("https://127.0.0.1:{acme}/dir"),
            mgmt,
            children: vec![challtestsrv, pebble],
            dir,
        };
        let ca = std::fs::read(p.dir.path().join("ca.pem")).unwrap();
        for _ in 0..100 {
            if AcmeClient::new(&p.directory, Some(&ca)).await.is_ok() {
                return Some(p);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("pebble did not come up");
    }

    async fn mgmt_get(&self, path: &str) -> (u16, String) {
        let ca = std::fs::read(self.dir.path().join("ca.pem")).unwrap();
        let http = reqwest::Client::builder()
            .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
            .build()
            .unwrap();
        let r = http
            .get(format!("https://127.0.0.1:{}{path}", self.mgmt))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

#[tokio::test]
async fn pebble_http01_tls_alpn01_preferred_chain_and_revocation() {
    let (http, tls) = (free_port(), free_port());
    let Some(pebble) = Pebble::start(http, tls).await else {
        return;
    };
    // The alternate root's CN, to prefer the chain that ends there.
    let (st, alt_root) = pebble.mgmt_get("/roots/1").await;
    assert_eq!(st, 200, "{alt_root}");
    std::fs::write(pebble.dir.path().join("alt.pem"), &alt_root).unwrap();
    let subject = openssl_in(
        pebble.dir.path(),
        &[
            "x509",
            "-in",
            "alt.pem",
            "-noout",
            "-subject",
            "-nameopt",
            "multiline",
        ],
    );
    let alt_cn = subject
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("commonName")
                .map(|v| v.trim_start_matches([' ', '=']).trim().to_string())
        })
        .expect("alternate root CN");
    let d = tempfile::tempdir().unwrap();
    let text = format!(
        r#"directory = "{dir}"
trust_root = "{root}"
state_dir = "state"
[[certificate]]
name = "web"
identifiers = ["web.pebble.example.com"]
http_port = {http}
bind_address = "127.0.0.1"
output_dir = "live/web"
preferred_chain = "{alt_cn}"
[[certificate]]
name = "alpn"
identifiers = ["alpn.pebble.example.com"]
challenge = "tls-alpn-01"
tls_port = {tls}
bind_address = "127.0.0.1"
key = "p384"
output_dir = "live/alpn"
"#,
        dir = pebble.directory,
        root = pebble.dir.path().join("ca.pem").display(),
    );
    std::fs::write(d.path().join("c.toml"), text).unwrap();
    let cfg = Config::load(&d.path().join("c.toml")).unwrap();
    let o = RunOptions {
        poll_interval: Duration::from_millis(100),
        ..RunOptions::default()
    };
    let r = pass(&cfg, &o).await;
    assert_eq!(r.exit_code(), 0, "{:?}", r.outcomes);
    assert!(r.outcomes.iter().all(|o| o.issued), "{:?}", r.outcomes);
    let issuer = openssl_in(
        d.path(),
        &[
            "x509",
            "-in",
            "live/web/chain.pem",
            "-noout",
            "-issuer",
            "-nameopt",
            "multiline",
        ],
    );
    assert!(
        issuer.contains(&alt_cn),
        "preferred chain ends at {alt_cn}: {issuer}"
    );
    for name in ["web", "alpn"] {
        let cert = format!("live/{name}/cert.pem");
        let key = format!("live/{name}/key.pem");
        assert_eq!(
            openssl_in(d.path(), &["x509", "-in", &cert, "-noout", "-pubkey"]),
            openssl_in(d.path(), &["pkey", "-in", &key, "-pubout"])
        );
    }
    let r = pass(&cfg, &o).await;
    assert!(
        r.outcomes.iter().all(|o| o.ok && !o.issued),
        "{:?}",
        r.outcomes
    );

    let mut m = Manager::open(&cfg, &o).unwrap();
    let serial = m.revoke("alpn", Some(1)).await.unwrap();
    drop(m);
    let (st, body) = pebble
        .mgmt_get(&format!(
            "/cert-status-by-serial/{}",
            serial.trim_start_matches('0')
        ))
        .await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("Revoked"), "{body}");
}
