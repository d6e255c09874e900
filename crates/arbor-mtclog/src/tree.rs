//! The sequencer's in-memory right edge: the [`CompactRange`], the hashes of
//! the incomplete tile at each tile level, and the entries of the incomplete
//! entry bundle. Appending a batch yields every c2sp.org/tlog-tiles object the
//! new tree size implies (full and partial hash tiles, entry bundles) plus the
//! nodes it completed, without touching storage.

use std::collections::HashMap;

use arbor_tlog::bundle::{decode_bundle, encode_bundle};
use arbor_tlog::tile::{TILE_WIDTH, Tile, parse_tile_data, partial_tiles};
use arbor_tlog::{CompactRange, Hash, NodeIndex, leaf_hash};

use crate::error::LogError;
use crate::reader::TileReader;
use crate::storage::LogStorage;

/// Largest tree an MTC log may hold (`end` is a uint48).
pub const MAX_TREE_SIZE: u64 = (1 << 48) - 1;

/// The right edge of the tree.
#[derive(Debug, Clone, Default)]
pub struct TreeState {
    range: CompactRange,
    /// Hashes of the incomplete tile at each tile level (index = tile level).
    tiles: Vec<Vec<Hash>>,
    /// Entries of the incomplete entry bundle.
    bundle: Vec<Vec<u8>>,
}

/// What appending a batch produced.
#[derive(Debug, Default)]
pub struct Appended {
    /// Tile and entry-bundle objects to publish, path → bytes, in order.
    pub objects: Vec<(String, Vec<u8>)>,
    /// Every node completed by the batch (all levels).
    pub nodes: HashMap<NodeIndex, Hash>,
    /// Leaf hashes of the batch, in order.
    pub leaves: Vec<Hash>,
}

fn tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

impl TreeState {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tree size.
    pub fn size(&self) -> u64 {
        self.range.size()
    }

    /// Root hash.
    pub fn root(&self) -> Hash {
        self.range.root()
    }

    /// Reloads the right edge of a published tree of `size` from its tiles.
    pub fn load(storage: &dyn LogStorage, size: u64) -> Result<Self, LogError> {
        let reader = TileReader::new(storage, size);
        let range = CompactRange::from_reader(&reader, size)?;
        let mut tiles = Vec::new();
        let mut bundle = Vec::new();
        for t in partial_tiles(size) {
            let data = storage
                .get(&t.path())?
                .ok_or_else(|| LogError::Inconsistent(format!("missing tile {}", t.path())))?;
            let hashes = parse_tile_data(&data, t.width)?;
            let level = usize::from(t.level);
            if tiles.len() <= level {
                tiles.resize(level + 1, Vec::new());
            }
            tiles[level] = hashes;
            if t.level == 0 {
                let data = storage.get(&t.entries_path())?.ok_or_else(|| {
                    LogError::Inconsistent(format!("missing bundle {}", t.entries_path()))
                })?;
                let entries = decode_bundle(&data)?;
                if entries.len() != usize::from(t.width) {
                    return Err(LogError::Inconsistent(format!(
                        "bundle {} has {} entries",
                        t.entries_path(),
                        entries.len()
                    )));
                }
                bundle = entries.into_iter().map(<[u8]>::to_vec).collect();
            }
        }
        Ok(Self {
            range,
            tiles,
            bundle,
        })
    }

