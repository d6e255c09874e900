//! Tests for [`super::SigningKey`]: key storage round trips, keys made by openssl, and
//! signatures checked by openssl.

use serde_json::json;

use super::*;
use crate::jwk::tests::openssl;
use crate::jws::Jws;

#[test]
fn pem_and_pkcs8_round_trip() {
    for kind in KeyKind::ALL {
        let key = SigningKey::generate(kind).unwrap();
        assert_eq!(key.kind(), kind);
        assert_eq!(key.alg(), kind.alg());
        let pem = key.to_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 64));
        let back = SigningKey::from_pem(&pem).unwrap();
        assert_eq!(back.kind(), kind);
        assert_eq!(back.public_jwk(), key.public_jwk());
        let back = SigningKey::from_pkcs8_der(&key.to_pkcs8_der()).unwrap();
        assert_eq!(back.public_jwk(), key.public_jwk());
        // The reloaded key signs for the original public key.
        let sig = back.sign(b"m").unwrap();
        assert_eq!(key.public_jwk().verify(kind.alg(), b"m", &sig), Ok(()));
        // openssl reads our PEM and derives the same SubjectPublicKeyInfo.
        if let Some(spki) = openssl(&["pkey", "-pubout", "-outform", "DER"], pem.as_bytes()) {
            assert_eq!(spki, key.public_jwk().spki_der(), "{kind:?}");
        }
    }
}

#[test]
fn loads_keys_made_by_openssl() {
    let cases: [(&[&str], KeyKind, &str); 5] = [
        (
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
            ],
            KeyKind::P384,
            "PRIVATE KEY",
        ),
        (
            &["ecparam", "-name", "prime256v1", "-genkey", "-noout"],
            KeyKind::P256,
            "EC PRIVATE KEY",
        ),
        (
            &["ecparam", "-name", "secp521r1", "-genkey", "-noout"],
            KeyKind::P521,
            "EC PRIVATE KEY",
        ),
        (
            &["genrsa", "-traditional", "2048"],
            KeyKind::Rsa2048,
            "RSA PRIVATE KEY",
        ),
        (
            &["genpkey", "-algorithm", "ED25519"],
            KeyKind::Ed25519,
            "PRIVATE KEY",
        ),
    ];
    for (args, kind, label) in cases {
        let Some(pem) = openssl(args, b"") else {
            return;
        };
        let pem = String::from_utf8(pem).unwrap();
        assert!(pem.contains(&format!("-----BEGIN {label}-----")), "{pem}");
        let key = SigningKey::from_pem(&pem).unwrap();
        assert_eq!(key.kind(), kind);
        let spki = openssl(&["pkey", "-pubout", "-outform", "DER"], pem.as_bytes()).unwrap();
        assert_eq!(spki, key.public_jwk().spki_der(), "{kind:?}");
    }
}

#[test]
fn refuses_unusable_keys() {
    for pem in [
        "",
        "hello",
        "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n",
        "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
    ] {
        assert!(
            matches!(SigningKey::from_pem(pem), Err(JwsError::BadPublicKey(_))),
            "{pem:?}"
        );
    }
    let Some(small) = openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
        ],
        b"",
    ) else {
        return;
    };
    let small = String::from_utf8(small).unwrap();
    assert!(SigningKey::from_pem(&small).is_err());
}

#[test]
fn debug_does_not_print_the_private_key() {
    let key = SigningKey::generate(KeyKind::P256).unwrap();
    let dbg = format!("{key:?}");
    assert!(dbg.contains("P256") && dbg.contains(&key.public_jwk().thumbprint()));
    let pkcs8_b64 = crate::b64::encode(&key.to_pkcs8_der());
    assert!(!dbg.contains(&pkcs8_b64[..20]));
}

#[test]
fn sign_jws_headers() {
    let key = SigningKey::generate(KeyKind::Ed25519).unwrap();
    let body = key
        .sign_jws(None, "https://ca/x", None, Some("https://ca/acct/7"))
        .unwrap();
    let jws = Jws::parse(&serde_json::to_vec(&body).unwrap()).unwrap();
    assert_eq!(
        jws.protected.raw,
        json!({"alg": "EdDSA", "url": "https://ca/x", "kid": "https://ca/acct/7"})
    );
    assert_eq!(body["payload"], "");
    let body = key
        .sign_jws(Some(b"{}"), "https://ca/y", Some("abc"), None)
        .unwrap();
    let jws = Jws::parse(&serde_json::to_vec(&body).unwrap()).unwrap();
    assert_eq!(
        jws.protected.raw,
        json!({"alg": "EdDSA", "url": "https://ca/y", "nonce": "abc",
               "jwk": key.public_jwk().to_value()})
    );
}

/// JWS ECDSA `r || s` to the DER `Ecdsa-Sig-Value` openssl expects (RFC 7518 §3.4).
fn ecdsa_fixed_to_der(sig: &[u8]) -> Vec<u8> {
    let (r, s) = sig.split_at(sig.len() / 2);
    let strip = |b: &[u8]| b[b.iter().take_while(|x| **x == 0).count()..].to_vec();
    let int = |b: Vec<u8>| crate::jwk::der::uint(&b);
    crate::jwk::der::seq(&[int(strip(r)), int(strip(s))].concat())
}

#[test]
fn openssl_verifies_our_signatures() {
    let dir = std::env::temp_dir().join(format!("arbor-proto-sign-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let msg = dir.join("msg");
    std::fs::write(&msg, b"signed by arbor").unwrap();
    for (kind, digest, sig_len) in [
        (KeyKind::P256, "-sha256", 64),
        (KeyKind::P384, "-sha384", 96),
        (KeyKind::P521, "-sha512", 132),
        (KeyKind::Rsa2048, "-sha256", 256),
    ] {
        let key = SigningKey::generate(kind).unwrap();
        let sig = key.sign(b"signed by arbor").unwrap();
        assert_eq!(sig.len(), sig_len, "{kind:?}");
        let der_sig = if sig_len == 256 {
            sig
        } else {
            ecdsa_fixed_to_der(&sig)
        };
        let (pubf, sigf) = (dir.join("pub.der"), dir.join("sig"));
        std::fs::write(&pubf, key.public_jwk().spki_der()).unwrap();
        std::fs::write(&sigf, der_sig).unwrap();
        let (p, s, m) = (
            pubf.to_str().unwrap(),
            sigf.to_str().unwrap(),
            msg.to_str().unwrap(),
        );
        let args = [
            "dgst",
            digest,
            "-verify",
            p,
            "-keyform",
            "DER",
            "-signature",
            s,
            m,
        ];
        let Some(out) = openssl(&args, b"") else {
            break;
        };
        assert_eq!(
            String::from_utf8_lossy(&out).trim(),
            "Verified OK",
            "{kind:?}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
