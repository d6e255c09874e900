//! Public keys and signatures in finalize CSRs: which subject keys the CA
//! accepts (CA/B Forum BR §6.1.5–6.1.6: RSA 2048–4096 bits with a modulus a
//! multiple of 8 and an odd exponent ≥ 65537; ECDSA P-256/P-384; plus
//! Ed25519 by local policy, RFC 8410) and verifying the PKCS #10
//! self-signature (RFC 2986 §4.2) with aws-lc-rs.
//!
//! RSASSA-PSS signatures are not accepted (reported as an unsupported
//! signature algorithm).

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use const_oid::ObjectIdentifier;
use der::Decode;
use der::Sequence;
use der::asn1::UintRef;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::csr::CsrError;
use crate::oids;

/// Smallest RSA modulus accepted (BR §6.1.5).
pub const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted (local policy).
pub const MAX_RSA_BITS: usize = 4096;
/// Smallest RSA public exponent accepted (BR §6.1.6: 2^16 + 1).
const MIN_RSA_EXPONENT: u64 = 65_537;

/// The kinds of subject key the CA accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    P256,
    P384,
    Rsa { bits: usize },
    Ed25519,
}

impl KeyKind {
    /// Human description, e.g. "ECDSA P-256" or "RSA 2048".
    pub(crate) fn describe(self) -> String {
        match self {
            KeyKind::P256 => "ECDSA P-256".into(),
            KeyKind::P384 => "ECDSA P-384".into(),
            KeyKind::Rsa { bits } => format!("RSA {bits}"),
            KeyKind::Ed25519 => "Ed25519".into(),
        }
    }
}

/// RSAPublicKey (RFC 8017 appendix A.1.1).
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

fn bit_len(bytes: &[u8]) -> usize {
    match bytes.iter().position(|b| *b != 0) {
        Some(i) => (bytes.len() - i) * 8 - bytes[i].leading_zeros() as usize,
        None => 0,
    }
}

/// Classifies the key and enforces the size and parameter rules.
pub(crate) fn inspect_key(spki: &SubjectPublicKeyInfoOwned) -> Result<KeyKind, CsrError> {
    let alg = &spki.algorithm;
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| CsrError::Unparseable("public key bit string has unused bits".into()))?;
    match alg.oid {
        oids::EC_PUBLIC_KEY => {
            let curve = alg
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .ok_or_else(|| CsrError::UnsupportedKey("EC key without a named curve".into()))?;
            let (kind, len) = match curve {
                oids::SECP256R1 => (KeyKind::P256, 65),
                oids::SECP384R1 => (KeyKind::P384, 97),
                oids::SECP521R1 => return Err(CsrError::UnsupportedKey("ECDSA P-521".into())),
                other => return Err(CsrError::UnsupportedKey(format!("EC curve {other}"))),
            };
            if key.len() != len || key.first() != Some(&0x04) {
                return Err(CsrError::UnsupportedKey(format!(
                    "{} point is not in uncompressed form",
                    kind.describe()
                )));
            }
            Ok(kind)
        }
        oids::RSA_ENCRYPTION => {
            let rsa = RsaPublicKey::from_der(key)
                .map_err(|e| CsrError::Unparseable(format!("RSA public key: {e}")))?;
            let bits = bit_len(rsa.modulus.as_bytes());
            if bits < MIN_RSA_BITS {
                return Err(CsrError::WeakKey(format!(
                    "RSA modulus of {bits} bits is below {MIN_RSA_BITS}"
                )));
            }
            if bits > MAX_RSA_BITS {
                return Err(CsrError::UnsupportedKey(format!(
                    "RSA modulus of {bits} bits is above {MAX_RSA_BITS}"
                )));
            }
            if !bits.is_multiple_of(8) {
                return Err(CsrError::WeakKey(format!(
                    "RSA modulus of {bits} bits is not a multiple of 8"
                )));
            }
            let e = rsa.public_exponent.as_bytes();
            let odd = e.last().is_some_and(|b| b & 1 == 1);
            let big_enough = e.len() > 8
                || e.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)) >= MIN_RSA_EXPONENT;
            if !odd || !big_enough || bit_len(e) > 256 {
                return Err(CsrError::WeakKey(
                    "RSA public exponent must be odd and in 65537..2^256".into(),
                ));
            }
            Ok(KeyKind::Rsa { bits })
        }
        oids::ED25519 => {
            if alg.parameters.is_some() || key.len() != 32 {
                return Err(CsrError::UnsupportedKey("malformed Ed25519 key".into()));
            }
            Ok(KeyKind::Ed25519)
        }
        other => Err(CsrError::UnsupportedKey(format!("key algorithm {other}"))),
    }
}

