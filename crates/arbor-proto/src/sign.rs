//! The signing side of ACME's JWS profile (RFC 8555 §6.2): account key pairs for Arbor's
//! client and for tests, PKCS#8 / PEM storage (RFC 5208, RFC 7468), and building
//! flattened JWS requests (RFC 7515 §7.2.2). ECDSA signatures are the fixed-length
//! `r || s` form JWS requires (RFC 7518 §3.4), not DER.
//!
//! Key-loading errors reuse [`JwsError::BadPublicKey`] (the key is unusable as an
//! account key), so the error enum stays the one the server already maps.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{self, KeySize};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use base64ct::{Base64, Encoding};
use serde_json::{Map, Value, json};

use crate::b64;
use crate::jwk::{EcCurve, PublicJwk};
use crate::jws::JwsError;

/// The account key types Arbor can create and use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    P256,
    P384,
    P521,
    Rsa2048,
    Rsa3072,
    Rsa4096,
    Ed25519,
}

impl KeyKind {
    /// Every kind, for tests and CLI help.
    pub const ALL: [KeyKind; 7] = [
        KeyKind::P256,
        KeyKind::P384,
        KeyKind::P521,
        KeyKind::Rsa2048,
        KeyKind::Rsa3072,
        KeyKind::Rsa4096,
        KeyKind::Ed25519,
    ];

    /// The JWS `alg` used with this kind (RSA keys sign RS256, the algorithm every ACME
    /// server must support).
    pub fn alg(self) -> &'static str {
        match self {
            KeyKind::P256 => "ES256",
            KeyKind::P384 => "ES384",
            KeyKind::P521 => "ES512",
            KeyKind::Rsa2048 | KeyKind::Rsa3072 | KeyKind::Rsa4096 => "RS256",
            KeyKind::Ed25519 => "EdDSA",
        }
    }

    fn ec_alg(self) -> Option<&'static signature::EcdsaSigningAlgorithm> {
        match self {
            KeyKind::P256 => Some(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
            KeyKind::P384 => Some(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
            KeyKind::P521 => Some(&signature::ECDSA_P521_SHA512_FIXED_SIGNING),
            _ => None,
        }
    }
}

enum Inner {
    Ec(EcdsaKeyPair),
    Rsa(rsa::KeyPair),
    Ed(Ed25519KeyPair),
}

/// A private account key. The PKCS#8 encoding and public JWK are computed once, when the
/// key is made, so the accessors cannot fail.
pub struct SigningKey {
    kind: KeyKind,
    inner: Inner,
    pkcs8: Vec<u8>,
    public: PublicJwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print private key material.
        f.debug_struct("SigningKey")
            .field("kind", &self.kind)
            .field("thumbprint", &self.public.thumbprint())
            .finish_non_exhaustive()
    }
}

fn key_err(msg: &str) -> JwsError {
    JwsError::BadPublicKey(msg.to_string())
}

const EC_KINDS: [KeyKind; 3] = [KeyKind::P256, KeyKind::P384, KeyKind::P521];

impl SigningKey {
    fn from_ec(kind: KeyKind, kp: EcdsaKeyPair) -> Result<SigningKey, JwsError> {
        let curve = match kind {
            KeyKind::P256 => EcCurve::P256,
            KeyKind::P384 => EcCurve::P384,
            _ => EcCurve::P521,
        };
        let point = kp.public_key().as_ref();
        let len = curve.coordinate_len();
        if point.len() != 1 + 2 * len || point[0] != 0x04 {
            return Err(key_err("unexpected EC public key encoding"));
        }
        let public = PublicJwk::Ec {
            curve,
            x: point[1..1 + len].to_vec(),
            y: point[1 + len..].to_vec(),
        };
        let pkcs8 = kp
            .to_pkcs8v1()
            .map_err(|_| key_err("cannot encode EC key"))?;
        Ok(SigningKey {
            kind,
            pkcs8: pkcs8.as_ref().to_vec(),
            inner: Inner::Ec(kp),
            public,
        })
    }