    /// Appends `entries`, returning the objects to publish. `self` is only
    /// modified on success.
    pub fn append(&mut self, entries: &[Vec<u8>]) -> Result<Appended, LogError> {
        let new_size = self
            .size()
            .checked_add(entries.len() as u64)
            .filter(|&s| s <= MAX_TREE_SIZE)
            .ok_or(LogError::Full)?;
        let mut next = self.clone();
        let mut out = Appended {
            leaves: Vec::with_capacity(entries.len()),
            ..Appended::default()
        };
        out.nodes.reserve(entries.len() * 2);
        let mut dirty = [false; 64];
        let mut bundle_dirty = false;
        for entry in entries {
            if entry.len() > arbor_tlog::bundle::MAX_ENTRY_SIZE {
                return Err(LogError::EntryTooLarge(entry.len()));
            }
            let index = next.range.size();
            let leaf = leaf_hash(entry);
            out.leaves.push(leaf);
            next.bundle.push(entry.clone());
            bundle_dirty = true;
            if next.bundle.len() as u64 == TILE_WIDTH {
                let t = Tile::new(0, index / TILE_WIDTH, TILE_WIDTH as u16)?;
                out.objects
                    .push((t.entries_path(), encode_bundle(&next.bundle)?));
                next.bundle.clear();
                bundle_dirty = false;
            }
            for (node, h) in next.range.append(leaf)? {
                out.nodes.insert(node, h);
                if node.level % 8 != 0 {
                    continue;
                }
                let level = usize::from(node.level / 8);
                if next.tiles.len() <= level {
                    next.tiles.resize(level + 1, Vec::new());
                }
                next.tiles[level].push(h);
                dirty[level] = true;
                if next.tiles[level].len() as u64 == TILE_WIDTH {
                    let t = Tile::new(node.level / 8, node.index / TILE_WIDTH, TILE_WIDTH as u16)?;
                    out.objects.push((t.path(), tile_bytes(&next.tiles[level])));
                    next.tiles[level].clear();
                    dirty[level] = false;
                }
            }
        }
        if bundle_dirty && !next.bundle.is_empty() {
            let t = Tile::new(0, new_size / TILE_WIDTH, next.bundle.len() as u16)?;
            out.objects
                .push((t.entries_path(), encode_bundle(&next.bundle)?));
        }
        for (level, hashes) in next.tiles.iter().enumerate() {
            if dirty[level] && !hashes.is_empty() {
                let n = new_size >> (8 * level as u32);
                let t = Tile::new(level as u8, n / TILE_WIDTH, hashes.len() as u16)?;
                out.objects.push((t.path(), tile_bytes(hashes)));
            }
        }
        *self = next;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::fault::MemStorage;
    use arbor_tlog::tile::tiles_to_publish;
    use arbor_tlog::{MemoryTree, tree_hash};
    use std::collections::BTreeSet;

    #[test]
    fn objects_match_tiles_to_publish_and_reload() {
        let store = MemStorage::new();
        let mut state = TreeState::new();
        let mut mem = MemoryTree::new();
        let mut n = 0u64;
        for batch in [1usize, 3, 252, 1, 300, 65536 - 557, 2, 700] {
            let old = state.size();
            let entries: Vec<Vec<u8>> = (0..batch)
                .map(|i| format!("e{}", n + i as u64).into_bytes())
                .collect();
            n += batch as u64;
            let out = state.append(&entries).unwrap();
            for e in &entries {
                mem.append(leaf_hash(e));
            }
            let mut want: BTreeSet<String> = BTreeSet::new();
            for t in tiles_to_publish(old, state.size()) {
                want.insert(t.path());
                if t.level == 0 {
                    want.insert(t.entries_path());
                }
            }
            let got: BTreeSet<String> = out.objects.iter().map(|(p, _)| p.clone()).collect();
            assert_eq!(got, want, "batch {batch} at {old}");
            for (p, d) in &out.objects {
                store.put_immutable(p, d).unwrap();
            }
            assert_eq!(state.root(), mem.root());
            let reader = TileReader::new(&store, state.size());
            assert_eq!(tree_hash(&reader, state.size()).unwrap(), mem.root());
            let reloaded = TreeState::load(&store, state.size()).unwrap();
            assert_eq!(reloaded.root(), state.root());
            assert_eq!(reloaded.bundle, state.bundle);
            assert_eq!(
                reloaded.tiles.iter().filter(|t| !t.is_empty()).count(),
                state.tiles.iter().filter(|t| !t.is_empty()).count()
            );
        }
    }

    #[test]
    fn oversized_entry_leaves_state_unchanged() {
        let mut state = TreeState::new();
        state.append(&[b"a".to_vec()]).unwrap();
        let big = vec![0u8; 70000];
        assert!(matches!(
            state.append(&[b"b".to_vec(), big]),
            Err(LogError::EntryTooLarge(70000))
        ));
        assert_eq!(state.size(), 1);
    }
}
