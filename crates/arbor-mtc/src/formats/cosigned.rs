//! `CosignedMessage` (draft §5.4.1 "Signature Format"): the exact bytes a cosigner signs
//! for a subtree, identical to tlog-cosignature's `subtree/v1` ML-DSA-44 message.
//! Signatures inside certificates always use timestamp 0.
use super::error::FormatError;
use super::tai::TrustAnchorId;
use super::tls::{put_uint, put_vec};
use crate::tlog::Hash;

/// The 12-byte domain-separation label `subtree/v1\n\0`.
pub const COSIGNED_LABEL: &[u8; 12] = b"subtree/v1\n\0";

/// Builds the CosignedMessage for `cosigner` over subtree `[start, end)` of the log
/// `log_id` (`caID.0.N`).
pub fn cosigned_message(
    cosigner: &TrustAnchorId,
    timestamp: u64,
    log_id: &TrustAnchorId,
    start: u64,
    end: u64,
    subtree_hash: &Hash,
) -> Result<Vec<u8>, FormatError> {
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(COSIGNED_LABEL);
    put_vec(
        &mut out,
        1,
        cosigner.note_name().as_bytes(),
        "cosigner_name",
    )?;
    put_uint(&mut out, 8, timestamp, "timestamp")?;
    put_vec(&mut out, 1, log_id.note_name().as_bytes(), "log_origin")?;
    put_uint(&mut out, 8, start, "start")?;
    put_uint(&mut out, 8, end, "end")?;
    out.extend_from_slice(subtree_hash);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_notes_example() {
        let ca: TrustAnchorId = "32473.1".parse().unwrap();
        let msg = cosigned_message(&ca, 0, &ca.log_id(1).unwrap(), 0, 8, &[0x1b; 32]).unwrap();
        assert_eq!(msg.len(), 120);
        let want_prefix = "737562747265652f76310a00176f69642f312e332e362e312e342e312e33323437332e310000000000000000";
        assert!(hex::encode(&msg).starts_with(want_prefix));
        assert_eq!(msg[44], 27);
        assert_eq!(&msg[45..72], b"oid/1.3.6.1.4.1.32473.1.0.1");
        assert_eq!(&msg[72..80], &0u64.to_be_bytes());
        assert_eq!(&msg[80..88], &8u64.to_be_bytes());
        assert_eq!(&msg[88..], &[0x1b; 32]);
    }
}
