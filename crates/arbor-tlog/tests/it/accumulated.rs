//! draft-ietf-plants-merkle-tree-certs Appendix "Subtree Test Vectors": the
//! four accumulated SHA-256 digests over every input for trees of up to 130
//! leaves `d[i] = i`, plus the draft's truncate/extend/bit-flip negative tests.

use arbor_tlog::hash::sha256;
use arbor_tlog::{
    Hash, MemoryTree, cover, evaluate_subtree_inclusion, is_valid_subtree, leaf_hash,
    subtree_consistency_proof, subtree_hash, subtree_inclusion_proof, verify_subtree_consistency,
};

const MAX: u64 = 130;

fn tree() -> MemoryTree {
    MemoryTree::from_leaf_hashes((0..MAX).map(|i| leaf_hash(&[i as u8])))
}

fn hexs(h: &Hash) -> String {
    hex::encode(h)
}

fn proof_line(prefix: String, proof: &[Hash]) -> String {
    let mut s = prefix;
    for p in proof {
        s.push(' ');
        s.push_str(&hexs(p));
    }
    s.push('\n');
    s
}

#[test]
fn subtree_hashes() {
    let t = tree();
    let mut acc = Vec::new();
    for end in 0..=MAX {
        for start in 0..=end {
            if is_valid_subtree(start, end) {
                let sh = subtree_hash(&t, start, end).unwrap();
                acc.extend(format!("[{start}, {end}) {}\n", hexs(&sh)).bytes());
            }
        }
    }
    assert_eq!(
        hexs(&sha256(&acc)),
        "b82806ad4265bb151c1119c0f4db437bb4d1a1f887b3a7fba1cd4ebf552e3e81"
    );
}

#[test]
fn subtree_inclusion_proofs() {
    let t = tree();
    let mut acc = Vec::new();
    for end in 0..=MAX {
        for start in 0..=end {
            if !is_valid_subtree(start, end) {
                continue;
            }
            let sh = subtree_hash(&t, start, end).unwrap();
            for index in start..end {
                let proof = subtree_inclusion_proof(&t, start, end, index).unwrap();
                let leaf = leaf_hash(&[index as u8]);
                assert_eq!(
                    evaluate_subtree_inclusion(start, end, index, &leaf, &proof).unwrap(),
                    sh
                );
                acc.extend(proof_line(format!("{index} [{start}, {end})"), &proof).bytes());
            }
        }
    }
    assert_eq!(
        hexs(&sha256(&acc)),
        "ac2a8f989e44d99e399db448050ff5f19757df53cfb716aa81015d3955d8163f"
    );
}

#[test]
fn subtree_consistency_proofs() {
    let t = tree();
    let mut acc = Vec::new();
    for n in 0..=MAX {
        let root = subtree_hash(&t, 0, n).unwrap();
        for end in 0..=n {
            for start in 0..=end {
                if !is_valid_subtree(start, end) {
                    continue;
                }
                let proof = subtree_consistency_proof(&t, start, end, n).unwrap();
                let sh = subtree_hash(&t, start, end).unwrap();
                verify_subtree_consistency(start, end, n, &sh, &root, &proof).unwrap();
                acc.extend(proof_line(format!("[{start}, {end}) {n}"), &proof).bytes());
            }
        }
    }
    assert_eq!(
        hexs(&sha256(&acc)),
        "10fa99b37bf9bf9ffa26b412fbd98bd75363256d0b75d61bc4538b9c9c5a0a74"
    );
}

#[test]
fn covering_subtrees() {
    let mut acc = Vec::new();
    for end in 0..=MAX {
        for start in 0..=end {
            let c = cover(start, end);
            assert_eq!(c.len(), 2);
            acc.extend(format!("[{}, {}) [{}, {})\n", c[0].0, c[0].1, c[1].0, c[1].1).bytes());
        }
    }
    assert_eq!(
        hexs(&sha256(&acc)),
        "7fd9c8b926e9d2b5cf831560e8ce295a5ef97ad5c5ede4ea0dea28a8c8fc8bb0"
    );
}

/// The draft's negative tests: drop or add one hash, flip a bit in the
/// subtree hash or the tree hash: every one must fail. (Byte-level truncation
/// and extension are covered by `split_proof` in the large-vector tests.)
#[test]
fn consistency_mutations_fail() {
    let t = tree();
    for n in 1..=40 {
        let root = subtree_hash(&t, 0, n).unwrap();
        for end in 1..=n {
            for start in 0..end {
                if !is_valid_subtree(start, end) {
                    continue;
                }
                let proof = subtree_consistency_proof(&t, start, end, n).unwrap();
                let sh = subtree_hash(&t, start, end).unwrap();
                let mut flipped = sh;
                flipped[0] ^= 1;
                assert!(
                    verify_subtree_consistency(start, end, n, &flipped, &root, &proof).is_err()
                );
                let mut flipped_root = root;
                flipped_root[31] ^= 0x80;
                assert!(
                    verify_subtree_consistency(start, end, n, &sh, &flipped_root, &proof).is_err()
                );
                let mut longer = proof.clone();
                longer.push(root);
                assert!(verify_subtree_consistency(start, end, n, &sh, &root, &longer).is_err());
                if !proof.is_empty() {
                    assert!(
                        verify_subtree_consistency(
                            start,
                            end,
                            n,
                            &sh,
                            &root,
                            &proof[..proof.len() - 1]
                        )
                        .is_err()
                    );
                }
            }
        }
    }
}
