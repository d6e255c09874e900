//! Tree builders: [`CompactRange`], the O(log n) right edge of a growing
//! RFC 9162 tree (what a sequencer keeps in memory between batches), and
//! [`MemoryTree`], every level node of a small tree held in memory (tests,
//! tools, and the reference [`HashReader`]).

use crate::error::TlogError;
use crate::hash::{Hash, NodeIndex, node_hash};
use crate::proof::{HashReader, range_nodes};

/// The right edge of a tree of `size` leaves: one perfect-subtree hash per set
/// bit of `size`, largest (leftmost) first. Appending a leaf returns every
/// node it completes, so a log can persist them (e.g. into tiles).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactRange {
    size: u64,
    /// Perfect subtree hashes, leftmost (highest level) first.
    edge: Vec<Hash>,
}

impl CompactRange {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes from stored right-edge hashes, in the order of
    /// [`CompactRange::edge_indexes`] for `size`.
    pub fn from_edge(size: u64, edge: Vec<Hash>) -> Result<Self, TlogError> {
        let want = size.count_ones() as usize;
        if edge.len() != want {
            return Err(TlogError::ShortRead {
                want,
                got: edge.len(),
            });
        }
        Ok(Self { size, edge })
    }

    /// Resumes the tree of `size` leaves from a hash store.
    pub fn from_reader<R: HashReader + ?Sized>(reader: &R, size: u64) -> Result<Self, TlogError> {
        let idx = Self::edge_indexes(size);
        let hashes = if idx.is_empty() {
            Vec::new()
        } else {
            reader.read_hashes(&idx)?
        };
        Self::from_edge(size, hashes)
    }

    /// The node indexes of the right edge of a tree of `size` leaves.
    pub fn edge_indexes(size: u64) -> Vec<NodeIndex> {
        // [0, size) is always a valid subtree.
        range_nodes(0, size).unwrap_or_default()
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The right-edge hashes, leftmost first.
    pub fn edge(&self) -> &[Hash] {
        &self.edge
    }

    /// Appends one leaf hash. Returns the nodes completed by it, from the leaf
    /// (level 0) upwards. Fails only when the tree already holds 2^64-1 leaves.
    pub fn append(&mut self, leaf: Hash) -> Result<Vec<(NodeIndex, Hash)>, TlogError> {
        let index = self.size;
        let new_size = index.checked_add(1).ok_or(TlogError::OutOfRange {
            index,
            size: u64::MAX,
        })?;
        let mut done = vec![(NodeIndex::new(0, index), leaf)];
        let mut h = leaf;
        let mut level = 0u8;
        // Each trailing one bit of the old size is a left sibling to merge with.
        while (index >> level) & 1 == 1 {
            let left = self.edge.pop().ok_or(TlogError::MissingNode {
                level,
                index: (index >> level) - 1,
            })?;
            h = node_hash(&left, &h);
            level += 1;
            done.push((NodeIndex::new(level, index >> level), h));
        }
        self.edge.push(h);
        self.size = new_size;
        Ok(done)
    }

    /// `MTH(D_n)` of the current tree (the empty root for size 0).
    pub fn root(&self) -> Hash {
        let mut iter = self.edge.iter().rev();
        match iter.next() {
            None => crate::hash::empty_root(),
            Some(last) => iter.fold(*last, |acc, h| node_hash(h, &acc)),
        }
    }
}

/// A whole tree in memory: `levels[l][i]` is the perfect node `(l, i)`.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    range: CompactRange,
}

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree over these leaf hashes.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> Self {
        let mut t = Self::new();
        for l in leaves {
            t.append(l);
        }
        t
    }

    /// Appends a leaf hash (in-memory trees never reach 2^64-1 leaves).
    pub fn append(&mut self, leaf: Hash) {
        if let Ok(nodes) = self.range.append(leaf) {
            for (n, h) in nodes {
                let l = usize::from(n.level);
                if self.levels.len() <= l {
                    self.levels.push(Vec::new());
                }
                self.levels[l].push(h);
            }
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.range.size()
    }

    /// Root of the current tree.
    pub fn root(&self) -> Hash {
        self.range.root()
    }
}

impl HashReader for MemoryTree {
    fn read_hashes(&self, indexes: &[NodeIndex]) -> Result<Vec<Hash>, TlogError> {
        indexes
            .iter()
            .map(|n| {
                usize::try_from(n.index)
                    .ok()
                    .and_then(|i| self.levels.get(usize::from(n.level))?.get(i))
                    .copied()
                    .ok_or(TlogError::MissingNode {
                        level: n.level,
                        index: n.index,
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{leaf_hash, mth_of_hashes};

    #[test]
    fn compact_matches_recursive_mth() {
        let leaves: Vec<Hash> = (0..70u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut c = CompactRange::new();
        for (i, l) in leaves.iter().enumerate() {
            assert_eq!(c.root(), mth_of_hashes(&leaves[..i]));
            c.append(*l).unwrap();
        }
        assert_eq!(c.root(), mth_of_hashes(&leaves));
        let t = MemoryTree::from_leaf_hashes(leaves.iter().copied());
        let resumed = CompactRange::from_reader(&t, 70).unwrap();
        assert_eq!(resumed, c);
    }
}
