//! Resuming an interrupted issuance (draft-ietf-plants-merkle-tree-certs §5.4
//! standalone certificates; entries read as c2sp.org/tlog-tiles entry bundles).
//! A CA that crashed after the log made its entry durable, but before its own
//! database recorded the certificate, must adopt that entry instead of
//! appending a second one. [`IssuanceLog::find_entry`] finds entries by their
//! bytes, scanning backwards from the published tree size within a bound the
//! caller sets; [`IssuanceLog::sequenced_entry`] answers for an existing index
//! what a sequencing round answers for a new one: the subtree of the current
//! checkpoint that holds it, cosigned by the CA (and the configured witnesses)
//! with the sequencer's own signing code, and the entry's inclusion proof.
//!
//! Deviation: the subtree is `cover(index, size)`'s part holding the entry, as
//! if a round had appended everything from `index` to the current size; the
//! certificate therefore names a subtree no earlier round signed. Any subtree
//! the cosigners sign is valid in an MTCProof (draft §5.4.1).

use std::sync::Arc;

use arbor_tlog::bundle::decode_bundle;
use arbor_tlog::tile::{TILE_WIDTH, Tile};
use arbor_tlog::{TlogError, cover, subtree_inclusion_proof};

use crate::error::LogError;
use crate::log::{IssuanceLog, PublishedCheckpoint};
use crate::reader::TileReader;
use crate::sequencer::Sequenced;
use crate::storage::LogStorage;

/// What a backwards scan for an entry found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryScan {
    /// Indexes of entries byte-identical to the one looked for, oldest first.
    pub matches: Vec<u64>,
    /// How many entries were read.
    pub scanned: u64,
    /// Whether the scan ended at index 0 or where the caller's `stop` said so,
    /// rather than at `max_entries` (then older matches may exist).
    pub complete: bool,
}

impl IssuanceLog {
    /// Looks for `entry` (an encoded MTCLogEntry) among the published
    /// entries, newest first. Each entry that does not match is passed to
    /// `stop`; the scan ends once it returns true, at index 0, or after
    /// `max_entries` entries. Reads one entry bundle per 256 entries.
    pub async fn find_entry<F>(
        &self,
        entry: Vec<u8>,
        max_entries: u64,
        stop: F,
    ) -> Result<EntryScan, LogError>
    where
        F: Fn(&[u8]) -> bool + Send + 'static,
    {
        let size = self.checkpoint().checkpoint.size;
        let storage = self.storage.clone();
        tokio::task::spawn_blocking(move || {
            scan(storage.as_ref(), size, &entry, max_entries, &stop)
        })
        .await?
    }

    /// The answer a sequencing round would give for entry `index`, which is
    /// already in the log: the part of `cover(index, size)` holding it, hashed
    /// and signed by the CA cosigner like a round's subtrees and offered to the
    /// witnesses, the current checkpoint (re-published with the witnesses'
    /// fresh cosignatures) and the entry's inclusion proof in the subtree.
    /// Holds the sequencer's writer for its duration, so no round runs
    /// meanwhile.
    pub async fn sequenced_entry(self: &Arc<Self>, index: u64) -> Result<Sequenced, LogError> {
        let mut w = self.writer.lock().await;
        if self.is_stopped() {
            return Err(LogError::Stopped);
        }
        let size = w.tree.size();
        let current = self.checkpoint();
        if current.checkpoint.size != size {
            return Err(LogError::Inconsistent(
                "published checkpoint is not the sequencer's tree".into(),
            ));
        }
        let (start, end) = cover(index, size)
            .into_iter()
            .find(|&(s, e)| s <= index && index < e)
            .ok_or(TlogError::OutOfRange { index, size })?;
        let log = self.clone();
        let (subtree, proof) = tokio::task::spawn_blocking(move || -> Result<_, LogError> {
            let reader = TileReader::new(log.storage.as_ref(), size);
            let subtree = log.sign_subtree(&reader, start, end)?;
            let proof = subtree_inclusion_proof(&reader, start, end, index)?;
            Ok((subtree, proof))
        })
        .await??;
        // The lock note carries only the log's and the CA's signatures; the
        // witnesses add fresh ones (the published note may hold older ones,
        // which must not appear twice).
        let mut published = PublishedCheckpoint {
            note: w.lock_bytes.clone(),
            checkpoint: current.checkpoint.clone(),
        };
        let mut subtrees = vec![subtree];
        if !self.config.witnesses.is_empty() {
            self.collect_witnesses(&mut w, size, &mut published, &mut subtrees)
                .await;
        }
        let subtree = subtrees.pop().ok_or(LogError::Task)?;
        let checkpoint = if self.config.witnesses.is_empty() {
            current
        } else {
            Arc::new(published)
        };
        Ok(Sequenced {
            index,
            checkpoint,
            subtree: Arc::new(subtree),
            inclusion_proof: proof,
        })
    }
}

