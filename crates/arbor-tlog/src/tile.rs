//! C2SP tlog-tiles (c2sp.org/tlog-tiles "Merkle Tree" and "Partial Tiles"):
//! tile coordinates, the `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`
//! paths with x-prefixed 3-digit segments, which tiles a tree size implies,
//! and the mapping between tiles and perfect-subtree [`NodeIndex`]es.
//!
//! A tile at level `L` holds up to 256 hashes of tree level `8L`; a node at
//! tree level `l` lives in the tile at level `l / 8`, as the perfect subtree of
//! `2^(l % 8)` consecutive tile hashes.

use crate::error::{TileError, TlogError};
use crate::hash::{HASH_SIZE, Hash, NodeIndex, mth_of_hashes};
use crate::proof::HashReader;

/// Tree levels per tile level (tiles are height-8 subtrees).
pub const TILE_HEIGHT: u32 = 8;
/// Hashes (or entries) in a full tile or bundle.
pub const TILE_WIDTH: u64 = 256;
/// Highest tile level a path may name.
pub const MAX_TILE_LEVEL: u8 = 63;

/// A hash tile (or, for [`TilePath::Entries`], an entry bundle's coordinates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    /// Tile level `L` (tree level `8L`), 0..=63.
    pub level: u8,
    /// Index `N` of the tile within its level.
    pub index: u64,
    /// Number of hashes, 1..=256; 256 is a full tile.
    pub width: u16,
}

impl Tile {
    /// Validates the shape.
    pub fn new(level: u8, index: u64, width: u16) -> Result<Self, TileError> {
        if level > MAX_TILE_LEVEL || width == 0 || u64::from(width) > TILE_WIDTH {
            return Err(TileError::BadShape);
        }
        Ok(Self {
            level,
            index,
            width,
        })
    }

    /// Whether this tile has fewer than 256 hashes.
    pub fn is_partial(&self) -> bool {
        u64::from(self.width) < TILE_WIDTH
    }

    /// `tile/<L>/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!(
            "tile/{}/{}",
            self.level,
            index_with_width(self.index, self.width)
        )
    }

    /// `tile/entries/<N>[.p/<W>]` of the entry bundle matching this level-0 tile.
    pub fn entries_path(&self) -> String {
        format!("tile/entries/{}", index_with_width(self.index, self.width))
    }

    /// The perfect nodes (tree level `8L`) whose hashes make up this tile.
    pub fn nodes(&self) -> Vec<NodeIndex> {
        let level = self.level.saturating_mul(8);
        let first = self.index.saturating_mul(TILE_WIDTH);
        (0..u64::from(self.width))
            .map(|i| NodeIndex::new(level, first.saturating_add(i)))
            .collect()
    }

    /// The tile's bytes (`width * 32`), read from a hash store.
    pub fn read<R: HashReader + ?Sized>(&self, reader: &R) -> Result<Vec<u8>, TlogError> {
        let nodes = self.nodes();
        let hashes = reader.read_hashes(&nodes)?;
        if hashes.len() != nodes.len() {
            return Err(TlogError::ShortRead {
                want: nodes.len(),
                got: hashes.len(),
            });
        }
        Ok(hashes.concat())
    }
}

/// Kind of resource a tile path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TilePath {
    /// `tile/<L>/<N>[.p/<W>]`.
    Hashes(Tile),
    /// `tile/entries/<N>[.p/<W>]` (level is always 0).
    Entries(Tile),
}

