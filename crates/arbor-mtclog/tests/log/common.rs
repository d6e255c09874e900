use std::sync::Arc;
use std::time::Duration;

use arbor_mtc::TrustAnchorId;
use arbor_mtclog::storage::fault::{FaultLock, FaultPlan, FaultStorage, MemLock, MemStorage};
use arbor_mtclog::{
    Clock, Ed25519MessageSigner, IssuanceLog, LockBackend, LogConfig, LogKeys, LogStorage,
    ManualClock, Sequenced,
};
use arbor_tlog::checkpoint::Checkpoint;
use arbor_tlog::cosignature::{MessageVerifier, SubtreeV1NoteVerifier, subtree_v1_message};
use arbor_tlog::keys::{Ed25519Signer, Ed25519Verifier, NoteVerifier};
use arbor_tlog::{leaf_hash, verify_subtree_inclusion};

pub const T0_MS: u64 = 1_780_000_000_000;

pub fn ca_id() -> TrustAnchorId {
    TrustAnchorId::from_components(&[32473, 1]).unwrap()
}

pub fn config() -> LogConfig {
    let mut c = LogConfig::new(ca_id(), 1);
    // Rounds are driven by hand unless a test shortens this.
    c.sequence_interval = Duration::from_secs(3600);
    c
}

pub fn ca_signer() -> Arc<Ed25519MessageSigner> {
    Arc::new(Ed25519MessageSigner::from_seed(&[2; 32]).unwrap())
}

pub fn keys(cfg: &LogConfig) -> LogKeys {
    LogKeys {
        log_key: Arc::new(Ed25519Signer::from_seed(&cfg.origin().unwrap(), &[1; 32]).unwrap()),
        ca_cosigner: ca_signer(),
    }
}

pub fn log_verifier(cfg: &LogConfig) -> Ed25519Verifier {
    keys(cfg).log_key.verifier_key().ed25519_verifier().unwrap()
}

/// Backends shared across restarts; `plan` injects faults into the wrappers.
#[derive(Clone)]
pub struct Env {
    pub mem: MemStorage,
    pub mem_lock: MemLock,
    pub plan: FaultPlan,
    pub clock: Arc<ManualClock>,
}

impl Env {
    pub fn new() -> Self {
        Self {
            mem: MemStorage::new(),
            mem_lock: MemLock::new(),
            plan: FaultPlan::new(),
            clock: Arc::new(ManualClock::new(T0_MS)),
        }
    }

    pub fn storage(&self) -> Arc<dyn LogStorage> {
        Arc::new(FaultStorage::new(
            Arc::new(self.mem.clone()),
            self.plan.clone(),
        ))
    }

    pub fn lock(&self) -> Arc<dyn LockBackend> {
        Arc::new(FaultLock::new(
            Arc::new(self.mem_lock.clone()),
            self.plan.clone(),
        ))
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    pub async fn create(&self, cfg: &LogConfig) -> Arc<IssuanceLog> {
        IssuanceLog::create(
            cfg.clone(),
            keys(cfg),
            self.storage(),
            self.lock(),
            self.clock(),
        )
        .await
        .unwrap()
    }

    pub async fn open(&self, cfg: &LogConfig) -> Result<Arc<IssuanceLog>, arbor_mtclog::LogError> {
        IssuanceLog::open(
            cfg.clone(),
            keys(cfg),
            self.storage(),
            self.lock(),
            self.clock(),
        )
        .await
    }

    /// Sunlight's CheckLog over the raw backends.
    pub fn check(&self, cfg: &LogConfig, prev: Option<&Checkpoint>) -> (Checkpoint, Vec<Vec<u8>>) {
        arbor_mtclog::check_log(&self.mem, &self.mem_lock, &log_verifier(cfg), prev).unwrap()
    }
}

/// Submits `entries` from separate tasks, waits until they are pooled, runs one
/// round, and returns each task's result (in entry order).
pub async fn submit_round(
    log: &Arc<IssuanceLog>,
    entries: Vec<Vec<u8>>,
) -> Vec<Result<Sequenced, arbor_mtclog::LogError>> {
    let n = entries.len();
    let before = log.pending_len();
    let handles: Vec<_> = entries
        .into_iter()
        .map(|e| {
            let log = log.clone();
            tokio::spawn(async move { log.submit(e).await })
        })
        .collect();
    while log.pending_len() < before + n {
        tokio::task::yield_now().await;
    }
    let _ = log.run_round().await;
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

pub fn entries(tag: &str, n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("{tag}-{i}").into_bytes()).collect()
}

/// Checks one answer: the entry proves into its subtree, the subtree is signed
/// by the CA cosigner (timestamp 0), and the checkpoint note verifies under the
/// log key and the CA's subtree/v1 cosignature.
pub fn check_answer(cfg: &LogConfig, entry: &[u8], s: &Sequenced) {
    let st = &s.subtree;
    verify_subtree_inclusion(
        st.start,
        st.end,
        s.index,
        &leaf_hash(entry),
        &s.inclusion_proof,
        &st.hash,
    )
    .unwrap();
    let ca = ca_signer().verifier();
    let origin = cfg.origin().unwrap();
    let msg =
        subtree_v1_message(&ca_id().note_name(), 0, &origin, st.start, st.end, &st.hash).unwrap();
    assert_eq!(st.signatures[0].cosigner_id, ca_id());
    assert!(ca.verify_message(&msg, &st.signatures[0].signature));
    let ca_note = SubtreeV1NoteVerifier::new(&ca_id().note_name(), ca).unwrap();
    let lv = log_verifier(cfg);
    let (cp, note) = arbor_tlog::checkpoint::open_checkpoint(
        &s.checkpoint.note,
        &[&lv as &dyn NoteVerifier, &ca_note],
    )
    .unwrap();
    assert_eq!(
        note.verify(&[&ca_note as &dyn NoteVerifier]).unwrap().len(),
        1
    );
    assert!(s.index < cp.size && st.end <= cp.size);
}
