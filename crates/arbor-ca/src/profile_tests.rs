//! Tests for the pre-sign profile check: requests that must be refused
//! before signing, and hand-mutated TBSCertificates that the check must
//! catch even when the builder would never produce them.

use der::{Decode, Encode};
use x509_cert::TbsCertificate;

use super::*;
use crate::asn1::{self, TbsBuild};
use crate::keys::CaKey;
use crate::{CaConfig, Hierarchy, LeafRequest, random_serial};

const NOW: i64 = 1_767_225_600;

fn fixture() -> (tempfile::TempDir, Hierarchy) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = CaConfig {
        aia_base_url: "http://pki.example.com/aia/".into(),
        crl_base_url: "http://pki.example.com/crl".into(),
        organization: "Arbor Test CA".into(),
    };
    let h = Hierarchy::load_or_generate(dir.path(), &cfg, NOW).unwrap();
    (dir, h)
}

fn req() -> LeafRequest {
    LeafRequest {
        serial: random_serial().unwrap(),
        spki_der: CaKey::generate().unwrap().spki().unwrap().to_der().unwrap(),
        dns_names: vec!["example.com".into(), "*.example.com".into()],
        ips: vec![],
        not_before: NOW,
        validity_secs: crate::DEFAULT_LEAF_VALIDITY_SECS,
        common_name: None,
    }
}

fn is_violation(r: Result<Vec<u8>, CaError>, what: &str) {
    match r {
        Err(CaError::ProfileViolation(m)) => assert!(m.contains(what), "{m} !~ {what}"),
        other => panic!("expected violation {what:?}, got {other:?}"),
    }
}

#[test]
fn a_plain_request_is_issued_and_parses() {
    let (_d, h) = fixture();
    let der = h.intermediate.issue_leaf(&req()).unwrap();
    let cert = x509_cert::Certificate::from_der(&der).unwrap();
    check_leaf_profile(cert.tbs_certificate()).unwrap();
    // AIA/CRL URLs are built from the base without a doubled slash.
    assert_eq!(
        h.intermediate.aia_url,
        format!("http://pki.example.com/aia/{}.der", h.intermediate.id)
    );
}

#[test]
fn validity_caps() {
    let (_d, h) = fixture();
    let mut r = req();
    r.validity_secs = CPS_MAX_LEAF_VALIDITY_SECS;
    h.intermediate.issue_leaf(&r).unwrap();
    r.validity_secs = CPS_MAX_LEAF_VALIDITY_SECS + 1;
    is_violation(h.intermediate.issue_leaf(&r), "100 days");
    r.validity_secs = BR_MAX_LEAF_VALIDITY_SECS + 1;
    is_violation(h.intermediate.issue_leaf(&r), "398 days");
    // A leaf may not outlive its issuer.
    r.validity_secs = 86_400;
    r.not_before = h.intermediate.not_after();
    assert!(matches!(
        h.intermediate.issue_leaf(&r),
        Err(CaError::InvalidRequest(_))
    ));
}

#[test]
fn serials_must_be_long_and_positive() {
    let (_d, h) = fixture();
    let mut r = req();
    r.serial = vec![0x11; 8];
    assert!(matches!(
        h.intermediate.issue_leaf(&r),
        Err(CaError::InvalidRequest(_))
    ));
    r.serial = vec![0x91; 16];
    assert!(matches!(
        h.intermediate.issue_leaf(&r),
        Err(CaError::InvalidRequest(_))
    ));
    r.serial = vec![0; 16];
    assert!(matches!(
        h.intermediate.issue_leaf(&r),
        Err(CaError::InvalidRequest(_))
    ));
    // 9 bytes whose integer is only 7 octets long: under the 64-bit floor.
    r.serial = vec![0, 0, 1, 2, 3, 4, 5, 6, 7];
    is_violation(h.intermediate.issue_leaf(&r), "serial");
    r.serial = vec![0x7f; 21];
    assert!(matches!(
        h.intermediate.issue_leaf(&r),
        Err(CaError::InvalidRequest(_))
    ));
}

#[test]
fn names_are_linted() {
    let (_d, h) = fixture();
    let mut r = req();
    r.dns_names.clear();
    is_violation(h.intermediate.issue_leaf(&r), "subjectAltName is empty");
    for bad in ["a.*.example.com", "Example.com", "ex_ample.com", "*"] {
        let mut r = req();
        r.dns_names = vec![bad.into()];
        is_violation(h.intermediate.issue_leaf(&r), "dNSName");
    }
    let mut r = req();
    r.common_name = Some("other.example.com".into());
    is_violation(h.intermediate.issue_leaf(&r), "not one of the SANs");
    r.common_name = Some("example.com".into());
    h.intermediate.issue_leaf(&r).unwrap();
    r.ips = vec!["2001:db8::1".parse().unwrap()];
    r.common_name = Some("2001:db8::1".into());
    h.intermediate.issue_leaf(&r).unwrap();
}

