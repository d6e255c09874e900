//! Landmarks (draft-ietf-plants-merkle-tree-certs §6.3, -06/-07 model with
//! expiry): every `landmark_interval` the log records its checkpointed tree
//! size as the next landmark (if the tree grew), with expiry = now +
//! `max_cert_lifetime` (never decreasing). Landmark 0 is `(0, 0, 0)`. Each
//! landmark's two covering subtrees `[size(L-1), size(L))` are signed by the
//! CA cosigner (timestamp 0). The landmark list is kept in `state/landmarks`
//! (`"<number> <size> <expiry>\n"` lines), and the published document is
//! `"<latest>\n"` followed by `"<size> <expiry>\n"` for landmarks latest,
//! latest-1, … down to the first expired one.

use std::sync::Arc;

use arbor_mtc::TrustAnchorId;
use arbor_mtc::formats::{Landmark as MtcLandmark, LandmarkDocument};
use arbor_tlog::{Hash, cover, subtree_inclusion_proof};

use crate::error::LogError;
use crate::log::{IssuanceLog, LogConfig};
use crate::reader::TileReader;
use crate::sequencer::SignedSubtree;
use crate::storage::{LANDMARK_STATE_PATH, LANDMARKS_PATH, LogStorage};

/// One landmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Landmark {
    /// Landmark number L.
    pub number: u64,
    /// Tree size at allocation.
    pub tree_size: u64,
    /// Expiry, POSIX seconds.
    pub expiry: u64,
    /// The (up to two, non-empty) subtrees covering `[size(L-1), size(L))`,
    /// signed by the CA cosigner.
    pub subtrees: Vec<SignedSubtree>,
}

impl Landmark {
    /// Landmark 0.
    pub fn zero() -> Self {
        Self {
            number: 0,
            tree_size: 0,
            expiry: 0,
            subtrees: Vec::new(),
        }
    }
}

/// Whether an entry is covered by a landmark yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LandmarkStatus {
    /// No landmark covers the index yet.
    NotYet,
    /// The covering landmark has expired (no landmark-relative certificate).
    Expired { number: u64 },
    /// Covered: what a landmark-relative certificate needs.
    Covered(LandmarkProof),
}

/// The landmark subtree containing an entry, and the entry's inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LandmarkProof {
    /// Landmark number L.
    pub number: u64,
    /// `caID.1.N.L`, the certificate's TLS trust anchor ID.
    pub trust_anchor_id: TrustAnchorId,
    /// The landmark subtree holding the entry.
    pub subtree: SignedSubtree,
    /// Inclusion proof of the entry in `subtree`.
    pub inclusion_proof: Vec<Hash>,
}

/// Renders the landmark document (`arbor_mtc::formats::LandmarkDocument`):
/// landmarks newest first, down to and including the first expired one.
pub fn document(landmarks: &[Landmark], now_secs: u64) -> String {
    let mut doc = LandmarkDocument {
        landmarks: Vec::new(),
    };
    for l in landmarks.iter().rev() {
        doc.landmarks.push(MtcLandmark {
            number: l.number,
            tree_size: l.tree_size,
            expiry: l.expiry,
        });
        if l.expiry < now_secs {
            break;
        }
    }
    doc.encode()
}

/// Persists the landmark list, then the published document.
pub(crate) fn store(
    storage: &dyn LogStorage,
    landmarks: &[Landmark],
    now_secs: u64,
) -> Result<(), LogError> {
    store_state(storage, landmarks)?;
    store_document(storage, landmarks, now_secs)
}

/// Persists the landmark list (the durable record; written first).
fn store_state(storage: &dyn LogStorage, landmarks: &[Landmark]) -> Result<(), LogError> {
    let state: String = landmarks
        .iter()
        .map(|l| format!("{} {} {}\n", l.number, l.tree_size, l.expiry))
        .collect();
    storage.put_mutable(LANDMARK_STATE_PATH, state.as_bytes())?;
    Ok(())
}

/// Publishes the landmark document (derived from the list).
pub(crate) fn store_document(
    storage: &dyn LogStorage,
    landmarks: &[Landmark],
    now_secs: u64,
) -> Result<(), LogError> {
    storage.put_mutable(LANDMARKS_PATH, document(landmarks, now_secs).as_bytes())?;
    Ok(())
}