    fn from_rsa(kp: rsa::KeyPair) -> Result<SigningKey, JwsError> {
        let kind = match kp.public_modulus_len() {
            256 => KeyKind::Rsa2048,
            384 => KeyKind::Rsa3072,
            512 => KeyKind::Rsa4096,
            _ => return Err(key_err("RSA key must be 2048, 3072 or 4096 bits")),
        };
        let pk = kp.public_key();
        let public = PublicJwk::Rsa {
            n: pk.modulus().big_endian_without_leading_zero().to_vec(),
            e: pk.exponent().big_endian_without_leading_zero().to_vec(),
        };
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&kp)
            .map_err(|_| key_err("cannot encode RSA key"))?;
        Ok(SigningKey {
            kind,
            pkcs8: pkcs8.as_ref().to_vec(),
            inner: Inner::Rsa(kp),
            public,
        })
    }

    fn from_ed(kp: Ed25519KeyPair) -> Result<SigningKey, JwsError> {
        let public = PublicJwk::Ed25519 {
            x: kp.public_key().as_ref().to_vec(),
        };
        let pkcs8 = kp
            .to_pkcs8v1()
            .map_err(|_| key_err("cannot encode Ed25519 key"))?;
        Ok(SigningKey {
            kind: KeyKind::Ed25519,
            pkcs8: pkcs8.as_ref().to_vec(),
            inner: Inner::Ed(kp),
            public,
        })
    }

    /// Generates a fresh key.
    pub fn generate(kind: KeyKind) -> Result<SigningKey, JwsError> {
        let failed = |_| key_err("key generation failed");
        if let Some(alg) = kind.ec_alg() {
            return Self::from_ec(kind, EcdsaKeyPair::generate(alg).map_err(failed)?);
        }
        let size = match kind {
            KeyKind::Rsa2048 => KeySize::Rsa2048,
            KeyKind::Rsa3072 => KeySize::Rsa3072,
            KeyKind::Rsa4096 => KeySize::Rsa4096,
            _ => return Self::from_ed(Ed25519KeyPair::generate().map_err(failed)?),
        };
        Self::from_rsa(rsa::KeyPair::generate(size).map_err(failed)?)
    }

    /// Loads an unencrypted PKCS#8 `PrivateKeyInfo`, detecting the key type.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<SigningKey, JwsError> {
        if let Ok(kp) = Ed25519KeyPair::from_pkcs8(der) {
            return Self::from_ed(kp);
        }
        for kind in EC_KINDS {
            if let Some(Ok(kp)) = kind.ec_alg().map(|alg| EcdsaKeyPair::from_pkcs8(alg, der)) {
                return Self::from_ec(kind, kp);
            }
        }
        match rsa::KeyPair::from_pkcs8(der) {
            Ok(kp) => Self::from_rsa(kp),
            Err(_) => Err(key_err(
                "not a supported PKCS#8 private key (P-256, P-384, P-521, RSA or Ed25519)",
            )),
        }
    }

    /// Loads a SEC 1 / RFC 5915 `ECPrivateKey` (OpenSSL's "EC PRIVATE KEY").
    pub fn from_sec1_der(der: &[u8]) -> Result<SigningKey, JwsError> {
        for kind in EC_KINDS {
            if let Some(Ok(kp)) = kind
                .ec_alg()
                .map(|alg| EcdsaKeyPair::from_private_key_der(alg, der))
            {
                return Self::from_ec(kind, kp);
            }
        }
        Err(key_err("not a supported EC private key"))
    }

    /// Loads a PEM `PRIVATE KEY` (PKCS#8), `EC PRIVATE KEY` (SEC 1) or `RSA PRIVATE KEY`
    /// (PKCS#1) block, tried in that order.
    pub fn from_pem(pem: &str) -> Result<SigningKey, JwsError> {
        if let Some(der) = pem_block(pem, "PRIVATE KEY") {
            return Self::from_pkcs8_der(&der?);
        }
        if let Some(der) = pem_block(pem, "EC PRIVATE KEY") {
            return Self::from_sec1_der(&der?);
        }
        if let Some(der) = pem_block(pem, "RSA PRIVATE KEY") {
            let kp = rsa::KeyPair::from_der(&der?)
                .map_err(|_| key_err("not a valid PKCS#1 RSA private key"))?;
            return Self::from_rsa(kp);
        }
        Err(key_err(
            "no PRIVATE KEY, EC PRIVATE KEY or RSA PRIVATE KEY PEM block",
        ))
    }

    /// The PKCS#8 v1 DER encoding.
    pub fn to_pkcs8_der(&self) -> Vec<u8> {
        self.pkcs8.clone()
    }

    /// The PKCS#8 v1 PEM encoding (RFC 7468 §10), lines of 64 characters.
    pub fn to_pem(&self) -> String {
        let b64 = Base64::encode_string(&self.pkcs8);
        let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END PRIVATE KEY-----\n");
        out
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The JWS `alg` this key signs with.
    pub fn alg(&self) -> &'static str {
        self.kind.alg()
    }

    pub fn public_jwk(&self) -> PublicJwk {
        self.public.clone()
    }

    /// Signs `msg`, returning a JWS-format signature.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, JwsError> {
        let failed = |_| key_err("signing failed");
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Ec(kp) => Ok(kp.sign(&rng, msg).map_err(failed)?.as_ref().to_vec()),
            Inner::Ed(kp) => Ok(kp.try_sign(msg).map_err(failed)?.as_ref().to_vec()),
            Inner::Rsa(kp) => {
                let mut sig = vec![0; kp.public_modulus_len()];
                kp.sign(&signature::RSA_PKCS1_SHA256, &rng, msg, &mut sig)
                    .map_err(failed)?;
                Ok(sig)
            }
        }
    }

    /// Builds an ACME request: protected = `{alg, nonce?, url, jwk | kid}` (`jwk` when
    /// `kid` is `None`); a `None` payload is POST-as-GET (empty payload).
    pub fn sign_jws(
        &self,
        payload: Option<&[u8]>,
        url: &str,
        nonce: Option<&str>,
        kid: Option<&str>,
    ) -> Result<Value, JwsError> {
        let mut h = Map::new();
        h.insert("alg".into(), self.alg().into());
        if let Some(n) = nonce {
            h.insert("nonce".into(), n.into());
        }
        h.insert("url".into(), url.into());
        match kid {
            Some(k) => h.insert("kid".into(), k.into()),
            None => h.insert("jwk".into(), self.public.to_value()),
        };
        let payload_b64 = payload.map(b64::encode).unwrap_or_default();
        self.sign_with_header(&Value::Object(h), &payload_b64)
    }

    /// Signs an arbitrary protected header over an already-encoded payload; tests use it
    /// to forge requests the server must refuse.
    pub fn sign_with_header(
        &self,
        protected: &Value,
        payload_b64: &str,
    ) -> Result<Value, JwsError> {
        let header = serde_json::to_vec(protected)
            .map_err(|_| JwsError::Malformed("protected header is not serializable".into()))?;
        let protected_b64 = b64::encode(&header);
        let sig = self.sign(&crate::jws::signing_input(&protected_b64, payload_b64))?;
        Ok(json!({
            "protected": protected_b64,
            "payload": payload_b64,
            "signature": b64::encode(&sig),
        }))
    }
}

/// Finds `-----BEGIN {label}-----` ... `-----END {label}-----` and decodes its base64
/// body (RFC 7468 §3, lax about whitespace). `None` if there is no such block.
fn pem_block(pem: &str, label: &str) -> Option<Result<Vec<u8>, JwsError>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let Some(len) = pem[start..].find(&end) else {
        return Some(Err(key_err("PEM block has no END line")));
    };
    let body: String = pem[start..start + len]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    Some(Base64::decode_vec(&body).map_err(|_| key_err("PEM body is not valid base64")))
}

#[cfg(test)]
mod tests;