/// Encodes `N` as zero-padded 3-digit segments, all but the last `x`-prefixed:
/// 1234067 → `x001/x234/067`, 5 → `005`.
pub fn encode_index(n: u64) -> String {
    let mut groups = Vec::new();
    let mut n = n;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i < last {
                format!("x{g:03}")
            } else {
                format!("{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn index_with_width(index: u64, width: u16) -> String {
    if u64::from(width) < TILE_WIDTH {
        format!("{}.p/{}", encode_index(index), width)
    } else {
        encode_index(index)
    }
}

/// Parses a path relative to the log prefix (`tile/...`), strictly: canonical
/// decimal, 3-digit groups, no superfluous leading `x000` groups.
pub fn parse_tile_path(path: &str) -> Result<TilePath, TileError> {
    let rest = path.strip_prefix("tile/").ok_or(TileError::BadPath)?;
    let (first, rest) = rest.split_once('/').ok_or(TileError::BadPath)?;
    let entries = first == "entries";
    let level = if entries { 0 } else { parse_decimal(first)? };
    let level = u8::try_from(level).map_err(|_| TileError::BadShape)?;
    let mut segs: Vec<&str> = rest.split('/').collect();
    let mut width = TILE_WIDTH as u16;
    if segs.len() >= 2 && segs[segs.len() - 2].ends_with(".p") {
        let w = parse_decimal(segs.pop().ok_or(TileError::BadPath)?)?;
        width = u16::try_from(w).map_err(|_| TileError::BadShape)?;
        if u64::from(width) >= TILE_WIDTH {
            return Err(TileError::BadShape);
        }
        let last = segs.pop().ok_or(TileError::BadPath)?;
        segs.push(last.strip_suffix(".p").ok_or(TileError::BadPath)?);
    }
    let mut index: u64 = 0;
    let n = segs.len();
    for (i, s) in segs.iter().enumerate() {
        let digits = if i + 1 < n {
            s.strip_prefix('x').ok_or(TileError::BadPath)?
        } else {
            s
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TileError::BadPath);
        }
        if i == 0 && n > 1 && digits == "000" {
            return Err(TileError::BadPath);
        }
        let g: u64 = digits.parse().map_err(|_| TileError::BadPath)?;
        index = index
            .checked_mul(1000)
            .and_then(|v| v.checked_add(g))
            .ok_or(TileError::BadPath)?;
    }
    let tile = Tile::new(level, index, width)?;
    let canonical = if entries {
        tile.entries_path()
    } else {
        tile.path()
    };
    if canonical != path {
        return Err(TileError::BadPath);
    }
    Ok(if entries {
        TilePath::Entries(tile)
    } else {
        TilePath::Hashes(tile)
    })
}

fn parse_decimal(s: &str) -> Result<u64, TileError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return Err(TileError::BadPath);
    }
    s.parse().map_err(|_| TileError::BadPath)
}

/// Number of hashes at tile level `level` in a tree of `size` leaves:
/// `floor(size / 256^level)`.
fn hashes_at_level(size: u64, level: u8) -> u64 {
    size.checked_shr(TILE_HEIGHT * u32::from(level))
        .unwrap_or(0)
}

/// The tiles that appear or change when the tree grows from `old_size` to
/// `new_size` (all tiles of the tree when `old_size` is 0), level by level,
/// left to right. Level-0 tiles double as the entry bundles to write.
pub fn tiles_to_publish(old_size: u64, new_size: u64) -> Vec<Tile> {
    let mut out = Vec::new();
    if new_size <= old_size {
        return out;
    }
    for level in 0..=MAX_TILE_LEVEL {
        let new_n = hashes_at_level(new_size, level);
        if new_n == 0 {
            break;
        }
        let old_n = hashes_at_level(old_size, level);
        if new_n == old_n {
            continue;
        }
        let first = old_n / TILE_WIDTH;
        let last = (new_n - 1) / TILE_WIDTH;
        for n in first..=last {
            let w = (new_n - n * TILE_WIDTH).min(TILE_WIDTH) as u16;
            out.push(Tile {
                level,
                index: n,
                width: w,
            });
        }
    }
    out
}

/// The partial tiles of a tree of `size` leaves (one per level whose hash
/// count is not a multiple of 256), e.g. to know what a checkpoint requires.
pub fn partial_tiles(size: u64) -> Vec<Tile> {
    (0..=MAX_TILE_LEVEL)
        .map(|level| (level, hashes_at_level(size, level)))
        .take_while(|&(_, n)| n > 0)
        .filter(|&(_, n)| n % TILE_WIDTH != 0)
        .map(|(level, n)| Tile {
            level,
            index: n / TILE_WIDTH,
            width: (n % TILE_WIDTH) as u16,
        })
        .collect()
}

