//! Tests for [`super::Jws`]: the RFC 8037 vector, round trips for every key kind and the
//! requests RFC 8555 §6.2 says a server must refuse.

use serde_json::{Value, json};

use super::*;
use crate::jwk::tests::RFC8037_X;
use crate::sign::{KeyKind, SigningKey};

const URL: &str = "https://ca.example/acme/new-order";

/// PKCS#8 v1 wrapping of the RFC 8037 Appendix A.1 Ed25519 seed.
fn rfc8037_key() -> SigningKey {
    let seed = b64::decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A").unwrap();
    let prefix = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    SigningKey::from_pkcs8_der(&[&prefix[..], &seed].concat()).unwrap()
}

fn parse_value(v: &Value) -> Result<Jws, JwsError> {
    Jws::parse(&serde_json::to_vec(v).unwrap())
}

#[test]
fn rfc8037_a4_ed25519_signature() {
    let key = rfc8037_key();
    assert_eq!(key.kind(), KeyKind::Ed25519);
    assert_eq!(key.public_jwk().to_value()["x"], RFC8037_X);
    let payload_b64 = b64::encode(b"Example of Ed25519 signing");
    assert_eq!(payload_b64, "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc");
    let jws = key
        .sign_with_header(&json!({"alg": "EdDSA"}), &payload_b64)
        .unwrap();
    assert_eq!(jws["protected"], "eyJhbGciOiJFZERTQSJ9");
    assert_eq!(
        jws["signature"],
        "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
    );
    let sig = b64::decode(jws["signature"].as_str().unwrap()).unwrap();
    let input = signing_input("eyJhbGciOiJFZERTQSJ9", &payload_b64);
    assert_eq!(key.public_jwk().verify("EdDSA", &input, &sig), Ok(()));
}

