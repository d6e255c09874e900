//! End to end: the log with an ML-DSA-44 CA cosigner and an HTTP witness issues
//! entries; standalone certificates built from the answers (CA + witness
//! signatures) and landmark-relative ones built from landmark proofs verify
//! with arbor-mtc's relying-party verifier; openssl parses them.

use std::sync::Arc;
use std::time::Duration;

use arbor_mtc::formats::{
    EntryExtensions, MtcCaExtension, MtcLogEntry, MtcProof, TbsCertificateLogEntry, serial_number,
};
use arbor_mtc::verify::VerifiedBy;
use arbor_mtc::{
    CaCertificate, CosignerKey, CosignerPolicy, MtcCertificate, TrustedSubtrees, verify,
};
use arbor_mtclog::storage::fault::MemStorage;
use arbor_mtclog::{IssuanceLog, LandmarkStatus, LogKeys, MlDsa44MessageSigner, WitnessEndpoint};
use der::asn1::UtcTime;
use x509_cert::certificate::Version;
use x509_cert::name::Name;
use x509_cert::time::{Time, Validity};

use crate::common::*;
use crate::witness::{witness, witness_id, witness_signer};

const T0: u64 = T0_MS / 1000;

/// The ML-DSA-44 CA certificate of log 1 for `ca_key`, and the policy requiring the CA
/// cosigner and the test witness.
pub fn ca_and_policy(
    ca_key: &MlDsa44MessageSigner,
) -> (
    arbor_mtc::formats::TrustAnchorId,
    CaCertificate,
    CosignerPolicy,
) {
    let ca_id = ca_id();
    let ca = CaCertificate::build(
        &ca_id,
        1,
        &validity(T0 - 86_400, 365 * 86_400),
        &ca_key.spki_der().unwrap(),
        MtcCaExtension {
            sig_alg: spki::AlgorithmIdentifierOwned {
                oid: const_oid::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.17"),
                parameters: None,
            },
            min_serial: 1 << 48,
            max_serial: (2 << 48) - 1,
        },
    )
    .unwrap();
    let wkey =
        CosignerKey::from_spki_der(witness_id(), &ed25519_spki(&witness_signer().verifier().0))
            .unwrap();
    let policy = CosignerPolicy::new()
        .with_cosigner(wkey)
        .require(ca_id.clone())
        .require_quorum(1, vec![witness_id()]);
    (ca_id, ca, policy)
}

pub fn validity(from: u64, secs: u64) -> Validity {
    let t = |s| Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(s)).unwrap());
    Validity::new(t(from), t(from + secs))
}

/// Ed25519 SubjectPublicKeyInfo (RFC 8410).
pub fn ed25519_spki(raw: &[u8]) -> Vec<u8> {
    let mut v = hex_prefix();
    v.extend_from_slice(raw);
    v
}

fn hex_prefix() -> Vec<u8> {
    vec![
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ]
}

