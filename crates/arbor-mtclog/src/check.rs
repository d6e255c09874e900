//! The full-log invariant checker (Sunlight's `CheckLog`): the lock and public
//! checkpoints agree and verify, the tiles reproduce the root, every entry in
//! the entry bundles hashes to its level-0 tile hash and proves against the
//! checkpoint, and the previous checkpoint (if given) is consistent with it.
//! Used after every step of the fault tests; also usable as an offline audit.

use arbor_tlog::bundle::decode_bundle;
use arbor_tlog::checkpoint::{Checkpoint, open_checkpoint};
use arbor_tlog::keys::NoteVerifier;
use arbor_tlog::tile::{TILE_WIDTH, Tile, parse_tile_data};
use arbor_tlog::{
    consistency_proof, inclusion_proof, leaf_hash, tree_hash, verify_consistency, verify_inclusion,
};

use crate::error::LogError;
use crate::reader::TileReader;
use crate::storage::{CHECKPOINT_PATH, LockBackend, LogStorage};

fn fail(msg: String) -> LogError {
    LogError::Inconsistent(msg)
}

/// Checks the whole log; returns the verified checkpoint and every entry.
pub fn check_log(
    storage: &dyn LogStorage,
    lock: &dyn LockBackend,
    log_key: &dyn NoteVerifier,
    previous: Option<&Checkpoint>,
) -> Result<(Checkpoint, Vec<Vec<u8>>), LogError> {
    let lock_bytes = lock.load()?.ok_or(LogError::NotCreated)?;
    let (locked, _) = open_checkpoint(&lock_bytes, &[log_key])?;
    let public_bytes = storage
        .get(CHECKPOINT_PATH)?
        .ok_or_else(|| fail("no public checkpoint".into()))?;
    let (public, _) = open_checkpoint(&public_bytes, &[log_key])?;
    if public != locked {
        return Err(fail(format!(
            "public checkpoint {} differs from lock {}",
            public.size, locked.size
        )));
    }
    let size = locked.size;
    let reader = TileReader::new(storage, size);
    if tree_hash(&reader, size)? != locked.root_hash {
        return Err(fail("tiles do not give the checkpoint root".into()));
    }
    let mut entries = Vec::with_capacity(size as usize);
    let mut index = 0u64;
    while index < size {
        let n = index / TILE_WIDTH;
        let width = (size - n * TILE_WIDTH).min(TILE_WIDTH) as u16;
        let t = Tile::new(0, n, width)?;
        let bundle = storage
            .get(&t.entries_path())?
            .ok_or_else(|| fail(format!("missing {}", t.entries_path())))?;
        let tile = storage
            .get(&t.path())?
            .ok_or_else(|| fail(format!("missing {}", t.path())))?;
        let hashes = parse_tile_data(&tile, width)?;
        let items = decode_bundle(&bundle)?;
        if items.len() != usize::from(width) {
            return Err(fail(format!(
                "{} has {} entries",
                t.entries_path(),
                items.len()
            )));
        }
        for (e, h) in items.iter().zip(&hashes) {
            let leaf = leaf_hash(e);
            if &leaf != h {
                return Err(fail(format!("entry {index} does not match its tile hash")));
            }
            let proof = inclusion_proof(&reader, index, size)?;
            verify_inclusion(index, size, &leaf, &proof, &locked.root_hash)
                .map_err(|e| fail(format!("entry {index}: {e}")))?;
            entries.push(e.to_vec());
            index += 1;
        }
    }
    if let Some(prev) = previous {
        if prev.size > size {
            return Err(fail(format!("log rewound from {} to {size}", prev.size)));
        }
        let proof = consistency_proof(&reader, prev.size, size)?;
        verify_consistency(prev.size, size, &prev.root_hash, &locked.root_hash, &proof)
            .map_err(|_| fail(format!("checkpoint {} forks from {}", size, prev.size)))?;
    }
    Ok((locked, entries))
}
