//! The relying-party verifier (draft §8.2 "Verifying Certificate Signatures", plus the
//! validity-period check of RFC 5280 §6.1.3): decides whether a DER certificate is a
//! valid Merkle Tree Certificate of a given CA under a cosigner policy, trusted landmark
//! subtrees and a caller-supplied time. Pure: no clock, no I/O.
//!
//! Deviation: a signature from a *known* cosigner that fails to verify is an error
//! ([`VerifyError::BadSignature`]) rather than being ignored; unknown cosigners are ignored.
mod error;
mod policy;

pub use error::VerifyError;
pub use policy::{
    CosignerAlgorithm, CosignerKey, CosignerPolicy, Requirement, TrustedSubtree, TrustedSubtrees,
};

use crate::formats::{
    CaCertificate, MtcCertificate, MtcProof, TrustAnchorId, cosigned_message, split_serial,
};
use crate::tlog::{self, Hash};

/// How the certificate was authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VerifiedBy {
    /// A trusted landmark subtree matched (landmark-relative certificate).
    TrustedSubtree,
    /// Cosignatures met the policy; these cosigners' signatures verified.
    Cosigners(Vec<TrustAnchorId>),
}

/// A successfully verified certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    pub certificate: MtcCertificate,
    pub serial: u64,
    pub log: u16,
    pub index: u64,
    pub start: u64,
    pub end: u64,
    pub subtree_hash: Hash,
    pub not_before: i64,
    pub not_after: i64,
    pub by: VerifiedBy,
}

/// Verifies `cert_der` as an MTC issued by `ca` at Unix time `now`.
pub fn verify(
    cert_der: &[u8],
    ca: &CaCertificate,
    policy: &CosignerPolicy,
    trusted: &TrustedSubtrees,
    now: i64,
) -> Result<Verified, VerifyError> {
    // Steps 1-2: signature algorithm and strict MTCProof decoding.
    let cert = MtcCertificate::from_der(cert_der)?;
    // Steps 3-5: serial, revoked ranges, log number.
    let serial = cert.tbs.serial;
    let (log, index) = split_serial(serial);
    if serial < ca.mtc.min_serial || serial > ca.mtc.max_serial {
        return Err(VerifyError::SerialOutsideCaBounds {
            serial,
            min: ca.mtc.min_serial,
            max: ca.mtc.max_serial,
        });
    }
    if let Some(range) = policy.revoked().iter().find(|r| r.contains(&serial)) {
        return Err(VerifyError::Revoked {
            serial,
            log,
            index,
            range: range.clone(),
        });
    }
    if log == 0 {
        return Err(VerifyError::LogNumberZero { serial });
    }
    // Step 6: the issuer must be this CA; the log ID follows.
    let issuer = cert.issuer_id()?;
    if issuer != ca.ca_id {
        return Err(VerifyError::WrongIssuer {
            expected: ca.ca_id.clone(),
            found: issuer,
        });
    }
    let log_id = ca.ca_id.log_id(log)?;
    // Steps 7-10: rebuild the entry, hash it, evaluate the inclusion proof.
    let entry_hash = cert.log_entry()?.leaf_hash()?;
    let (start, end) = (cert.proof.start, cert.proof.end);
    let subtree_hash = evaluate_inclusion(&cert.proof, index, &entry_hash)?;
    // Step 11: a trusted subtree decides alone.
    let by = if let Some(t) = trusted.find(log, start, end) {
        if t.hash != subtree_hash {
            return Err(VerifyError::LandmarkHashMismatch { log, start, end });
        }
        VerifiedBy::TrustedSubtree
    } else if cert.proof.signatures.is_empty() {
        return Err(VerifyError::UnknownLandmark { log, start, end });
    } else {
        // Step 12: cosignatures (timestamp 0) against the policy.
        VerifiedBy::Cosigners(check_cosignatures(
            &cert,
            ca,
            policy,
            &log_id,
            &subtree_hash,
        )?)
    };
    // RFC 5280 §6.1.3 (a)(2): validity period.
    let (not_before, not_after) = cert.validity()?;
    if now < not_before {
        return Err(VerifyError::NotYetValid { not_before, now });
    }
    if now > not_after {
        return Err(VerifyError::Expired { not_after, now });
    }
    Ok(Verified {
        certificate: cert,
        serial,
        log,
        index,
        start,
        end,
        subtree_hash,
        not_before,
        not_after,
        by,
    })
}

/// Evaluates `proof`'s inclusion proof for entry `index` with leaf hash `entry_hash`,
/// giving the subtree hash it commits to (draft §4.3.2), after checking the subtree.
pub fn evaluate_inclusion(
    proof: &MtcProof,
    index: u64,
    entry_hash: &Hash,
) -> Result<Hash, VerifyError> {
    let (start, end) = (proof.start, proof.end);
    if !tlog::is_valid_subtree(start, end) {
        return Err(VerifyError::InvalidSubtree { start, end });
    }
    if index < start || index >= end {
        return Err(VerifyError::IndexOutsideSubtree { index, start, end });
    }
    tlog::evaluate_subtree_inclusion(start, end, index, entry_hash, &proof.inclusion_proof).map_err(
        |_| VerifyError::BadInclusionProof {
            index,
            start,
            end,
            len: proof.inclusion_proof.len(),
        },
    )
}

fn check_cosignatures(
    cert: &MtcCertificate,
    ca: &CaCertificate,
    policy: &CosignerPolicy,
    log_id: &TrustAnchorId,
    subtree_hash: &Hash,
) -> Result<Vec<TrustAnchorId>, VerifyError> {
    let (start, end) = (cert.proof.start, cert.proof.end);
    // The CA certificate supplies the CA cosigner unless the policy pins its own key.
    let ca_key = CosignerKey::from_spki_der(ca.ca_id.clone(), &ca.spki_der)?;
    let mut signers = Vec::new();
    for sig in &cert.proof.signatures {
        let key = match policy.key(&sig.cosigner_id) {
            Some(k) => k,
            None if sig.cosigner_id == ca.ca_id => &ca_key,
            None => continue, // Unrecognized cosigners are ignored.
        };
        let msg = cosigned_message(&sig.cosigner_id, 0, log_id, start, end, subtree_hash)?;
        if !key.verify(&msg, &sig.signature) {
            return Err(VerifyError::BadSignature {
                cosigner: sig.cosigner_id.clone(),
                start,
                end,
            });
        }
        signers.push(sig.cosigner_id.clone());
    }
    if let Some(req) = policy.unmet(&ca.ca_id, &signers) {
        let have: Vec<String> = signers.iter().map(ToString::to_string).collect();
        let have = if have.is_empty() {
            "none".to_string()
        } else {
            have.join(", ")
        };
        return Err(VerifyError::InsufficientCosignatures {
            requirement: req.to_string(),
            have,
        });
    }
    Ok(signers)
}

#[cfg(test)]
mod tests;
