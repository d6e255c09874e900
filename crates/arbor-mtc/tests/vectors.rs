//! Conformance against the PLANTS reference demo's -07 corpus
//! (/work/shared/vectors/mtc-plants-07, see its README): parsing, exact re-encoding,
//! verification under real cosigner keys, and the negative cases.
use std::path::{Path, PathBuf};

use arbor_mtc::formats::{FormatError, MtcProof, split_serial};
use arbor_mtc::verify::{CosignerAlgorithm, VerifiedBy};
use arbor_mtc::{
    CaCertificate, CosignerKey, CosignerPolicy, MtcCertificate, TrustAnchorId, TrustedSubtree,
    TrustedSubtrees, VerifyError, verify,
};

/// 2025-06-15, inside every fixture's 2020..2030 validity.
const NOW: i64 = 1_750_000_000;

fn dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/mtc-plants-07");
    if d.join("ca.der").exists() {
        Some(d)
    } else {
        println!("NOTE: {} not found; skipping MTC vector tests", d.display());
        None
    }
}

fn read(d: &Path, name: &str) -> Vec<u8> {
    std::fs::read(d.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn key(d: &Path, stem: &str) -> CosignerKey {
    let hex_text = std::fs::read_to_string(d.join("keys").join(format!("{stem}.hex"))).unwrap();
    let id: TrustAnchorId = stem
        .trim_start_matches("C_")
        .replace('_', ".")
        .parse()
        .unwrap();
    CosignerKey::from_spki_der(id, &hex::decode(hex_text.trim()).unwrap()).unwrap()
}

fn id(s: &str) -> TrustAnchorId {
    s.parse().unwrap()
}

fn full_policy(d: &Path) -> CosignerPolicy {
    CosignerPolicy::new()
        .with_cosigner(key(d, "C_32473_1"))
        .with_cosigner(key(d, "C_32473_2_1"))
        .with_cosigner(key(d, "C_32473_2_2"))
        .with_cosigner(key(d, "C_32473_2_3"))
        .require(id("32473.1"))
        .require_quorum(2, vec![id("32473.2.1"), id("32473.2.2"), id("32473.2.3")])
}

/// The landmark subtree hash a certificate's own inclusion proof yields.
fn own_subtree(der: &[u8]) -> TrustedSubtree {
    let cert = MtcCertificate::from_der(der).unwrap();
    let (log, index) = split_serial(cert.tbs.serial);
    let entry = cert.log_entry().unwrap().leaf_hash().unwrap();
    let hash = arbor_mtc::verify::evaluate_inclusion(&cert.proof, index, &entry).unwrap();
    TrustedSubtree {
        log,
        start: cert.proof.start,
        end: cert.proof.end,
        hash,
    }
}

fn replace_once(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let pos: Vec<usize> = haystack
        .windows(from.len())
        .enumerate()
        .filter(|(_, w)| *w == from)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        pos.len(),
        1,
        "pattern {} must occur once",
        hex::encode(from)
    );
    let mut out = haystack.to_vec();
    out[pos[0]..pos[0] + from.len()].copy_from_slice(to);
    out
}

#[test]
fn ca_certificate_parses_and_rebuilds_exactly() {
    let Some(d) = dir() else { return };
    let der = read(&d, "ca.der");
    let ca = CaCertificate::from_der(&der).unwrap();
    assert_eq!(ca.ca_id.to_string(), "32473.1");
    assert_eq!(ca.mtc.min_serial, 1 << 48);
    assert_eq!(ca.mtc.max_serial, (5 << 48) | ((1 << 48) - 1));
    assert_eq!(ca.mtc.sig_alg.oid.to_string(), "2.16.840.1.101.3.4.3.17");
    assert_eq!(
        ca.spki_der,
        hex::decode(
            std::fs::read_to_string(d.join("keys/C_32473_1.hex"))
                .unwrap()
                .trim()
        )
        .unwrap()
    );
    let k = CosignerKey::from_spki_der(ca.ca_id.clone(), &ca.spki_der).unwrap();
    assert_eq!(k.algorithm, CosignerAlgorithm::MlDsa44);
    assert_eq!(
        ca.revoked_ranges(),
        vec![0..=(1 << 48) - 1, (6 << 48)..=u64::MAX]
    );

    let cert = <x509_cert::Certificate as der::Decode>::from_der(&der).unwrap();
    let rebuilt = CaCertificate::build(
        &ca.ca_id,
        1,
        cert.tbs_certificate().validity(),
        &ca.spki_der,
        ca.mtc.clone(),
    )
    .unwrap();
    assert_eq!(
        hex::encode(&rebuilt.der),
        hex::encode(&der),
        "CA certificate re-encodes byte for byte"
    );
    println!("ca.der: {} bytes", der.len());
}

#[test]
fn standalone_certificates_verify() {
    let Some(d) = dir() else { return };
    let ca = CaCertificate::from_der(&read(&d, "ca.der")).unwrap();
    let none = TrustedSubtrees::default();
    let full = full_policy(&d);

    let der = read(&d, "standalone.der");
    let v = verify(&der, &ca, &full, &none, NOW).unwrap();
    assert_eq!((v.log, v.start, v.end), (1, 8, 11));
    assert!((8..11).contains(&v.index));
    assert_eq!(
        v.by,
        VerifiedBy::Cosigners(vec![id("32473.1"), id("32473.2.1"), id("32473.2.2")])
    );
    // The CA alone (key from the CA certificate) also suffices under a CA-only policy.
    let v = verify(&der, &ca, &CosignerPolicy::new(), &none, NOW).unwrap();
    assert_eq!(v.by, VerifiedBy::Cosigners(vec![id("32473.1")]));

    let ca_only = read(&d, "standalone_ca_only.der");
    let v = verify(&ca_only, &ca, &CosignerPolicy::new(), &none, NOW).unwrap();
    assert_eq!(v.by, VerifiedBy::Cosigners(vec![id("32473.1")]));
    // ... but not under the transparency policy.
    let err = verify(&ca_only, &ca, &full, &none, NOW).unwrap_err();
    assert!(
        matches!(err, VerifyError::InsufficientCosignatures { .. }),
        "{err}"
    );
    println!("{err}");
    // An unknown-to-policy cosigner is ignored: drop the ECDSA and ML-DSA-65 keys.
    let p = CosignerPolicy::new().require_quorum(1, vec![id("32473.2.3")]);
    assert!(matches!(
        verify(&der, &ca, &p, &none, NOW),
        Err(VerifyError::InsufficientCosignatures { .. })
    ));

    // Both certificates assert the same entry; the proofs differ only in signatures.
    let a = MtcCertificate::from_der(&der).unwrap();
    let b = MtcCertificate::from_der(&ca_only).unwrap();
    assert_eq!(a.tbs, b.tbs);
    assert_eq!(a.proof.inclusion_proof, b.proof.inclusion_proof);
    for s in &a.proof.signatures {
        println!(
            "cosigner {} signature {} B",
            s.cosigner_id,
            s.signature.len()
        );
    }
    println!(
        "standalone.der {} B, standalone_ca_only.der {} B, MTCProof {} B / {} B",
        der.len(),
        ca_only.len(),
        a.proof.encoded_len(),
        b.proof.encoded_len()
    );
}

#[test]
fn validity_window_is_enforced() {
    let Some(d) = dir() else { return };
    let ca = CaCertificate::from_der(&read(&d, "ca.der")).unwrap();
    let der = read(&d, "standalone_ca_only.der");
    let none = TrustedSubtrees::default();
    let v = verify(&der, &ca, &CosignerPolicy::new(), &none, NOW).unwrap();
    let err = verify(&der, &ca, &CosignerPolicy::new(), &none, v.not_after + 1).unwrap_err();
    assert!(matches!(err, VerifyError::Expired { .. }), "{err}");
    let err = verify(&der, &ca, &CosignerPolicy::new(), &none, v.not_before - 1).unwrap_err();
    assert!(matches!(err, VerifyError::NotYetValid { .. }), "{err}");
    assert!(verify(&der, &ca, &CosignerPolicy::new(), &none, v.not_after).is_ok());
}

#[test]
fn serial_revocation_and_bounds() {
    let Some(d) = dir() else { return };
    let ca = CaCertificate::from_der(&read(&d, "ca.der")).unwrap();
    let der = read(&d, "standalone_ca_only.der");
    let none = TrustedSubtrees::default();
    let serial = MtcCertificate::from_der(&der).unwrap().tbs.serial;
    let p = CosignerPolicy::new().revoke(serial - 1..=serial + 1);
    let err = verify(&der, &ca, &p, &none, NOW).unwrap_err();
    assert!(matches!(err, VerifyError::Revoked { .. }), "{err}");
    println!("{err}");
    let p = CosignerPolicy::new().revoke(serial + 1..=u64::MAX);
    assert!(verify(&der, &ca, &p, &none, NOW).is_ok());
    // A CA whose bounds start above this serial rejects it.
    let mut mtc = ca.mtc.clone();
    mtc.min_serial = serial + 1;
    let tight = CaCertificate::build(&ca.ca_id, 1, &validity(&ca), &ca.spki_der, mtc).unwrap();
    let err = verify(&der, &tight, &CosignerPolicy::new(), &none, NOW).unwrap_err();
    assert!(
        matches!(err, VerifyError::SerialOutsideCaBounds { .. }),
        "{err}"
    );
    // A different CA ID is the wrong issuer.
    let other = CaCertificate::build(
        &id("32473.9"),
        1,
        &validity(&ca),
        &ca.spki_der,
        ca.mtc.clone(),
    )
    .unwrap();
    let err = verify(&der, &other, &CosignerPolicy::new(), &none, NOW).unwrap_err();
    assert!(matches!(err, VerifyError::WrongIssuer { .. }), "{err}");
}

fn validity(ca: &CaCertificate) -> x509_cert::time::Validity {
    let cert = <x509_cert::Certificate as der::Decode>::from_der(&ca.der).unwrap();
    *cert.tbs_certificate().validity()
}

#[test]
fn landmark_certificates_verify_against_their_subtree() {
    let Some(d) = dir() else { return };
    let ca = CaCertificate::from_der(&read(&d, "ca.der")).unwrap();
    let policy = full_policy(&d);
    for (name, (start, end)) in [
        ("landmark_32.der", (32, 34)),
        ("landmark_2121.der", (2048, 2122)),
    ] {
        let der = read(&d, name);
        let t = own_subtree(&der);
        assert_eq!((t.start, t.end), (start, end), "{name}");
        // Cross-check with the corpus's published subtree hash.
        let published =
            std::fs::read_to_string(d.join(format!("keys/SUBTREE_{start}_{end}.hex"))).unwrap();
        assert_eq!(hex::encode(t.hash), published.trim(), "{name}");
        let trusted = TrustedSubtrees(vec![t.clone()]);
        let v = verify(&der, &ca, &policy, &trusted, NOW).unwrap();
        assert_eq!(v.by, VerifiedBy::TrustedSubtree);
        assert!(
            MtcCertificate::from_der(&der)
                .unwrap()
                .proof
                .signatures
                .is_empty()
        );

        // Not trusted: unknown landmark.
        let err = verify(&der, &ca, &policy, &TrustedSubtrees::default(), NOW).unwrap_err();
        assert!(matches!(err, VerifyError::UnknownLandmark { .. }), "{err}");
        // One-bit change of the trusted hash.
        let mut bad = t.clone();
        bad.hash[31] ^= 1;
        let err = verify(&der, &ca, &policy, &TrustedSubtrees(vec![bad]), NOW).unwrap_err();
        assert!(
            matches!(err, VerifyError::LandmarkHashMismatch { .. }),
            "{err}"
        );
        // One-bit change of the first proof hash inside the certificate.
        let cert = MtcCertificate::from_der(&der).unwrap();
        let h = cert.proof.inclusion_proof[0];
        let mut h2 = h;
        h2[0] ^= 0x80;
        let flipped = replace_once(&der, &h, &h2);
        let err = verify(&flipped, &ca, &policy, &trusted, NOW).unwrap_err();
        assert!(
            matches!(err, VerifyError::LandmarkHashMismatch { .. }),
            "{name}: {err}"
        );
        // One-bit change of the entry (a byte of the subject's common name).
        let cn = b"No extensions and a common name";
        let entry_flipped = if der.windows(cn.len()).any(|w| w == cn) {
            replace_once(&der, cn, b"No extensions and a common nome")
        } else {
            let mut x = der.clone();
            let spki_end = der.len() - cert.proof.encoded_len() - 20;
            x[spki_end] ^= 1;
            x
        };
        let err = verify(&entry_flipped, &ca, &policy, &trusted, NOW).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::LandmarkHashMismatch { .. } | VerifyError::Malformed(_)
            ),
            "{name}: {err}"
        );
        println!(
            "{name}: {} B, {} proof hashes, subtree [{start},{end}), MTCProof {} B",
            der.len(),
            cert.proof.inclusion_proof.len(),
            cert.proof.encoded_len()
        );
    }
}

