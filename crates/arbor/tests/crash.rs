//! Crash test: the real `arbor serve` process is SIGKILLed between every pair of steps of
//! an order, restarted on the same data directory, and the order is finished. Everything
//! the client was told before a kill must still be true after the restart.

use arbor_client::Http01Responder;
use arbor_proto::b64;
use arbor_testkit::Raw;
use serde_json::json;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
}

impl Server {
    fn start(data: &Path, port: u16, http_port: u16) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_arbor"))
            .arg("serve")
            .arg("--data-dir")
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--public-http-listen", "127.0.0.1:0"])
            .args(["--resolve-all-to", "127.0.0.1"])
            .args(["--http-port", &http_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn arbor serve");
        Server { child }
    }

    fn kill9(mut self) {
        // Child::kill sends SIGKILL on Unix.
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_every_step_loses_nothing() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let responder = Http01Responder::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let http_port = responder.local_addr().port();
    let dir_url = format!("https://127.0.0.1:{port}/dir");
    let names = ["crash.example.com", "www.crash.example.com"];

    let mut server = Server::start(data.path(), port, http_port);
    let mut raw = Raw::wait_ready(data.path(), &dir_url).await;
    let mut restarts = 0;
    macro_rules! crash {
        () => {{
            server.kill9();
            server = Server::start(data.path(), port, http_port);
            let fresh = Raw::wait_ready(data.path(), &dir_url).await;
            raw.http = fresh.http;
            raw.dir = fresh.dir;
            restarts += 1;
        }};
    }

    // 1. account
    let r = raw.register().await;
    assert_eq!(r.status, 201);
    let kid = raw.kid.clone().unwrap();
    crash!();
    let acct = raw.signed(&kid, None).await;
    assert_eq!(acct.status, 200, "account survives: {}", acct.text());

    // 2. order
    let r = raw.new_order(&names).await;
    assert_eq!(r.status, 201);
    let order_url = r.header("location").unwrap();
    let order = r.json();
    crash!();
    let again = raw.signed(&order_url, None).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["authorizations"], order["authorizations"]);

    // 3. challenges, one crash after each
    let tp = raw.key.public_jwk().thumbprint();
    for a in order["authorizations"].as_array().unwrap() {
        let authz = raw.signed(a.as_str().unwrap(), None).await.json();
        let ch = authz["challenges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "http-01")
            .unwrap()
            .clone();
        let token = ch["token"].as_str().unwrap();
        responder.insert(token, &format!("{token}.{tp}"));
        let r = raw
            .signed(ch["url"].as_str().unwrap(), Some(&json!({})))
            .await;
        assert_eq!(r.json()["status"], "valid", "{}", r.text());
        crash!();
        let authz = raw.signed(a.as_str().unwrap(), None).await.json();
        assert_eq!(authz["status"], "valid", "valid authorization survives");
    }

    // 4. ready
    let o = raw.signed(&order_url, None).await.json();
    assert_eq!(o["status"], "ready");
    crash!();

    // 5. finalize
    let (csr, _) = Raw::csr(&names);
    let r = raw
        .signed(
            o["finalize"].as_str().unwrap(),
            Some(&json!({"csr": b64::encode(&csr)})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let cert_url = r.json()["certificate"].as_str().unwrap().to_string();
    crash!();

    // 6. download after the restart: the same certificate
    let o = raw.signed(&order_url, None).await.json();
    assert_eq!(o["status"], "valid");
    assert_eq!(o["certificate"], cert_url.as_str());
    let c = raw.signed(&cert_url, None).await;
    assert_eq!(c.status, 200);
    assert!(c.text().contains("BEGIN CERTIFICATE"));
    server.kill9();
    assert_eq!(restarts, 6);
}
