//! `arbor log`: a monitor's view of one MTC issuance log over its c2sp.org/tlog-tiles
//! HTTP interface (`<prefix>/checkpoint`, `tile/<L>/<N>`, `tile/entries/<N>`). Fetches
//! and optionally verifies the signed checkpoint (c2sp.org/tlog-checkpoint, Ed25519 log
//! key), prints decoded entries (draft-ietf-plants-merkle-tree-certs §5.3 MTCLogEntry),
//! builds and verifies RFC 9162 §2.1.3 inclusion and §2.1.4 consistency proofs from
//! fetched tiles, and walks the whole log recomputing the root (`verify-all`).
//!
//! Proof generation in `arbor-tlog` is synchronous and asks its [`HashReader`] for every
//! node in one call, so the reader here serves cached tiles and records the tiles it is
//! missing; the async side fetches those and retries.
//!
//! Deviation: plain `http://` URLs are allowed (tiles are checked against the
//! checkpoint, so the transport adds no integrity).
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use arbor_mtc::MtcLogEntry;
use arbor_mtc::formats::EntryBody;
use arbor_tlog::bundle::decode_bundle;
use arbor_tlog::checkpoint::{Checkpoint, open_checkpoint};
use arbor_tlog::keys::VerifierKey;
use arbor_tlog::note::Note;
use arbor_tlog::tile::{Tile, node_from_tile, parse_tile_data, tile_for_node};
use arbor_tlog::{
    CompactRange, Hash, HashReader, NodeIndex, TlogError, consistency_proof, inclusion_proof,
    leaf_hash, tree_hash, verify_consistency, verify_inclusion,
};
use thiserror::Error;

use crate::cmd_verify::EXIT_INVALID;

/// Inspect and monitor an MTC issuance log over HTTP(S).
#[derive(clap::Args, Debug)]
pub struct LogArgs {
    /// Log prefix URL, e.g. https://127.0.0.1:14000/mtc/1
    #[arg(long)]
    pub url: String,
    /// Extra trust root (PEM) for HTTPS, e.g. the test CA of `arbor serve`.
    #[arg(long, value_name = "PEM")]
    pub root: Option<PathBuf>,
    /// The log's verifier key (`name+hash+base64`, Ed25519), or a file holding it;
    /// when given, the checkpoint's signature must verify.
    #[arg(long = "log-key", value_name = "VKEY")]
    pub log_key: Option<String>,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 30)]
    pub timeout: u64,
    #[command(subcommand)]
    pub cmd: LogCmd,
}

/// What to fetch or check.
#[derive(clap::Subcommand, Debug)]
pub enum LogCmd {
    /// Print the checkpoint (origin, size, root, signatures).
    Checkpoint,
    /// Print entry N, decoded, and check it against the checkpoint.
    Entry { index: u64 },
    /// Build and verify the inclusion proof of entry N (in the tree of --size, default
    /// the checkpoint's size; a smaller size is also proven consistent).
    Inclusion {
        index: u64,
        #[arg(long)]
        size: Option<u64>,
    },
    /// Build and verify a consistency proof between tree sizes OLD and NEW.
    Consistency { old: u64, new: u64 },
    /// Fetch every entry bundle, hash every leaf, and check the root against the
    /// checkpoint and the hash tiles (a monitor's full check).
    VerifyAll,
}