/// The backwards scan over entry bundles of the tree of `size` entries.
fn scan(
    storage: &dyn LogStorage,
    size: u64,
    entry: &[u8],
    max_entries: u64,
    stop: &dyn Fn(&[u8]) -> bool,
) -> Result<EntryScan, LogError> {
    let mut out = EntryScan {
        matches: Vec::new(),
        scanned: 0,
        complete: false,
    };
    let mut next = size; // one past the next index to read
    'bundles: while next > 0 {
        if out.scanned >= max_entries {
            break;
        }
        let n = (next - 1) / TILE_WIDTH;
        let width = (size - n * TILE_WIDTH).min(TILE_WIDTH);
        let tile = Tile::new(0, n, width as u16)?;
        let path = tile.entries_path();
        let data = storage
            .get(&path)?
            .ok_or_else(|| LogError::Inconsistent(format!("missing bundle {path}")))?;
        let bundle = decode_bundle(&data)?;
        if bundle.len() as u64 != width {
            return Err(LogError::Inconsistent(format!(
                "bundle {path} has {} entries",
                bundle.len()
            )));
        }
        for j in (0..(next - n * TILE_WIDTH) as usize).rev() {
            if out.scanned >= max_entries {
                break 'bundles;
            }
            out.scanned += 1;
            let index = n * TILE_WIDTH + j as u64;
            if bundle[j] == entry {
                out.matches.push(index);
            } else if stop(bundle[j]) {
                out.complete = true;
                break 'bundles;
            }
        }
        next = n * TILE_WIDTH;
    }
    if next == 0 {
        out.complete = true;
    }
    out.matches.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::fault::MemStorage;
    use crate::tree::TreeState;

    fn log_of(entries: &[Vec<u8>]) -> MemStorage {
        let store = MemStorage::new();
        let mut t = TreeState::new();
        // Two appends, so a partial bundle of an older width is left behind.
        let (a, b) = entries.split_at(entries.len() / 3);
        for part in [a, b] {
            for (p, d) in t.append(part).unwrap().objects {
                store.put_immutable(&p, &d).unwrap();
            }
        }
        store
    }

    #[test]
    fn scan_finds_every_copy_across_bundles_and_honours_bounds() {
        let mut entries: Vec<Vec<u8>> = (0..700u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let target = b"target".to_vec();
        entries[100] = target.clone();
        entries[600] = target.clone();
        let store = log_of(&entries);
        let never = |_: &[u8]| false;
        let all = scan(&store, 700, &target, u64::MAX, &never).unwrap();
        assert_eq!(all.matches, vec![100, 600]);
        assert_eq!((all.scanned, all.complete), (700, true));
        // A smaller published size (here two full bundles) hides the newer copy.
        let older = scan(&store, 512, &target, u64::MAX, &never).unwrap();
        assert_eq!((older.matches, older.scanned), (vec![100], 512));
        // max_entries: only the newest 100 entries are read.
        let capped = scan(&store, 700, &target, 100, &never).unwrap();
        assert_eq!(
            (capped.matches, capped.scanned, capped.complete),
            (vec![600], 100, false)
        );
        // stop: ends at the first non-matching entry it accepts.
        let before_500 =
            |e: &[u8]| e.len() == 4 && u32::from_be_bytes([e[0], e[1], e[2], e[3]]) < 500;
        let stopped = scan(&store, 700, &target, u64::MAX, &before_500).unwrap();
        assert_eq!(
            (stopped.matches, stopped.scanned, stopped.complete),
            (vec![600], 201, true)
        );
        let none = scan(&store, 700, b"absent", u64::MAX, &never).unwrap();
        assert!(none.matches.is_empty() && none.complete);
    }
}
