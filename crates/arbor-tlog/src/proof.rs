//! Proof generation from stored level nodes: RFC 9162 §2.1.3.1 inclusion
//! (`PATH`), §2.1.4.1 consistency (`PROOF`) and the MTC draft's subtree
//! inclusion (§4.3) and subtree consistency (`SUBTREE_PROOF`, §4.4.1) proofs.
//!
//! Every node a proof needs is a valid subtree `[a, b)`, which is the right
//! fold of at most 64 perfect subtrees ([`range_nodes`]). Generation first
//! lists the ranges, then asks the [`HashReader`] for all their perfect nodes
//! in ONE call (so a tile-backed store can batch its reads), then folds.
//! `PATH(m, D_n)` is `SUBTREE_PROOF(m, m+1, D_n)` and `PROOF(m, D_n)` is
//! `SUBTREE_PROOF(0, m, D_n)`, so one recursion serves all four proofs.

use crate::error::TlogError;
use crate::hash::{Hash, NodeIndex, empty_root, largest_power_of_two_below, node_hash};
use crate::subtree::is_valid_subtree;

/// Read access to the stored perfect-subtree hashes of a log (level 0 = leaf
/// hashes). A tile-backed store implements it by fetching the tiles that hold
/// the requested nodes. The answer must have one hash per index, in order.
pub trait HashReader {
    /// Returns the hashes of `indexes`, in the same order.
    fn read_hashes(&self, indexes: &[NodeIndex]) -> Result<Vec<Hash>, TlogError>;
}

impl<T: HashReader + ?Sized> HashReader for &T {
    fn read_hashes(&self, indexes: &[NodeIndex]) -> Result<Vec<Hash>, TlogError> {
        (**self).read_hashes(indexes)
    }
}

/// The perfect subtrees whose right fold is `MTH(D[start:end])`, left to right
/// (largest first). Requires a valid subtree; an empty range has no nodes.
pub fn range_nodes(start: u64, end: u64) -> Result<Vec<NodeIndex>, TlogError> {
    if !is_valid_subtree(start, end) {
        return Err(TlogError::InvalidSubtree { start, end });
    }
    let size = end - start;
    let mut out = Vec::with_capacity(size.count_ones() as usize);
    let mut pos = start;
    for level in (0..64u8).rev() {
        let width = 1u64 << level;
        if size & width != 0 {
            out.push(NodeIndex::new(level, pos >> level));
            // Cannot overflow: pos + width <= end.
            pos += width;
        }
    }
    Ok(out)
}

/// Right fold of perfect-subtree hashes into one Merkle Tree Hash.
fn fold_right(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    match iter.next() {
        None => empty_root(),
        Some(last) => iter.fold(*last, |acc, h| node_hash(h, &acc)),
    }
}

/// Resolves each range to its hash with a single [`HashReader::read_hashes`] call.
pub fn hashes_for_ranges<R: HashReader + ?Sized>(
    reader: &R,
    ranges: &[(u64, u64)],
) -> Result<Vec<Hash>, TlogError> {
    let mut nodes = Vec::new();
    let mut counts = Vec::with_capacity(ranges.len());
    for &(a, b) in ranges {
        let n = range_nodes(a, b)?;
        counts.push(n.len());
        nodes.extend(n);
    }
    let hashes = if nodes.is_empty() {
        Vec::new()
    } else {
        reader.read_hashes(&nodes)?
    };
    if hashes.len() != nodes.len() {
        return Err(TlogError::ShortRead {
            want: nodes.len(),
            got: hashes.len(),
        });
    }
    let mut out = Vec::with_capacity(ranges.len());
    let mut at = 0;
    for c in counts {
        out.push(fold_right(&hashes[at..at + c]));
        at += c;
    }
    Ok(out)
}

/// `MTH(D[start:end])` of a valid subtree, from stored nodes.
pub fn subtree_hash<R: HashReader + ?Sized>(
    reader: &R,
    start: u64,
    end: u64,
) -> Result<Hash, TlogError> {
    Ok(hashes_for_ranges(reader, &[(start, end)])?.remove(0))
}

/// `MTH(D_n)`, the root of the tree of size `size`.
pub fn tree_hash<R: HashReader + ?Sized>(reader: &R, size: u64) -> Result<Hash, TlogError> {
    subtree_hash(reader, 0, size)
}

/// The ranges whose hashes form `SUBTREE_PROOF(start, end, D_n)`, in proof order.
pub fn subtree_consistency_ranges(
    start: u64,
    end: u64,
    tree_size: u64,
) -> Result<Vec<(u64, u64)>, TlogError> {
    if !is_valid_subtree(start, end) {
        return Err(TlogError::InvalidSubtree { start, end });
    }
    if end > tree_size {
        return Err(TlogError::OutOfRange {
            index: end,
            size: tree_size,
        });
    }
    let mut out = Vec::new();
    if start < end {
        subproof(start, end, 0, tree_size, true, &mut out);
    }
    Ok(out)
}

