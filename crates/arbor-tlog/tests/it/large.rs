//! The draft's large-tree vectors (trees of ~2^48 and ~2^64 entries), as
//! shipped in /work/shared/vectors/mtc-plants-07: every inclusion proof
//! evaluates to `SubtreeHash`, every consistency proof verifies, and byte- or
//! hash-level mutations fail.

use arbor_tlog::{
    Hash, ProofError, evaluate_subtree_inclusion, split_proof, verify_subtree_consistency,
};
use base64ct::{Base64, Encoding};
use serde_json::Value;

const DIR: &str = "/work/shared/vectors/mtc-plants-07";

fn load(name: &str) -> Vec<Value> {
    let path = format!("{DIR}/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn num(v: &Value, k: &str) -> u64 {
    v[k].as_str().unwrap().parse().unwrap()
}

fn bytes(v: &Value, k: &str) -> Vec<u8> {
    Base64::decode_vec(v[k].as_str().unwrap()).unwrap()
}

fn hash(v: &Value, k: &str) -> Hash {
    bytes(v, k).try_into().unwrap()
}

#[test]
fn large_inclusion_proofs() {
    let cases = load("large_inclusion_proofs.json");
    assert_eq!(cases.len(), 24);
    for c in &cases {
        let (index, start, end) = (num(c, "Index"), num(c, "Start"), num(c, "End"));
        let entry = hash(c, "EntryHash");
        let want = hash(c, "SubtreeHash");
        let raw = bytes(c, "Proof");
        let proof = split_proof(&raw).unwrap();
        let got = evaluate_subtree_inclusion(start, end, index, &entry, &proof).unwrap();
        assert_eq!(got, want, "[{start}, {end}) index {index}");

        // One byte more or less is not a proof at all.
        assert_eq!(
            split_proof(&raw[..raw.len().saturating_sub(1)]).err(),
            (!raw.is_empty()).then_some(ProofError::RaggedProof)
        );
        let mut extended = raw.clone();
        extended.push(0);
        assert_eq!(split_proof(&extended), Err(ProofError::RaggedProof));
        // One hash more or less fails evaluation.
        let mut longer = proof.clone();
        longer.push(want);
        assert!(evaluate_subtree_inclusion(start, end, index, &entry, &longer).is_err());
        if !proof.is_empty() {
            assert!(evaluate_subtree_inclusion(start, end, index, &entry, &proof[1..]).is_err());
        }
        // A flipped bit anywhere changes the result.
        let mut e2 = entry;
        e2[7] ^= 4;
        assert_ne!(
            evaluate_subtree_inclusion(start, end, index, &e2, &proof).unwrap(),
            want
        );
        for i in 0..proof.len() {
            let mut p = proof.clone();
            p[i][31] ^= 1;
            assert_ne!(
                evaluate_subtree_inclusion(start, end, index, &entry, &p).unwrap(),
                want
            );
        }
    }
}

#[test]
fn large_consistency_proofs() {
    let cases = load("large_consistency_proofs.json");
    assert_eq!(cases.len(), 21);
    for c in &cases {
        let (start, end, n) = (num(c, "Start"), num(c, "End"), num(c, "TreeSize"));
        let sh = hash(c, "SubtreeHash");
        let th = hash(c, "TreeHash");
        let proof = split_proof(&bytes(c, "Proof")).unwrap();
        verify_subtree_consistency(start, end, n, &sh, &th, &proof)
            .unwrap_or_else(|e| panic!("[{start}, {end}) in {n}: {e}"));

        let mut bad = sh;
        bad[0] ^= 1;
        assert!(verify_subtree_consistency(start, end, n, &bad, &th, &proof).is_err());
        // An empty subtree is consistent with every tree (draft §4.4.3 step 2),
        // so only non-empty subtrees bind the tree hash.
        let mut bad_t = th;
        bad_t[0] ^= 1;
        assert_eq!(
            verify_subtree_consistency(start, end, n, &sh, &bad_t, &proof).is_err(),
            start < end
        );
        let mut longer = proof.clone();
        longer.push(th);
        assert!(verify_subtree_consistency(start, end, n, &sh, &th, &longer).is_err());
        if !proof.is_empty() {
            assert!(verify_subtree_consistency(start, end, n, &sh, &th, &proof[1..]).is_err());
            for i in 0..proof.len() {
                let mut p = proof.clone();
                p[i][0] ^= 0x10;
                assert!(
                    verify_subtree_consistency(start, end, n, &sh, &th, &p).is_err(),
                    "hash {i}"
                );
            }
        }
    }
}

#[test]
fn large_validity_and_cover_examples() {
    use arbor_tlog::{cover, is_valid_subtree};
    let p = |e: u32| 1u64 << e;
    for (s, e) in [
        (0, p(47) + 1),
        (0, p(48) - 1),
        (0, p(62) + 1),
        (0, p(63) - 1),
        (0, p(63) + 1),
        (0, u64::MAX),
    ] {
        assert!(is_valid_subtree(s, e), "[{s}, {e})");
    }
    for (s, e) in [
        (p(46), p(47) + 1),
        (p(46), p(48) - 1),
        (p(61), p(62) + 1),
        (p(61), p(63) - 1),
        (p(62), p(63) + 1),
        (p(62), u64::MAX),
    ] {
        assert!(!is_valid_subtree(s, e), "[{s}, {e})");
    }
    assert_eq!(
        cover(0x5000_0000_0000, 0xd000_0000_0000),
        vec![
            (0x4000_0000_0000, 0x8000_0000_0000),
            (0x8000_0000_0000, 0xd000_0000_0000)
        ]
    );
    assert_eq!(
        cover(0x7fff_ffff_ffff, 0x8000_0000_0001),
        vec![
            (0x7fff_ffff_ffff, 0x8000_0000_0000),
            (0x8000_0000_0000, 0x8000_0000_0001)
        ]
    );
    let x = 0xffff_ffff_ffff;
    assert_eq!(cover(x, x), vec![(x, x), (x, x)]);
    // u64 extremes never panic.
    let _ = cover(0, u64::MAX);
    let _ = cover(u64::MAX - 1, u64::MAX);
}
