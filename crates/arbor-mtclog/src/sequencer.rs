//! The sequencer (draft-ietf-plants-merkle-tree-certs §5.4 "standalone
//! certificates": one checkpoint job at a time). Submissions are pooled for
//! `sequence_interval`, then one round: compute the new tiles in memory →
//! write them as one staging bundle → sign the checkpoint (log key + CA
//! cosigner) and the covering subtrees → CAS the checkpoint into the lock
//! (failure is fatal) → apply the staging bundle and publish the checkpoint
//! (failure is fatal) → ask witnesses (failure only drops their signatures) →
//! only then answer the submitters. A failure before the CAS leaves the tree
//! where it was and fails only that round.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use arbor_mtc::SubtreeSignature;
use arbor_tlog::checkpoint::Checkpoint;
use arbor_tlog::cosignature::subtree_v1_message;
use arbor_tlog::{Hash, cover, subtree_hash, subtree_inclusion_proof};
use tokio::sync::oneshot;

use crate::error::LogError;
use crate::log::{IssuanceLog, PublishedCheckpoint, sign_note};
use crate::reader::TileReader;
use crate::staging::{self, Staging};
use crate::storage::{CHECKPOINT_PATH, staging_path};
use crate::tree::TreeState;

/// A subtree `[start, end)` with its hash and cosignatures (timestamp 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedSubtree {
    /// First index.
    pub start: u64,
    /// One past the last index.
    pub end: u64,
    /// `MTH(D[start:end])`.
    pub hash: Hash,
    /// CA cosigner signature first, then witnesses (unsorted; MTCProof sorts).
    pub signatures: Vec<SubtreeSignature>,
}

/// The answer to a submission: everything a standalone certificate needs.
#[derive(Debug, Clone)]
pub struct Sequenced {
    /// The entry's index (serial = `(log << 48) | index`).
    pub index: u64,
    /// The checkpoint that first includes the entry.
    pub checkpoint: Arc<PublishedCheckpoint>,
    /// The covering subtree of this round that contains the entry.
    pub subtree: Arc<SignedSubtree>,
    /// Inclusion proof of the entry in `subtree`.
    pub inclusion_proof: Vec<Hash>,
}

pub(crate) struct Pending {
    pub entry: Vec<u8>,
    pub tx: oneshot::Sender<Result<Sequenced, LogError>>,
}

/// State only the sequencing task touches.
pub(crate) struct Writer {
    pub tree: TreeState,
    pub lock_bytes: Vec<u8>,
    pub witness_sizes: HashMap<String, u64>,
    pub next_landmark_due: u64,
}

/// What a round prepared before its checkpoint was committed.
struct Prepared {
    tree: TreeState,
    staging: Staging,
    note: Vec<u8>,
    checkpoint: Checkpoint,
    subtrees: Vec<SignedSubtree>,
    proofs: Vec<Vec<Hash>>,
}

pub(crate) fn spawn_loop(log: &Arc<IssuanceLog>) {
    let weak = Arc::downgrade(log);
    let interval = log.config.sequence_interval;
    tokio::spawn(async move {
        // Fixed cadence: a round starts every `interval` (a slow round delays
        // the next tick instead of bunching them).
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(log) = weak.upgrade() else { break };
            if log.is_stopped() {
                log.fail_pending();
                break;
            }
            if let Err(e) = log.run_round().await {
                tracing::error!(origin = log.origin(), error = %e, "sequencing round failed");
            }
            if let Err(e) = log.tick_landmarks().await {
                tracing::warn!(origin = log.origin(), error = %e, "landmark allocation failed");
            }
        }
    });
}

fn round_err(fatal: bool) -> impl Fn(LogError) -> (LogError, bool) {
    move |e| (e, fatal)
}