/// Loads the landmark list (without subtrees) and checks its invariants.
pub(crate) fn load(storage: &dyn LogStorage) -> Result<Vec<Landmark>, LogError> {
    let bad = |m: &str| LogError::Inconsistent(format!("landmark state: {m}"));
    let data = storage
        .get(LANDMARK_STATE_PATH)?
        .ok_or_else(|| bad("missing"))?;
    let text = std::str::from_utf8(&data).map_err(|_| bad("not UTF-8"))?;
    let mut out: Vec<Landmark> = Vec::new();
    for line in text.lines() {
        let f: Vec<u64> = line
            .split(' ')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|_| bad("malformed line"))?;
        let [number, tree_size, expiry] = f[..] else {
            return Err(bad("malformed line"));
        };
        let ok = match out.last() {
            None => number == 0 && tree_size == 0 && expiry == 0,
            Some(p) => number == p.number + 1 && tree_size > p.tree_size && expiry >= p.expiry,
        };
        if !ok {
            return Err(bad("sequence broken"));
        }
        out.push(Landmark {
            number,
            tree_size,
            expiry,
            subtrees: Vec::new(),
        });
    }
    if out.is_empty() {
        return Err(bad("empty"));
    }
    Ok(out)
}

/// When the next landmark is due (ms): one interval after the last allocation.
pub(crate) fn next_due(landmarks: &[Landmark], config: &LogConfig, now_ms: u64) -> u64 {
    let interval = config.landmark_interval.as_millis() as u64;
    match landmarks.last() {
        Some(l) if l.number > 0 => {
            let allocated = l
                .expiry
                .saturating_sub(config.max_cert_lifetime.as_secs())
                .saturating_mul(1000);
            allocated.saturating_add(interval)
        }
        _ => now_ms.saturating_add(interval),
    }
}

impl IssuanceLog {
    fn sign_landmark(
        &self,
        reader: &TileReader<'_>,
        prev: u64,
        lm: &mut Landmark,
    ) -> Result<(), LogError> {
        lm.subtrees.clear();
        for (s, e) in cover(prev, lm.tree_size) {
            if s < e {
                lm.subtrees.push(self.sign_subtree(reader, s, e)?);
            }
        }
        Ok(())
    }

    pub(crate) async fn install_landmarks(
        self: &Arc<Self>,
        mut lms: Vec<Landmark>,
    ) -> Result<(), LogError> {
        let size = self.checkpoint().checkpoint.size;
        if lms.last().is_some_and(|l| l.tree_size > size) {
            return Err(LogError::Inconsistent(
                "a landmark is beyond the checkpoint".into(),
            ));
        }
        let log = self.clone();
        let lms = tokio::task::spawn_blocking(move || -> Result<Vec<Landmark>, LogError> {
            let reader = TileReader::new(log.storage.as_ref(), size);
            let mut prev = 0;
            for lm in lms.iter_mut() {
                log.sign_landmark(&reader, prev, lm)?;
                prev = lm.tree_size;
            }
            Ok(lms)
        })
        .await??;
        let lms = Arc::new(lms);
        *self.landmarks.write().unwrap_or_else(|p| p.into_inner()) = lms.clone();
        // The published document is derived data: bring it up to date with
        // the durable list (a previous publish may have failed).
        let (storage, now) = (self.storage.clone(), self.clock.now_secs());
        tokio::task::spawn_blocking(move || -> Result<(), LogError> {
            let want = document(&lms, now);
            if storage.get(LANDMARKS_PATH)?.as_deref() != Some(want.as_bytes()) {
                store_document(storage.as_ref(), &lms, now)?;
            }
            Ok(())
        })
        .await??;
        Ok(())
    }

