//! Crash test of MTC issuance (draft-ietf-plants-merkle-tree-certs §9): the real `arbor
//! serve` process aborts (`ARBOR_TEST_CRASH_AT`, SIGABRT: no destructors, no flushes)
//! after the issuance log made an order's entry durable but before the database recorded
//! its certificate — once before the serial reservation, once after it. Checked before
//! the restart: the log holds the entry, the database has the order in `processing` and
//! no certificate. After the restart: the order is `valid`, its certificate's serial
//! names that first entry, the log grew by exactly one entry for the order (no duplicate)
//! and the certificate verifies with `arbor_mtc::verify`.

use arbor_mtc::{CaCertificate, CosignerKey, CosignerPolicy, TrustedSubtrees, verify};
use arbor_proto::b64;
use arbor_store::{OrderStatus, SqliteStore, Storage};
use arbor_testkit::Raw;
use serde_json::json;
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(data: &Path, port: u16, http_port: u16, crash_at: Option<&str>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_arbor"));
    cmd.arg("serve")
        .arg("--data-dir")
        .arg(data)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--public-http-listen", "127.0.0.1:0"])
        .args(["--resolve-all-to", "127.0.0.1"])
        .args(["--http-port", &http_port.to_string()])
        .args(["--sequence-interval", "50ms"])
        .env_remove(arbor_ra::CRASH_AT_ENV)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(point) = crash_at {
        cmd.env(arbor_ra::CRASH_AT_ENV, point);
    }
    cmd.spawn().expect("spawn arbor serve")
}

/// Tree size of a checkpoint note (its second line).
fn size_of(note: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(note);
    text.lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .expect("checkpoint size")
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_between_log_and_store_adopts_the_entry() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let responder = arbor_client::Http01Responder::start("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let http_port = responder.local_addr().port();
    let base = format!("https://127.0.0.1:{port}");
    let dir_url = format!("{base}/dir");
    let published = data.path().join("mtc/log-1/objects/checkpoint");

    let mut server = start(data.path(), port, http_port, None);
    let mut raw = Raw::wait_ready(data.path(), &dir_url).await;
    assert_eq!(raw.register().await.status, 201);
    let ca = CaCertificate::from_der(&raw.get(&format!("{base}/mtc/ca.der")).await.body)
        .expect("MTC CA certificate");
    let policy = CosignerPolicy::new()
        .with_cosigner(CosignerKey::from_spki_der(ca.ca_id.clone(), &ca.spki_der).unwrap())
        .require(ca.ca_id.clone());
    server.kill().unwrap();
    server.wait().unwrap();

    for (n, point) in ["mtc-logged", "mtc-reserved"].into_iter().enumerate() {
        server = start(data.path(), port, http_port, Some(point));
        let fresh = Raw::wait_ready(data.path(), &dir_url).await;
        (raw.http, raw.dir) = (fresh.http, fresh.dir);
        let name = format!("crash{n}.example");
        let r = raw
            .signed(
                &raw.dir.new_order.clone(),
                Some(&json!({"identifiers": [{"type": "dns", "value": name}], "profile": "mtc"})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let order_url = r.header("location").unwrap();
        let order = r.json();
        raw.solve_http01(&order, &responder).await;
        let before = size_of(&raw.get(&format!("{base}/mtc/1/checkpoint")).await.body);

        // Finalize: the server dies at the crash point, so no answer comes back.
        let finalize = order["finalize"].as_str().unwrap().to_string();
        let (csr, _) = Raw::csr(&[&name]);
        let body = json!({"csr": b64::encode(&csr)}).to_string();
        let jws = raw
            .key
            .sign_jws(
                Some(body.as_bytes()),
                &finalize,
                Some(&raw.nonce().await),
                raw.kid.as_deref(),
            )
            .unwrap();
        let answer = raw
            .http
            .post(&finalize)
            .header("content-type", "application/jose+json")
            .body(jws.to_string())
            .send()
            .await;
        assert!(answer.is_err(), "{point}: finalize answered {answer:?}");
        let status = server.wait().unwrap();
        assert_eq!(status.signal(), Some(libc::SIGABRT), "{point}: {status:?}");

        // The crash state: the entry is in the log, the database does not know it.
        let logged = size_of(&std::fs::read(&published).unwrap());
        assert_eq!(logged, before + 1, "{point}: the entry was logged");
        let serial = (1u64 << 48) | before;
        let order_id = order_url.rsplit('/').next().unwrap();
        {
            let store = SqliteStore::open(&data.path().join("arbor.db"))
                .await
                .unwrap();
            let o = store.get_order(order_id).await.unwrap().unwrap();
            assert_eq!(o.status, OrderStatus::Processing, "{point}");
            let cert = store.get_certificate(&arbor_ra::serial_hex(serial)).await;
            assert!(cert.unwrap().is_none(), "{point}: no certificate yet");
        }

        // Restart without the crash point: recovery adopts the logged entry.
        server = start(data.path(), port, http_port, None);
        let fresh = Raw::wait_ready(data.path(), &dir_url).await;
        (raw.http, raw.dir) = (fresh.http, fresh.dir);
        let o = raw.signed(&order_url, None).await.json();
        assert_eq!(o["status"], "valid", "{point}: {o}");
        let cert_url = o["certificate"].as_str().unwrap();
        assert!(
            cert_url.ends_with(&arbor_ra::serial_hex(serial)),
            "{point}: {cert_url}"
        );
        let der = raw.signed(cert_url, None).await.leaf_der();
        let v = verify(&der, &ca, &policy, &TrustedSubtrees::default(), now())
            .unwrap_or_else(|e| panic!("{point}: certificate does not verify: {e}"));
        assert_eq!((v.log, v.index), (1, before), "{point}: the first entry");
        // Give a (wrongly) resubmitted entry time to be sequenced before counting.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = size_of(&raw.get(&format!("{base}/mtc/1/checkpoint")).await.body);
        assert_eq!(
            after,
            before + 1,
            "{point}: exactly one entry for the order"
        );
        server.kill().unwrap();
        server.wait().unwrap();
    }
}
