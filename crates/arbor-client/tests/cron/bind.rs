//! dns-01 through RFC 2136 UPDATE signed with TSIG, against BIND (scripts/bind.sh).

use super::*;

/// BIND started by scripts/bind.sh; stopped on drop.
struct Bind {
    state: tempfile::TempDir,
    port: u16,
    tsig_key: String,
    tsig_secret: String,
}

impl Drop for Bind {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(bind_script())
            .args(["stop", "--state"])
            .arg(self.state.path())
            .output();
    }
}

fn bind_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/bind.sh")
}

fn start_bind() -> Option<Bind> {
    if !Path::new("/usr/sbin/named").exists() {
        eprintln!("SKIP: /usr/sbin/named not installed (apt-get install bind9)");
        return None;
    }
    for _ in 0..5 {
        let port = free_port();
        if !(1025..64999).contains(&port) || TcpListener::bind(("127.0.0.1", port + 1)).is_err() {
            continue;
        }
        let state = tempfile::tempdir().unwrap();
        let out = Command::new("bash")
            .arg(bind_script())
            .args(["start", "--port", &port.to_string(), "--state"])
            .arg(state.path())
            .output()
            .expect("bash runs");
        if !out.status.success() {
            eprintln!("bind.sh start: {}", String::from_utf8_lossy(&out.stderr));
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .map(str::to_string)
                .expect("bind.sh prints the variable")
        };
        return Some(Bind {
            port,
            tsig_key: get("RFC2136_TSIG_KEY"),
            tsig_secret: get("RFC2136_TSIG_SECRET"),
            state,
        });
    }
    panic!("could not start BIND");
}

pub(crate) fn dig_txt(port: u16, name: &str) -> String {
    let o = Command::new("dig")
        .args(["+short", "@127.0.0.1", "-p", &port.to_string(), name, "TXT"])
        .output()
        .expect("dig runs");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[tokio::test]
async fn dns01_rfc2136_tsig_against_bind() {
    let Some(bind) = start_bind() else { return };
    let server: SocketAddr = format!("127.0.0.1:{}", bind.port).parse().unwrap();
    let ca = Ca::start(free_port(), free_port(), ResolverConfig::Server(server)).await;
    let d = tempfile::tempdir().unwrap();
    let dns = |secret: &str| {
        format!(
            "[dns]\nserver = \"{server}\"\ntsig_key = \"{}\"\ntsig_secret = \"{secret}\"\ntsig_algorithm = \"hmac-sha256.\"\npropagation_timeout = 20",
            bind.tsig_key
        )
    };
    let cfg = config(
        d.path(),
        &ca,
        &dns(&bind.tsig_secret),
        "identifiers = [\"bind.example.com\", \"*.bind.example.com\"]\nchallenge = \"dns-01\"",
    );
    let r = pass(&cfg, &opts(&ca)).await;
    assert_eq!(r.exit_code(), 0, "{:?}", r.outcomes);
    check_installed(
        &cfg,
        &ca,
        &["DNS:bind.example.com", "DNS:*.bind.example.com"],
    );
    assert_eq!(
        dig_txt(bind.port, "_acme-challenge.bind.example.com"),
        "",
        "records removed"
    );

    // BIND's signed reply verifies (RFC 8945 §5.3); tampering, a wrong request MAC or a
    // clock outside the fudge window do not.
    {
        use arbor_client::cron::solvers::dns_wire::{self, Change, TsigKey, TsigVerifyError};
        use base64ct::Encoding;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let key = TsigKey {
            name: bind.tsig_key.clone(),
            algorithm: "hmac-sha256".into(),
            secret: base64ct::Base64::decode_vec(&bind.tsig_secret).unwrap(),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let m = dns_wire::update_txt(
            4242,
            "example.com",
            "probe.example.com",
            "v",
            Change::Add(5),
        )
        .unwrap();
        let (signed, mac) = dns_wire::sign_with_mac(&m, &key, now).unwrap();
        let mut s = tokio::net::TcpStream::connect(server).await.unwrap();
        let mut framed = (signed.len() as u16).to_be_bytes().to_vec();
        framed.extend(&signed);
        s.write_all(&framed).await.unwrap();
        let mut lb = [0u8; 2];
        s.read_exact(&mut lb).await.unwrap();
        let mut reply = vec![0u8; usize::from(u16::from_be_bytes(lb))];
        s.read_exact(&mut reply).await.unwrap();
        assert_eq!(dns_wire::rcode(&reply), Some(0));
        dns_wire::verify_reply(&reply, &key, &mac, now).unwrap();
        assert_eq!(
            dns_wire::verify_reply(&reply, &key, &[0u8; 32], now),
            Err(TsigVerifyError::BadMac)
        );
        assert_eq!(
            dns_wire::verify_reply(&reply, &key, &mac, now + 1_000),
            Err(TsigVerifyError::BadTime)
        );
        let mut tampered = reply.clone();
        tampered[3] ^= 0x80; // flip a header flag bit
        assert_eq!(
            dns_wire::verify_reply(&tampered, &key, &mac, now),
            Err(TsigVerifyError::BadMac)
        );
        assert_eq!(
            dns_wire::verify_reply(&m, &key, &mac, now),
            Err(TsigVerifyError::Unsigned)
        );
        assert_eq!(dig_txt(bind.port, "probe.example.com"), "\"v\"");
    }

    // A wrong TSIG secret is refused by BIND: the certificate fails, nothing is published.
    let d2 = tempfile::tempdir().unwrap();
    let cfg2 = config(
        d2.path(),
        &ca,
        &dns("c2VjcmV0LXRoYXQtaXMtd3Jvbmctc2VjcmV0LXdyb25nISE="),
        "identifiers = [\"wrong.example.com\"]\nchallenge = \"dns-01\"",
    );
    let r = pass(&cfg2, &opts(&ca)).await;
    assert_eq!(r.exit_code(), 1, "{:?}", r.outcomes);
    assert!(
        r.outcomes[0].line.contains("refused"),
        "{}",
        r.outcomes[0].line
    );
    assert_eq!(dig_txt(bind.port, "_acme-challenge.wrong.example.com"), "");
}
