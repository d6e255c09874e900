//! Tests for CSR parsing and checking: one or more per [`CsrError`] variant,
//! with CSRs made by rcgen and, where rcgen cannot (RSA-1024, P-521,
//! RSASSA-PSS), by the openssl CLI.

use std::net::IpAddr;
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa, KeyPair,
    PublicKeyData, SanType, SignatureAlgorithm,
};

use super::*;

fn csr_with(
    kp: &KeyPair,
    sans: &[&str],
    cn: Option<&str>,
    tweak: impl FnOnce(&mut CertificateParams),
) -> Vec<u8> {
    let mut params =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name = DistinguishedName::new();
    if let Some(cn) = cn {
        params.distinguished_name.push(DnType::CommonName, cn);
    }
    tweak(&mut params);
    params.serialize_request(kp).unwrap().der().to_vec()
}

fn csr(alg: &'static SignatureAlgorithm, sans: &[&str], cn: Option<&str>) -> Vec<u8> {
    csr_with(&KeyPair::generate_for(alg).unwrap(), sans, cn, |_| {})
}

/// A DER CSR from `openssl req` with the given key options.
fn openssl_csr(key_args: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("csr.der");
    let status = Command::new("openssl")
        .args(["req", "-new", "-nodes", "-subj", "/CN=example.com"])
        .args(["-addext", "subjectAltName=DNS:example.com"])
        .args(key_args)
        .arg("-keyout")
        .arg(dir.path().join("key.pem"))
        .args(["-outform", "DER", "-out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    std::fs::read(out).unwrap()
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_supported_key_type_parses() {
    for (alg, desc) in [
        (&rcgen::PKCS_ECDSA_P256_SHA256, "ECDSA P-256"),
        (&rcgen::PKCS_ECDSA_P384_SHA384, "ECDSA P-384"),
        (&rcgen::PKCS_RSA_SHA256, "RSA 2048"),
        (&rcgen::PKCS_RSA_SHA512, "RSA 2048"),
        (&rcgen::PKCS_ED25519, "Ed25519"),
    ] {
        let c = parse_csr(&csr(
            alg,
            &["Example.COM", "www.example.com", "192.0.2.7"],
            None,
        ))
        .unwrap();
        assert_eq!(c.key_desc, desc);
        assert_eq!(c.dns_names, strs(&["example.com", "www.example.com"]));
        assert_eq!(c.ips, vec!["192.0.2.7".parse::<IpAddr>().unwrap()]);
        assert_eq!(c.common_name, None);
        // The SPKI round-trips as DER.
        assert!(SubjectPublicKeyInfoOwned::from_der(&c.spki_der).is_ok());
    }
}

#[test]
fn openssl_made_csr_parses() {
    let c = parse_csr(&openssl_csr(&[
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
    ]))
    .unwrap();
    assert_eq!(c.common_name.as_deref(), Some("example.com"));
    assert_eq!(c.dns_names, strs(&["example.com"]));
}

#[test]
fn garbage_and_truncation_are_unparseable() {
    assert!(matches!(
        parse_csr(b"not a csr"),
        Err(CsrError::Unparseable(_))
    ));
    let good = csr(&rcgen::PKCS_ECDSA_P256_SHA256, &["example.com"], None);
    assert!(matches!(
        parse_csr(&good[..good.len() - 3]),
        Err(CsrError::Unparseable(_))
    ));
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(
        parse_csr(&trailing),
        Err(CsrError::Unparseable(_))
    ));
}

#[test]
fn flipped_bytes_break_the_signature() {
    let good = csr(&rcgen::PKCS_ECDSA_P256_SHA256, &["example.com"], None);
    // A letter of the SAN inside certificationRequestInfo.
    let at = good.windows(7).position(|w| w == b"example").unwrap();
    let mut bad = good.clone();
    bad[at] = b'f';
    assert_eq!(parse_csr(&bad), Err(CsrError::BadSignature));
    // The last byte of the signature value (an ECDSA s component).
    let mut bad = good;
    let last = bad.len() - 1;
    bad[last] ^= 0x01;
    assert_eq!(parse_csr(&bad), Err(CsrError::BadSignature));
    // Same for Ed25519 and RSA.
    for alg in [&rcgen::PKCS_ED25519, &rcgen::PKCS_RSA_SHA256] {
        let mut bad = csr(alg, &["example.com"], None);
        let last = bad.len() - 1;
        bad[last] ^= 0x01;
        assert_eq!(parse_csr(&bad), Err(CsrError::BadSignature));
    }
}

#[test]
fn rsa_1024_is_weak() {
    let der = openssl_csr(&["-newkey", "rsa:1024"]);
    match parse_csr(&der) {
        Err(CsrError::WeakKey(msg)) => assert!(msg.contains("1024"), "{msg}"),
        other => panic!("expected WeakKey, got {other:?}"),
    }
}

#[test]
fn p521_is_unsupported() {
    let der = openssl_csr(&["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521"]);
    match parse_csr(&der) {
        Err(CsrError::UnsupportedKey(msg)) => assert!(msg.contains("P-521"), "{msg}"),
        other => panic!("expected UnsupportedKey, got {other:?}"),
    }
}

#[test]
fn rsa_pss_signature_is_unsupported() {
    let der = openssl_csr(&["-newkey", "rsa:2048", "-sigopt", "rsa_padding_mode:pss"]);
    assert!(matches!(
        parse_csr(&der),
        Err(CsrError::UnsupportedSignatureAlgorithm(_))
    ));
}

#[test]
fn names_must_equal_the_order() {
    let c = parse_csr(&csr(
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &["a.example.com", "b.example.com", "192.0.2.1"],
        None,
    ))
    .unwrap();
    let account = KeyPair::generate().unwrap().subject_public_key_info();
    let ip: IpAddr = "192.0.2.1".parse().unwrap();
    // Same set, different order and case: fine.
    check_csr(
        &c,
        &strs(&["B.example.com", "a.example.com"]),
        &[ip],
        &account,
    )
    .unwrap();
    let err = check_csr(
        &c,
        &strs(&["a.example.com", "c.example.com"]),
        &[],
        &account,
    );
    assert_eq!(
        err,
        Err(CsrError::NamesMismatch {
            missing: strs(&["c.example.com"]),
            extra: strs(&["192.0.2.1", "b.example.com"]),
        })
    );
    let msg = err.unwrap_err().to_string();
    assert!(
        msg.contains("c.example.com") && msg.contains("b.example.com"),
        "{msg}"
    );
}

#[test]
fn common_name_must_be_a_san() {
    let der = csr(
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &["example.com"],
        Some("other.example.com"),
    );
    assert_eq!(
        parse_csr(&der),
        Err(CsrError::CommonNameNotInSans("other.example.com".into()))
    );
    // Case-insensitive for DNS names, canonical for IPs.
    let der = csr(
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &["example.com"],
        Some("EXAMPLE.com"),
    );
    assert_eq!(
        parse_csr(&der).unwrap().common_name.as_deref(),
        Some("example.com")
    );
    let der = csr(
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &["2001:db8::1"],
        Some("2001:DB8:0::1"),
    );
    assert_eq!(
        parse_csr(&der).unwrap().common_name.as_deref(),
        Some("2001:db8::1")
    );
    // A CN alone is not enough.
    let der = csr(&rcgen::PKCS_ECDSA_P256_SHA256, &[], Some("example.com"));
    assert_eq!(
        parse_csr(&der),
        Err(CsrError::CommonNameNotInSans("example.com".into()))
    );
}

#[test]
fn no_names_at_all() {
    let der = csr(&rcgen::PKCS_ECDSA_P256_SHA256, &[], None);
    assert_eq!(parse_csr(&der), Err(CsrError::NoNames));
}

#[test]
fn account_key_is_refused() {
    let kp = KeyPair::generate().unwrap();
    let c = parse_csr(&csr_with(&kp, &["example.com"], None, |_| {})).unwrap();
    let err = check_csr(
        &c,
        &strs(&["example.com"]),
        &[],
        &kp.subject_public_key_info(),
    );
    assert_eq!(err, Err(CsrError::KeyIsAccountKey));
}

#[test]
fn ca_request_and_odd_extensions_are_refused() {
    let kp = KeyPair::generate().unwrap();
    let der = csr_with(&kp, &["example.com"], None, |p| {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    });
    match parse_csr(&der) {
        Err(CsrError::UnsupportedExtension(m)) => assert!(m.contains("cA=TRUE"), "{m}"),
        other => panic!("expected UnsupportedExtension, got {other:?}"),
    }
    // An explicit cA=FALSE is harmless.
    let der = csr_with(&kp, &["example.com"], None, |p| {
        p.is_ca = IsCa::ExplicitNoCa
    });
    assert!(parse_csr(&der).is_ok());
    // OCSP must-staple (RFC 7633) cannot be honoured.
    let der = csr_with(&kp, &["example.com"], None, |p| {
        p.custom_extensions.push(CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 5, 5, 7, 1, 24],
            vec![0x30, 0x03, 0x02, 0x01, 0x05],
        ));
    });
    assert!(matches!(
        parse_csr(&der),
        Err(CsrError::UnsupportedExtension(_))
    ));
    // An e-mail SAN is not a name this CA validates.
    let der = csr_with(&kp, &["example.com"], None, |p| {
        p.subject_alt_names
            .push(SanType::Rfc822Name("a@example.com".try_into().unwrap()));
    });
    match parse_csr(&der) {
        Err(CsrError::UnsupportedExtension(m)) => assert!(m.contains("rfc822Name"), "{m}"),
        other => panic!("expected UnsupportedExtension, got {other:?}"),
    }
    // Unknown critical extensions are refused, unknown non-critical ignored.
    for (critical, ok) in [(true, false), (false, true)] {
        let der = csr_with(&kp, &["example.com"], None, |p| {
            let mut e = CustomExtension::from_oid_content(&[1, 2, 3, 4], vec![0x05, 0x00]);
            e.set_criticality(critical);
            p.custom_extensions.push(e);
        });
        assert_eq!(parse_csr(&der).is_ok(), ok, "critical={critical}");
    }
}

#[test]
fn errors_read_as_specific_details() {
    assert!(
        CsrError::WeakKey("RSA modulus of 1024 bits is below 2048".into())
            .to_string()
            .contains("1024")
    );
    assert!(
        CsrError::UnsupportedKey("ECDSA P-521".into())
            .to_string()
            .contains("allowed are")
    );
}

#[test]
fn every_single_byte_corruption_is_refused_without_panic() {
    for alg in [&rcgen::PKCS_ECDSA_P256_SHA256, &rcgen::PKCS_ED25519] {
        let good = csr(alg, &["example.com", "192.0.2.1"], Some("example.com"));
        assert!(parse_csr(&good).is_ok());
        for i in 0..good.len() {
            for flip in [0x01u8, 0x80] {
                let mut bad = good.clone();
                bad[i] ^= flip;
                assert!(
                    parse_csr(&bad).is_err(),
                    "byte {i} ^ {flip:#x} was accepted"
                );
            }
        }
        for len in 0..good.len() {
            assert!(
                parse_csr(&good[..len]).is_err(),
                "prefix {len} was accepted"
            );
        }
    }
}
