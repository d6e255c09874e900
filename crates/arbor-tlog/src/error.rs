//! Typed errors of this crate: proof generation and storage access
//! ([`TlogError`]), proof evaluation ([`ProofError`]), tiles and entry bundles
//! ([`TileError`]), signed notes and keys ([`NoteError`]) and checkpoints
//! ([`CheckpointError`]).

use thiserror::Error;

/// Errors while computing roots or generating proofs from stored hashes.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TlogError {
    /// `[start, end)` is not a valid subtree (draft-ietf-plants-merkle-tree-certs §4.1).
    #[error("invalid subtree [{start}, {end})")]
    InvalidSubtree { start: u64, end: u64 },
    /// An index or size lies outside the tree it refers to.
    #[error("index {index} out of range for size {size}")]
    OutOfRange { index: u64, size: u64 },
    /// The hash store does not hold a requested node.
    #[error("node at level {level} index {index} is not available")]
    MissingNode { level: u8, index: u64 },
    /// The hash store returned a different number of hashes than requested.
    #[error("hash store returned {got} hashes for {want} requested")]
    ShortRead { want: usize, got: usize },
    /// The underlying store failed (opaque to this pure crate).
    #[error("hash store failure: {0}")]
    Storage(String),
}

/// Reasons a Merkle proof fails to evaluate or verify.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum ProofError {
    /// `[start, end)` is not a valid subtree, or `end` exceeds the tree size.
    #[error("invalid subtree or tree size")]
    InvalidSubtree,
    /// The leaf index is not inside the (sub)tree.
    #[error("index outside the subtree")]
    IndexOutOfRange,
    /// The proof has the wrong number of hashes for this shape.
    #[error("proof has the wrong length")]
    WrongLength,
    /// The proof byte string is not a multiple of 32 bytes.
    #[error("proof is not a whole number of hashes")]
    RaggedProof,
    /// The recomputed hashes do not match.
    #[error("hash mismatch")]
    Mismatch,
}

/// Errors in tile paths, tile contents and entry bundles.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TileError {
    /// The path does not follow the tlog-tiles syntax.
    #[error("malformed tile path")]
    BadPath,
    /// Tile level above 63 or width outside 1..=256.
    #[error("tile level or width out of range")]
    BadShape,
    /// The tile data is not `width * 32` bytes.
    #[error("tile data has the wrong length")]
    BadTileLength,
    /// An entry longer than 65535 bytes cannot go in a bundle.
    #[error("entry of {0} bytes exceeds the uint16 length prefix")]
    EntryTooLarge(usize),
    /// More than 256 entries in a bundle.
    #[error("entry bundle holds more than 256 entries")]
    TooManyEntries,
    /// The bundle ends inside a length prefix or an entry.
    #[error("entry bundle is truncated")]
    TruncatedBundle,
}

/// Errors in signed notes, keys and signatures.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum NoteError {
    /// The note is not valid UTF-8, has control characters, or is malformed.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// More signatures than the parser accepts.
    #[error("note has too many signatures")]
    TooManySignatures,
    /// The note exceeds the size limit.
    #[error("note is too large")]
    TooLarge,
    /// A key name is empty or contains a space, `+` or newline.
    #[error("invalid key name")]
    BadKeyName,
    /// A verifier or signer key string is malformed.
    #[error("malformed key: {0}")]
    BadKey(&'static str),
    /// The signature algorithm is not supported here.
    #[error("unsupported signature type 0x{0:02x}")]
    UnsupportedType(u8),
    /// A signature from a known key did not verify.
    #[error("signature by {0} does not verify")]
    BadSignature(String),
    /// No signature from any known key was present.
    #[error("no signature from a known key")]
    NoKnownSignature,
    /// The signer failed.
    #[error("signing failed")]
    SignFailed,
    /// A cosigned-message field does not fit its length prefix, or a
    /// timestamp/start rule of tlog-cosignature is broken.
    #[error("invalid cosigned message: {0}")]
    BadMessage(&'static str),
    /// The note text is not a valid checkpoint body.
    #[error("note text is not a checkpoint: {0}")]
    BadCheckpoint(#[from] CheckpointError),
}

/// Errors in the tlog-checkpoint body.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CheckpointError {
    /// Fewer than three lines, or a missing final newline.
    #[error("checkpoint body is truncated")]
    Truncated,
    /// The origin line is empty.
    #[error("empty origin")]
    EmptyOrigin,
    /// The size is not canonical decimal or does not fit a u64.
    #[error("invalid tree size")]
    BadSize,
    /// The root hash is not base64 of 32 bytes.
    #[error("invalid root hash")]
    BadRootHash,
    /// An extension line is empty.
    #[error("empty extension line")]
    EmptyExtension,
    /// A line contains a newline or control character (formatting input).
    #[error("line contains a forbidden character")]
    BadLine,
}