impl IssuanceLog {
    /// Queues `entry` (an encoded MTCLogEntry) and waits until it is durably
    /// sequenced in a published checkpoint.
    pub async fn submit(&self, entry: Vec<u8>) -> Result<Sequenced, LogError> {
        if entry.len() > arbor_tlog::bundle::MAX_ENTRY_SIZE {
            return Err(LogError::EntryTooLarge(entry.len()));
        }
        if self.is_stopped() {
            return Err(LogError::Stopped);
        }
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Pending { entry, tx });
        rx.await.map_err(|_| LogError::ShutDown)?
    }

    /// Number of submissions waiting for the next round.
    pub fn pending_len(&self) -> usize {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn fail_pending(&self) {
        let all = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        for p in all {
            let _ = p.tx.send(Err(LogError::Stopped));
        }
    }

    /// Runs one sequencing round now over the pooled submissions; returns how
    /// many were sequenced. The background task calls this every
    /// `sequence_interval`; tests and benchmarks may call it directly.
    pub async fn run_round(self: &Arc<Self>) -> Result<usize, LogError> {
        let mut w = self.writer.lock().await;
        if self.is_stopped() {
            self.fail_pending();
            return Err(LogError::Stopped);
        }
        let batch: Vec<Pending> = {
            let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            let n = p.len().min(self.config.max_batch);
            p.drain(..n).collect()
        };
        if batch.is_empty() {
            return Ok(0);
        }
        let (entries, txs): (Vec<_>, Vec<_>) = batch.into_iter().map(|p| (p.entry, p.tx)).unzip();
        let old_size = w.tree.size();
        match self.sequence(&mut w, entries).await {
            Ok((cp, subtrees, proofs)) => {
                let n = txs.len();
                for (i, (tx, proof)) in txs.into_iter().zip(proofs).enumerate() {
                    let index = old_size + i as u64;
                    let subtree = subtrees
                        .iter()
                        .find(|s| s.start <= index && index < s.end)
                        .cloned()
                        .ok_or(LogError::Task);
                    let _ = tx.send(subtree.map(|subtree| Sequenced {
                        index,
                        checkpoint: cp.clone(),
                        subtree,
                        inclusion_proof: proof,
                    }));
                }
                Ok(n)
            }
            Err((e, fatal)) => {
                if fatal {
                    self.stopped.store(true, Ordering::SeqCst);
                }
                for tx in txs {
                    let _ = tx.send(Err(LogError::RoundFailed { fatal }));
                }
                Err(e)
            }
        }
    }

    #[allow(clippy::type_complexity)]
    async fn sequence(
        self: &Arc<Self>,
        w: &mut Writer,
        entries: Vec<Vec<u8>>,
    ) -> Result<
        (
            Arc<PublishedCheckpoint>,
            Vec<Arc<SignedSubtree>>,
            Vec<Vec<Hash>>,
        ),
        (LogError, bool),
    > {
        // Phase 1: stage and sign. Failures leave the log where it was.
        let t0 = std::time::Instant::now();
        let log = self.clone();
        let tree = w.tree.clone();
        let ts = self.clock.now_secs();
        let prep = tokio::task::spawn_blocking(move || log.prepare(tree, &entries, ts))
            .await
            .map_err(|e| (e.into(), false))?
            .map_err(round_err(false))?;

        let t1 = t0.elapsed();
        // Phase 2: the commit point.
        let (lock, old, new) = (self.lock.clone(), w.lock_bytes.clone(), prep.note.clone());
        tokio::task::spawn_blocking(move || lock.compare_and_swap(&old, &new))
            .await
            .map_err(|e| (e.into(), true))?
            .map_err(|e| (e.into(), true))?;

        // Phase 3: publish, with the function recovery uses. Failure is fatal.
        let (storage, st, note) = (
            self.storage.clone(),
            prep.staging.clone(),
            prep.note.clone(),
        );
        tokio::task::spawn_blocking(move || -> Result<(), LogError> {
            staging::apply(storage.as_ref(), &st)?;
            storage.put_mutable(CHECKPOINT_PATH, &note)?;
            if let Err(e) = storage.delete(&staging_path(st.new_size)) {
                tracing::warn!(error = %e, "could not delete staging bundle");
            }
            Ok(())
        })
        .await
        .map_err(|e| (e.into(), true))?
        .map_err(round_err(true))?;

        let t2 = t0.elapsed();
        tracing::debug!(prepare = ?t1, commit_publish = ?(t2 - t1), "round timing");
        let Prepared {
            tree,
            note,
            checkpoint,
            mut subtrees,
            proofs,
            ..
        } = prep;
        let old_size = w.tree.size();
        w.tree = tree;
        w.lock_bytes = note.clone();
        let mut published = PublishedCheckpoint { note, checkpoint };
        self.set_current(published.clone());

        // Phase 4: witnesses (best effort; their signatures are extra).
        if !self.config.witnesses.is_empty() {
            self.collect_witnesses(w, old_size, &mut published, &mut subtrees)
                .await;
        }
        let cp = Arc::new(published);
        let subtrees = subtrees.into_iter().map(Arc::new).collect();
        Ok((cp, subtrees, proofs))
    }

    /// Hashes `[start, end)` and signs it with the CA cosigner (`subtree/v1`,
    /// timestamp 0, draft §5.4.1): what rounds, landmarks and resumed
    /// issuances put into certificates.
    pub(crate) fn sign_subtree(
        &self,
        reader: &TileReader<'_>,
        start: u64,
        end: u64,
    ) -> Result<SignedSubtree, LogError> {
        let hash = subtree_hash(reader, start, end)?;
        let msg = subtree_v1_message(&self.ca_name, 0, &self.origin, start, end, &hash)?;
        let signature = self.keys.ca_cosigner.sign_message(&msg)?;
        Ok(SignedSubtree {
            start,
            end,
            hash,
            signatures: vec![SubtreeSignature {
                cosigner_id: self.config.ca_id.clone(),
                signature,
            }],
        })
    }

    fn prepare(
        &self,
        mut tree: TreeState,
        entries: &[Vec<u8>],
        ts: u64,
    ) -> Result<Prepared, LogError> {
        let old_size = tree.size();
        let appended = tree.append(entries)?;
        let new_size = tree.size();
        let staging = Staging {
            old_size,
            new_size,
            root: tree.root(),
            objects: appended.objects,
        };
        self.storage
            .put_mutable(&staging_path(new_size), &staging.encode())?;
        let objects: HashMap<String, Vec<u8>> = staging.objects.iter().cloned().collect();
        let reader =
            TileReader::new(self.storage.as_ref(), new_size).with_round(&appended.nodes, &objects);
        let mut subtrees = Vec::new();
        for (s, e) in cover(old_size, new_size) {
            if s < e {
                subtrees.push(self.sign_subtree(&reader, s, e)?);
            }
        }
        let mut proofs = Vec::with_capacity(entries.len());
        for i in old_size..new_size {
            let st = subtrees
                .iter()
                .find(|s| s.start <= i && i < s.end)
                .ok_or(LogError::Task)?;
            proofs.push(subtree_inclusion_proof(&reader, st.start, st.end, i)?);
        }
        let checkpoint = Checkpoint::new(&self.origin, new_size, staging.root);
        let note = sign_note(&self.keys, &self.ca_name, &checkpoint, ts)?;
        Ok(Prepared {
            tree,
            staging,
            note,
            checkpoint,
            subtrees,
            proofs,
        })
    }
}
