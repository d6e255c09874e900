//! Public JSON Web Keys for ACME account keys: RFC 7517, the EC and RSA members of
//! RFC 7518 §6, OKP/Ed25519 from RFC 8037, and RFC 7638 thumbprints (used by key
//! authorizations, RFC 8555 §8.1). Verification of JWS signatures under a key lives here
//! too, so that the algorithm-to-key check is in one place (RFC 8555 §6.2).
//!
//! Deviations and policy: private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`)
//! are refused rather than ignored, since a client sending them has leaked its key. RSA
//! moduli must be 2048–4096 bits with an odd exponent ≥ 3; members with leading zero
//! octets are refused (RFC 7518 §6.3.1.1 forbids them and they would change the
//! thumbprint). EC coordinates must be full length (RFC 7518 §6.2.1.2).

use aws_lc_rs::digest;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::{Map, Value, json};

use crate::b64;
use crate::jws::{JwsError, opt_str};

/// The NIST curves usable with ECDSA in JWS (RFC 7518 §3.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EcCurve {
    P256,
    P384,
    P521,
}

impl EcCurve {
    /// The JWK `crv` name.
    pub fn name(self) -> &'static str {
        match self {
            EcCurve::P256 => "P-256",
            EcCurve::P384 => "P-384",
            EcCurve::P521 => "P-521",
        }
    }

    /// Length in octets of one coordinate (and of `r` and `s` in a JWS signature).
    pub fn coordinate_len(self) -> usize {
        match self {
            EcCurve::P256 => 32,
            EcCurve::P384 => 48,
            EcCurve::P521 => 66,
        }
    }

    /// The JWS algorithm that goes with this curve.
    pub fn jws_alg(self) -> &'static str {
        match self {
            EcCurve::P256 => "ES256",
            EcCurve::P384 => "ES384",
            EcCurve::P521 => "ES512",
        }
    }

    fn verification_alg(self) -> &'static signature::EcdsaVerificationAlgorithm {
        match self {
            EcCurve::P256 => &signature::ECDSA_P256_SHA256_FIXED,
            EcCurve::P384 => &signature::ECDSA_P384_SHA384_FIXED,
            EcCurve::P521 => &signature::ECDSA_P521_SHA512_FIXED,
        }
    }

    /// DER of the named-curve OID (RFC 5480 §2.1.1.1), tag and length included.
    fn oid_der(self) -> &'static [u8] {
        match self {
            // 1.2.840.10045.3.1.7 secp256r1
            EcCurve::P256 => &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
            // 1.3.132.0.34 secp384r1
            EcCurve::P384 => &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22],
            // 1.3.132.0.35 secp521r1
            EcCurve::P521 => &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23],
        }
    }

    fn from_name(crv: &str) -> Option<EcCurve> {
        match crv {
            "P-256" => Some(EcCurve::P256),
            "P-384" => Some(EcCurve::P384),
            "P-521" => Some(EcCurve::P521),
            _ => None,
        }
    }
}

/// Smallest and largest RSA modulus Arbor accepts for account keys, in bits.
pub const RSA_MIN_BITS: usize = 2048;
/// See [`RSA_MIN_BITS`].
pub const RSA_MAX_BITS: usize = 4096;

/// Members that only a private (or symmetric) JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4).
const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A public key. Byte fields are big-endian without leading zeros (RSA) or fixed-length
/// (EC coordinates, Ed25519 `x`). Build untrusted keys with [`PublicJwk::from_value`],
/// which enforces those invariants; constructing variants directly skips the checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicJwk {
    Ec {
        curve: EcCurve,
        x: Vec<u8>,
        y: Vec<u8>,
    },
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    Ed25519 {
        x: Vec<u8>,
    },
}

fn bad_key(msg: impl Into<String>) -> JwsError {
    JwsError::BadPublicKey(msg.into())
}