#[test]
fn subject_keys_are_linted() {
    let (_d, h) = fixture();
    let mut r = req();
    let p521 = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).unwrap();
    r.spki_der = rcgen::PublicKeyData::subject_public_key_info(&p521);
    is_violation(h.intermediate.issue_leaf(&r), "P-256 or P-384");
}

/// Builds the leaf TBS, lets `mutate` change it, and runs the check.
fn mutated(h: &Hierarchy, mutate: impl FnOnce(&mut TbsBuild)) -> Result<(), CaError> {
    let mut tbs = h.intermediate.leaf_tbs(&req()).unwrap();
    mutate(&mut tbs);
    check_leaf_profile(&TbsCertificate::from_der(&tbs.to_der().unwrap()).unwrap())
}

fn drop_ext(tbs: &mut TbsBuild, oid: const_oid::ObjectIdentifier) {
    tbs.extensions.retain(|e| e.extn_id != oid);
}

fn set_critical(tbs: &mut TbsBuild, oid: const_oid::ObjectIdentifier, critical: bool) {
    for e in tbs.extensions.iter_mut().filter(|e| e.extn_id == oid) {
        e.critical = critical;
    }
}

#[test]
fn hand_made_tbs_mistakes_are_caught() {
    let (_d, h) = fixture();
    mutated(&h, |_| {}).unwrap();
    for oid in [
        oids::CE_AUTHORITY_KEY_ID,
        oids::PE_AUTHORITY_INFO_ACCESS,
        oids::CE_CRL_DP,
        oids::CE_CERT_POLICIES,
        oids::CE_KEY_USAGE,
        oids::CE_EXT_KEY_USAGE,
        oids::CE_BASIC_CONSTRAINTS,
        oids::CE_SUBJECT_ALT_NAME,
    ] {
        assert!(mutated(&h, |t| drop_ext(t, oid)).is_err(), "without {oid}");
    }
    // Criticality.
    assert!(mutated(&h, |t| set_critical(t, oids::CE_BASIC_CONSTRAINTS, false)).is_err());
    assert!(mutated(&h, |t| set_critical(t, oids::CE_KEY_USAGE, false)).is_err());
    assert!(mutated(&h, |t| set_critical(t, oids::CE_SUBJECT_ALT_NAME, false)).is_err());
    assert!(mutated(&h, |t| set_critical(t, oids::CE_EXT_KEY_USAGE, true)).is_err());
    // Duplicates and strangers.
    assert!(
        mutated(&h, |t| {
            let e = t.extensions[0].clone();
            t.extensions.push(e);
        })
        .is_err()
    );
    assert!(
        mutated(&h, |t| {
            t.extensions
                .push(asn1::ext(oids::CE_CRL_NUMBER, false, &der::asn1::Null).unwrap());
        })
        .is_err()
    );
    // A CA:TRUE basicConstraints.
    assert!(
        mutated(&h, |t| {
            drop_ext(t, oids::CE_BASIC_CONSTRAINTS);
            let bc = x509_cert::ext::pkix::BasicConstraints {
                ca: true,
                path_len_constraint: None,
            };
            t.extensions
                .push(asn1::ext(oids::CE_BASIC_CONSTRAINTS, true, &bc).unwrap());
        })
        .is_err()
    );
    // keyCertSign on a leaf.
    assert!(
        mutated(&h, |t| {
            drop_ext(t, oids::CE_KEY_USAGE);
            let ku = x509_cert::ext::pkix::KeyUsage(
                x509_cert::ext::pkix::KeyUsages::DigitalSignature
                    | x509_cert::ext::pkix::KeyUsages::KeyCertSign,
            );
            t.extensions
                .push(asn1::ext(oids::CE_KEY_USAGE, true, &ku).unwrap());
        })
        .is_err()
    );
    // Signature AlgorithmIdentifier with NULL parameters.
    assert!(mutated(&h, |t| t.signature.parameters = Some(der::Any::null())).is_err());
    // A subject with more than a CN.
    assert!(
        mutated(&h, |t| {
            t.subject = asn1::ca_name("Org", "example.com").unwrap();
            set_critical(t, oids::CE_SUBJECT_ALT_NAME, false);
        })
        .is_err()
    );
    // A subjectKeyIdentifier is tolerated.
    mutated(&h, |t| {
        let ski = x509_cert::ext::pkix::SubjectKeyIdentifier(
            der::asn1::OctetString::new(vec![1; 20]).unwrap(),
        );
        t.extensions
            .push(asn1::ext(oids::CE_SUBJECT_KEY_ID, false, &ski).unwrap());
    })
    .unwrap();
}
