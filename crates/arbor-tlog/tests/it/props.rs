//! Property tests: for every tree size up to 300, inclusion and consistency
//! proofs (RFC 9162 and subtree forms) verify, and any one-hash change,
//! one-byte change, dropped or added hash, or wrong index/size fails.

use std::sync::OnceLock;

use arbor_tlog::{
    Hash, MemoryTree, consistency_proof, evaluate_subtree_inclusion, inclusion_proof,
    is_valid_subtree, leaf_hash, subtree_consistency_proof, subtree_hash, subtree_inclusion_proof,
    tree_hash, verify_consistency, verify_inclusion, verify_subtree_consistency,
};
use proptest::prelude::*;

const N: u64 = 300;

fn tree() -> &'static MemoryTree {
    static T: OnceLock<MemoryTree> = OnceLock::new();
    T.get_or_init(|| MemoryTree::from_leaf_hashes((0..N).map(|i| leaf_hash(&i.to_le_bytes()))))
}

fn roots() -> &'static Vec<Hash> {
    static R: OnceLock<Vec<Hash>> = OnceLock::new();
    R.get_or_init(|| (0..=N).map(|n| tree_hash(tree(), n).unwrap()).collect())
}

/// Every single mutation of a proof: each hash's every byte position flipped
/// (sampled by `byte`), a dropped last hash, and an appended hash.
fn mutations(proof: &[Hash], byte: usize) -> Vec<Vec<Hash>> {
    let mut out = Vec::new();
    for i in 0..proof.len() {
        let mut p = proof.to_vec();
        p[i][byte % 32] ^= 1 << (byte % 8);
        out.push(p);
        let mut q = proof.to_vec();
        q[i] = leaf_hash(b"other");
        out.push(q);
    }
    if !proof.is_empty() {
        out.push(proof[..proof.len() - 1].to_vec());
        out.push(proof[1..].to_vec());
    }
    let mut longer = proof.to_vec();
    longer.push([0u8; 32]);
    out.push(longer);
    out
}

#[test]
fn every_inclusion_proof_up_to_64_is_tight() {
    let t = tree();
    for n in 1..=64u64 {
        for i in 0..n {
            let leaf = leaf_hash(&i.to_le_bytes());
            let p = inclusion_proof(t, i, n).unwrap();
            verify_inclusion(i, n, &leaf, &p, &roots()[n as usize]).unwrap();
            for m in mutations(&p, (i * 7 + n) as usize) {
                assert!(
                    verify_inclusion(i, n, &leaf, &m, &roots()[n as usize]).is_err(),
                    "i={i} n={n}"
                );
            }
            if i + 1 < n {
                assert!(verify_inclusion(i + 1, n, &leaf, &p, &roots()[n as usize]).is_err());
            }
        }
    }
}

