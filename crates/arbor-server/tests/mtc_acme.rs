//! MTC over ACME end to end on HTTPS loopback (draft-ietf-plants-merkle-tree-certs §9 and
//! PR #207): an order under profile `mtc` gets a standalone certificate at once; the
//! landmark-relative certificate follows through both designs once the (driven, 1 s)
//! landmark clock allocates a landmark.

use arbor_mtc::formats::CertificatePropertyList;
use arbor_mtc::{CaCertificate, CosignerKey, CosignerPolicy, TrustedSubtrees, verify};
use arbor_proto::sign::KeyKind;
use arbor_ra::RaConfig;
use arbor_server::mtc::MtcOptions;
use arbor_testkit::{Raw, TestCa};
use serde_json::{Value, json};
use std::time::Duration;

const WITH_PROPS: &str = "application/pem-certificate-chain-with-properties";

async fn mtc_ca() -> TestCa {
    mtc_ca_every(Duration::from_secs(1)).await
}

async fn mtc_ca_every(landmark_interval: Duration) -> TestCa {
    TestCa::start_mtc(
        RaConfig {
            rate_limits: arbor_ra::RateLimits::off(),
            ..RaConfig::default()
        },
        MtcOptions {
            sequence_interval: Duration::from_millis(20),
            landmark_interval,
            ..MtcOptions::default()
        },
    )
    .await
}

/// Registers and completes an order under profile `mtc`; returns (client, order, url).
async fn mtc_order(ca: &TestCa, names: &[&str]) -> (Raw, Value, String) {
    let mut raw = ca.raw(KeyKind::P256).await;
    assert_eq!(raw.register().await.status, 201);
    let ids: Vec<Value> = names
        .iter()
        .map(|n| json!({"type": "dns", "value": n}))
        .collect();
    let r = raw
        .signed(
            &raw.dir.new_order.clone(),
            Some(&json!({"identifiers": ids, "profile": "mtc"})),
        )
        .await;
    assert_eq!(r.status, 201, "newOrder: {}", r.text());
    let url = r.header("location").expect("Location");
    let order = r.json();
    raw.solve_http01(&order, &ca.responder).await;
    let (csr, _) = Raw::csr(names);
    let r = raw
        .signed(
            order["finalize"].as_str().unwrap_or_default(),
            Some(&json!({"csr": arbor_proto::b64::encode(&csr)})),
        )
        .await;
    assert_eq!(r.status, 200, "finalize: {}", r.text());
    let order = r.json();
    assert_eq!(order["status"], "valid", "standalone at once: {order}");
    (raw, order, url)
}

async fn ca_cert(ca: &TestCa, raw: &Raw) -> CaCertificate {
    let r = raw.get(&format!("{}/mtc/ca.der", ca.base)).await;
    assert_eq!(r.status, 200);
    CaCertificate::from_der(&r.body).expect("CA certificate")
}

fn policy(ca: &CaCertificate) -> CosignerPolicy {
    CosignerPolicy::new()
        .with_cosigner(CosignerKey::from_spki_der(ca.ca_id.clone(), &ca.spki_der).expect("key"))
        .require(ca.ca_id.clone())
}

/// The DER of every `CERTIFICATE` block in `pem`.
fn pem_certs(pem: &str) -> Vec<Vec<u8>> {
    use base64ct::{Base64, Encoding};
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in pem.lines() {
        match line {
            "-----BEGIN CERTIFICATE-----" => cur = Some(String::new()),
            "-----END CERTIFICATE-----" => {
                if let Some(b) = cur.take() {
                    out.push(Base64::decode_vec(&b).expect("base64"));
                }
            }
            l => {
                if let Some(b) = cur.as_mut() {
                    b.push_str(l);
                }
            }
        }
    }
    out
}