fn required_b64(obj: &Map<String, Value>, name: &str) -> Result<Vec<u8>, JwsError> {
    let s = opt_str(obj, name)?
        .ok_or_else(|| JwsError::Malformed(format!("JWK has no \"{name}\" member")))?;
    b64::decode(&s).map_err(|_| JwsError::Malformed(format!("JWK \"{name}\" is not base64url")))
}

/// Bit length of a big-endian unsigned integer without leading zeros.
fn bit_len(be: &[u8]) -> usize {
    match be.first() {
        None => 0,
        Some(&b) => (be.len() - 1) * 8 + (8 - b.leading_zeros() as usize),
    }
}

impl PublicJwk {
    /// Parses and validates a public JWK. Private members are [`JwsError::Malformed`];
    /// unsupported `kty`/`crv`, weak RSA keys and EC points off the curve are
    /// [`JwsError::BadPublicKey`].
    pub fn from_value(v: &Value) -> Result<PublicJwk, JwsError> {
        let obj = v
            .as_object()
            .ok_or_else(|| JwsError::Malformed("JWK is not a JSON object".into()))?;
        if let Some(m) = PRIVATE_MEMBERS.iter().find(|m| obj.contains_key(**m)) {
            return Err(JwsError::Malformed(format!(
                "JWK contains private key member \"{m}\"; send only the public key"
            )));
        }
        let kty = opt_str(obj, "kty")?
            .ok_or_else(|| JwsError::Malformed("JWK has no \"kty\" member".into()))?;
        match kty.as_str() {
            "EC" => Self::ec_from(obj),
            "RSA" => Self::rsa_from(obj),
            "OKP" => Self::okp_from(obj),
            other => Err(bad_key(format!("unsupported JWK key type \"{other}\""))),
        }
    }

    fn ec_from(obj: &Map<String, Value>) -> Result<PublicJwk, JwsError> {
        let crv = opt_str(obj, "crv")?
            .ok_or_else(|| JwsError::Malformed("EC JWK has no \"crv\" member".into()))?;
        let curve =
            EcCurve::from_name(&crv).ok_or_else(|| bad_key(format!("unsupported curve {crv}")))?;
        let x = required_b64(obj, "x")?;
        let y = required_b64(obj, "y")?;
        let len = curve.coordinate_len();
        if x.len() != len || y.len() != len {
            return Err(bad_key(format!(
                "{} coordinates must be {len} octets long",
                curve.name()
            )));
        }
        let key = PublicJwk::Ec { curve, x, y };
        // aws-lc checks that the point is on the curve and not the identity.
        ParsedPublicKey::new(curve.verification_alg(), key.ec_point())
            .map_err(|_| bad_key(format!("EC point is not on curve {}", curve.name())))?;
        Ok(key)
    }

