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
    TestCa::start_mtc(
        RaConfig {
            rate_limits: arbor_ra::RateLimits::off(),
            ..RaConfig::default()
        },
        MtcOptions {
            sequence_interval: Duration::from_millis(20),
            landmark_interval: Duration::from_secs(1),
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
    let certs = pem_certs(&r.text());
    assert_eq!(certs.len(), 1, "an MTC has no chain: {}", r.text());
    let ca_cert = ca_cert(&ca, &raw).await;
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
    assert_eq!(pem_certs(&r.text()), certs);
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
    let path = ca.dir.path().join("standalone.der");
    std::fs::write(&path, &certs[0]).expect("write");
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
    assert!(String::from_utf8_lossy(&out.stdout).contains("DNS:mtc.example"));

    // Classic orders on the same CA still get X.509 chains.
    let (classic, _) = raw.issue(&["classic.example"], &ca.responder).await;
    let r = raw
        .signed(classic["certificate"].as_str().unwrap_or_default(), None)
        .await;
    assert!(pem_certs(&r.text()).len() >= 2, "classic chain");
}