    /// All landmarks, oldest first (landmark 0 included).
    pub fn landmarks(&self) -> Arc<Vec<Landmark>> {
        self.landmarks
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The subtrees of every landmark allocated so far, as a relying party current to
    /// the newest landmark trusts them (draft §8.4).
    pub fn trusted_subtrees(&self) -> arbor_mtc::TrustedSubtrees {
        let log = self.config.log_number;
        arbor_mtc::TrustedSubtrees(
            self.landmarks()
                .iter()
                .flat_map(|l| l.subtrees.iter())
                .map(|s| arbor_mtc::TrustedSubtree {
                    log,
                    start: s.start,
                    end: s.end,
                    hash: s.hash,
                })
                .collect(),
        )
    }

    /// The landmark document as published.
    pub fn landmark_document(&self) -> String {
        document(&self.landmarks(), self.clock.now_secs())
    }

    /// Allocates a landmark if one is due by the clock and the tree grew.
    /// Returns the new landmark number, if any.
    pub async fn tick_landmarks(self: &Arc<Self>) -> Result<Option<u64>, LogError> {
        self.allocate_landmark(false).await
    }

    /// Allocates a landmark now if the tree grew since the last one, whatever the
    /// landmark clock says (an operator's or a test's "mint it now"); the next one is
    /// then due a full interval later. Returns the new landmark number, if any.
    pub async fn allocate_landmark_now(self: &Arc<Self>) -> Result<Option<u64>, LogError> {
        self.allocate_landmark(true).await
    }

    async fn allocate_landmark(self: &Arc<Self>, force: bool) -> Result<Option<u64>, LogError> {
        let mut w = self.writer.lock().await;
        let now_ms = self.clock.now_millis();
        if (!force && now_ms < w.next_landmark_due) || self.is_stopped() {
            return Ok(None);
        }
        let size = w.tree.size();
        let current = self.landmarks();
        let Some(last) = current.last() else {
            return Err(LogError::Inconsistent("no landmark 0".into()));
        };
        if size <= last.tree_size {
            w.next_landmark_due = now_ms + self.config.landmark_interval.as_millis() as u64;
            return Ok(None);
        }
        let now = now_ms / 1000;
        let mut lm = Landmark {
            number: last.number + 1,
            tree_size: size,
            expiry: (now + self.config.max_cert_lifetime.as_secs()).max(last.expiry),
            subtrees: Vec::new(),
        };
        let prev = last.tree_size;
        let log = self.clone();
        let all = tokio::task::spawn_blocking(move || -> Result<Vec<Landmark>, LogError> {
            let reader = TileReader::new(log.storage.as_ref(), size);
            log.sign_landmark(&reader, prev, &mut lm)?;
            let mut all = (*log.landmarks()).clone();
            all.push(lm);
            // Once the list is durable the landmark exists, even if
            // publishing the document fails (it is re-rendered later).
            store_state(log.storage.as_ref(), &all)?;
            Ok(all)
        })
        .await??;
        let number = all.last().map(|l| l.number);
        let all = Arc::new(all);
        *self.landmarks.write().unwrap_or_else(|p| p.into_inner()) = all.clone();
        w.next_landmark_due = now_ms + self.config.landmark_interval.as_millis() as u64;
        let storage = self.storage.clone();
        tokio::task::spawn_blocking(move || store_document(storage.as_ref(), &all, now)).await??;
        Ok(number)
    }

    /// The landmark covering entry `index` (the lowest-numbered one whose
    /// size exceeds it) and the entry's inclusion proof in its subtree.
    pub async fn landmark_for(self: &Arc<Self>, index: u64) -> Result<LandmarkStatus, LogError> {
        let lms = self.landmarks();
        let Some(lm) = lms.iter().find(|l| l.tree_size > index) else {
            return Ok(LandmarkStatus::NotYet);
        };
        if lm.expiry < self.clock.now_secs() {
            return Ok(LandmarkStatus::Expired { number: lm.number });
        }
        let subtree = lm
            .subtrees
            .iter()
            .find(|s| s.start <= index && index < s.end)
            .cloned()
            .ok_or_else(|| LogError::Inconsistent("landmark subtrees do not cover".into()))?;
        let size = self.checkpoint().checkpoint.size;
        let log = self.clone();
        let (s, e) = (subtree.start, subtree.end);
        let proof = tokio::task::spawn_blocking(move || {
            subtree_inclusion_proof(&TileReader::new(log.storage.as_ref(), size), s, e, index)
        })
        .await??;
        Ok(LandmarkStatus::Covered(LandmarkProof {
            number: lm.number,
            trust_anchor_id: self
                .config
                .ca_id
                .landmark_id(self.config.log_number, lm.number)?,
            subtree,
            inclusion_proof: proof,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lm(number: u64, tree_size: u64, expiry: u64) -> Landmark {
        Landmark {
            number,
            tree_size,
            expiry,
            subtrees: Vec::new(),
        }
    }

    #[test]
    fn document_matches_mtcs_vector() {
        let l = [
            lm(0, 0, 0),
            lm(1, 42, 1_700_000_000),
            lm(2, 1024, 1_790_000_000),
            lm(3, 2122, 1_799_999_999),
        ];
        assert_eq!(
            document(&l, 1_750_000_000),
            "3\n2122 1799999999\n1024 1790000000\n42 1700000000\n"
        );
        let doc = document(&l, 1_600_000_000);
        let parsed = LandmarkDocument::parse(&doc).unwrap();
        assert!(parsed.reaches_expired(1_600_000_000));
        assert_eq!(
            doc,
            "3\n2122 1799999999\n1024 1790000000\n42 1700000000\n0 0\n"
        );
    }
}
