//! Why a Merkle Tree Certificate failed relying-party verification (draft §8.2): one
//! variant per reason, each with a message a person can act on.
use std::ops::RangeInclusive;

use thiserror::Error;

use crate::formats::{FormatError, TrustAnchorId};

/// A verification failure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    #[error("not a Merkle Tree Certificate: signature algorithm is {0}, not id-alg-mtcProof")]
    NotMtc(String),
    #[error("malformed certificate: {0}")]
    Malformed(FormatError),
    #[error("malformed certificate: {0} bytes of trailing data after {1}")]
    TrailingData(usize, &'static str),
    #[error("malformed MTCProof: cosigner IDs are not sorted (shorter first, then bytewise)")]
    UnsortedCosigners,
    #[error("malformed MTCProof: cosigner {0} appears more than once")]
    DuplicateCosigner(String),
    #[error("certificate issuer {found} is not this CA ({expected})")]
    WrongIssuer {
        expected: TrustAnchorId,
        found: TrustAnchorId,
    },
    #[error("serial 0x{serial:016x} names log 0, which does not exist")]
    LogNumberZero { serial: u64 },
    #[error(
        "serial 0x{serial:016x} is outside the CA certificate's bounds [0x{min:016x}, 0x{max:016x}]"
    )]
    SerialOutsideCaBounds { serial: u64, min: u64, max: u64 },
    #[error("serial 0x{serial:016x} (log {log}, index {index}) is in revoked range 0x{:016x}..=0x{:016x}", range.start(), range.end())]
    Revoked {
        serial: u64,
        log: u16,
        index: u64,
        range: RangeInclusive<u64>,
    },
    #[error("certificate is not valid before {not_before} (now {now})")]
    NotYetValid { not_before: i64, now: i64 },
    #[error("certificate expired at {not_after} (now {now})")]
    Expired { not_after: i64, now: i64 },
    #[error("MTCProof subtree [{start}, {end}) is not a valid subtree")]
    InvalidSubtree { start: u64, end: u64 },
    #[error("entry index {index} is outside the proof's subtree [{start}, {end})")]
    IndexOutsideSubtree { index: u64, start: u64, end: u64 },
    #[error(
        "inclusion proof for index {index} in [{start}, {end}) has the wrong number of hashes ({len})"
    )]
    BadInclusionProof {
        index: u64,
        start: u64,
        end: u64,
        len: usize,
    },
    #[error(
        "landmark subtree [{start}, {end}) of log {log}: the certificate's proof gives a different hash than the trusted one (bad proof or altered certificate)"
    )]
    LandmarkHashMismatch { log: u16, start: u64, end: u64 },
    #[error(
        "certificate has no signatures and subtree [{start}, {end}) of log {log} is not a trusted landmark subtree (landmarks out of date?)"
    )]
    UnknownLandmark { log: u16, start: u64, end: u64 },
    #[error(
        "signature by cosigner {cosigner} does not verify over subtree [{start}, {end}) (bad signature, altered certificate or wrong key)"
    )]
    BadSignature {
        cosigner: TrustAnchorId,
        start: u64,
        end: u64,
    },
    #[error(
        "cosignatures do not satisfy the policy: {requirement} (valid signatures from: {have})"
    )]
    InsufficientCosignatures { requirement: String, have: String },
}

impl From<FormatError> for VerifyError {
    fn from(e: FormatError) -> Self {
        match e {
            FormatError::NotMtc(oid) => VerifyError::NotMtc(oid),
            FormatError::CosignersUnsorted => VerifyError::UnsortedCosigners,
            FormatError::DuplicateCosigner(id) => VerifyError::DuplicateCosigner(id),
            FormatError::TrailingData(what, n) => VerifyError::TrailingData(n, what),
            other => VerifyError::Malformed(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_well() {
        let e = VerifyError::Revoked {
            serial: 1,
            log: 0,
            index: 1,
            range: 0..=5,
        };
        assert_eq!(
            e.to_string(),
            "serial 0x0000000000000001 (log 0, index 1) is in revoked range 0x0000000000000000..=0x0000000000000005"
        );
        let e: VerifyError = FormatError::UnusedBits(1).into();
        assert_eq!(
            e.to_string(),
            "malformed certificate: signatureValue BIT STRING has 1 unused bits (must be 0)"
        );
    }
}
