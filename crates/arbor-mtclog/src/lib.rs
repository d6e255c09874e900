//! The MTC issuance log service (draft-ietf-plants-merkle-tree-certs §5,
//! c2sp.org/mtc-tlog): a durable, never-forking, Sunlight-style sequencer over
//! c2sp.org/tlog-tiles storage, landmark allocation, HTTP serving, and an
//! independent c2sp.org/tlog-witness cosigner.
//!
//! - [`storage`]: the object-store and lock-backend traits; filesystem
//!   backends; in-memory and fault-injecting fakes.
//! - [`log`], [`sequencer`]: creating/opening a log (start-up checks and
//!   recovery), submitting entries, sequencing rounds.
//! - [`landmark`]: landmark allocation, the landmark document, landmark proofs.
//! - [`resume`]: finding an entry already logged and certifying it again
//!   (a CA resuming an issuance a crash interrupted).
//! - [`check`]: the full-log invariant checker.
//! - [`http`]: the axum router for `/mtc`.
//! - [`witness`], [`witness_client`]: the witness service and the log's client.
//!
//! A round: new tiles in memory → one staging bundle → checkpoint signed by
//! the log's Ed25519 key and the CA cosigner (`subtree/v1`) plus the covering
//! subtrees signed with timestamp 0 → compare-and-swap into the lock backend
//! (the commit point; failure stops the log) → staging applied to the final
//! immutable paths and the checkpoint published (failure stops the log) →
//! witnesses asked → submitters answered. Start-up recovery applies the staged
//! round with the same function. See `storage` for the backends.
//!
//! Deviations and gaps: the witness has no monitoring (`GET …/checkpoint`)
//! endpoint; staging bundles of rounds that failed before the commit point are
//! left behind (the object store has no list operation) and ignored; partial
//! tiles of older widths are kept; the CA's checkpoint cosignature always uses
//! the `subtree/v1` key-ID type 0x06 (as mtc-tlog specifies for ML-DSA-44),
//! whatever algorithm the plugged-in signer uses.

#![forbid(unsafe_code)]

pub mod check;
pub mod clock;
pub mod error;
pub mod http;
pub mod landmark;
pub mod log;
pub mod reader;
pub mod resume;
pub mod sequencer;
pub mod signer;
pub mod staging;
pub mod storage;
pub mod tree;
pub mod witness;
pub mod witness_client;

pub use check::check_log;
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{LogError, StorageError};
pub use http::{MtcSite, router};
pub use landmark::{Landmark, LandmarkProof, LandmarkStatus};
pub use log::{IssuanceLog, LogConfig, PublishedCheckpoint};
pub use resume::EntryScan;
pub use sequencer::{Sequenced, SignedSubtree};
pub use signer::{
    Ed25519MessageSigner, Ed25519MessageVerifier, LogKeys, MlDsa44MessageSigner,
    MlDsa44MessageVerifier, WitnessEndpoint,
};
pub use storage::fs::{FileLock, FsStorage};
pub use storage::{LockBackend, LogStorage};
