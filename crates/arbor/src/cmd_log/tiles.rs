//! The tile-fetching side of `arbor log` (c2sp.org/tlog-tiles "Merkle Tree",
//! "Partial Tiles", "Log Entries"): an HTTP(S) client for a log prefix (rustls on
//! aws-lc-rs, TCP_NODELAY, timeouts, optional extra trust root) and a [`HashReader`]
//! over fetched tiles for `arbor-tlog`'s synchronous proof generation: the reader
//! records the tiles it lacks, [`TileReader::with`] fetches them (8 at a time) and
//! retries.
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use arbor_tlog::bundle::decode_bundle;
use arbor_tlog::tile::{Tile, node_from_tile, parse_tile_data, tile_for_node};
use arbor_tlog::{Hash, HashReader, NodeIndex, TlogError};
use thiserror::Error;

/// Transport and log-content failures.
#[derive(Debug, Error)]
pub enum LogCmdError {
    #[error("cannot build the HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("{path}: {}", error_chain(.source))]
    Transport {
        path: String,
        source: reqwest::Error,
    },
    #[error("{path}: HTTP status {status}")]
    Status { path: String, status: u16 },
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] arbor_tlog::NoteError),
    #[error("--log-key: {0}")]
    LogKey(arbor_tlog::NoteError),
    #[error("{path}: {source}")]
    Tile {
        path: String,
        source: arbor_tlog::TileError,
    },
    #[error("{0}")]
    Tree(#[from] TlogError),
    #[error("entry {index} does not exist in a tree of size {size}")]
    NoSuchEntry { index: u64, size: u64 },
    #[error("{what} {value} is beyond the checkpoint's tree size {size}")]
    Beyond {
        what: &'static str,
        value: u64,
        size: u64,
    },
    #[error("checkpoint: no {what} by {name}")]
    Unsigned { what: &'static str, name: String },
    #[error("checkpoint origin {0:?} does not name a log number; pass --log")]
    Origin(String),
    #[error("{0}")]
    Usage(String),
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

const USER_AGENT: &str = concat!("arbor-log/", env!("CARGO_PKG_VERSION"));
/// `error: cause: cause...`, since reqwest hides the cause (TLS, DNS, refused) below
/// "error sending request".
fn error_chain(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        out.push_str(&format!(": {c}"));
        cur = c.source();
    }
    out
}

/// Tiles fetched concurrently.
pub const PARALLEL_FETCHES: usize = 8;

/// Fetches log resources relative to the prefix URL.
#[derive(Clone)]
pub struct LogClient {
    http: reqwest::Client,
    base: String,
}

impl LogClient {
    pub fn new(url: &str, root_pem: Option<&[u8]>, timeout: Duration) -> Result<Self, LogCmdError> {
        let mut b = reqwest::Client::builder()
            .tcp_nodelay(true)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(USER_AGENT)
            .redirect(reqwest::redirect::Policy::none());
        if let Some(pem) = root_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(LogCmdError::Client)?;
            b = b.tls_certs_merge(certs);
        }
        Ok(LogClient {
            http: b.build().map_err(LogCmdError::Client)?,
            base: url.trim_end_matches('/').to_string(),
        })
    }

    /// GET `<prefix>/<path>`; `Ok(None)` on 404.
    pub async fn get_opt(&self, path: &str) -> Result<Option<Vec<u8>>, LogCmdError> {
        let url = format!("{}/{path}", self.base);
        let transport = |source| LogCmdError::Transport {
            path: path.to_string(),
            source,
        };
        let resp = self.http.get(&url).send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        if status == 404 {
            return Ok(None);
        }
        if status != 200 {
            return Err(LogCmdError::Status {
                path: path.to_string(),
                status,
            });
        }
        Ok(Some(resp.bytes().await.map_err(transport)?.to_vec()))
    }

    pub async fn get(&self, path: &str) -> Result<Vec<u8>, LogCmdError> {
        self.get_opt(path).await?.ok_or(LogCmdError::Status {
            path: path.to_string(),
            status: 404,
        })
    }

    /// A tile's hashes; a missing partial tile falls back to the full tile (the log
    /// grew since the checkpoint), cut to the width asked for.
    pub async fn tile_hashes(&self, tile: Tile) -> Result<Vec<Hash>, LogCmdError> {
        let mut data = self.get_opt(&tile.path()).await?;
        if data.is_none() && tile.is_partial() {
            let full = Tile { width: 256, ..tile };
            data = self.get_opt(&full.path()).await?.map(|mut d| {
                d.truncate(usize::from(tile.width) * 32);
                d
            });
        }
        let data = data.ok_or(LogCmdError::Status {
            path: tile.path(),
            status: 404,
        })?;
        parse_tile_data(&data, tile.width).map_err(|source| LogCmdError::Tile {
            path: tile.path(),
            source,
        })
    }

    /// The raw entries of the bundle matching level-0 tile `tile`.
    pub async fn bundle(&self, tile: Tile) -> Result<Vec<Vec<u8>>, LogCmdError> {
        let path = tile.entries_path();
        let mut data = self.get_opt(&path).await?;
        if data.is_none() && tile.is_partial() {
            data = self
                .get_opt(&Tile { width: 256, ..tile }.entries_path())
                .await?;
        }
        let data = data.ok_or(LogCmdError::Status {
            path: path.clone(),
            status: 404,
        })?;
        let entries = decode_bundle(&data).map_err(|source| LogCmdError::Tile {
            path: path.clone(),
            source,
        })?;
        if entries.len() < usize::from(tile.width) {
            return Err(LogCmdError::Tile {
                path,
                source: arbor_tlog::TileError::TruncatedBundle,
            });
        }
        Ok(entries[..usize::from(tile.width)]
            .iter()
            .map(|e| e.to_vec())
            .collect())
    }
}

