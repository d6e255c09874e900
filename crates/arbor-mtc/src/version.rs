//! The one draft-version switch: every OID and wire-format toggle that changed between
//! revisions of draft-ietf-plants-merkle-tree-certs lives here and nowhere else.
//!
//! Arbor targets the -07 wire format (IANA PKIX OIDs assigned for -07, 24-bit
//! `signatures` length from -06, landmark documents with expiry times from -06). To move
//! to another revision, add a variant and change [`CURRENT`]; no other file names an OID
//! or a length width.
use const_oid::ObjectIdentifier;

/// A revision of the draft whose wire format this crate can speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DraftVersion {
    /// draft-ietf-plants-merkle-tree-certs-07 (IANA OIDs, uint24 signatures length).
    Plants07,
}

/// The revision Arbor issues and verifies.
pub const CURRENT: DraftVersion = DraftVersion::Plants07;

/// RFC 9925 `id-alg-unsigned` (signature algorithm of an unsigned certificate).
pub const ID_ALG_UNSIGNED: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.6.36");
/// RFC 9925 `id-rdna-unsigned` (placeholder issuer attribute of an unsigned certificate).
pub const ID_RDNA_UNSIGNED: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.25.1");

/// `mtcMinSerial` (-07 ASN.1 module): log number 0 is invalid, so serials start at 2^48.
pub const MTC_MIN_SERIAL: u64 = 1 << 48;
/// `mtcMaxSerial` (draft ASN.1 module): 2^64-1.
pub const MTC_MAX_SERIAL: u64 = u64::MAX;
/// Largest `start`/`end` of a subtree and largest tree size: they are uint48 (draft §5.3).
pub const MAX_TREE_SIZE: u64 = (1 << 48) - 1;
/// An MTCLogEntry is at most 2^16-1 bytes (draft §5.3.1; tlog-tiles bundles use uint16).
pub const MAX_ENTRY_SIZE: usize = 0xffff;
/// HASH_SIZE for SHA-256, the only hash tlog-tiles and the -07 CA extension support.
pub const HASH_SIZE: usize = 32;

impl DraftVersion {
    /// `id-alg-mtcProof`: the certificate signature algorithm whose value is an MTCProof.
    pub const fn mtc_proof_alg(self) -> ObjectIdentifier {
        match self {
            DraftVersion::Plants07 => ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.6.67"),
        }
    }

    /// `id-rdna-trustAnchorID`: the attribute type of a CA ID distinguished name.
    pub const fn trust_anchor_id_attr(self) -> ObjectIdentifier {
        match self {
            DraftVersion::Plants07 => ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.25.3"),
        }
    }

    /// `id-pe-mtcCertificationAuthority-SHA256`: the critical CA-certificate extension
    /// (the OID fixes the log hash to SHA-256; the value has no `logHash` field).
    pub const fn ca_extension(self) -> ObjectIdentifier {
        match self {
            DraftVersion::Plants07 => ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.38"),
        }
    }

    /// Width in bytes of the MTCProof `signatures` length prefix (2 up to -05, 3 since -06).
    pub const fn signatures_len_width(self) -> usize {
        match self {
            DraftVersion::Plants07 => 3,
        }
    }

    /// Whether the landmark document carries expiry times (-06 and later).
    pub const fn landmark_expiry(self) -> bool {
        match self {
            DraftVersion::Plants07 => true,
        }
    }

    /// Lowest serial a CA certificate may allow (`mtcMinSerial`).
    pub const fn min_serial(self) -> u64 {
        match self {
            DraftVersion::Plants07 => MTC_MIN_SERIAL,
        }
    }
}
