//! The Merkle-tree math this crate needs (RFC 9162 §2.1 hashing, draft §4 subtrees),
//! behind one private facade so the rest of the crate names a single module.
//!
//! TEMPORARY stand-in until `arbor-tlog` lands: then this file becomes
//! `pub(crate) use arbor_tlog::{...}` and the code below is deleted.
use aws_lc_rs::digest;

/// A SHA-256 node or leaf hash.
pub type Hash = [u8; 32];

/// Why a subtree inclusion proof does not evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofError {
    InvalidSubtree,
    IndexOutOfRange,
    WrongLength,
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> Hash {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// `SHA-256(0x00 || entry)`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&[0]);
    ctx.update(entry);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&[1]);
    ctx.update(left);
    ctx.update(right);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// `[start, end)` is a subtree: `start <= end` and `start` is a multiple of BIT_CEIL(end-start).
pub fn is_valid_subtree(start: u64, end: u64) -> bool {
    if start > end {
        return false;
    }
    let size = end - start;
    if size <= 1 {
        return true;
    }
    match size.checked_next_power_of_two() {
        Some(p) => start.is_multiple_of(p),
        None => start == 0,
    }
}

/// Draft §4.3.2: evaluates a subtree inclusion proof to the subtree hash.
pub fn evaluate_subtree_inclusion(
    start: u64,
    end: u64,
    index: u64,
    entry_hash: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if !is_valid_subtree(start, end) {
        return Err(ProofError::InvalidSubtree);
    }
    if index < start || index >= end {
        return Err(ProofError::IndexOutOfRange);
    }
    let mut fn_ = index - start;
    let mut sn = end - start - 1;
    let mut r = *entry_hash;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    Ok(r)
}

#[allow(dead_code)] // Used by the landmark module.
/// Draft §4.5: the two subtrees covering `[start, end)`.
pub fn cover(start: u64, end: u64) -> Vec<(u64, u64)> {
    if end <= start + 1 {
        return vec![(start, end), (end, end)];
    }
    let last = end - 1;
    let split = 63 - (start ^ last).leading_zeros() as u64;
    let mid = last & !((1u64 << split) - 1);
    let low = start & ((1u64 << split) - 1);
    let zeros = !low & ((1u64 << split) - 1);
    let left_split = if zeros == 0 {
        0
    } else {
        64 - zeros.leading_zeros() as u64
    };
    let ls = if left_split == 0 {
        start
    } else {
        start & !((1u64 << left_split) - 1)
    };
    vec![(ls, mid), (mid, end)]
}