/// A [`HashReader`] over tiles fetched so far, for a tree of `size` leaves; records the
/// tiles it lacks.
pub struct TileCache {
    size: u64,
    tiles: HashMap<(u8, u64), Vec<Hash>>,
    missing: RefCell<BTreeSet<Tile>>,
}

impl HashReader for TileCache {
    fn read_hashes(&self, indexes: &[NodeIndex]) -> Result<Vec<Hash>, TlogError> {
        let mut out = Vec::with_capacity(indexes.len());
        let mut missing = self.missing.borrow_mut();
        for &node in indexes {
            let (tile, offset, count) = tile_for_node(node, self.size)?;
            match self.tiles.get(&(tile.level, tile.index)) {
                Some(hashes) => out.push(
                    node_from_tile(hashes, offset, count)
                        .map_err(|e| TlogError::Storage(e.to_string()))?,
                ),
                None => {
                    missing.insert(tile);
                }
            }
        }
        match missing.first() {
            Some(t) => Err(TlogError::MissingNode {
                level: t.level,
                index: t.index,
            }),
            None => Ok(out),
        }
    }
}

/// Tiles plus the client that fills them on demand.
pub struct TileReader {
    client: LogClient,
    cache: TileCache,
}

impl TileReader {
    pub fn new(client: LogClient, size: u64) -> Self {
        TileReader {
            client,
            cache: TileCache {
                size,
                tiles: HashMap::new(),
                missing: RefCell::new(BTreeSet::new()),
            },
        }
    }

    /// Runs `f` over the cache, fetching whatever tiles it reports missing, until it
    /// succeeds or fails for another reason.
    pub async fn with<T>(
        &mut self,
        f: impl Fn(&TileCache) -> Result<T, TlogError>,
    ) -> Result<T, LogCmdError> {
        loop {
            self.cache.missing.borrow_mut().clear();
            let res = f(&self.cache);
            let missing: Vec<Tile> = std::mem::take(&mut *self.cache.missing.borrow_mut())
                .into_iter()
                .collect();
            match res {
                Err(TlogError::MissingNode { .. }) if !missing.is_empty() => {
                    self.fetch(missing).await?;
                }
                other => return Ok(other?),
            }
        }
    }

    async fn fetch(&mut self, tiles: Vec<Tile>) -> Result<(), LogCmdError> {
        for chunk in tiles.chunks(PARALLEL_FETCHES) {
            let mut set = tokio::task::JoinSet::new();
            for &t in chunk {
                let c = self.client.clone();
                set.spawn(async move { (t, c.tile_hashes(t).await) });
            }
            while let Some(joined) = set.join_next().await {
                let (t, hashes) = joined.map_err(|e| TlogError::Storage(e.to_string()))?;
                self.cache.tiles.insert((t.level, t.index), hashes?);
            }
        }
        Ok(())
    }
}
