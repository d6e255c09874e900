//! `arbor log`: a monitor's view of one MTC issuance log over its c2sp.org/tlog-tiles
//! HTTP interface (`<prefix>/checkpoint`, `tile/<L>/<N>`, `tile/entries/<N>`). Fetches
//! and optionally verifies the signed checkpoint (c2sp.org/tlog-checkpoint, Ed25519 log
//! key), prints decoded entries (draft-ietf-plants-merkle-tree-certs §5.3 MTCLogEntry),
//! builds and verifies RFC 9162 §2.1.3 inclusion and §2.1.4 consistency proofs from
//! fetched tiles, and walks the whole log recomputing the root (`verify-all`).
//!
//! `landmarks` turns the landmark document (draft §6.4.3) into trusted-subtree lines
//! for `arbor verify`, hashing each landmark subtree from tiles. Tile fetching and the
//! tile-backed `HashReader` live in [`tiles`].
//!
//! Deviation: plain `http://` URLs are allowed (tiles are checked against the
//! checkpoint, so the transport adds no integrity).
mod checkpoint;
mod landmarks;
mod monitor;
mod tiles;

pub use landmarks::trusted_from_log;

use std::path::PathBuf;
use std::time::Duration;

use arbor_mtc::formats::EntryBody;
use arbor_mtc::{CaCertificate, MtcLogEntry};
use arbor_tlog::checkpoint::Checkpoint;
use arbor_tlog::tile::Tile;
use arbor_tlog::{
    Hash, consistency_proof, inclusion_proof, leaf_hash, tree_hash, verify_consistency,
    verify_inclusion,
};
use thiserror::Error;

pub use tiles::{LogClient, LogCmdError, TileReader};

use crate::cmd_verify::{EXIT_INVALID, parse_time};

/// Inspect and monitor an MTC issuance log over HTTP(S).
#[derive(clap::Args, Debug)]
pub struct LogArgs {
    /// Log prefix URL, e.g. https://127.0.0.1:14000/mtc/1
    #[arg(long)]
    pub url: String,
    /// Extra trust root (PEM) for HTTPS, e.g. the test CA of `arbor serve`.
    #[arg(long, value_name = "PEM")]
    pub root: Option<PathBuf>,
    /// The MTC CA certificate (`/mtc/ca.der`, DER or PEM); when given, the checkpoint
    /// must carry the CA cosigner's valid `subtree/v1` cosignature.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
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
    /// Fetch every entry bundle and hash tile; check every tile hash against the
    /// entries and the root against the checkpoint (a monitor's full check).
    VerifyAll,
    /// Fetch the landmark document and compute each active landmark subtree's hash
    /// from tiles; prints `LOG START END HEXHASH` lines for `arbor verify
    /// --trusted-subtrees`.
    Landmarks {
        /// Also list subtrees of expired landmarks.
        #[arg(long)]
        all: bool,
        /// Time for the expiry check (RFC 3339 or Unix seconds); default now.
        #[arg(long)]
        now: Option<String>,
        /// Log number, when the checkpoint origin is not `oid/1.3.6.1.4.1.<caID>.0.<N>`.
        #[arg(long)]
        log: Option<u16>,
    },
}

/// A check that ran and failed: printed as `invalid: ...`, exit 1.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct CheckFailed(String);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

fn entry_exists(index: u64, size: u64) -> Result<(), LogCmdError> {
    if index >= size {
        return Err(LogCmdError::NoSuchEntry { index, size });
    }
    Ok(())
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

/// Runs `arbor log`: `Ok` carries the exit status (0 passed, [`EXIT_INVALID`] a failed
/// check, after printing `invalid: ...`); `Err` is for usage, transport and I/O problems.
pub async fn run_code(args: LogArgs) -> Result<u8, String> {
    use arbor_tlog::NoteError;
    match run_inner(args).await {
        Ok(code) => Ok(code),
        // A checkpoint that fails a given key is a failed check, not a usage error.
        Err(
            e @ (LogCmdError::Checkpoint(NoteError::BadSignature(_) | NoteError::NoKnownSignature)
            | LogCmdError::Unsigned { .. }),
        ) => {
            println!("invalid: {e}");
            Ok(EXIT_INVALID)
        }
        Err(e) => Err(e.to_string()),
    }
}

async fn run_inner(args: LogArgs) -> Result<u8, LogCmdError> {
    let root = match &args.root {
        Some(p) => Some(std::fs::read(p).map_err(|e| LogCmdError::Io(p.clone(), e))?),
        None => None,
    };
    let client = LogClient::new(
        &args.url,
        root.as_deref(),
        Duration::from_secs(args.timeout),
    )?;
    let ca = match &args.ca {
        Some(p) => {
            let der = crate::cmd_verify::der_from_file(p).map_err(LogCmdError::Usage)?;
            Some(CaCertificate::from_der(&der).map_err(|e| {
                LogCmdError::Usage(format!("{}: not an MTC CA certificate: {e}", p.display()))
            })?)
        }
        None => None,
    };
    let fetched = checkpoint::fetch(&client, args.log_key.as_deref(), ca.as_ref()).await?;
    let (cp, note) = (fetched.checkpoint, fetched.note);
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
            lines.extend(fetched.checks);
            Ok(lines)
        }
        LogCmd::Entry { index } => {
            entry_exists(index, cp.size)?;
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
            entry_exists(index, size)?;
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
        LogCmd::VerifyAll => monitor::verify_all(&client, &mut reader, &cp).await?,
        LogCmd::Landmarks { all, now, log } => {
            let now = match now {
                Some(t) => parse_time(&t).map_err(LogCmdError::Usage)?,
                None => crate::cmd_verify::now_unix().map_err(LogCmdError::Usage)?,
            };
            landmarks::landmark_subtrees(&client, &mut reader, &cp, all, now, log)
                .await?
                .map(|(_, found)| found.iter().map(landmarks::LandmarkHash::line).collect())
        }
    };
    match outcome {
        Ok(lines) => {
            for l in lines {
                println!("{l}");
            }
            Ok(0)
        }
        Err(e) => {
            println!("invalid: {e}");
            Ok(EXIT_INVALID)
        }
    }
}
