//! The cron client killed at every step (issue 6): `arbor client run` is made to abort
//! itself (SIGABRT, nothing unwound — what `kill -9` leaves) right after each step of an
//! issuance, then a normal run must finish the job from the saved state: the certificate
//! is installed, the account holds exactly one order, and a further run does nothing.

use arbor_proto::sign::{KeyKind, SigningKey};
use arbor_testkit::Raw;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const STEPS: &[&str] = &[
    "account",
    "order",
    "challenges",
    "key",
    "finalize",
    "download",
    "install",
];

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn client(config: &Path, crash: Option<&str>) -> std::process::Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_arbor"));
    c.args(["client", "run", "--config"]).arg(config);
    if let Some(step) = crash {
        c.env("ARBOR_CLIENT_CRASH_AFTER", step);
    }
    c.stdin(Stdio::null()).output().expect("arbor client runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_every_step_then_finished_once() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let http_port = free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_arbor"))
        .arg("serve")
        .arg("--data-dir")
        .arg(data.path().join("ca"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--public-http-listen", "127.0.0.1:0"])
        .args(["--resolve-all-to", "127.0.0.1"])
        .args(["--http-port", &http_port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let root = data.path().join("ca/root.pem");
    let directory = format!("https://127.0.0.1:{port}/dir");
    let deadline = Instant::now() + Duration::from_secs(30);
    let raw_probe = loop {
        if root.exists()
            && let Ok(Ok(r)) = tokio::time::timeout(
                Duration::from_secs(2),
                tokio::spawn({
                    let d = directory.clone();
                    let r = std::fs::read(&root).unwrap();
                    async move { Raw::new(&d, &r, KeyKind::P256).await }
                }),
            )
            .await
        {
            break r;
        }
        assert!(Instant::now() < deadline, "CA did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for (i, step) in STEPS.iter().enumerate() {
        let dir = data.path().join(format!("client-{step}"));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("client.toml");
        std::fs::write(
            &config,
            format!(
                "directory = \"{directory}\"\ntrust_root = \"{}\"\nstate_dir = \"{}\"\n\n\
                 [[certificate]]\nname = \"www\"\nidentifiers = [\"k{i}.example.com\"]\n\
                 challenge = \"http-01\"\nhttp_port = {http_port}\nkey = \"p256\"\n\
                 output_dir = \"{}\"\n",
                root.display(),
                dir.join("state").display(),
                dir.join("live").display()
            ),
        )
        .unwrap();
        let killed = client(&config, Some(step));
        assert!(!killed.status.success(), "{step}: the run was aborted");
        let done = client(&config, None);
        assert!(
            done.status.success(),
            "{step}: recovery run: {}{}",
            String::from_utf8_lossy(&done.stdout),
            String::from_utf8_lossy(&done.stderr)
        );
        let cert = dir.join("live/cert.pem");
        assert!(cert.exists(), "{step}: certificate installed");
        let v = Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(&root)
            .arg("-untrusted")
            .arg(dir.join("live/chain.pem"))
            .arg(&cert)
            .output()
            .unwrap();
        assert!(
            v.status.success(),
            "{step}: {}",
            String::from_utf8_lossy(&v.stderr)
        );
        let idle = client(&config, None);
        assert!(idle.status.success());
        let out = String::from_utf8_lossy(&idle.stdout);
        assert!(!out.contains("issued"), "{step}: third run is idle: {out}");
        // Exactly one order on the account.
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("state/state.json")).unwrap()).unwrap();
        let kid = state["account_url"].as_str().unwrap().to_string();
        let mut raw = Raw::new(&directory, &std::fs::read(&root).unwrap(), KeyKind::P256).await;
        raw.key =
            SigningKey::from_pem(&std::fs::read_to_string(dir.join("state/account.key")).unwrap())
                .unwrap();
        raw.kid = Some(kid.clone());
        let acct = raw.signed(&kid, None).await.json();
        let orders = raw
            .signed(acct["orders"].as_str().unwrap(), None)
            .await
            .json();
        assert_eq!(
            orders["orders"].as_array().unwrap().len(),
            1,
            "{step}: one order, no duplicate: {orders}"
        );
    }
    drop(raw_probe);
    server.kill().unwrap();
    server.wait().unwrap();
}