#[test]
fn negative_vectors() {
    let Some(d) = dir() else { return };
    let ca = CaCertificate::from_der(&read(&d, "ca.der")).unwrap();
    let policy = full_policy(&d);
    let none = TrustedSubtrees::default();

    let err = verify(&read(&d, "bitflip_bad.der"), &ca, &policy, &none, NOW).unwrap_err();
    assert_eq!(
        err,
        VerifyError::BadSignature {
            cosigner: id("32473.1"),
            start: 8,
            end: 11
        }
    );
    println!("bitflip_bad.der: {err}");

    let err = verify(&read(&d, "unused_bit_bad.der"), &ca, &policy, &none, NOW).unwrap_err();
    assert!(
        matches!(err, VerifyError::Malformed(FormatError::UnusedBits(_))),
        "{err}"
    );
    println!("unused_bit_bad.der: {err}");

    let pem = std::fs::read_to_string(d.join("plain.pem")).unwrap();
    let (label, plain) = pem_rfc7468::decode_vec(pem.as_bytes()).unwrap();
    assert_eq!(label, "CERTIFICATE");
    let err = verify(&plain, &ca, &policy, &none, NOW).unwrap_err();
    assert!(matches!(err, VerifyError::NotMtc(_)), "{err}");
    println!("plain.pem: {err}");
}