/// ECDSA and EdDSA AlgorithmIdentifiers have absent parameters; PKCS #1 v1.5
/// ones have NULL (RFC 4055 §5 allows absent too, which we also accept).
fn params_ok(alg: &AlgorithmIdentifierOwned, null_allowed: bool) -> bool {
    match &alg.parameters {
        None => true,
        Some(p) => null_allowed && p.is_null(),
    }
}

fn pick(
    alg: &AlgorithmIdentifierOwned,
    kind: KeyKind,
) -> Result<&'static dyn VerificationAlgorithm, CsrError> {
    let unsupported = || {
        CsrError::UnsupportedSignatureAlgorithm(format!(
            "{} with a {} key",
            alg.oid,
            kind.describe()
        ))
    };
    let rsa = matches!(kind, KeyKind::Rsa { .. });
    if !params_ok(alg, rsa) {
        return Err(unsupported());
    }
    let v: &'static dyn VerificationAlgorithm = match (alg.oid, kind) {
        (oids::ECDSA_WITH_SHA256, KeyKind::P256) => &signature::ECDSA_P256_SHA256_ASN1,
        (oids::ECDSA_WITH_SHA384, KeyKind::P256) => &signature::ECDSA_P256_SHA384_ASN1,
        (oids::ECDSA_WITH_SHA512, KeyKind::P256) => &signature::ECDSA_P256_SHA512_ASN1,
        (oids::ECDSA_WITH_SHA256, KeyKind::P384) => &signature::ECDSA_P384_SHA256_ASN1,
        (oids::ECDSA_WITH_SHA384, KeyKind::P384) => &signature::ECDSA_P384_SHA384_ASN1,
        (oids::ECDSA_WITH_SHA512, KeyKind::P384) => &signature::ECDSA_P384_SHA512_ASN1,
        (oids::SHA256_WITH_RSA, KeyKind::Rsa { .. }) => &signature::RSA_PKCS1_2048_8192_SHA256,
        (oids::SHA384_WITH_RSA, KeyKind::Rsa { .. }) => &signature::RSA_PKCS1_2048_8192_SHA384,
        (oids::SHA512_WITH_RSA, KeyKind::Rsa { .. }) => &signature::RSA_PKCS1_2048_8192_SHA512,
        (oids::ED25519, KeyKind::Ed25519) => &signature::ED25519,
        (oids::RSASSA_PSS, _) => {
            return Err(CsrError::UnsupportedSignatureAlgorithm("RSASSA-PSS".into()));
        }
        _ => return Err(unsupported()),
    };
    Ok(v)
}

/// Verifies `sig` over `msg` with the CSR's own key.
pub(crate) fn verify(
    spki: &SubjectPublicKeyInfoOwned,
    kind: KeyKind,
    alg: &AlgorithmIdentifierOwned,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), CsrError> {
    let v = pick(alg, kind)?;
    let key = spki
        .subject_public_key
        .as_bytes()
        .ok_or(CsrError::BadSignature)?;
    UnparsedPublicKey::new(v, key)
        .verify(msg, sig)
        .map_err(|_| CsrError::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::bit_len;

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_len(&[]), 0);
        assert_eq!(bit_len(&[0, 0]), 0);
        assert_eq!(bit_len(&[1]), 1);
        assert_eq!(bit_len(&[0, 0x80, 0]), 16);
        assert_eq!(bit_len(&[0x01, 0x00, 0x01]), 17);
    }
}