#[test]
fn round_trip_every_kind() {
    for kind in KeyKind::ALL {
        let key = SigningKey::generate(kind).unwrap();
        // newAccount-style: embedded jwk.
        let body = key
            .sign_jws(
                Some(br#"{"termsOfServiceAgreed":true}"#),
                URL,
                Some("n0nce"),
                None,
            )
            .unwrap();
        let jws = parse_value(&body).unwrap();
        assert_eq!(jws.protected.alg, key.alg());
        assert_eq!(jws.protected.nonce.as_deref(), Some("n0nce"));
        assert_eq!(jws.protected.url.as_deref(), Some(URL));
        assert_eq!(jws.payload, br#"{"termsOfServiceAgreed":true}"#);
        assert!(!jws.is_post_as_get());
        let jwk = jws.embedded_jwk().unwrap().unwrap();
        assert_eq!(jwk, key.public_jwk());
        assert_eq!(jws.verify(&jwk), Ok(()), "{kind:?}");
        // kid-style POST-as-GET.
        let body = key
            .sign_jws(None, URL, Some("n2"), Some("https://ca.example/acct/1"))
            .unwrap();
        let jws = parse_value(&body).unwrap();
        assert!(jws.is_post_as_get() && jws.payload.is_empty());
        assert_eq!(
            jws.protected.kid.as_deref(),
            Some("https://ca.example/acct/1")
        );
        assert_eq!(jws.embedded_jwk(), Ok(None));
        assert_eq!(jws.verify(&key.public_jwk()), Ok(()), "{kind:?}");
        // Another key of the same kind does not verify it.
        let other = SigningKey::generate(kind).unwrap();
        assert_eq!(jws.verify(&other.public_jwk()), Err(JwsError::BadSignature));
    }
}

#[test]
fn ps256_verifies_and_differs_from_rs256() {
    use aws_lc_rs::{rand::SystemRandom, rsa, signature};
    let key = SigningKey::generate(KeyKind::Rsa2048).unwrap();
    let kp = rsa::KeyPair::from_pkcs8(&key.to_pkcs8_der()).unwrap();
    let mut sig = vec![0; kp.public_modulus_len()];
    kp.sign(
        &signature::RSA_PSS_SHA256,
        &SystemRandom::new(),
        b"msg",
        &mut sig,
    )
    .unwrap();
    let jwk = key.public_jwk();
    assert_eq!(jwk.verify("PS256", b"msg", &sig), Ok(()));
    assert_eq!(
        jwk.verify("RS256", b"msg", &sig),
        Err(JwsError::BadSignature)
    );
    let rs = key.sign(b"msg").unwrap();
    assert_eq!(
        jwk.verify("PS256", b"msg", &rs),
        Err(JwsError::BadSignature)
    );
}

fn header(key: &SigningKey) -> Value {
    json!({"alg": key.alg(), "nonce": "n", "url": URL, "jwk": key.public_jwk().to_value()})
}

#[test]
fn rejects_bad_algorithms() {
    let key = SigningKey::generate(KeyKind::P256).unwrap();
    for alg in ["none", "HS256", "HS512", "ES999", "RS512"] {
        let mut h = header(&key);
        h["alg"] = json!(alg);
        let body = key.sign_with_header(&h, "e30").unwrap();
        assert!(
            matches!(parse_value(&body), Err(JwsError::BadSignatureAlgorithm(_))),
            "{alg}"
        );
    }
    // alg that parses but does not fit the key: RS256 header on an EC key.
    let mut h = header(&key);
    h["alg"] = json!("RS256");
    let jws = parse_value(&key.sign_with_header(&h, "e30").unwrap()).unwrap();
    assert_eq!(
        jws.verify(&key.public_jwk()),
        Err(JwsError::Malformed(
            "alg RS256 does not match key type P-256".into()
        ))
    );
}

#[test]
fn rejects_tampering() {
    let key = SigningKey::generate(KeyKind::P384).unwrap();
    let body = key.sign_jws(Some(b"{}"), URL, Some("n"), None).unwrap();
    let mut t = body.clone();
    t["payload"] = json!(b64::encode(b"{\"x\":1}"));
    assert_eq!(
        parse_value(&t).unwrap().verify(&key.public_jwk()),
        Err(JwsError::BadSignature)
    );
    let mut sig = b64::decode(body["signature"].as_str().unwrap()).unwrap();
    sig[10] ^= 0x40;
    let mut t = body.clone();
    t["signature"] = json!(b64::encode(&sig));
    assert_eq!(
        parse_value(&t).unwrap().verify(&key.public_jwk()),
        Err(JwsError::BadSignature)
    );
    // Tampered protected header (different url), same signature.
    let mut h = header(&key);
    h["url"] = json!("https://evil.example/");
    let mut t = body.clone();
    t["protected"] = json!(b64::encode(&serde_json::to_vec(&h).unwrap()));
    assert_eq!(
        parse_value(&t).unwrap().verify(&key.public_jwk()),
        Err(JwsError::BadSignature)
    );
}

fn assert_malformed(v: &Value, what: &str) {
    match parse_value(v) {
        Err(JwsError::Malformed(_)) => {}
        other => panic!("{what}: expected Malformed, got {other:?}"),
    }
}

#[test]
fn rejects_malformed_structure() {
    let key = SigningKey::generate(KeyKind::Ed25519).unwrap();
    let good = key.sign_jws(Some(b"{}"), URL, Some("n"), None).unwrap();
    assert!(parse_value(&good).is_ok());

    let general = json!({
        "payload": good["payload"],
        "signatures": [{"protected": good["protected"], "signature": good["signature"]}],
    });
    assert_malformed(&general, "general serialization");
    let mut with_header = good.clone();
    with_header["header"] = json!({"kid": "x"});
    assert_malformed(&with_header, "unprotected header");
    for m in ["protected", "payload", "signature"] {
        let mut t = good.clone();
        t.as_object_mut().unwrap().remove(m);
        assert_malformed(&t, m);
        let mut t = good.clone();
        t[m] = json!(format!("{}=", good[m].as_str().unwrap()));
        assert_malformed(&t, "padded base64");
        let mut t = good.clone();
        t[m] = json!("a+b/");
        assert_malformed(&t, "standard base64 alphabet");
        let mut t = good.clone();
        t[m] = json!(5);
        assert_malformed(&t, "non-string member");
    }
    assert!(matches!(
        Jws::parse(b"not json"),
        Err(JwsError::Malformed(_))
    ));
    assert_malformed(&json!([good]), "array");
    let mut t = good.clone();
    t["protected"] = json!(b64::encode(b"[1,2]"));
    assert_malformed(&t, "header not an object");

    let mut both = header(&key);
    both["kid"] = json!("https://ca.example/acct/1");
    assert_malformed(&key.sign_with_header(&both, "e30").unwrap(), "jwk and kid");
    let mut neither = header(&key);
    neither.as_object_mut().unwrap().remove("jwk");
    assert_malformed(&key.sign_with_header(&neither, "e30").unwrap(), "neither");
    for (member, value) in [
        ("crit", json!(["exp"])),
        ("b64", json!(false)),
        ("jwk", json!("a string")),
        ("kid", json!(7)),
        ("nonce", json!(1)),
        ("url", json!(null)),
    ] {
        let mut h = header(&key);
        if member == "kid" {
            h.as_object_mut().unwrap().remove("jwk");
        }
        h[member] = value;
        assert_malformed(&key.sign_with_header(&h, "e30").unwrap(), member);
    }
    let mut h = header(&key);
    h.as_object_mut().unwrap().remove("alg");
    assert_malformed(&key.sign_with_header(&h, "e30").unwrap(), "no alg");
}

#[test]
fn embedded_private_jwk_is_refused() {
    let key = SigningKey::generate(KeyKind::P256).unwrap();
    let mut h = header(&key);
    h["jwk"]["d"] = json!("c2VjcmV0");
    let jws = parse_value(&key.sign_with_header(&h, "e30").unwrap()).unwrap();
    assert!(matches!(jws.embedded_jwk(), Err(JwsError::Malformed(_))));
}

/// Every single-byte mutation of a valid request is refused (or is a no-op such as a
/// change inside JSON whitespace), and none panics: a small in-test fuzz.
#[test]
fn single_byte_mutations_never_verify() {
    let key = SigningKey::generate(KeyKind::P256).unwrap();
    let body = key
        .sign_jws(
            Some(b"{\"a\":1}"),
            URL,
            Some("n"),
            Some("https://ca.example/acct/1"),
        )
        .unwrap();
    let bytes = serde_json::to_vec(&body).unwrap();
    let original = Jws::parse(&bytes).unwrap();
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x20, 0x80] {
            let mut m = bytes.clone();
            m[i] ^= flip;
            let Ok(jws) = Jws::parse(&m) else { continue };
            if jws.verify(&key.public_jwk()).is_ok() {
                assert_eq!(
                    (&jws.protected_b64, &jws.payload_b64, &jws.signature),
                    (
                        &original.protected_b64,
                        &original.payload_b64,
                        &original.signature
                    ),
                    "mutation at {i} ^ {flip:#x} still verifies"
                );
            }
        }
    }
}