#[test]
fn every_certificate_round_trips_exactly() {
    let Some(d) = dir() else { return };
    for name in [
        "standalone.der",
        "standalone_ca_only.der",
        "landmark_32.der",
        "landmark_2121.der",
        "bitflip_bad.der",
    ] {
        let der = read(&d, name);
        let cert = MtcCertificate::from_der(&der).unwrap();
        assert_eq!(
            hex::encode(cert.to_der().unwrap()),
            hex::encode(&der),
            "{name}"
        );
        let proof_bytes = cert.proof.encode().unwrap();
        assert_eq!(MtcProof::decode(&proof_bytes).unwrap(), cert.proof);
        // The log entry round-trips through its own encoding too.
        let entry = cert.log_entry().unwrap();
        let bytes = entry.encode().unwrap();
        assert_eq!(arbor_mtc::MtcLogEntry::decode(&bytes).unwrap(), entry);
        println!("{name}: {} B cert, entry {} B", der.len(), bytes.len());
    }
}

#[test]
fn unsorted_duplicate_and_trailing_rejected() {
    let Some(d) = dir() else { return };
    let ca = CaCertificate::from_der(&read(&d, "ca.der")).unwrap();
    let policy = full_policy(&d);
    let none = TrustedSubtrees::default();
    let der = read(&d, "standalone.der");
    // IDs on the wire: 04 81fd5901, 05 81fd590201, 05 81fd590202.
    let unsorted = replace_once(
        &der,
        &hex::decode("0581fd590202").unwrap(),
        &hex::decode("0581fd590200").unwrap(),
    );
    assert_eq!(
        verify(&unsorted, &ca, &policy, &none, NOW).unwrap_err(),
        VerifyError::UnsortedCosigners
    );
    let dup = replace_once(
        &der,
        &hex::decode("0581fd590202").unwrap(),
        &hex::decode("0581fd590201").unwrap(),
    );
    assert!(matches!(
        verify(&dup, &ca, &policy, &none, NOW).unwrap_err(),
        VerifyError::DuplicateCosigner(_)
    ));

    // A byte after the certificate.
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(matches!(
        verify(&trailing, &ca, &policy, &none, NOW).unwrap_err(),
        VerifyError::TrailingData(1, _)
    ));

    // A byte after the MTCProof inside the BIT STRING (landmark_32: short lengths).
    let lm = read(&d, "landmark_32.der");
    let cert = MtcCertificate::from_der(&lm).unwrap();
    let proof_len = cert.proof.encoded_len();
    let bits_at = lm.len() - proof_len - 3; // 03 <len> 00 <proof>
    assert_eq!(lm[bits_at], 0x03);
    let mut inner = lm[..bits_at].to_vec();
    inner.extend_from_slice(&[0x03, lm[bits_at + 1] + 1, 0x00]);
    inner.extend_from_slice(&lm[bits_at + 3..]);
    inner.push(0xff);
    // Bump the outer SEQUENCE length (30 82 hi lo).
    let outer = u16::from_be_bytes([inner[2], inner[3]]) + 1;
    inner[2..4].copy_from_slice(&outer.to_be_bytes());
    let t = own_subtree(&lm);
    let err = verify(&inner, &ca, &policy, &TrustedSubtrees(vec![t]), NOW).unwrap_err();
    assert_eq!(err, VerifyError::TrailingData(1, "MTCProof"));
}

