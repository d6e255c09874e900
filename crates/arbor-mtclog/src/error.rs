//! Typed errors of the issuance log service: storage backends ([`StorageError`]),
//! the sequencer and its start-up checks ([`LogError`]).

use thiserror::Error;

/// Errors from a [`crate::storage::LogStorage`] or [`crate::storage::LockBackend`].
#[derive(Debug, Error)]
pub enum StorageError {
    /// The operating system refused an operation on `path`.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// An immutable object already exists with different bytes.
    #[error("immutable object {0} already exists with different contents")]
    ImmutableMismatch(String),
    /// The object path is not one this backend stores.
    #[error("invalid object path {0:?}")]
    BadPath(String),
    /// The lock backend's checkpoint is not the expected previous one.
    #[error("lock checkpoint compare-and-swap failed: the stored checkpoint changed")]
    CasConflict,
    /// Creating a log whose lock already holds a checkpoint.
    #[error("lock backend already holds a checkpoint")]
    LockExists,
    /// Another process holds the lock directory.
    #[error("lock {0} is held by another process")]
    LockBusy(String),
    /// A fault injected by the test backend (the write may or may not have landed).
    #[error("injected fault on {0}")]
    Injected(String),
}

/// Errors of the issuance log.
#[derive(Debug, Error)]
pub enum LogError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Merkle math or a stored hash could not be read.
    #[error(transparent)]
    Tlog(#[from] arbor_tlog::TlogError),
    /// A tile or entry bundle is malformed.
    #[error(transparent)]
    Tile(#[from] arbor_tlog::TileError),
    /// Signing or parsing a signed note failed.
    #[error(transparent)]
    Note(#[from] arbor_tlog::NoteError),
    /// An MTC format could not be encoded.
    #[error(transparent)]
    Format(#[from] arbor_mtc::FormatError),
    /// An entry exceeds the 65535-byte bundle limit.
    #[error("entry of {0} bytes exceeds 65535")]
    EntryTooLarge(usize),
    /// The tree reached its maximum size (2^48 - 1 entries).
    #[error("log is full")]
    Full,
    /// A previous sequencing round failed after its checkpoint may have been
    /// committed; the log refuses work until it is restarted (and recovered).
    #[error("log stopped after a fatal error; restart required")]
    Stopped,
    /// This submitter's round failed; `fatal` says whether the log stopped.
    #[error("sequencing round failed (fatal: {fatal})")]
    RoundFailed { fatal: bool },
    /// The sequencer task is gone (shut down).
    #[error("sequencer is shut down")]
    ShutDown,
    /// Stored state is inconsistent; the log refuses to start. Never repaired
    /// automatically.
    #[error("inconsistent log state: {0}")]
    Inconsistent(String),
    /// Creating a log over storage that already holds one.
    #[error("log already exists")]
    AlreadyExists,
    /// Opening a log whose lock backend holds no checkpoint.
    #[error("log does not exist (no lock checkpoint)")]
    NotCreated,
    /// A blocking task panicked or was cancelled.
    #[error("background task failed")]
    Task,
}

impl From<tokio::task::JoinError> for LogError {
    fn from(_: tokio::task::JoinError) -> Self {
        LogError::Task
    }
}

impl From<arbor_tlog::CheckpointError> for LogError {
    fn from(e: arbor_tlog::CheckpointError) -> Self {
        LogError::Note(e.into())
    }
}