#[test]
fn every_consistency_proof_up_to_64_is_tight() {
    let t = tree();
    for n in 1..=64u64 {
        for m in 1..=n {
            let p = consistency_proof(t, m, n).unwrap();
            verify_consistency(m, n, &roots()[m as usize], &roots()[n as usize], &p).unwrap();
            for bad in mutations(&p, (m * 5 + n) as usize) {
                assert!(
                    verify_consistency(m, n, &roots()[m as usize], &roots()[n as usize], &bad)
                        .is_err(),
                    "m={m} n={n}"
                );
            }
            if m < n {
                assert!(
                    verify_consistency(m, n, &roots()[m as usize - 1], &roots()[n as usize], &p)
                        .is_err()
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn inclusion_verifies_and_mutations_fail(n in 1..=N, i_frac in 0.0f64..1.0, byte in 0usize..256) {
        let i = ((n as f64) * i_frac) as u64 % n;
        let leaf = leaf_hash(&i.to_le_bytes());
        let p = inclusion_proof(tree(), i, n).unwrap();
        prop_assert!(verify_inclusion(i, n, &leaf, &p, &roots()[n as usize]).is_ok());
        for m in mutations(&p, byte) {
            prop_assert!(verify_inclusion(i, n, &leaf, &m, &roots()[n as usize]).is_err());
        }
        let mut bad_leaf = leaf;
        bad_leaf[byte % 32] ^= 0x40;
        prop_assert!(verify_inclusion(i, n, &bad_leaf, &p, &roots()[n as usize]).is_err());
        // A neighbouring position puts the leaf on the other side of its sibling.
        // (A wrong tree size is not always detectable from the path alone, e.g.
        // index 0 in sizes 3 and 4: that is why checkpoints sign the size.)
        if i ^ 1 < n {
            prop_assert!(verify_inclusion(i ^ 1, n, &leaf, &p, &roots()[n as usize]).is_err());
        }
    }

    #[test]
    fn consistency_verifies_and_mutations_fail(n in 1..=N, m_frac in 0.0f64..1.0, byte in 0usize..256) {
        let m = 1 + ((n as f64) * m_frac) as u64 % n;
        let p = consistency_proof(tree(), m, n).unwrap();
        let (rm, rn) = (roots()[m as usize], roots()[n as usize]);
        prop_assert!(verify_consistency(m, n, &rm, &rn, &p).is_ok());
        for bad in mutations(&p, byte) {
            prop_assert!(verify_consistency(m, n, &rm, &rn, &bad).is_err());
        }
        let mut bad_old = rm;
        bad_old[byte % 32] ^= 2;
        prop_assert!(verify_consistency(m, n, &bad_old, &rn, &p).is_err());
    }

    #[test]
    fn subtree_proofs_verify_and_mutations_fail(
        n in 1..=N, size_frac in 0.0f64..1.0, pos in 0u64..N, idx in 0u64..N, byte in 0usize..256,
    ) {
        // A random valid non-empty subtree of [0, n): size s, start a multiple of BIT_CEIL(s).
        let s = 1 + ((n as f64) * size_frac) as u64 % n;
        let align = s.next_power_of_two();
        let slots = (n - s) / align + 1;
        let (start, end) = (align * (pos % slots), align * (pos % slots) + s);
        prop_assert!(is_valid_subtree(start, end) && end <= n);
        let sh = subtree_hash(tree(), start, end).unwrap();
        let index = start + idx % (end - start);
        let ip = subtree_inclusion_proof(tree(), start, end, index).unwrap();
        let leaf = leaf_hash(&index.to_le_bytes());
        prop_assert_eq!(evaluate_subtree_inclusion(start, end, index, &leaf, &ip).unwrap(), sh);
        for m in mutations(&ip, byte) {
            prop_assert!(evaluate_subtree_inclusion(start, end, index, &leaf, &m) != Ok(sh));
        }
        let cp = subtree_consistency_proof(tree(), start, end, n).unwrap();
        let rn = roots()[n as usize];
        prop_assert!(verify_subtree_consistency(start, end, n, &sh, &rn, &cp).is_ok());
        for m in mutations(&cp, byte) {
            prop_assert!(verify_subtree_consistency(start, end, n, &sh, &rn, &m).is_err());
        }
    }
}

proptest! {
    /// Arbitrary u64 inputs (including the 2^63/2^64 edges) never panic, and
    /// whatever is accepted is self-consistent.
    #[test]
    fn arbitrary_inputs_never_panic(
        start in any::<u64>(), end in any::<u64>(), n in any::<u64>(), index in any::<u64>(),
        len in 0usize..70, seed in any::<u8>(),
    ) {
        let proof: Vec<Hash> = (0..len).map(|i| [seed.wrapping_add(i as u8); 32]).collect();
        let h = [seed; 32];
        let _ = evaluate_subtree_inclusion(start, end, index, &h, &proof);
        let _ = verify_subtree_consistency(start, end, n, &h, &h, &proof);
        let _ = verify_consistency(start, n, &h, &h, &proof);
        let _ = arbor_tlog::proof::subtree_consistency_ranges(start, end, n);
        let _ = arbor_tlog::proof::subtree_inclusion_ranges(start, end, index);
        let _ = arbor_tlog::tile::tiles_to_publish(start % (1 << 20), end % (1 << 20));
        let _ = arbor_tlog::tile::tile_for_node(arbor_tlog::NodeIndex::new(seed, index), n);
        if let Some(((ls, mid), (rs, re))) = arbor_tlog::cover_pair(start, end) {
            prop_assert!(ls <= start && mid == rs && re == end);
            prop_assert!(is_valid_subtree(ls, mid) && is_valid_subtree(rs, re));
        } else {
            prop_assert!(start > end);
        }
        if is_valid_subtree(start, end) {
            // Every subtree inclusion/consistency proof has at most 2*64 hashes.
            if let Ok(r) = arbor_tlog::proof::subtree_consistency_ranges(start, end, n) {
                prop_assert!(r.len() <= 128);
            }
        }
    }

    /// SUBTREE_PROOF(i, i+1, D_n) is PATH(i, D_n) (draft §4.4.1).
    #[test]
    fn single_leaf_subtree_proof_is_inclusion_path(n in 1..=N, i_frac in 0.0f64..1.0) {
        let i = ((n as f64) * i_frac) as u64 % n;
        prop_assert_eq!(
            subtree_consistency_proof(tree(), i, i + 1, n).unwrap(),
            inclusion_proof(tree(), i, n).unwrap()
        );
    }
}