fn openssl_parses(der: &[u8]) {
    let path = std::env::temp_dir().join(format!(
        "arbor-mtclog-{}-{}.der",
        std::process::id(),
        der.len()
    ));
    std::fs::write(&path, der).unwrap();
    let out = std::process::Command::new("openssl")
        .args(["x509", "-inform", "der", "-noout", "-text", "-in"])
        .arg(&path)
        .output();
    let _ = std::fs::remove_file(&path);
    if let Ok(o) = out {
        assert!(
            o.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("1.3.6.1.5.5.7.6.67"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issued_certificates_verify_with_arbor_mtc() {
    let env = Env::new();
    let w = Arc::new(witness(&env, MemStorage::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = arbor_mtclog::witness::router(w.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut cfg = config();
    cfg.witnesses = vec![WitnessEndpoint {
        url: format!("http://{addr}"),
        cosigner_id: witness_id(),
        verifier: Some(Arc::new(witness_signer().verifier())),
    }];
    let ca_key = Arc::new(MlDsa44MessageSigner::generate().unwrap());
    let k = LogKeys {
        log_key: keys(&cfg).log_key,
        ca_cosigner: ca_key.clone(),
    };
    let log = IssuanceLog::create(cfg.clone(), k, env.storage(), env.lock(), env.clock())
        .await
        .unwrap();

    let (ca_id, ca, policy) = ca_and_policy(&ca_key);

    // Index 0 is a null entry; then two rounds of certificates.
    submit_round(&log, vec![MtcLogEntry::null().encode().unwrap()]).await;
    let leaf_spki = ed25519_spki(&[5; 32]);
    let mut issued = Vec::new();
    for round in 0..2 {
        let tbs: Vec<TbsCertificateLogEntry> = (0..5)
            .map(|i| {
                let subject: Name = format!("CN=host{round}-{i}.example").parse().unwrap();
                TbsCertificateLogEntry::new(
                    Version::V3,
                    &ca_id,
                    &validity(T0 - 60, 6 * 86_400),
                    &subject,
                    &leaf_spki,
                    None,
                )
                .unwrap()
            })
            .collect();
        let encoded: Vec<Vec<u8>> = tbs
            .iter()
            .map(|e| MtcLogEntry::tbs_cert(e.clone()).encode().unwrap())
            .collect();
        for (e, a) in tbs.into_iter().zip(submit_round(&log, encoded).await) {
            let a = a.unwrap();
            let st = &a.subtree;
            assert_eq!(st.signatures.len(), 2, "CA and witness");
            let proof = MtcProof::new(
                EntryExtensions::default(),
                st.start,
                st.end,
                a.inclusion_proof.clone(),
                st.signatures.clone(),
            )
            .unwrap();
            let der =
                MtcCertificate::build(&e, &leaf_spki, serial_number(1, a.index).unwrap(), proof)
                    .unwrap()
                    .to_der()
                    .unwrap();
            let v = verify(
                &der,
                &ca,
                &policy,
                &TrustedSubtrees::default(),
                (T0 + 60) as i64,
            )
            .unwrap();
            assert_eq!((v.log, v.index), (1, a.index));
            assert_eq!(
                v.by,
                VerifiedBy::Cosigners(vec![ca_id.clone(), witness_id()])
            );
            // Without the witness signature the policy is not met.
            let mut cert = MtcCertificate::from_der(&der).unwrap();
            cert.proof.signatures.retain(|s| s.cosigner_id == ca_id);
            assert!(
                verify(
                    &cert.to_der().unwrap(),
                    &ca,
                    &policy,
                    &TrustedSubtrees::default(),
                    (T0 + 60) as i64
                )
                .is_err()
            );
            openssl_parses(&der);
            issued.push((a.index, e));
        }
    }

    // Landmark-relative certificates once a landmark covers the entries.
    env.clock.advance(cfg.landmark_interval);
    assert_eq!(log.tick_landmarks().await.unwrap(), Some(1));
    let trusted = log.trusted_subtrees();
    assert!(!trusted.0.is_empty());
    let now = (T0 + 3600 + 60) as i64;
    for (index, e) in issued {
        let LandmarkStatus::Covered(p) = log.landmark_for(index).await.unwrap() else {
            panic!("entry {index} not covered");
        };
        let proof = MtcProof::new(
            EntryExtensions::default(),
            p.subtree.start,
            p.subtree.end,
            p.inclusion_proof,
            Vec::new(),
        )
        .unwrap();
        let der = MtcCertificate::build(&e, &leaf_spki, serial_number(1, index).unwrap(), proof)
            .unwrap()
            .to_der()
            .unwrap();
        let v = verify(&der, &ca, &policy, &trusted, now).unwrap();
        assert_eq!(v.index, index);
        assert!(!matches!(v.by, VerifiedBy::Cosigners(_)), "{:?}", v.by);
        assert!(verify(&der, &ca, &policy, &TrustedSubtrees::default(), now).is_err());
    }
    env.check(&cfg, None);
    server.abort();
}