/// The `CERTIFICATE PROPERTIES` block of a download.
fn properties(pem: &str) -> CertificatePropertyList {
    let start = pem
        .find("-----BEGIN CERTIFICATE PROPERTIES-----")
        .expect("properties block");
    CertificatePropertyList::from_pem(&pem[start..]).expect("properties")
}

/// openssl (an independent parser) reads the certificate and its SAN.
fn openssl_sees_san(ca: &TestCa, der: &[u8], name: &str) {
    let path = ca.dir.path().join(format!("check-{}.der", der.len()));
    std::fs::write(&path, der).expect("write");
    let out = std::process::Command::new("openssl")
        .args([
            "x509",
            "-inform",
            "der",
            "-noout",
            "-ext",
            "subjectAltName",
            "-in",
        ])
        .arg(&path)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("DNS:{name}")));
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtc_profile_issues_a_verifying_standalone_certificate() {
    let ca = mtc_ca().await;
    let dir = ca.raw(KeyKind::P256).await.get(&ca.directory).await.json();
    assert!(dir["meta"]["profiles"]["mtc"].is_string(), "{dir}");
    assert!(dir["meta"]["profiles"]["classic"].is_string(), "{dir}");
    let (raw, order, _) = mtc_order(&ca, &["mtc.example"]).await;
    let cert_url = order["certificate"].as_str().expect("certificate URL");
    let r = raw.signed(cert_url, None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/pem-certificate-chain")
    );
    // An RFC 8555-only client gets the CA certificate after the MTC (certbot needs two).
    let certs = pem_certs(&r.text());
    assert_eq!(certs.len(), 2, "MTC + CA certificate: {}", r.text());
    let ca_cert = ca_cert(&ca, &raw).await;
    assert_eq!(
        certs[1], ca_cert.der,
        "the second is the MTC CA certificate"
    );
    let v = verify(
        &certs[0],
        &ca_cert,
        &policy(&ca_cert),
        &TrustedSubtrees::default(),
        now(),
    )
    .expect("standalone certificate verifies");
    assert_eq!(v.log, 1);
    // The serial in the URL is the certificate's.
    assert!(
        cert_url.ends_with(&arbor_ra::serial_hex(v.serial)),
        "{cert_url}"
    );

    // With properties: the same certificate plus the CA ID as trust anchor ID, and the
    // design-A link to the landmark-relative certificate.
    let r = raw.signed_accept(cert_url, None, WITH_PROPS).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type").as_deref(), Some(WITH_PROPS));
    assert_eq!(
        pem_certs(&r.text()),
        certs[..1],
        "an MTC-aware client gets no chain"
    );
    let props = properties(&r.text());
    assert_eq!(props.trust_anchor_id(), Some(&ca_cert.ca_id));
    assert!(
        r.headers_all("link")
            .iter()
            .any(|l| l == &format!("<{cert_url}/landmark>;rel=\"acme-optional-alternate\"")),
        "{:?}",
        r.headers_all("link")
    );

    // openssl parses it and sees the SAN.
    openssl_sees_san(&ca, &certs[0], "mtc.example");

    // Classic orders on the same CA still get X.509 chains.
    let (classic, _) = raw.issue(&["classic.example"], &ca.responder).await;
    let r = raw
        .signed(classic["certificate"].as_str().unwrap_or_default(), None)
        .await;
    assert!(pem_certs(&r.text()).len() >= 2, "classic chain");
}

fn log(ca: &TestCa) -> std::sync::Arc<arbor_mtclog::IssuanceLog> {
    ca.running
        .state
        .mtc
        .as_ref()
        .expect("MTC enabled")
        .log()
        .clone()
}

/// Trusted subtrees of every landmark the log has allocated (what a relying party
/// current to the newest landmark holds).
fn trusted(ca: &TestCa) -> TrustedSubtrees {
    log(ca).trusted_subtrees()
}

async fn covered(ca: &TestCa, index: u64) -> bool {
    matches!(
        log(ca).landmark_for(index).await.expect("landmark_for"),
        arbor_mtclog::LandmarkStatus::Covered(_)
    )
}

