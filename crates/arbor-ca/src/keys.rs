//! CA signing keys: ECDSA P-256 key pairs held in aws-lc-rs, stored as
//! PKCS #8 (RFC 5208) "PRIVATE KEY" PEM (RFC 7468 §10), signing with
//! ecdsa-with-SHA256 (RFC 5758 §3.2) whose AlgorithmIdentifier has absent
//! parameters.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use der::asn1::BitString;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::CaError;
use crate::asn1;
use crate::oids;

/// PEM label of an unencrypted PKCS #8 private key (RFC 7468 §10).
pub(crate) const PKCS8_PEM_LABEL: &str = "PRIVATE KEY";

/// An ECDSA P-256 signing key.
pub(crate) struct CaKey {
    pair: EcdsaKeyPair,
}

impl std::fmt::Debug for CaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.write_str("CaKey(P-256)")
    }
}

impl CaKey {
    /// Generates a fresh P-256 key.
    pub(crate) fn generate() -> Result<Self, CaError> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
            .map_err(|_| CaError::Key("P-256 key generation failed".into()))?;
        Ok(CaKey { pair })
    }

    /// Loads a key from PKCS #8 DER.
    pub(crate) fn from_pkcs8_der(der: &[u8]) -> Result<Self, CaError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der)
            .map_err(|e| CaError::Key(format!("not a P-256 PKCS#8 key: {e}")))?;
        Ok(CaKey { pair })
    }

    /// Loads a key from PKCS #8 PEM.
    pub(crate) fn from_pem(pem: &str) -> Result<Self, CaError> {
        let (label, der) = pem_rfc7468::decode_vec(pem.as_bytes())
            .map_err(|e| CaError::Key(format!("bad PEM: {e}")))?;
        if label != PKCS8_PEM_LABEL {
            return Err(CaError::Key(format!(
                "PEM label is {label:?}, expected {PKCS8_PEM_LABEL:?}"
            )));
        }
        Self::from_pkcs8_der(&der)
    }

    /// The key as PKCS #8 v1 DER.
    pub(crate) fn to_pkcs8_der(&self) -> Result<Vec<u8>, CaError> {
        let doc = self
            .pair
            .to_pkcs8v1()
            .map_err(|_| CaError::Key("PKCS#8 export failed".into()))?;
        Ok(doc.as_ref().to_vec())
    }

    /// The key as PKCS #8 PEM.
    pub(crate) fn to_pem(&self) -> Result<String, CaError> {
        let der = self.to_pkcs8_der()?;
        pem_rfc7468::encode_string(PKCS8_PEM_LABEL, pem_rfc7468::LineEnding::LF, &der)
            .map_err(|e| CaError::Encode(format!("PEM: {e}")))
    }

    /// The public key as a SubjectPublicKeyInfo (RFC 5480 §2).
    pub(crate) fn spki(&self) -> Result<SubjectPublicKeyInfoOwned, CaError> {
        p256_spki(self.pair.public_key().as_ref())
    }

    /// Signs `msg` with ECDSA P-256 / SHA-256; the result is the DER
    /// Ecdsa-Sig-Value (RFC 5480 §2.2 / RFC 3279 §2.2.3).
    pub(crate) fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, CaError> {
        let sig = self
            .pair
            .sign(&SystemRandom::new(), msg)
            .map_err(|_| CaError::Key("ECDSA signing failed".into()))?;
        Ok(sig.as_ref().to_vec())
    }

    /// The AlgorithmIdentifier of signatures made by [`CaKey::sign`].
    pub(crate) fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        asn1::ecdsa_with_sha256()
    }
}

/// Wraps an uncompressed P-256 point as a SubjectPublicKeyInfo whose
/// parameters are the namedCurve secp256r1 (RFC 5480 §2.1.1).
pub(crate) fn p256_spki(point: &[u8]) -> Result<SubjectPublicKeyInfoOwned, CaError> {
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: oids::EC_PUBLIC_KEY,
            parameters: Some(der::Any::encode_from(&oids::SECP256R1)?),
        },
        subject_public_key: BitString::from_bytes(point)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};

    #[test]
    fn pem_round_trip_keeps_the_key() {
        let k = CaKey::generate().unwrap();
        let pem = k.to_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let k2 = CaKey::from_pem(&pem).unwrap();
        assert_eq!(k.spki().unwrap(), k2.spki().unwrap());
    }

    #[test]
    fn signature_verifies_with_the_spki_key() {
        let k = CaKey::generate().unwrap();
        let sig = k.sign(b"hello").unwrap();
        let spki = k.spki().unwrap();
        let point = spki.subject_public_key.as_bytes().unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
            .verify(b"hello", &sig)
            .unwrap();
        assert!(
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
                .verify(b"hellO", &sig)
                .is_err()
        );
    }

    #[test]
    fn wrong_pem_label_is_rejected() {
        let k = CaKey::generate().unwrap();
        let der = k.to_pkcs8_der().unwrap();
        let pem = pem_rfc7468::encode_string("EC PRIVATE KEY", pem_rfc7468::LineEnding::LF, &der)
            .unwrap();
        assert!(matches!(CaKey::from_pem(&pem), Err(CaError::Key(_))));
    }
}
