//! Tests for [`super::PublicJwk`]: RFC 7638 / RFC 8037 vectors, validation, and SPKI
//! encodings cross-checked with the openssl CLI.

use serde_json::{Value, json};

use super::*;
use crate::sign::{KeyKind, SigningKey};

/// RFC 7638 §3.1 example key.
const RFC7638_N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";

/// RFC 8037 Appendix A.2 public key.
pub(crate) const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

/// Runs the openssl CLI with `stdin`; `None` (test skipped) if openssl is not installed.
pub(crate) fn openssl(args: &[&str], stdin: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = match Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(_) => {
            eprintln!("openssl not found; skipping the openssl cross-check");
            return None;
        }
    };
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}

fn err_of(v: Value) -> JwsError {
    PublicJwk::from_value(&v).unwrap_err()
}

#[test]
fn rfc7638_thumbprint_vector() {
    let jwk =
        json!({"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"});
    let key = PublicJwk::from_value(&jwk).unwrap();
    assert_eq!(
        key.thumbprint(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    assert_eq!(key.key_type_name(), "RSA-2048");
    // to_value drops the optional members and round-trips.
    assert_eq!(
        key.to_value(),
        json!({"kty": "RSA", "n": RFC7638_N, "e": "AQAB"})
    );
    assert_eq!(PublicJwk::from_value(&key.to_value()).unwrap(), key);
}

#[test]
fn rfc8037_ed25519_thumbprint_vector() {
    // RFC 8037 Appendix A.3.
    let key =
        PublicJwk::from_value(&json!({"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X})).unwrap();
    assert_eq!(
        key.thumbprint(),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
    assert_eq!(key.key_type_name(), "Ed25519");
}

#[test]
fn canonical_json_is_sorted_compact_json() {
    for kind in [KeyKind::P256, KeyKind::Rsa2048, KeyKind::Ed25519] {
        let key = SigningKey::generate(kind).unwrap().public_jwk();
        let canon = key.canonical_json();
        // Same members as to_value, and keys strictly ascending with no whitespace.
        let parsed: Value = serde_json::from_str(&canon).unwrap();
        assert_eq!(parsed, key.to_value());
        let names: Vec<&String> = parsed.as_object().unwrap().keys().collect();
        assert!(!canon.contains(' ') && !canon.contains('\n'));
        let positions: Vec<usize> = names
            .iter()
            .map(|n| canon.find(&format!("\"{n}\":")).unwrap())
            .collect();
        let mut sorted_names = names.clone();
        sorted_names.sort();
        let mut by_pos: Vec<(usize, &String)> = positions.into_iter().zip(names).collect();
        by_pos.sort();
        let order: Vec<&String> = by_pos.into_iter().map(|(_, n)| n).collect();
        assert_eq!(order, sorted_names);
    }
}

#[test]
fn rejects_private_members() {
    for m in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
        let mut jwk = json!({"kty": "RSA", "n": RFC7638_N, "e": "AQAB"});
        jwk[m] = json!("AQAB");
        assert!(matches!(err_of(jwk), JwsError::Malformed(_)), "member {m}");
    }
    let ec = SigningKey::generate(KeyKind::P256).unwrap().public_jwk();
    let mut v = ec.to_value();
    v["d"] = json!("AAAA");
    assert!(matches!(err_of(v), JwsError::Malformed(_)));
}

#[test]
fn rejects_weak_or_odd_rsa() {
    let n = b64::decode(RFC7638_N).unwrap();
    // 1024-bit modulus (odd, top bit set).
    let mut n1024 = n[..128].to_vec();
    n1024[127] |= 1;
    let e = err_of(json!({"kty": "RSA", "n": b64::encode(&n1024), "e": "AQAB"}));
    assert!(
        matches!(&e, JwsError::BadPublicKey(m) if m.contains("1024")),
        "{e:?}"
    );
    // 8192-bit modulus.
    let n8192 = [n.as_slice(); 4].concat();
    let e = err_of(json!({"kty": "RSA", "n": b64::encode(&n8192), "e": "AQAB"}));
    assert!(matches!(e, JwsError::BadPublicKey(_)));
    // Even exponent, exponent 1, and a leading zero in n.
    for (n, e) in [
        (RFC7638_N.to_string(), "AQAA"),
        (RFC7638_N.to_string(), "AQ"),
        (b64::encode(&[&[0][..], &n].concat()), "AQAB"),
    ] {
        let err = err_of(json!({"kty": "RSA", "n": n, "e": e}));
        assert!(matches!(err, JwsError::BadPublicKey(_)), "e={e}: {err:?}");
    }
    // Even modulus.
    let mut even = n.clone();
    even[255] &= 0xfe;
    let err = err_of(json!({"kty": "RSA", "n": b64::encode(&even), "e": "AQAB"}));
    assert!(matches!(err, JwsError::BadPublicKey(_)));
}

#[test]
fn rejects_bad_ec_points_and_types() {
    let key = SigningKey::generate(KeyKind::P256).unwrap().public_jwk();
    let PublicJwk::Ec { x, y, .. } = &key else {
        panic!("not EC")
    };
    let mut bad_y = y.clone();
    bad_y[31] ^= 1;
    let v = json!({"kty": "EC", "crv": "P-256", "x": b64::encode(x), "y": b64::encode(&bad_y)});
    assert!(matches!(err_of(v), JwsError::BadPublicKey(m) if m.contains("not on curve")));
    // Truncated coordinate.
    let v = json!({"kty": "EC", "crv": "P-256", "x": b64::encode(&x[1..]), "y": b64::encode(y)});
    assert!(matches!(err_of(v), JwsError::BadPublicKey(_)));
    // A P-256 point labelled P-384.
    let v = json!({"kty": "EC", "crv": "P-384", "x": b64::encode(x), "y": b64::encode(y)});
    assert!(matches!(err_of(v), JwsError::BadPublicKey(_)));
    // Unsupported key types and curves.
    for v in [
        json!({"kty": "EC", "crv": "P-192", "x": "AA", "y": "AA"}),
        json!({"kty": "OKP", "crv": "X25519", "x": RFC8037_X}),
        json!({"kty": "OKP", "crv": "Ed448", "x": RFC8037_X}),
        json!({"kty": "oct2"}),
    ] {
        assert!(
            matches!(err_of(v.clone()), JwsError::BadPublicKey(_)),
            "{v}"
        );
    }
    // Structural problems are malformed.
    for v in [
        json!("not an object"),
        json!({"crv": "P-256"}),
        json!({"kty": 1}),
        json!({"kty": "EC", "crv": "P-256", "x": "a+b/", "y": "AA"}),
        json!({"kty": "OKP", "crv": "Ed25519"}),
    ] {
        assert!(matches!(err_of(v.clone()), JwsError::Malformed(_)), "{v}");
    }
}

#[test]
fn verify_checks_alg_against_key() {
    let ec = SigningKey::generate(KeyKind::P256).unwrap();
    let rsa = PublicJwk::from_value(&json!({"kty": "RSA", "n": RFC7638_N, "e": "AQAB"})).unwrap();
    let sig = ec.sign(b"msg").unwrap();
    assert_eq!(ec.public_jwk().verify("ES256", b"msg", &sig), Ok(()));
    let e = rsa.verify("ES256", b"msg", &sig).unwrap_err();
    assert_eq!(
        e,
        JwsError::Malformed("alg ES256 does not match key type RSA-2048".into())
    );
    assert!(matches!(
        ec.public_jwk().verify("ES384", b"msg", &sig),
        Err(JwsError::Malformed(_))
    ));
    assert!(matches!(
        ec.public_jwk().verify("HS256", b"msg", &sig),
        Err(JwsError::BadSignatureAlgorithm(_))
    ));
    assert_eq!(
        ec.public_jwk().verify("ES256", b"msh", &sig),
        Err(JwsError::BadSignature)
    );
}

#[test]
fn spki_der_matches_openssl() {
    for kind in KeyKind::ALL {
        let key = SigningKey::generate(kind).unwrap();
        let spki = key.public_jwk().spki_der();
        // openssl derives the SPKI from the private key independently of our encoder.
        let Some(from_private) = openssl(
            &["pkey", "-inform", "DER", "-pubout", "-outform", "DER"],
            &key.to_pkcs8_der(),
        ) else {
            return;
        };
        assert_eq!(spki, from_private, "{kind:?}");
        let Some(text) = openssl(
            &["pkey", "-pubin", "-inform", "DER", "-noout", "-text"],
            &spki,
        ) else {
            return;
        };
        let text = String::from_utf8_lossy(&text);
        let expect = match kind {
            KeyKind::P256 => "prime256v1",
            KeyKind::P384 => "secp384r1",
            KeyKind::P521 => "secp521r1",
            KeyKind::Rsa2048 => "(2048 bit)",
            KeyKind::Rsa3072 => "(3072 bit)",
            KeyKind::Rsa4096 => "(4096 bit)",
            KeyKind::Ed25519 => "ED25519 Public-Key",
        };
        assert!(text.contains(expect), "{kind:?}: {text}");
    }
}
