//! Generic C2SP transparency-log pieces for Arbor's MTC issuance logs. Pure:
//! no I/O, no async, no clocks (timestamps are passed in).
//!
//! - [`hash`]: RFC 9162 §2.1.1 Merkle Tree Hash over SHA-256.
//! - [`compact`]: tree builders ([`CompactRange`], [`MemoryTree`]).
//! - [`subtree`]: draft-ietf-plants-merkle-tree-certs §4.1 subtree validity and
//!   §4.5 covering an interval with two subtrees.
//! - [`proof`]: inclusion/consistency proof generation (RFC 9162 §2.1.3–2.1.4,
//!   draft §4.3–4.4) from any [`HashReader`].
//! - [`verify`]: the matching evaluation and verification procedures.
//! - [`tile`], [`bundle`]: c2sp.org/tlog-tiles paths, tiles and entry bundles.
//! - [`note`], [`keys`]: c2sp.org/signed-note and its Ed25519 keys.
//! - [`checkpoint`]: c2sp.org/tlog-checkpoint bodies.
//! - [`cosignature`]: c2sp.org/tlog-cosignature (`cosignature/v1` Ed25519 and
//!   the `subtree/v1` cosigned message that MTC's CosignedMessage reuses).

#![forbid(unsafe_code)]

pub mod bundle;
pub mod checkpoint;
pub mod compact;
pub mod cosignature;
pub mod error;
pub mod hash;
pub mod keys;
pub mod note;
pub mod proof;
pub mod subtree;
pub mod tile;
pub mod verify;

pub use compact::{CompactRange, MemoryTree};
pub use error::{CheckpointError, NoteError, ProofError, TileError, TlogError};
pub use hash::{HASH_SIZE, Hash, NodeIndex, empty_root, leaf_hash, node_hash};
pub use proof::{
    HashReader, consistency_proof, inclusion_proof, subtree_consistency_proof, subtree_hash,
    subtree_inclusion_proof, tree_hash,
};
pub use subtree::{cover, cover_pair, is_valid_subtree};
pub use verify::{
    evaluate_subtree_inclusion, split_proof, verify_consistency, verify_inclusion,
    verify_subtree_consistency, verify_subtree_inclusion,
};
