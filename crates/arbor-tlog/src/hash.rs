//! RFC 9162 §2.1.1 Merkle Tree Hash primitives over SHA-256 (aws-lc-rs):
//! leaf and interior-node hashing, the empty-tree hash, and [`NodeIndex`],
//! the address of a *perfect* (full, power-of-two aligned) subtree as a
//! tile-backed store keeps it.

use aws_lc_rs::digest::{SHA256, digest};

/// Size in bytes of a SHA-256 Merkle tree hash.
pub const HASH_SIZE: usize = 32;

/// A SHA-256 Merkle tree hash.
pub type Hash = [u8; HASH_SIZE];

/// RFC 9162 §2.1.1 domain-separation prefix of a leaf hash.
pub const LEAF_PREFIX: u8 = 0x00;
/// RFC 9162 §2.1.1 domain-separation prefix of an interior-node hash.
pub const NODE_PREFIX: u8 = 0x01;

fn to_hash(d: aws_lc_rs::digest::Digest) -> Hash {
    let mut out = [0u8; HASH_SIZE];
    out.copy_from_slice(d.as_ref());
    out
}

/// `MTH({d}) = SHA-256(0x00 || d)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut buf = Vec::with_capacity(1 + entry.len());
    buf.push(LEAF_PREFIX);
    buf.extend_from_slice(entry);
    to_hash(digest(&SHA256, &buf))
}

/// `SHA-256(0x01 || left || right)`, hashed from one 65-byte buffer.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 1 + 2 * HASH_SIZE];
    buf[0] = NODE_PREFIX;
    buf[1..1 + HASH_SIZE].copy_from_slice(left);
    buf[1 + HASH_SIZE..].copy_from_slice(right);
    to_hash(digest(&SHA256, &buf))
}

/// `MTH({}) = SHA-256("")`, the hash of the empty tree (and of an empty subtree).
pub fn empty_root() -> Hash {
    to_hash(digest(&SHA256, b""))
}

/// Plain SHA-256 (no Merkle prefix), e.g. for key IDs and origin digests.
pub fn sha256(data: &[u8]) -> Hash {
    to_hash(digest(&SHA256, data))
}

/// A perfect subtree of the log: the `2^level` leaves
/// `[index << level, (index + 1) << level)`. Level 0 nodes are leaf hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeIndex {
    /// Height above the leaves (0..=63).
    pub level: u8,
    /// Position within the level, counted from the left.
    pub index: u64,
}

impl NodeIndex {
    /// The node at `level`, `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// First leaf covered by this node (saturating for absurd levels).
    pub fn start(&self) -> u64 {
        self.index
            .checked_shl(u32::from(self.level))
            .unwrap_or(u64::MAX)
    }

    /// Number of leaves covered: `2^level` (saturating at level 64+).
    pub fn width(&self) -> u64 {
        1u64.checked_shl(u32::from(self.level)).unwrap_or(u64::MAX)
    }
}

/// Merkle Tree Hash of a perfect run of sibling hashes (length a power of two,
/// or any length: the RFC 9162 split rule is applied, so this is simply MTH over
/// already-hashed leaves). Returns the empty root for an empty slice.
pub fn mth_of_hashes(hashes: &[Hash]) -> Hash {
    match hashes.len() {
        0 => empty_root(),
        1 => hashes[0],
        n => {
            let k = largest_power_of_two_below(n as u64) as usize;
            node_hash(&mth_of_hashes(&hashes[..k]), &mth_of_hashes(&hashes[k..]))
        }
    }
}

/// The largest power of two strictly smaller than `n` (`n >= 2`); RFC 9162's `k`.
pub(crate) fn largest_power_of_two_below(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_rule() {
        for (n, k) in [
            (2u64, 1u64),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (1 << 40, 1 << 39),
        ] {
            assert_eq!(largest_power_of_two_below(n), k, "n={n}");
        }
        assert_eq!(largest_power_of_two_below(u64::MAX), 1 << 63);
        assert_eq!(largest_power_of_two_below((1 << 63) + 1), 1 << 63);
    }

    #[test]
    fn node_hash_is_one_buffer_rfc_prefix() {
        let l = [1u8; 32];
        let r = [2u8; 32];
        let mut buf = vec![1u8];
        buf.extend_from_slice(&l);
        buf.extend_from_slice(&r);
        assert_eq!(node_hash(&l, &r), sha256(&buf));
        assert_ne!(node_hash(&l, &r), node_hash(&r, &l));
    }
}
