//! Landmark subtrees from a live log (draft-ietf-plants-merkle-tree-certs §6.4.3
//! landmark document, §6.4.4 landmark subtrees, §8.4 trusted subtrees): fetches
//! `<prefix>/landmarks`, hashes each wanted landmark subtree from tiles and proves it
//! consistent with the checkpoint (§4.4 subtree consistency), so the hashes are only as
//! trusted as the checkpoint's signatures.
use std::path::Path;
use std::time::Duration;

use arbor_mtc::formats::{LandmarkDocument, NOTE_NAME_PREFIX};
use arbor_mtc::{CaCertificate, TrustAnchorId, TrustedSubtree, TrustedSubtrees};
use arbor_tlog::checkpoint::Checkpoint;
use arbor_tlog::{subtree_consistency_proof, subtree_hash, verify_subtree_consistency};

use super::tiles::{LogClient, LogCmdError, TileReader};
use super::{CheckFailed, hex};

/// A landmark subtree with its hash, proven against the checkpoint.
pub struct LandmarkHash {
    pub landmark: u64,
    pub expiry: u64,
    pub subtree: TrustedSubtree,
}

impl LandmarkHash {
    /// `LOG START END HEXHASH  # landmark L, expires E` (a `--trusted-subtrees` line).
    pub fn line(&self) -> String {
        let t = &self.subtree;
        format!(
            "{} {} {} {}  # landmark {}, expires {}",
            t.log,
            t.start,
            t.end,
            hex(&t.hash),
            self.landmark,
            self.expiry
        )
    }
}

/// The log number `N` of an origin `oid/1.3.6.1.4.1.<caID>.0.<N>` (draft §5.3.1).
fn log_number(origin: &str) -> Option<u16> {
    let id: TrustAnchorId = origin.strip_prefix(NOTE_NAME_PREFIX)?.parse().ok()?;
    match id.components().as_slice() {
        [.., 0, n] => u16::try_from(*n).ok(),
        _ => None,
    }
}

/// The subtrees of landmarks active at `now` (all listed ones with `all`).
pub async fn landmark_subtrees(
    client: &LogClient,
    reader: &mut TileReader,
    cp: &Checkpoint,
    all: bool,
    now: i64,
    log: Option<u16>,
) -> Result<Result<(LandmarkDocument, Vec<LandmarkHash>), CheckFailed>, LogCmdError> {
    let Some(log) = log.or_else(|| log_number(&cp.origin)) else {
        return Err(LogCmdError::Origin(cp.origin.clone()));
    };
    let text = client.get("landmarks").await?;
    let doc = match std::str::from_utf8(&text).map(LandmarkDocument::parse) {
        Ok(Ok(doc)) => doc,
        Ok(Err(e)) => return Ok(Err(CheckFailed(format!("landmark document: {e}")))),
        Err(_) => return Ok(Err(CheckFailed("landmark document is not UTF-8".into()))),
    };
    if let Some(l) = doc.landmarks.iter().find(|l| l.tree_size > cp.size) {
        return Ok(Err(CheckFailed(format!(
            "landmark {} has tree size {}, beyond the checkpoint's {}",
            l.number, l.tree_size, cp.size
        ))));
    }
    let now = u64::try_from(now).unwrap_or(0);
    let mut out = Vec::new();
    for s in doc.subtrees() {
        let Some(l) = doc.landmarks.iter().find(|l| l.number == s.landmark) else {
            continue;
        };
        if !all && now > l.expiry {
            continue;
        }
        let hash = reader.with(|r| subtree_hash(r, s.start, s.end)).await?;
        let proof = reader
            .with(|r| subtree_consistency_proof(r, s.start, s.end, cp.size))
            .await?;
        if let Err(e) =
            verify_subtree_consistency(s.start, s.end, cp.size, &hash, &cp.root_hash, &proof)
        {
            return Ok(Err(CheckFailed(format!(
                "landmark {} subtree [{}, {}) is not consistent with the checkpoint: {e}",
                s.landmark, s.start, s.end
            ))));
        }
        out.push(LandmarkHash {
            landmark: s.landmark,
            expiry: l.expiry,
            subtree: TrustedSubtree {
                log,
                start: s.start,
                end: s.end,
                hash,
            },
        });
    }
    Ok(Ok((doc, out)))
}

/// For `arbor verify --log-url`: the active landmark subtrees of the log at `url`, whose
/// checkpoint must carry `ca`'s cosignature, plus the landmark document.
pub async fn trusted_from_log(
    url: &str,
    root: Option<&Path>,
    ca: &CaCertificate,
    now: i64,
    timeout: Duration,
) -> Result<(TrustedSubtrees, LandmarkDocument), String> {
    let root = match root {
        Some(p) => Some(std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?),
        None => None,
    };
    let client = LogClient::new(url, root.as_deref(), timeout).map_err(|e| e.to_string())?;
    let fetched = super::checkpoint::fetch(&client, None, Some(ca))
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let cp = fetched.checkpoint;
    let mut reader = TileReader::new(client.clone(), cp.size);
    match landmark_subtrees(&client, &mut reader, &cp, false, now, None).await {
        Ok(Ok((doc, found))) => Ok((
            TrustedSubtrees(found.into_iter().map(|f| f.subtree).collect()),
            doc,
        )),
        Ok(Err(e)) => Err(format!("{url}: {e}")),
        Err(e) => Err(format!("{url}: {e}")),
    }
}