fn retry_after(r: &arbor_testkit::Resp) -> u64 {
    r.header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After missing (status {})", r.status))
}

async fn new_relative_url(raw: &Raw, ca: &TestCa) -> String {
    let dir = raw.get(&ca.directory).await.json();
    dir["newRelativeCertificate"]
        .as_str()
        .expect("newRelativeCertificate in the directory")
        .to_string()
}

async fn standalone_der(raw: &Raw, order: &Value) -> Vec<u8> {
    let r = raw
        .signed_accept(
            order["certificate"].as_str().unwrap_or_default(),
            None,
            WITH_PROPS,
        )
        .await;
    assert_eq!(r.status, 200);
    pem_certs(&r.text()).remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn landmark_relative_certificate_through_both_designs() {
    let ca = mtc_ca_every(Duration::from_secs(2)).await;
    // Before the landmark. The landmark clock runs on its own, so an order issued just
    // before a landmark is retried with a fresh one (the check brackets the requests).
    let mut chosen = None;
    for _ in 0..5 {
        let (raw, order, url) = mtc_order(&ca, &["rel.example"]).await;
        let der = standalone_der(&raw, &order).await;
        let serial = arbor_mtc::MtcCertificate::from_der(&der)
            .expect("mtc")
            .tbs
            .serial;
        let index = arbor_mtc::formats::split_serial(serial).1;
        if covered(&ca, index).await {
            continue;
        }
        let cert_url = order["certificate"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let a = raw.signed(&format!("{cert_url}/landmark"), None).await;
        let b_url = new_relative_url(&raw, &ca).await;
        let b = raw
            .signed(
                &b_url,
                Some(&json!({"standalone": arbor_proto::b64::encode(&der)})),
            )
            .await;
        if covered(&ca, index).await {
            continue;
        }
        assert_eq!(a.status, 202, "design A before the landmark: {}", a.text());
        assert!((1..=2).contains(&retry_after(&a)), "within one interval");
        assert_eq!(b.status, 403, "design B before the landmark: {}", b.text());
        assert_eq!(b.problem_type(), "landmarkNotReady");
        assert!((1..=2).contains(&retry_after(&b)), "within one interval");
        chosen = Some((raw, order, url, der, cert_url, b_url, serial));
        break;
    }
    let (raw, _, url, der, cert_url, b_url, serial) = chosen.expect("an order before a landmark");

    // The valid order names the log's landmark document (PR #207), which is served.
    let order = raw.signed(&url, None).await.json();
    let lm_url = order["landmarkURL"]
        .as_str()
        .expect("landmarkURL")
        .to_string();
    assert!(lm_url.ends_with("/mtc/1/landmarks"), "{lm_url}");
    assert_eq!(raw.get(&lm_url).await.status, 200);

    // Design A: follow Retry-After until the landmark exists.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let a = loop {
        let r = raw
            .signed_accept(&format!("{cert_url}/landmark"), None, WITH_PROPS)
            .await;
        if r.status == 200 {
            break r;
        }
        assert_eq!(r.status, 202, "{}", r.text());
        assert!(std::time::Instant::now() < deadline, "no landmark in time");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(a.header("content-type").as_deref(), Some(WITH_PROPS));
    let rel = pem_certs(&a.text()).remove(0);
    assert_ne!(rel, der);
    let ca_cert = ca_cert(&ca, &raw).await;
    // A landmark-relative certificate needs no cosignatures, only the trusted subtree.
    let v = verify(&rel, &ca_cert, &CosignerPolicy::new(), &trusted(&ca), now())
        .expect("landmark-relative certificate verifies");
    assert_eq!(v.serial, serial);
    openssl_sees_san(&ca, &rel, "rel.example");
    assert_eq!(v.by, arbor_mtc::verify::VerifiedBy::TrustedSubtree);
    assert!(
        verify(
            &rel,
            &ca_cert,
            &CosignerPolicy::new(),
            &TrustedSubtrees::default(),
            now()
        )
        .is_err(),
        "without the landmark's subtree it does not verify"
    );
    let props = properties(&a.text());
    let tai = props
        .trust_anchor_id()
        .expect("trust anchor id")
        .to_string();
    assert!(tai.starts_with(&format!("{}.1.1.", ca_cert.ca_id)), "{tai}");

    // Design B returns the same certificate.
    let b = raw
        .signed(
            &b_url,
            Some(&json!({"standalone": arbor_proto::b64::encode(&der)})),
        )
        .await;
    assert_eq!(b.status, 200, "{}", b.text());
    assert_eq!(pem_certs(&b.text()), vec![rel.clone()]);

    // Another account may not ask for this certificate; a tampered one is refused.
    let mut other = ca.raw(KeyKind::P256).await;
    assert_eq!(other.register().await.status, 201);
    let r = other
        .signed(
            &b_url,
            Some(&json!({"standalone": arbor_proto::b64::encode(&der)})),
        )
        .await;
    assert!(r.status == 404 || r.status == 403, "{}", r.text());
    assert_ne!(r.status / 100, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stampede_after_a_landmark_is_answered_without_errors() {
    let ca = mtc_ca().await;
    let mut issued = Vec::new();
    for i in 0..5 {
        let name = format!("herd{i}.example");
        let (raw, order, _) = mtc_order(&ca, &[name.as_str()]).await;
        let der = standalone_der(&raw, &order).await;
        issued.push((std::sync::Arc::new(raw), der));
    }
    let last = arbor_mtc::MtcCertificate::from_der(&issued[4].1)
        .expect("mtc")
        .tbs
        .serial;
    let last = arbor_mtc::formats::split_serial(last).1;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !covered(&ca, last).await {
        assert!(std::time::Instant::now() < deadline, "no landmark in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let b_url = new_relative_url(&issued[0].0, &ca).await;
    // Saturate the build permits for the first moment, as a burst of earlier clients
    // would, so the herd meets the guard: deliberate 503s with a jittered Retry-After.
    let permits = ca.running.state.relative_permits.clone();
    let held = permits
        .acquire_many_owned(arbor_server::state::RELATIVE_PERMITS as u32)
        .await
        .expect("permits");
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        drop(held);
    });
    let mut tasks = Vec::new();
    for n in 0..50 {
        let (raw, der) = issued[n % issued.len()].clone();
        let url = b_url.clone();
        tasks.push(tokio::spawn(async move {
            let body = json!({"standalone": arbor_proto::b64::encode(&der)});
            let mut busy = 0;
            loop {
                let r = raw.signed(&url, Some(&body)).await;
                match r.status {
                    200 => return (pem_certs(&r.text()).len(), busy),
                    503 => {
                        let secs = retry_after(&r);
                        assert!((1..=4).contains(&secs), "jittered Retry-After {secs}");
                        busy += 1;
                        tokio::time::sleep(Duration::from_secs(secs)).await;
                    }
                    s => panic!("unexpected {s}: {}", r.text()),
                }
            }
        }));
    }
    let mut busy = 0;
    for t in tasks {
        let (n, b) = t.await.expect("task");
        assert_eq!(n, 1);
        busy += b;
    }
    assert!(busy >= 1, "the saturated guard answered 503");
    eprintln!("50 landmark-relative requests answered; {busy} deliberate 503s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_mtc_log_nothing_mtc_is_offered() {
    let ca = TestCa::start().await;
    let raw = ca.raw(KeyKind::P256).await;
    let dir = raw.get(&ca.directory).await.json();
    assert!(dir.get("newRelativeCertificate").is_none(), "{dir}");
    assert!(dir["meta"]["profiles"].get("mtc").is_none(), "{dir}");
    assert!(dir["meta"]["profiles"]["classic"].is_string(), "{dir}");
}
