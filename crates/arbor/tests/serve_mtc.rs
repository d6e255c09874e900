//! `arbor serve` mounts the MTC issuance log at its stable paths: `/mtc/ca.der` (an RFC
//! 9925 unsigned CA certificate with the critical MTC extension, parsed here by arbor-mtc
//! and by openssl), `/mtc/1/checkpoint` (a signed note whose origin is the log ID), and
//! `/mtc/1/landmarks`; and it reopens the same log after a restart.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn get(client: &reqwest::Client, url: &str) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(url).send().await
            && r.status() == 200
        {
            return r.bytes().await.unwrap().to_vec();
        }
        assert!(Instant::now() < deadline, "{url} did not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_mounts_the_mtc_log() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("https://127.0.0.1:{port}");
    let mut checkpoints = Vec::new();
    for _ in 0..2 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_arbor"))
            .arg("serve")
            .arg("--data-dir")
            .arg(data.path())
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--public-http-listen", "127.0.0.1:0"])
            .args(["--landmark-interval", "2s", "--sequence-interval", "50ms"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !data.path().join("root.pem").exists() {
            assert!(Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let root = std::fs::read(data.path().join("root.pem")).unwrap();
        let client = reqwest::Client::builder()
            .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&root).unwrap())
            .build()
            .unwrap();
        let ca = get(&client, &format!("{base}/mtc/ca.der")).await;
        let parsed = arbor_mtc::CaCertificate::from_der(&ca).expect("CA certificate parses");
        assert_eq!(parsed.ca_id.to_string(), "32473.1");
        let cp = get(&client, &format!("{base}/mtc/1/checkpoint")).await;
        let text = String::from_utf8(cp.clone()).unwrap();
        assert!(text.starts_with("oid/1.3.6.1.4.1.32473.1.0.1\n"), "{text}");
        assert!(
            text.contains("\n— oid/1.3.6.1.4.1.32473.1 "),
            "CA cosignature: {text}"
        );
        checkpoints.push(text.lines().take(3).collect::<Vec<_>>().join("\n"));
        let lm = get(&client, &format!("{base}/mtc/1/landmarks")).await;
        assert!(!lm.is_empty());
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert_eq!(checkpoints[0], checkpoints[1], "the same log is reopened");
    let dir = data.path().join("mtc");
    let mode = |p: &str| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(dir.join(p)).unwrap().permissions().mode() & 0o777
    };
    assert_eq!(mode("ca-cosigner.seed"), 0o600);
    assert_eq!(mode("log-key.seed"), 0o600);
}
