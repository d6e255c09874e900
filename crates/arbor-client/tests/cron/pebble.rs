//! The cron client against Debian's Pebble: http-01, tls-alpn-01, preferred chain,
//! revocation.

use super::*;
use arbor_testkit::{Pebble, PebbleOptions};

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

#[tokio::test]
async fn pebble_http01_tls_alpn01_preferred_chain_and_revocation() {
    let (http, tls) = (free_port(), free_port());
    let Some(pebble) = Pebble::start(PebbleOptions {
        http_port: http,
        tls_port: tls,
        env: &[("PEBBLE_ALTERNATE_ROOTS", "1")],
        extra: serde_json::json!({}),
    })
    .await
    else {
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
