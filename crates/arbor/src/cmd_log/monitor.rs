//! `arbor log verify-all`, a monitor's full check of an MTC issuance log
//! (c2sp.org/tlog-tiles, RFC 9162 §2.1.1): fetches every entry bundle and level-0 hash
//! tile (8 at a time), checks each tile hash against the entry's leaf hash, rebuilds
//! every higher tile level from the level below, decodes every entry as an MTCLogEntry
//! (draft-ietf-plants-merkle-tree-certs §5.3) and compares the roots with the checkpoint.
use arbor_mtc::MtcLogEntry;
use arbor_mtc::formats::EntryBody;
use arbor_tlog::checkpoint::Checkpoint;
use arbor_tlog::hash::mth_of_hashes;
use arbor_tlog::tile::{TILE_WIDTH, Tile};
use arbor_tlog::{CompactRange, Hash, TlogError, leaf_hash, tree_hash};

use super::tiles::{LogClient, LogCmdError, PARALLEL_FETCHES, TileReader};
use super::{CheckFailed, hex};

type Checked = Result<Result<Vec<String>, CheckFailed>, LogCmdError>;

fn tile(level: u8, n: u64, width: u64) -> Result<Tile, LogCmdError> {
    Tile::new(level, n, width as u16).map_err(|source| LogCmdError::Tile {
        path: format!("tile/{level}/{n}"),
        source,
    })
}

/// The first index where `got` (fetched) differs from `want` (computed).
fn first_difference(got: &[Hash], want: &[Hash]) -> Option<usize> {
    (0..got.len().max(want.len())).find(|&i| got.get(i) != want.get(i))
}

/// Fetches the tiles of `level` holding `hashes` (computed hashes of that tree level,
/// starting at tile `first_tile`) and compares them; returns the hashes of the full
/// tiles' roots, i.e. the next level's hashes.
async fn check_level(
    client: &LogClient,
    level: u8,
    first_tile: u64,
    hashes: &[Hash],
) -> Result<Result<Vec<Hash>, CheckFailed>, LogCmdError> {
    let count = (hashes.len() as u64).div_ceil(TILE_WIDTH);
    let mut next = Vec::new();
    let mut n = 0;
    while n < count {
        let window = n..count.min(n + PARALLEL_FETCHES as u64);
        n = window.end;
        let mut set = tokio::task::JoinSet::new();
        for i in window {
            let width = (hashes.len() as u64 - i * TILE_WIDTH).min(TILE_WIDTH);
            let t = tile(level, first_tile + i, width)?;
            let c = client.clone();
            set.spawn(async move { (t, c.tile_hashes(t).await) });
        }
        let mut got = Vec::new();
        while let Some(joined) = set.join_next().await {
            let (t, fetched) = joined.map_err(|e| TlogError::Storage(e.to_string()))?;
            got.push((t, fetched?));
        }
        got.sort_by_key(|(t, _)| t.index);
        for (t, fetched) in got {
            let first = ((t.index - first_tile) * TILE_WIDTH) as usize;
            let want = &hashes[first..first + usize::from(t.width)];
            if let Some(i) = first_difference(&fetched, want) {
                return Ok(Err(CheckFailed(format!(
                    "{} hash {i} does not match the entries",
                    t.path()
                ))));
            }
            if !t.is_partial() {
                next.push(mth_of_hashes(want));
            }
        }
    }
    Ok(Ok(next))
}

/// Runs the full check.
pub async fn verify_all(client: &LogClient, reader: &mut TileReader, cp: &Checkpoint) -> Checked {
    let mut range = CompactRange::new();
    let mut leaves: Vec<Hash> = Vec::new();
    let (mut nulls, mut tbs, mut bad) = (0u64, 0u64, 0u64);
    let bundles = cp.size.div_ceil(TILE_WIDTH);
    let mut level1 = Vec::new();
    let mut n = 0;
    while n < bundles {
        // A window of bundles is fetched concurrently, then hashed in order.
        let window = n..bundles.min(n + PARALLEL_FETCHES as u64);
        let window_start = n;
        n = window.end;
        let mut set = tokio::task::JoinSet::new();
        for i in window {
            let t = tile(0, i, (cp.size - i * TILE_WIDTH).min(TILE_WIDTH))?;
            let c = client.clone();
            set.spawn(async move { (i, c.bundle(t).await) });
        }
        let mut got = Vec::new();
        while let Some(joined) = set.join_next().await {
            let (i, entries) = joined.map_err(|e| TlogError::Storage(e.to_string()))?;
            got.push((i, entries?));
        }
        got.sort_by_key(|(i, _)| *i);
        let first_tile = window_start;
        for e in got.into_iter().flat_map(|(_, entries)| entries) {
            match MtcLogEntry::decode(&e).map(|d| d.body) {
                Ok(EntryBody::Null) => nulls += 1,
                Ok(EntryBody::TbsCert(_)) => tbs += 1,
                Err(_) => bad += 1,
            }
            let leaf = leaf_hash(&e);
            range.append(leaf)?;
            leaves.push(leaf);
        }
        // Level-0 tiles for these leaves; only whole windows' leaves are kept.
        match check_level(client, 0, first_tile, &leaves).await? {
            Ok(next) => level1.extend(next),
            Err(e) => return Ok(Err(e)),
        }
        leaves.clear();
    }
    let mut lines = vec![format!(
        "checked {} entries in {bundles} bundles: {nulls} null_entry, {tbs} tbs_cert_entry, {bad} undecodable",
        range.size()
    )];
    if range.root() != cp.root_hash {
        return Ok(Err(CheckFailed(format!(
            "root of the {} fetched entries is {}, checkpoint says {}",
            cp.size,
            hex(&range.root()),
            hex(&cp.root_hash)
        ))));
    }
    lines.push(format!(
        "root from entries: {} matches the checkpoint",
        hex(&cp.root_hash)
    ));
    // Higher tile levels, each rebuilt from the level below.
    let (mut level, mut hashes, mut tiles) = (1u8, level1, bundles);
    while !hashes.is_empty() {
        tiles += (hashes.len() as u64).div_ceil(TILE_WIDTH);
        hashes = match check_level(client, level, 0, &hashes).await? {
            Ok(next) => next,
            Err(e) => return Ok(Err(e)),
        };
        level += 1;
    }
    lines.push(format!(
        "hash tiles: {tiles} tiles on {level} levels match the entries"
    ));
    let from_tiles = reader.with(|r| tree_hash(r, cp.size)).await?;
    if from_tiles != cp.root_hash {
        return Ok(Err(CheckFailed(format!(
            "root from hash tiles is {}, checkpoint says {}",
            hex(&from_tiles),
            hex(&cp.root_hash)
        ))));
    }
    lines.push("root from hash tiles: matches the checkpoint".to_string());
    if bad > 0 {
        return Ok(Err(CheckFailed(format!(
            "{bad} entries do not decode as MTCLogEntry"
        ))));
    }
    Ok(Ok(lines))
}