/// Every single-bit change anywhere in a certificate must fail verification (every byte
/// is either structure, hashed into the leaf, part of the proof, or signed) without panics.
#[test]
fn every_bit_flip_is_rejected() {
    let Some(d) = dir() else { return };
    let ca = CaCertificate::from_der(&read(&d, "ca.der")).unwrap();
    let policy = CosignerPolicy::new();
    let lm = read(&d, "landmark_32.der");
    let trusted = TrustedSubtrees(vec![own_subtree(&lm)]);
    assert!(verify(&lm, &ca, &policy, &trusted, NOW).is_ok());
    let mut reasons = std::collections::BTreeMap::<String, usize>::new();
    for bit in 0..lm.len() * 8 {
        let mut x = lm.clone();
        x[bit / 8] ^= 1 << (bit % 8);
        let err =
            verify(&x, &ca, &policy, &trusted, NOW).expect_err(&format!("bit {bit} accepted"));
        let name = format!("{err:?}");
        *reasons
            .entry(name.split([' ', '(', '{']).next().unwrap_or("").to_string())
            .or_default() += 1;
    }
    println!("landmark_32.der bit flips by reason: {reasons:?}");
    let sa = read(&d, "standalone_ca_only.der");
    for byte in 0..sa.len() {
        let mut x = sa.clone();
        x[byte] ^= 0x01;
        assert!(
            verify(&x, &ca, &policy, &TrustedSubtrees::default(), NOW).is_err(),
            "byte {byte} accepted"
        );
    }
}
