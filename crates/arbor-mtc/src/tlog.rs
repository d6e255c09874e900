//! The Merkle-tree math this crate uses, all from `arbor-tlog` (RFC 9162 §2.1 hashing,
//! draft §4 subtrees), named through one module so the rest of the crate has a single
//! import point.
pub use arbor_tlog::hash::sha256;
pub use arbor_tlog::{Hash, cover, evaluate_subtree_inclusion, is_valid_subtree, leaf_hash};
