//! The README's MTC walkthrough, run as the built binaries (issue 7): `arbor serve` with
//! a 3-second landmark interval, `arbor client run` under profile `mtc` installs the
//! standalone certificate at once, later runs (each exiting 0) pick up `landmark.pem`,
//! and `arbor verify` accepts both — the standalone one by the CA's cosignature, the
//! landmark-relative one against the live log's landmarks (`--log-url`).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn arbor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arbor"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("arbor runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

struct Server(std::process::Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn walkthrough_standalone_then_landmark_relative_both_verify() {
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("ca");
    let port = free_port();
    let http_port = free_port();
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_arbor"))
            .arg("serve")
            .args(["--data-dir", s(&data)])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--public-http-listen", "127.0.0.1:0"])
            .args(["--resolve-all-to", "127.0.0.1"])
            .args(["--http-port", &http_port.to_string()])
            .args(["--landmark-interval", "3s", "--sequence-interval", "50ms"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let root = data.join("root.pem");
    let ca_der = data.join("mtc/ca.der");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(root.exists() && ca_der.exists()) {
        assert!(Instant::now() < deadline, "CA did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let config = d.path().join("client.toml");
    std::fs::write(
        &config,
        format!(
            "directory = \"https://127.0.0.1:{port}/dir\"\ntrust_root = \"{}\"\nstate_dir = \"state\"\n\n\
             [[certificate]]\nname = \"site\"\nidentifiers = [\"mtc-site.example.com\"]\n\
             profile = \"mtc\"\nhttp_port = {http_port}\nbind_address = \"127.0.0.1\"\n\
             output_dir = \"live\"\ndeploy_hook = \"echo deployed >> {}\"\n",
            root.display(),
            d.path().join("hook.log").display()
        ),
    )
    .unwrap();
    let live = d.path().join("live");

    // The first run may race the server's start-up; it is a cron job, so run it again.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let o = arbor(&["client", "run", "--config", s(&config)]);
        if o.status.success() {
            assert!(text(&o).contains("issued"), "{}", text(&o));
            break;
        }
        assert!(Instant::now() < deadline, "first run: {}", text(&o));
        std::thread::sleep(Duration::from_millis(500));
    }
    for f in [
        "cert.pem",
        "fullchain.pem",
        "key.pem",
        "cert.pem.properties",
    ] {
        assert!(live.join(f).exists(), "{f} installed at once");
    }
    let v = arbor(&[
        "verify",
        "--cert",
        s(&live.join("cert.pem")),
        "--ca",
        s(&ca_der),
    ]);
    assert!(v.status.success(), "{}", text(&v));
    assert!(text(&v).starts_with("valid: standalone"), "{}", text(&v));

    // Later cron runs: nothing fails while the landmark is pending; then landmark.pem.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut runs = 0;
    while !live.join("landmark.pem").exists() {
        assert!(
            Instant::now() < deadline,
            "no landmark.pem after {runs} runs"
        );
        std::thread::sleep(Duration::from_secs(1));
        let o = arbor(&["client", "run", "--config", s(&config)]);
        assert!(o.status.success(), "run {runs}: {}", text(&o));
        runs += 1;
    }
    assert!(live.join("landmark.pem.properties").exists());
    let status = arbor(&["client", "status", "--config", s(&config)]);
    assert!(
        text(&status).contains("landmark-relative certificate installed"),
        "{}",
        text(&status)
    );
    let v = arbor(&[
        "verify",
        "--cert",
        s(&live.join("landmark.pem")),
        "--ca",
        s(&ca_der),
        "--log-url",
        &format!("https://127.0.0.1:{port}/mtc/1"),
        "--root",
        s(&root),
    ]);
    assert!(v.status.success(), "{}", text(&v));
    assert!(
        text(&v).starts_with("valid: landmark-relative"),
        "{}",
        text(&v)
    );
    let hook = std::fs::read_to_string(d.path().join("hook.log")).unwrap();
    assert_eq!(
        hook.lines().count(),
        2,
        "deploy hook once per certificate: {hook}"
    );

    // Revocation works for an MTC as for X.509: recorded once, refused the second time.
    let r = arbor(&["client", "revoke", "--config", s(&config), "--name", "site"]);
    assert!(r.status.success(), "{}", text(&r));
    let again = arbor(&["client", "revoke", "--config", s(&config), "--name", "site"]);
    assert!(!again.status.success());
    assert!(text(&again).contains("alreadyRevoked"), "{}", text(&again));
}