/// `SUBTREE_SUBPROOF` over the window `D[lo:hi]`; pushes ranges in proof order.
fn subproof(start: u64, end: u64, lo: u64, hi: u64, known: bool, out: &mut Vec<(u64, u64)>) {
    if start == lo && end == hi {
        if !known {
            out.push((lo, hi));
        }
        return;
    }
    // Here hi - lo >= 2 (a valid, non-empty, proper sub-window).
    let k = largest_power_of_two_below(hi - lo);
    let mid = lo + k;
    if end <= mid {
        subproof(start, end, lo, mid, known, out);
        out.push((mid, hi));
    } else if mid <= start {
        subproof(start, end, mid, hi, known, out);
        out.push((lo, mid));
    } else {
        // start < mid < end implies start == lo for a valid subtree.
        subproof(mid, end, mid, hi, false, out);
        out.push((lo, mid));
    }
}

/// The ranges of the subtree inclusion proof of `index` in `[start, end)`
/// (RFC 9162 `PATH(index - start, D[start:end])`), in proof order.
pub fn subtree_inclusion_ranges(
    start: u64,
    end: u64,
    index: u64,
) -> Result<Vec<(u64, u64)>, TlogError> {
    if !is_valid_subtree(start, end) {
        return Err(TlogError::InvalidSubtree { start, end });
    }
    if index < start || index >= end {
        return Err(TlogError::OutOfRange { index, size: end });
    }
    let mut out = Vec::new();
    subproof(index, index + 1, start, end, true, &mut out);
    Ok(out)
}

/// Subtree consistency proof `SUBTREE_PROOF(start, end, D_n)` (draft §4.4.1).
pub fn subtree_consistency_proof<R: HashReader + ?Sized>(
    reader: &R,
    start: u64,
    end: u64,
    tree_size: u64,
) -> Result<Vec<Hash>, TlogError> {
    hashes_for_ranges(reader, &subtree_consistency_ranges(start, end, tree_size)?)
}

/// Subtree inclusion proof of entry `index` in `[start, end)` (draft §4.3).
pub fn subtree_inclusion_proof<R: HashReader + ?Sized>(
    reader: &R,
    start: u64,
    end: u64,
    index: u64,
) -> Result<Vec<Hash>, TlogError> {
    hashes_for_ranges(reader, &subtree_inclusion_ranges(start, end, index)?)
}

/// RFC 9162 §2.1.3.1 inclusion proof of `index` in the tree of size `tree_size`.
pub fn inclusion_proof<R: HashReader + ?Sized>(
    reader: &R,
    index: u64,
    tree_size: u64,
) -> Result<Vec<Hash>, TlogError> {
    subtree_inclusion_proof(reader, 0, tree_size, index)
}

/// RFC 9162 §2.1.4.1 consistency proof from `old_size` to `new_size`
/// (empty when `old_size` is 0 or equals `new_size`).
pub fn consistency_proof<R: HashReader + ?Sized>(
    reader: &R,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, TlogError> {
    if old_size > new_size {
        return Err(TlogError::OutOfRange {
            index: old_size,
            size: new_size,
        });
    }
    subtree_consistency_proof(reader, 0, old_size, new_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draft_consistency_examples() {
        // [4, 8) in a tree of 14: MTH(D[0:4]), MTH(D[8:14]).
        assert_eq!(
            subtree_consistency_ranges(4, 8, 14).unwrap(),
            vec![(0, 4), (8, 14)]
        );
        // [8, 13) in 14: d[12], d[13], D[8:12], D[0:8].
        assert_eq!(
            subtree_consistency_ranges(8, 13, 14).unwrap(),
            vec![(12, 13), (13, 14), (8, 12), (0, 8)]
        );
        // Inclusion of 10 in [8, 13): d[11], D[8:10], d[12].
        assert_eq!(
            subtree_inclusion_ranges(8, 13, 10).unwrap(),
            vec![(11, 12), (8, 10), (12, 13)]
        );
    }

    #[test]
    fn range_nodes_decompose() {
        assert_eq!(
            range_nodes(8, 13).unwrap(),
            vec![NodeIndex::new(2, 2), NodeIndex::new(0, 12)]
        );
        assert_eq!(range_nodes(0, u64::MAX).unwrap().len(), 64);
        assert!(range_nodes(7, 9).is_err());
    }
}