/// Where a node lives: the tile (with the width it has at `tree_size`), and
/// the run `[offset, offset + count)` of tile hashes whose MTH is the node.
pub fn tile_for_node(node: NodeIndex, tree_size: u64) -> Result<(Tile, u16, u16), TlogError> {
    let missing = TlogError::MissingNode {
        level: node.level,
        index: node.index,
    };
    if node.level > MAX_TILE_LEVEL.saturating_mul(8).saturating_add(7) {
        return Err(missing);
    }
    let level = node.level / 8;
    let sub = u32::from(node.level % 8);
    let first = node
        .index
        .checked_shl(sub)
        .filter(|v| v >> sub == node.index)
        .ok_or(missing.clone())?;
    let count = 1u64 << sub;
    let n = first / TILE_WIDTH;
    let offset = first % TILE_WIDTH;
    let have = hashes_at_level(tree_size, level);
    let width = have.saturating_sub(n * TILE_WIDTH).min(TILE_WIDTH);
    if offset + count > width {
        return Err(missing);
    }
    Ok((
        Tile {
            level,
            index: n,
            width: width as u16,
        },
        offset as u16,
        count as u16,
    ))
}

/// Splits tile bytes into hashes, checking the length against `width`.
pub fn parse_tile_data(data: &[u8], width: u16) -> Result<Vec<Hash>, TileError> {
    if data.len() != usize::from(width) * HASH_SIZE {
        return Err(TileError::BadTileLength);
    }
    Ok(data
        .chunks_exact(HASH_SIZE)
        .map(|c| {
            let mut h = [0u8; HASH_SIZE];
            h.copy_from_slice(c);
            h
        })
        .collect())
}

/// The node hash for a [`tile_for_node`] location, from the tile's hashes.
pub fn node_from_tile(hashes: &[Hash], offset: u16, count: u16) -> Result<Hash, TileError> {
    let (o, c) = (usize::from(offset), usize::from(count));
    let run = hashes.get(o..o + c).ok_or(TileError::BadTileLength)?;
    Ok(mth_of_hashes(run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_path_examples() {
        assert_eq!(encode_index(1_234_067), "x001/x234/067");
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(1000), "x001/000");
        let t = Tile::new(0, 1_234_067, 256).unwrap();
        assert_eq!(t.path(), "tile/0/x001/x234/067");
        assert_eq!(Tile::new(2, 5, 17).unwrap().path(), "tile/2/005.p/17");
        assert_eq!(
            Tile::new(0, 5, 17).unwrap().entries_path(),
            "tile/entries/005.p/17"
        );
    }

    #[test]
    fn parse_round_trip_and_rejects() {
        for p in [
            "tile/0/x001/x234/067",
            "tile/2/005.p/17",
            "tile/63/000",
            "tile/1/x999/999.p/255",
        ] {
            match parse_tile_path(p).unwrap() {
                TilePath::Hashes(t) => assert_eq!(t.path(), p),
                TilePath::Entries(_) => panic!("wrong kind"),
            }
        }
        assert_eq!(
            parse_tile_path("tile/entries/x001/000.p/3").unwrap(),
            TilePath::Entries(Tile {
                level: 0,
                index: 1000,
                width: 3
            })
        );
        for bad in [
            "tile/0/1",
            "tile/0/x000/001",
            "tile/00/001",
            "tile/64/000",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/01",
            "tile/0/001/002",
            "tile/0/x001",
            "tile/0/001.p",
            "tiles/0/001",
            "tile/0/00a",
            "tile/entries/001.p/300",
            "tile/-1/001",
        ] {
            assert!(parse_tile_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn spec_size_70000_example() {
        let all = tiles_to_publish(0, 70_000);
        let l0: Vec<_> = all.iter().filter(|t| t.level == 0).collect();
        assert_eq!(l0.len(), 274);
        assert_eq!(l0.iter().filter(|t| !t.is_partial()).count(), 273);
        assert_eq!(l0.last().unwrap().width, 112);
        let l1: Vec<_> = all.iter().filter(|t| t.level == 1).collect();
        assert_eq!((l1.len(), l1[0].width, l1[1].width), (2, 256, 17));
        let l2: Vec<_> = all.iter().filter(|t| t.level == 2).collect();
        assert_eq!((l2.len(), l2[0].width), (1, 1));
        assert_eq!(partial_tiles(70_000).len(), 3);
        // "a tree of size 256 ... a full level 0 tile and a partial level 1 tile of width 1".
        assert_eq!(
            tiles_to_publish(0, 256),
            vec![
                Tile {
                    level: 0,
                    index: 0,
                    width: 256
                },
                Tile {
                    level: 1,
                    index: 0,
                    width: 1
                }
            ]
        );
        assert_eq!(
            tiles_to_publish(256, 300),
            vec![Tile {
                level: 0,
                index: 1,
                width: 44
            }]
        );
    }
}
