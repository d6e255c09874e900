//! Tiles as a hash store: a tree's tiles, read back through a tile-backed
//! [`HashReader`], give the same roots and proofs as the in-memory tree.

use std::collections::HashMap;

use arbor_tlog::tile::{Tile, node_from_tile, parse_tile_data, tile_for_node, tiles_to_publish};
use arbor_tlog::{
    Hash, HashReader, MemoryTree, NodeIndex, TlogError, consistency_proof, inclusion_proof,
    leaf_hash, tree_hash,
};

struct TileStore {
    size: u64,
    tiles: HashMap<(u8, u64, u16), Vec<u8>>,
}

impl HashReader for TileStore {
    fn read_hashes(&self, indexes: &[NodeIndex]) -> Result<Vec<Hash>, TlogError> {
        indexes
            .iter()
            .map(|&n| {
                let (t, off, cnt) = tile_for_node(n, self.size)?;
                let missing = TlogError::MissingNode {
                    level: n.level,
                    index: n.index,
                };
                let data = self
                    .tiles
                    .get(&(t.level, t.index, t.width))
                    .ok_or(missing.clone())?;
                let hashes = parse_tile_data(data, t.width).map_err(|_| missing.clone())?;
                node_from_tile(&hashes, off, cnt).map_err(|_| missing)
            })
            .collect()
    }
}

#[test]
fn tile_backed_reader_matches_memory() {
    let sizes = [1u64, 255, 256, 257, 1000, 65_536 + 300];
    let mut mem = MemoryTree::new();
    let mut store = TileStore {
        size: 0,
        tiles: HashMap::new(),
    };
    let mut prev = 0;
    for &size in &sizes {
        while mem.size() < size {
            mem.append(leaf_hash(&mem.size().to_be_bytes()));
        }
        for t in tiles_to_publish(prev, size) {
            store
                .tiles
                .insert((t.level, t.index, t.width), t.read(&mem).unwrap());
        }
        store.size = size;
        assert_eq!(tree_hash(&store, size).unwrap(), mem.root(), "size {size}");
        for idx in [0, size / 3, size - 1] {
            assert_eq!(
                inclusion_proof(&store, idx, size).unwrap(),
                inclusion_proof(&mem, idx, size).unwrap()
            );
        }
        // Proofs to older checkpointed sizes still resolve (their partial tiles were kept).
        for &old in sizes.iter().take_while(|&&s| s <= size) {
            assert_eq!(
                consistency_proof(&store, old, size).unwrap(),
                consistency_proof(&mem, old, size).unwrap()
            );
        }
        prev = size;
    }
}

#[test]
fn node_location() {
    // Level-9 node 3 covers leaves [1536, 2048): tile level 1, tile 0, hashes 6..8.
    let (t, off, cnt) = tile_for_node(NodeIndex::new(9, 3), 4096).unwrap();
    assert_eq!(
        (t, off, cnt),
        (
            Tile {
                level: 1,
                index: 0,
                width: 16
            },
            6,
            2
        )
    );
    assert!(tile_for_node(NodeIndex::new(9, 3), 1800).is_err());
    assert!(tile_for_node(NodeIndex::new(63, u64::MAX), u64::MAX).is_err());
}
