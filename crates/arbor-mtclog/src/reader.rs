//! A c2sp.org/tlog-tiles-backed [`HashReader`]: resolves perfect-subtree nodes
//! from hash tiles in a [`LogStorage`] (through `arbor_tlog::tile_for_node`),
//! optionally preferring an overlay of freshly computed nodes and the
//! not-yet-published objects of the current sequencing round.

use std::collections::HashMap;
use std::sync::Mutex;

use arbor_tlog::tile::{node_from_tile, parse_tile_data, tile_for_node};
use arbor_tlog::{Hash, HashReader, NodeIndex, TlogError};

use crate::storage::LogStorage;

/// Reads node hashes of the tree of `size` leaves from tiles.
pub struct TileReader<'a> {
    storage: &'a dyn LogStorage,
    size: u64,
    overlay: Option<&'a HashMap<NodeIndex, Hash>>,
    pending: Option<&'a HashMap<String, Vec<u8>>>,
    cache: Mutex<HashMap<String, Vec<Hash>>>,
}

impl<'a> TileReader<'a> {
    /// Reads published tiles of the tree of `size` leaves.
    pub fn new(storage: &'a dyn LogStorage, size: u64) -> Self {
        Self {
            storage,
            size,
            overlay: None,
            pending: None,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Also answers from `nodes` and from unpublished tile objects `objects`.
    pub fn with_round(
        mut self,
        nodes: &'a HashMap<NodeIndex, Hash>,
        objects: &'a HashMap<String, Vec<u8>>,
    ) -> Self {
        self.overlay = Some(nodes);
        self.pending = Some(objects);
        self
    }

    fn tile_hashes(&self, path: &str, width: u16) -> Result<Vec<Hash>, TlogError> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = cache.get(path) {
            return Ok(h.clone());
        }
        let bytes = match self.pending.and_then(|p| p.get(path)) {
            Some(b) => b.clone(),
            None => self
                .storage
                .get(path)
                .map_err(|e| TlogError::Storage(e.to_string()))?
                .ok_or_else(|| TlogError::Storage(format!("missing tile {path}")))?,
        };
        let hashes = parse_tile_data(&bytes, width)
            .map_err(|e| TlogError::Storage(format!("{path}: {e}")))?;
        cache.insert(path.to_owned(), hashes.clone());
        Ok(hashes)
    }
}

impl HashReader for TileReader<'_> {
    fn read_hashes(&self, indexes: &[NodeIndex]) -> Result<Vec<Hash>, TlogError> {
        let mut out = Vec::with_capacity(indexes.len());
        for &idx in indexes {
            if let Some(h) = self.overlay.and_then(|o| o.get(&idx)) {
                out.push(*h);
                continue;
            }
            let (tile, offset, count) = tile_for_node(idx, self.size)?;
            let hashes = self.tile_hashes(&tile.path(), tile.width)?;
            let h = node_from_tile(&hashes, offset, count)
                .map_err(|e| TlogError::Storage(e.to_string()))?;
            out.push(h);
        }
        Ok(out)
    }
}
