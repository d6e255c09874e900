//! Proof evaluation and verification: subtree inclusion proofs
//! (draft-ietf-plants-merkle-tree-certs §4.3.2), subtree consistency proofs
//! (§4.4.3), and the RFC 9162 §2.1.3.2 inclusion and §2.1.4.2 consistency
//! checks, which are their special cases (`[0, n)` and `start = 0`).
//!
//! All arithmetic is on u64 and guarded against the 2^63 `BIT_CEIL` overflow
//! by [`is_valid_subtree`]; no input can make these functions panic.

use crate::error::ProofError;
use crate::hash::{HASH_SIZE, Hash, empty_root, node_hash};
use crate::subtree::is_valid_subtree;

/// Evaluates a subtree inclusion proof for entry `index` (leaf hash
/// `entry_hash`) of subtree `[start, end)` and returns the subtree hash it
/// leads to (draft §4.3.2). The caller compares it with a trusted hash.
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
            while fn_ & 1 == 0 {
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

/// Verifies a subtree inclusion proof against a known `subtree_hash` (§4.3.3).
pub fn verify_subtree_inclusion(
    start: u64,
    end: u64,
    index: u64,
    entry_hash: &Hash,
    proof: &[Hash],
    subtree_hash: &Hash,
) -> Result<(), ProofError> {
    let got = evaluate_subtree_inclusion(start, end, index, entry_hash, proof)?;
    if &got == subtree_hash {
        Ok(())
    } else {
        Err(ProofError::Mismatch)
    }
}

/// Verifies that subtree `[start, end)` with hash `subtree_hash` is consistent
/// with the tree of size `tree_size` with hash `tree_hash` (draft §4.4.3).
pub fn verify_subtree_consistency(
    start: u64,
    end: u64,
    tree_size: u64,
    subtree_hash: &Hash,
    tree_hash: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if !is_valid_subtree(start, end) || end > tree_size {
        return Err(ProofError::InvalidSubtree);
    }
    if start == end {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if subtree_hash == &empty_root() {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        };
    }
    let (mut fn_, mut sn, mut tn) = (start, end - 1, tree_size - 1);
    if sn == tn {
        while fn_ != sn {
            fn_ >>= 1;
            sn >>= 1;
            tn >>= 1;
        }
    } else {
        while fn_ != sn && sn & 1 == 1 {
            fn_ >>= 1;
            sn >>= 1;
            tn >>= 1;
        }
    }
    let mut rest = proof;
    let (mut fr, mut sr) = if fn_ == sn {
        (*subtree_hash, *subtree_hash)
    } else {
        let (first, tail) = rest.split_first().ok_or(ProofError::WrongLength)?;
        rest = tail;
        (*first, *first)
    };
    for c in rest {
        if tn == 0 {
            return Err(ProofError::WrongLength);
        }
        if sn & 1 == 1 || sn == tn {
            if fn_ < sn {
                fr = node_hash(c, &fr);
            }
            sr = node_hash(c, &sr);
            while sn & 1 == 0 {
                fn_ >>= 1;
                sn >>= 1;
                tn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
        tn >>= 1;
    }
    if tn != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr != subtree_hash || &sr != tree_hash {
        return Err(ProofError::Mismatch);
    }
    Ok(())
}

/// RFC 9162 §2.1.3.2: verifies that `leaf_hash` is entry `index` of the tree of
/// size `tree_size` with root `root`.
pub fn verify_inclusion(
    index: u64,
    tree_size: u64,
    leaf_hash: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    verify_subtree_inclusion(0, tree_size, index, leaf_hash, proof, root)
}

/// RFC 9162 §2.1.4.2: verifies that the tree of size `old_size` with root
/// `old_root` is a prefix of the tree of size `new_size` with root `new_root`.
/// `old_size == 0` accepts only an empty proof and the empty-tree root;
/// `old_size == new_size` accepts only an empty proof and equal roots.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    verify_subtree_consistency(0, old_size, new_size, old_root, new_root, proof)
}

/// Splits a concatenated proof (as carried in MTCProof and the JSON vectors)
/// into 32-byte hashes.
pub fn split_proof(bytes: &[u8]) -> Result<Vec<Hash>, ProofError> {
    if !bytes.len().is_multiple_of(HASH_SIZE) {
        return Err(ProofError::RaggedProof);
    }
    Ok(bytes
        .chunks_exact(HASH_SIZE)
        .map(|c| {
            let mut h = [0u8; HASH_SIZE];
            h.copy_from_slice(c);
            h
        })
        .collect())
}
