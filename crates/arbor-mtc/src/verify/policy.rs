//! Relying-party configuration (draft §8.1, §8.3-8.5): cosigner keys (ML-DSA-44/65/87,
//! ECDSA P-256/P-384, Ed25519; ML-DSA with an empty context), a cosigner policy made of
//! required cosigners and k-of-n quorums, revoked serial ranges, and trusted (landmark)
//! subtrees.
use std::ops::RangeInclusive;

use aws_lc_rs::signature::{self, UnparsedPublicKey, VerificationAlgorithm};
use der::Decode;
use spki::SubjectPublicKeyInfoRef;

use crate::formats::{FormatError, TrustAnchorId};
use crate::tlog::Hash;

/// A cosigner signature algorithm this verifier supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CosignerAlgorithm {
    MlDsa44,
    MlDsa65,
    MlDsa87,
    /// ECDSA P-256 with SHA-256, DER signature.
    EcdsaP256Sha256,
    /// ECDSA P-384 with SHA-384, DER signature.
    EcdsaP384Sha384,
    Ed25519,
}

impl CosignerAlgorithm {
    fn verifier(self) -> &'static dyn VerificationAlgorithm {
        match self {
            CosignerAlgorithm::MlDsa44 => &signature::ML_DSA_44,
            CosignerAlgorithm::MlDsa65 => &signature::ML_DSA_65,
            CosignerAlgorithm::MlDsa87 => &signature::ML_DSA_87,
            CosignerAlgorithm::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
            CosignerAlgorithm::EcdsaP384Sha384 => &signature::ECDSA_P384_SHA384_ASN1,
            CosignerAlgorithm::Ed25519 => &signature::ED25519,
        }
    }
}

/// A cosigner: its ID and public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignerKey {
    pub id: TrustAnchorId,
    pub algorithm: CosignerAlgorithm,
    /// The raw subjectPublicKey bits.
    pub public_key: Vec<u8>,
}

impl CosignerKey {
    /// Reads the algorithm and key from a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(id: TrustAnchorId, spki_der: &[u8]) -> Result<Self, FormatError> {
        use const_oid::db::{rfc5912, rfc8410};
        let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
            .map_err(FormatError::der("cosigner key"))?;
        let oid = spki.algorithm.oid;
        let algorithm = match oid.to_string().as_str() {
            "2.16.840.1.101.3.4.3.17" => CosignerAlgorithm::MlDsa44,
            "2.16.840.1.101.3.4.3.18" => CosignerAlgorithm::MlDsa65,
            "2.16.840.1.101.3.4.3.19" => CosignerAlgorithm::MlDsa87,
            _ if oid == rfc8410::ID_ED_25519 => CosignerAlgorithm::Ed25519,
            _ if oid == rfc5912::ID_EC_PUBLIC_KEY => {
                let curve = spki.algorithm.parameters_oid().map_err(|_| {
                    FormatError::UnsupportedKey("EC key without a named curve".into())
                })?;
                if curve == rfc5912::SECP_256_R_1 {
                    CosignerAlgorithm::EcdsaP256Sha256
                } else if curve == rfc5912::SECP_384_R_1 {
                    CosignerAlgorithm::EcdsaP384Sha384
                } else {
                    return Err(FormatError::UnsupportedKey(format!("EC curve {curve}")));
                }
            }
            other => return Err(FormatError::UnsupportedKey(other.to_string())),
        };
        let public_key = spki
            .subject_public_key
            .as_bytes()
            .ok_or(FormatError::UnusedBits(
                spki.subject_public_key.unused_bits(),
            ))?
            .to_vec();
        Ok(CosignerKey {
            id,
            algorithm,
            public_key,
        })
    }

    /// Whether `signature` is this cosigner's valid signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(self.algorithm.verifier(), &self.public_key)
            .verify(message, signature)
            .is_ok()
    }
}

/// One condition a certificate's valid cosignatures must meet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// This cosigner must have signed.
    Cosigner(TrustAnchorId),
    /// At least `threshold` of `members` must have signed.
    Quorum {
        threshold: usize,
        members: Vec<TrustAnchorId>,
    },
}

impl std::fmt::Display for Requirement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Requirement::Cosigner(id) => write!(f, "cosigner {id} must sign"),
            Requirement::Quorum { threshold, members } => {
                let names: Vec<String> = members.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "at least {threshold} of [{}] must sign",
                    names.join(", ")
                )
            }
        }
    }
}

/// Which cosigners a relying party trusts and which combinations it accepts.
/// With no explicit requirements, the CA cosigner alone is required.
#[derive(Clone, Debug, Default)]
pub struct CosignerPolicy {
    keys: Vec<CosignerKey>,
    requirements: Vec<Requirement>,
    revoked: Vec<RangeInclusive<u64>>,
}

impl CosignerPolicy {
    /// An empty policy (CA-only once used with a CA certificate).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a trusted cosigner key (replacing one with the same ID).
    pub fn with_cosigner(mut self, key: CosignerKey) -> Self {
        self.keys.retain(|k| k.id != key.id);
        self.keys.push(key);
        self
    }

    /// Requires a signature from `id`.
    pub fn require(mut self, id: TrustAnchorId) -> Self {
        self.requirements.push(Requirement::Cosigner(id));
        self
    }

    /// Requires `threshold` signatures among `members` (e.g. "at least 1 witness").
    pub fn require_quorum(mut self, threshold: usize, members: Vec<TrustAnchorId>) -> Self {
        self.requirements
            .push(Requirement::Quorum { threshold, members });
        self
    }

    /// Revokes a range of serial numbers (draft §8.5), e.g. `(1 << 48) | 100 ..= (1 << 48) | 200`.
    pub fn revoke(mut self, serials: RangeInclusive<u64>) -> Self {
        self.revoked.push(serials);
        self
    }

    pub fn key(&self, id: &TrustAnchorId) -> Option<&CosignerKey> {
        self.keys.iter().find(|k| &k.id == id)
    }

    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    pub fn revoked(&self) -> &[RangeInclusive<u64>] {
        &self.revoked
    }

    /// The first requirement the set of valid signers fails, if any; `ca_id` stands in
    /// when the policy lists no requirement.
    pub(crate) fn unmet(
        &self,
        ca_id: &TrustAnchorId,
        signers: &[TrustAnchorId],
    ) -> Option<Requirement> {
        let default = [Requirement::Cosigner(ca_id.clone())];
        let reqs = if self.requirements.is_empty() {
            &default[..]
        } else {
            &self.requirements[..]
        };
        reqs.iter()
            .find(|r| match r {
                Requirement::Cosigner(id) => !signers.contains(id),
                Requirement::Quorum { threshold, members } => {
                    members.iter().filter(|m| signers.contains(m)).count() < *threshold
                }
            })
            .cloned()
    }
}

/// A subtree hash the relying party trusts (an active landmark subtree, draft §8.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedSubtree {
    pub log: u16,
    pub start: u64,
    pub end: u64,
    pub hash: Hash,
}

/// The relying party's trusted subtrees (may be empty).
#[derive(Clone, Debug, Default)]
pub struct TrustedSubtrees(pub Vec<TrustedSubtree>);

impl TrustedSubtrees {
    pub fn find(&self, log: u16, start: u64, end: u64) -> Option<&TrustedSubtree> {
        self.0
            .iter()
            .find(|t| t.log == log && t.start == start && t.end == end)
    }
}
