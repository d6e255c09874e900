//! Storage for an issuance log, split the way Sunlight splits it (see
//! `docs` security checklist B.3): an object store ([`LogStorage`]) holding the
//! public tlog-tiles objects (c2sp.org/tlog-tiles), the public checkpoint, the
//! landmark state and the per-round staging bundle; and a lock backend
//! ([`LockBackend`]) holding only the latest signed checkpoint, updated by
//! compare-and-swap. The lock is the source of truth: whoever controls it
//! controls what the log signs next.
//!
//! Both traits are synchronous: the sequencer calls them from
//! `tokio::task::spawn_blocking`, which keeps the backends plain (fsync is a
//! blocking call anyway) and lets the pure `arbor_tlog::HashReader` read tiles
//! straight from storage.

pub mod fault;
pub mod fs;

use crate::error::StorageError;

/// Path of the public checkpoint (mutable).
pub const CHECKPOINT_PATH: &str = "checkpoint";
/// Path of the public landmark document (mutable).
pub const LANDMARKS_PATH: &str = "landmarks";
/// Path of the durable landmark list (mutable, internal).
pub const LANDMARK_STATE_PATH: &str = "state/landmarks";

/// Path of the staging bundle of the round that grows the tree to `new_size`.
pub fn staging_path(new_size: u64) -> String {
    format!("staging/{new_size}")
}

/// Whether `path` names an immutable object (tiles and entry bundles).
pub fn is_immutable(path: &str) -> bool {
    path.starts_with("tile/")
}

/// An object store. Every successful write is durable when it returns.
pub trait LogStorage: Send + Sync {
    /// Reads an object; `Ok(None)` when it does not exist.
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// Writes an immutable object. Writing an existing path succeeds only if
    /// the bytes are identical ([`StorageError::ImmutableMismatch`] otherwise).
    fn put_immutable(&self, path: &str, data: &[u8]) -> Result<(), StorageError>;
    /// Writes many immutable objects (same rule as [`Self::put_immutable`]);
    /// backends may parallelise and share directory syncs. All are durable
    /// when it returns `Ok`.
    fn put_immutable_many(&self, objects: &[(String, Vec<u8>)]) -> Result<(), StorageError> {
        for (path, data) in objects {
            self.put_immutable(path, data)?;
        }
        Ok(())
    }
    /// Atomically replaces a mutable object.
    fn put_mutable(&self, path: &str, data: &[u8]) -> Result<(), StorageError>;
    /// Deletes a mutable object (no error if it is absent).
    fn delete(&self, path: &str) -> Result<(), StorageError>;
}

/// The lock backend: the latest signed checkpoint, replaced only by CAS.
pub trait LockBackend: Send + Sync {
    /// The stored checkpoint note, if any.
    fn load(&self) -> Result<Option<Vec<u8>>, StorageError>;
    /// Stores the first checkpoint; [`StorageError::LockExists`] if one exists.
    fn create(&self, checkpoint: &[u8]) -> Result<(), StorageError>;
    /// Replaces `old` by `new`; [`StorageError::CasConflict`] if the stored
    /// checkpoint is not byte-identical to `old`.
    fn compare_and_swap(&self, old: &[u8], new: &[u8]) -> Result<(), StorageError>;
}

/// Checks an object path: relative, `/`-separated, non-empty segments of
/// `[A-Za-z0-9._-]`, no `.`/`..` segments and no leading dot (temp files).
pub fn check_path(path: &str) -> Result<(), StorageError> {
    let bad = || StorageError::BadPath(path.to_owned());
    if path.is_empty() || path.len() > 512 {
        return Err(bad());
    }
    for seg in path.split('/') {
        if seg.is_empty() || seg.starts_with('.') {
            return Err(bad());
        }
        if !seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
        {
            return Err(bad());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        for ok in [
            "checkpoint",
            "tile/0/x001/234.p/5",
            "tile/entries/000",
            "staging/12",
        ] {
            assert!(check_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "/abs", "a//b", "../x", "tile/./0", ".tmp", "a b", "a/.x",
        ] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
        assert!(is_immutable("tile/0/000"));
        assert!(!is_immutable(CHECKPOINT_PATH));
    }
}