/// Transport and log-content failures.
#[derive(Debug, Error)]
pub enum LogCmdError {
    #[error("cannot build the HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("{path}: {source}")]
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
    #[error("{what} {value} is beyond the checkpoint's tree size {size}")]
    Beyond {
        what: &'static str,
        value: u64,
        size: u64,
    },
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// A check that ran and failed: printed as `invalid: ...`, exit 1.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct CheckFailed(String);

const USER_AGENT: &str = concat!("arbor-log/", env!("CARGO_PKG_VERSION"));
/// Tiles fetched concurrently.
const PARALLEL_FETCHES: usize = 8;

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
    async fn tile_hashes(&self, tile: Tile) -> Result<Vec<Hash>, LogCmdError> {
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
    async fn bundle(&self, tile: Tile) -> Result<Vec<Vec<u8>>, LogCmdError> {
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
struct TileCache {
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
struct TileReader {
    client: LogClient,
    cache: TileCache,
}

impl TileReader {
    fn new(client: LogClient, size: u64) -> Self {
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
    async fn with<T>(
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

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn fetch_checkpoint(
    client: &LogClient,
    log_key: Option<&str>,
) -> Result<(Checkpoint, Note, Option<String>), LogCmdError> {
    let bytes = client.get("checkpoint").await?;
    let Some(spec) = log_key else {
        let note = Note::parse(&bytes)?;
        let cp = Checkpoint::parse(&note.text).map_err(arbor_tlog::NoteError::from)?;
        return Ok((cp, note, None));
    };
    let spec = match std::fs::read_to_string(spec) {
        Ok(s) => s.trim().to_string(),
        Err(_) => spec.trim().to_string(),
    };
    let key = VerifierKey::parse(&spec).map_err(LogCmdError::LogKey)?;
    let verifier = key.ed25519_verifier().map_err(LogCmdError::LogKey)?;
    let (cp, note) = open_checkpoint(&bytes, &[&verifier])?;
    Ok((cp, note, Some(key.name)))
}

/// One line per entry: type, issuer, validity, subject, key hash.
fn describe_entry(bytes: &[u8]) -> String {
    let entry = match MtcLogEntry::decode(bytes) {
        Ok(e) => e,
        Err(e) => return format!("undecodable MTCLogEntry ({} bytes): {e}", bytes.len()),
    };
    let tbs = match &entry.body {
        EntryBody::Null => return "null_entry".to_string(),
        EntryBody::TbsCert(tbs) => tbs,
    };
    use x509_cert::der::Decode;
    let issuer = tbs
        .issuer_id()
        .map_or_else(|e| format!("? ({e})"), |id| id.to_string());
    let subject = x509_cert::name::Name::from_der(&tbs.subject)
        .map_or_else(|e| format!("? ({e})"), |n| n.to_string());
    let validity =
        x509_cert::time::Validity::<x509_cert::certificate::Rfc5280>::from_der(&tbs.validity)
            .map_or_else(
                |e| format!("? ({e})"),
                |v| {
                    format!(
                        "{} .. {}",
                        v.not_before.to_unix_duration().as_secs(),
                        v.not_after.to_unix_duration().as_secs()
                    )
                },
            );
    format!(
        "tbs_cert_entry issuer {issuer}, subject \"{subject}\", validity {validity}, spki sha256 {}, {} extension bytes",
        hex(&tbs.spki_hash),
        tbs.extensions.as_ref().map_or(0, Vec::len)
    )
}

fn beyond(what: &'static str, value: u64, size: u64) -> Result<(), LogCmdError> {
    if value > size {
        return Err(LogCmdError::Beyond { what, value, size });
    }
    Ok(())
}

/// The entry bytes at `index`.
async fn fetch_entry(client: &LogClient, index: u64, size: u64) -> Result<Vec<u8>, LogCmdError> {
    let n = index / 256;
    let width = (size - n * 256).min(256) as u16;
    let tile = Tile::new(0, n, width).map_err(|source| LogCmdError::Tile {
        path: format!("tile/entries/{n}"),
        source,
    })?;
    let mut entries = client.bundle(tile).await?;
    Ok(entries.swap_remove((index % 256) as usize))
}

/// Proves entry `index` (whose bytes are `entry`) is in the tree of `size` leaves and
/// that tree is a prefix of the checkpoint's tree. Returns printable lines.
async fn prove_inclusion(
    reader: &mut TileReader,
    cp: &Checkpoint,
    index: u64,
    size: u64,
    entry: &[u8],
) -> Result<Result<Vec<String>, CheckFailed>, LogCmdError> {
    let leaf = leaf_hash(entry);
    let proof = reader.with(|r| inclusion_proof(r, index, size)).await?;
    let root = if size == cp.size {
        cp.root_hash
    } else {
        reader.with(|r| tree_hash(r, size)).await?
    };
    let mut lines = vec![format!("leaf hash: {}", hex(&leaf))];
    lines.push(format!("inclusion proof ({} hashes):", proof.len()));
    lines.extend(proof.iter().map(|h| format!("  {}", hex(h))));
    if let Err(e) = verify_inclusion(index, size, &leaf, &proof, &root) {
        return Ok(Err(CheckFailed(format!(
            "inclusion proof of entry {index} in tree size {size} does not verify: {e}"
        ))));
    }
    lines.push(format!(
        "inclusion: verified against root {} of size {size}",
        hex(&root)
    ));
    tie_to_checkpoint(reader, cp, size, &root, lines).await
}

/// Proves the tree of `size` leaves with root `root` is a prefix of the checkpoint's.
async fn tie_to_checkpoint(
    reader: &mut TileReader,
    cp: &Checkpoint,
    size: u64,
    root: &Hash,
    mut lines: Vec<String>,
) -> Result<Result<Vec<String>, CheckFailed>, LogCmdError> {
    if size == cp.size {
        if root != &cp.root_hash {
            return Ok(Err(CheckFailed(format!(
                "root of size {size} from hash tiles differs from the checkpoint"
            ))));
        }
        return Ok(Ok(lines));
    }
    let cons = reader.with(|r| consistency_proof(r, size, cp.size)).await?;
    if let Err(e) = verify_consistency(size, cp.size, root, &cp.root_hash, &cons) {
        return Ok(Err(CheckFailed(format!(
            "tree size {size} is not consistent with the checkpoint: {e}"
        ))));
    }
    lines.push(format!(
        "consistency {size} -> {} (checkpoint): verified",
        cp.size
    ));
    Ok(Ok(lines))
}

async fn verify_all(
    client: &LogClient,
    reader: &mut TileReader,
    cp: &Checkpoint,
) -> Result<Result<Vec<String>, CheckFailed>, LogCmdError> {
    let mut range = CompactRange::new();
    let (mut nulls, mut tbs, mut bad) = (0u64, 0u64, 0u64);
    let bundles = cp.size.div_ceil(256);
    for n in 0..bundles {
        let width = (cp.size - n * 256).min(256) as u16;
        let tile = Tile::new(0, n, width).map_err(|source| LogCmdError::Tile {
            path: format!("tile/entries/{n}"),
            source,
        })?;
        for e in client.bundle(tile).await? {
            match MtcLogEntry::decode(&e).map(|d| d.body) {
                Ok(EntryBody::Null) => nulls += 1,
                Ok(EntryBody::TbsCert(_)) => tbs += 1,
                Err(_) => bad += 1,
            }
            range.append(leaf_hash(&e))?;
        }
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

/// Runs `arbor log`. A failed check prints `invalid: ...` and exits with
/// [`EXIT_INVALID`]; `Err` is for usage, transport and I/O problems.
pub async fn run(args: LogArgs) -> Result<(), String> {
    use arbor_tlog::NoteError;
    match run_inner(args).await {
        Ok(()) => Ok(()),
        // A checkpoint that fails the given log key is a failed check, not a usage error.
        Err(
            e @ LogCmdError::Checkpoint(NoteError::BadSignature(_) | NoteError::NoKnownSignature),
        ) => {
            println!("invalid: {e}");
            std::process::exit(EXIT_INVALID);
        }
        Err(e) => Err(e.to_string()),
    }
}

async fn run_inner(args: LogArgs) -> Result<(), LogCmdError> {
    let root = match &args.root {
        Some(p) => Some(std::fs::read(p).map_err(|e| LogCmdError::Io(p.clone(), e))?),
        None => None,
    };
    let client = LogClient::new(
        &args.url,
        root.as_deref(),
        Duration::from_secs(args.timeout),
    )?;
    let (cp, note, verified_by) = fetch_checkpoint(&client, args.log_key.as_deref()).await?;
    let mut reader = TileReader::new(client.clone(), cp.size);
    let outcome: Result<Vec<String>, CheckFailed> = match args.cmd {
        LogCmd::Checkpoint => {
            let mut lines = vec![
                format!("origin: {}", cp.origin),
                format!("size: {}", cp.size),
                format!("root: {}", hex(&cp.root_hash)),
            ];
            for s in &note.signatures {
                lines.push(format!("signature: {} {}", s.name, hex(&s.key_id)));
            }
            lines.push(match verified_by {
                Some(name) => format!("log signature: verified ({name})"),
                None => "log signature: not checked (no --log-key)".to_string(),
            });
            Ok(lines)
        }
        LogCmd::Entry { index } => {
            beyond("entry", index + 1, cp.size)?;
            let entry = fetch_entry(&client, index, cp.size).await?;
            let head = vec![
                format!("entry {index} of {}", cp.size),
                format!("entry: {}", describe_entry(&entry)),
            ];
            prove_inclusion(&mut reader, &cp, index, cp.size, &entry)
                .await?
                .map(|more| head.into_iter().chain(more).collect())
        }
        LogCmd::Inclusion { index, size } => {
            let size = size.unwrap_or(cp.size);
            beyond("size", size, cp.size)?;
            beyond("entry", index + 1, size)?;
            let entry = fetch_entry(&client, index, cp.size).await?;
            prove_inclusion(&mut reader, &cp, index, size, &entry).await?
        }
        LogCmd::Consistency { old, new } => {
            beyond("size", new, cp.size)?;
            beyond("old size", old, new)?;
            let proof = reader.with(|r| consistency_proof(r, old, new)).await?;
            let old_root = reader.with(|r| tree_hash(r, old)).await?;
            let new_root = reader.with(|r| tree_hash(r, new)).await?;
            let mut lines = vec![
                format!("old: size {old} root {}", hex(&old_root)),
                format!("new: size {new} root {}", hex(&new_root)),
                format!("consistency proof ({} hashes):", proof.len()),
            ];
            lines.extend(proof.iter().map(|h| format!("  {}", hex(h))));
            match verify_consistency(old, new, &old_root, &new_root, &proof) {
                Err(e) => Err(CheckFailed(format!(
                    "consistency proof {old} -> {new} does not verify: {e}"
                ))),
                Ok(()) => {
                    lines.push(format!("consistency {old} -> {new}: verified"));
                    tie_to_checkpoint(&mut reader, &cp, new, &new_root, lines).await?
                }
            }
        }
        LogCmd::VerifyAll => verify_all(&client, &mut reader, &cp).await?,
    };
    match outcome {
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
            Ok(())
        }
        Err(e) => {
            println!("invalid: {e}");
            std::process::exit(EXIT_INVALID);
        }
    }
}