    fn rsa_from(obj: &Map<String, Value>) -> Result<PublicJwk, JwsError> {
        let n = required_b64(obj, "n")?;
        let e = required_b64(obj, "e")?;
        if n.first() == Some(&0) || e.first() == Some(&0) {
            return Err(bad_key("RSA n and e must not have leading zero octets"));
        }
        let bits = bit_len(&n);
        if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
            return Err(bad_key(format!(
                "RSA modulus is {bits} bits; must be {RSA_MIN_BITS} to {RSA_MAX_BITS}"
            )));
        }
        if n.last().is_some_and(|b| b & 1 == 0) {
            return Err(bad_key("RSA modulus is even"));
        }
        // e: odd, at least 3, at most 32 bits (aws-lc's own limit is 33 bits).
        let e_ok = e.len() <= 4 && e.last().is_some_and(|b| b & 1 == 1) && bit_len(&e) >= 2;
        if !e_ok {
            return Err(bad_key("RSA public exponent must be odd, >= 3 and <= 2^32"));
        }
        let key = PublicJwk::Rsa { n, e };
        ParsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            key.rsa_public_key_der(),
        )
        .map_err(|_| bad_key("RSA public key rejected"))?;
        Ok(key)
    }

    fn okp_from(obj: &Map<String, Value>) -> Result<PublicJwk, JwsError> {
        let crv = opt_str(obj, "crv")?
            .ok_or_else(|| JwsError::Malformed("OKP JWK has no \"crv\" member".into()))?;
        if crv != "Ed25519" {
            return Err(bad_key(format!("unsupported OKP curve {crv}")));
        }
        let x = required_b64(obj, "x")?;
        if x.len() != 32 {
            return Err(bad_key("Ed25519 public key must be 32 octets"));
        }
        ParsedPublicKey::new(&signature::ED25519, &x)
            .map_err(|_| bad_key("Ed25519 public key rejected"))?;
        Ok(PublicJwk::Ed25519 { x })
    }

    /// The JWK with only its required public members (RFC 7638 §3.2 order).
    pub fn to_value(&self) -> Value {
        match self {
            PublicJwk::Ec { curve, x, y } => json!({
                "crv": curve.name(), "kty": "EC", "x": b64::encode(x), "y": b64::encode(y)
            }),
            PublicJwk::Rsa { n, e } => {
                json!({"e": b64::encode(e), "kty": "RSA", "n": b64::encode(n)})
            }
            PublicJwk::Ed25519 { x } => {
                json!({"crv": "Ed25519", "kty": "OKP", "x": b64::encode(x)})
            }
        }
    }

    /// The canonical JSON of RFC 7638 §3: required members only, in lexicographic order,
    /// no whitespace. Written by hand so that serde_json's map ordering cannot matter;
    /// base64url and the fixed names never need escaping.
    pub fn canonical_json(&self) -> String {
        match self {
            PublicJwk::Ec { curve, x, y } => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                curve.name(),
                b64::encode(x),
                b64::encode(y)
            ),
            PublicJwk::Rsa { n, e } => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                b64::encode(e),
                b64::encode(n)
            ),
            PublicJwk::Ed25519 { x } => {
                format!(
                    r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
                    b64::encode(x)
                )
            }
        }
    }

    /// RFC 7638 thumbprint: base64url(SHA-256(canonical JSON)).
    pub fn thumbprint(&self) -> String {
        b64::encode(digest::digest(&digest::SHA256, self.canonical_json().as_bytes()).as_ref())
    }

    /// A short name for messages: `P-256`, `RSA-2048`, `Ed25519`, ...
    pub fn key_type_name(&self) -> &'static str {
        match self {
            PublicJwk::Ec { curve, .. } => curve.name(),
            PublicJwk::Rsa { n, .. } => match bit_len(n) {
                0..=2048 => "RSA-2048",
                2049..=3072 => "RSA-3072",
                _ => "RSA-4096",
            },
            PublicJwk::Ed25519 { .. } => "Ed25519",
        }
    }

    /// The uncompressed SEC 1 point `04 || x || y` (EC keys only; empty otherwise).
    fn ec_point(&self) -> Vec<u8> {
        match self {
            PublicJwk::Ec { x, y, .. } => [&[0x04][..], x, y].concat(),
            _ => Vec::new(),
        }
    }

    /// PKCS#1 `RSAPublicKey ::= SEQUENCE { n INTEGER, e INTEGER }` (RSA only; empty otherwise).
    fn rsa_public_key_der(&self) -> Vec<u8> {
        match self {
            PublicJwk::Rsa { n, e } => der::seq(&[der::uint(n), der::uint(e)].concat()),
            _ => Vec::new(),
        }
    }

    /// DER `SubjectPublicKeyInfo` (RFC 5280 §4.1.2.7; RFC 5480 for EC, RFC 3279 for RSA,
    /// RFC 8410 for Ed25519), for comparing with the key in a CSR.
    pub fn spki_der(&self) -> Vec<u8> {
        let (alg_id, key_bits) = match self {
            PublicJwk::Ec { curve, .. } => {
                // id-ecPublicKey 1.2.840.10045.2.1, then the named curve.
                let oid = [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
                (
                    der::seq(&[&oid[..], curve.oid_der()].concat()),
                    self.ec_point(),
                )
            }
            PublicJwk::Rsa { .. } => {
                // rsaEncryption 1.2.840.113549.1.1.1 with NULL parameters.
                let oid = [
                    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
                ];
                (der::seq(&oid), self.rsa_public_key_der())
            }
            // id-Ed25519 1.3.101.112, parameters absent.
            PublicJwk::Ed25519 { x } => (der::seq(&[0x06, 0x03, 0x2b, 0x65, 0x70]), x.clone()),
        };
        der::seq(&[alg_id, der::bit_string(&key_bits)].concat())
    }

    /// Verifies a JWS signature. `alg` must fit the key (ES256/P-256, ES384/P-384,
    /// ES512/P-521, RS256 or PS256/RSA, EdDSA/Ed25519); a mismatch is
    /// [`JwsError::Malformed`] (RFC 8555 §6.2), an unknown `alg`
    /// [`JwsError::BadSignatureAlgorithm`], a wrong signature [`JwsError::BadSignature`].
    pub fn verify(&self, alg: &str, msg: &[u8], sig: &[u8]) -> Result<(), JwsError> {
        let ok = match (alg, self) {
            ("ES256" | "ES384" | "ES512", PublicJwk::Ec { curve, .. })
                if curve.jws_alg() == alg =>
            {
                UnparsedPublicKey::new(curve.verification_alg(), self.ec_point())
                    .verify(msg, sig)
                    .is_ok()
            }
            ("RS256", PublicJwk::Rsa { n, e }) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, msg, sig)
                .is_ok(),
            ("PS256", PublicJwk::Rsa { n, e }) => RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PSS_2048_8192_SHA256, msg, sig)
                .is_ok(),
            ("EdDSA", PublicJwk::Ed25519 { x }) => UnparsedPublicKey::new(&signature::ED25519, x)
                .verify(msg, sig)
                .is_ok(),
            _ if !crate::jws::SUPPORTED_ALGS.contains(&alg) => {
                return Err(JwsError::BadSignatureAlgorithm(format!(
                    "JWS alg {alg} is not supported"
                )));
            }
            _ => {
                return Err(JwsError::Malformed(format!(
                    "alg {alg} does not match key type {}",
                    self.key_type_name()
                )));
            }
        };
        if ok {
            Ok(())
        } else {
            Err(JwsError::BadSignature)
        }
    }
}

/// The handful of DER encoders the SPKI needs. Hand-written (rather than pulling in a DER
/// crate) because arbor-proto only ever *writes* these three fixed shapes, and every
/// output is cross-checked against openssl in the tests.
pub(crate) mod der {
    /// Tag-length-value with a definite-length (short or long form) length (X.690 §8.1.3).
    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let len = content.len();
        let mut out = vec![tag];
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
        out.extend_from_slice(content);
        out
    }

    pub fn seq(content: &[u8]) -> Vec<u8> {
        tlv(0x30, content)
    }

    /// A non-negative INTEGER from big-endian bytes without leading zeros: a 0x00 is
    /// prepended when the top bit is set, so it stays positive (X.690 §8.3).
    pub fn uint(be: &[u8]) -> Vec<u8> {
        if be.first().is_some_and(|b| b & 0x80 != 0) {
            tlv(0x02, &[&[0][..], be].concat())
        } else {
            tlv(0x02, be)
        }
    }

    /// A BIT STRING with no unused bits.
    pub fn bit_string(bits: &[u8]) -> Vec<u8> {
        tlv(0x03, &[&[0][..], bits].concat())
    }
}

#[cfg(test)]
pub(crate) mod tests;
