//! An MTC issuance log (draft-ietf-plants-merkle-tree-certs §5, served per
//! c2sp.org/mtc-tlog): configuration, creation, and start-up. Start-up follows
//! Sunlight (security checklist B.3): the lock checkpoint is the truth; a
//! public checkpoint that is newer, or the same size with another root, is a
//! fork and the log refuses to run; an older one is brought forward only by
//! re-applying the staging bundle of the locked round (the same
//! [`crate::staging::apply`] normal operation uses); finally the right-edge
//! tiles must reproduce the locked root. Nothing is silently repaired.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use arbor_mtc::TrustAnchorId;
use arbor_tlog::checkpoint::{Checkpoint, open_checkpoint, sign_checkpoint};
use arbor_tlog::cosignature::SubtreeV1NoteSigner;
use arbor_tlog::keys::{Ed25519Verifier, NoteSigner};
use arbor_tlog::{Hash, empty_root};

use crate::clock::Clock;
use crate::error::{LogError, StorageError};
use crate::landmark::{self, Landmark};
use crate::sequencer::{Pending, Writer};
use crate::signer::{LogKeys, SharedSigner, WitnessEndpoint};
use crate::staging::{self, Staging};
use crate::storage::{CHECKPOINT_PATH, LockBackend, LogStorage, staging_path};
use crate::tree::TreeState;

/// Default pooling interval of the sequencer.
pub const DEFAULT_SEQUENCE_INTERVAL: Duration = Duration::from_millis(100);
/// Default time between landmarks (draft §6.3.1 example: one hour).
pub const DEFAULT_LANDMARK_INTERVAL: Duration = Duration::from_secs(3600);
/// Default maximum certificate lifetime, which sets landmark expiry (7 days).
pub const DEFAULT_MAX_CERT_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// Time limit of each witness request.
pub const WITNESS_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on entries per round.
pub const DEFAULT_MAX_BATCH: usize = 1 << 17;

/// Per-log settings.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The CA ID (a trust anchor ID).
    pub ca_id: TrustAnchorId,
    /// Log number N (1..=65535); the log ID is `caID.0.N`.
    pub log_number: u16,
    /// How long submissions are pooled before a round.
    pub sequence_interval: Duration,
    /// Time between landmark allocations.
    pub landmark_interval: Duration,
    /// Landmark expiry = allocation time + this.
    pub max_cert_lifetime: Duration,
    /// Most entries sequenced in one round.
    pub max_batch: usize,
    /// External cosigners asked after every round.
    pub witnesses: Vec<WitnessEndpoint>,
}

impl LogConfig {
    /// Defaults for log `log_number` of CA `ca_id`.
    pub fn new(ca_id: TrustAnchorId, log_number: u16) -> Self {
        Self {
            ca_id,
            log_number,
            sequence_interval: DEFAULT_SEQUENCE_INTERVAL,
            landmark_interval: DEFAULT_LANDMARK_INTERVAL,
            max_cert_lifetime: DEFAULT_MAX_CERT_LIFETIME,
            max_batch: DEFAULT_MAX_BATCH,
            witnesses: Vec::new(),
        }
    }

    /// The log origin `oid/1.3.6.1.4.1.<caID>.0.<N>`.
    pub fn origin(&self) -> Result<String, LogError> {
        Ok(self.ca_id.log_id(self.log_number)?.note_name())
    }
}

/// A signed checkpoint as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedCheckpoint {
    /// The note bytes (log signature, CA cosignature, witness cosignatures).
    pub note: Vec<u8>,
    /// The parsed body.
    pub checkpoint: Checkpoint,
}

/// The log service. Create with [`IssuanceLog::create`], run with
/// [`IssuanceLog::open`].
pub struct IssuanceLog {
    pub(crate) config: LogConfig,
    pub(crate) origin: String,
    pub(crate) ca_name: String,
    pub(crate) keys: LogKeys,
    pub(crate) storage: Arc<dyn LogStorage>,
    pub(crate) lock: Arc<dyn LockBackend>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) pending: Mutex<Vec<Pending>>,
    pub(crate) writer: tokio::sync::Mutex<Writer>,
    pub(crate) stopped: AtomicBool,
    pub(crate) current: RwLock<Arc<PublishedCheckpoint>>,
    pub(crate) landmarks: RwLock<Arc<Vec<Landmark>>>,
    pub(crate) http: reqwest::Client,
}

fn log_verifier(keys: &LogKeys) -> Result<Ed25519Verifier, LogError> {
    Ok(keys.log_key.verifier_key().ed25519_verifier()?)
}

/// Signs a checkpoint with the log key and the CA cosigner at `timestamp`.
pub(crate) fn sign_note(
    keys: &LogKeys,
    ca_name: &str,
    cp: &Checkpoint,
    timestamp: u64,
) -> Result<Vec<u8>, LogError> {
    let ca = SubtreeV1NoteSigner::new(ca_name, SharedSigner(keys.ca_cosigner.clone()), timestamp)?;
    let signers: [&dyn NoteSigner; 2] = [keys.log_key.as_ref(), &ca];
    Ok(sign_checkpoint(cp, &signers)?)
}

fn inconsistent(msg: impl Into<String>) -> LogError {
    LogError::Inconsistent(msg.into())
}

impl IssuanceLog {
    /// Creates an empty log: refuses if the lock or the storage already hold
    /// a checkpoint; writes the size-0 checkpoint to the lock, then publishes
    /// it and landmark 0.
    pub async fn create(
        config: LogConfig,
        keys: LogKeys,
        storage: Arc<dyn LogStorage>,
        lock: Arc<dyn LockBackend>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, LogError> {
        let origin = config.origin()?;
        if keys.log_key.name() != origin {
            return Err(inconsistent("log key name is not the log origin"));
        }
        let ca_name = config.ca_id.note_name();
        let (s, l, k, c) = (storage.clone(), lock.clone(), keys.clone(), clock.clone());
        tokio::task::spawn_blocking(move || -> Result<(), LogError> {
            if l.load()?.is_some() || s.get(CHECKPOINT_PATH)?.is_some() {
                return Err(LogError::AlreadyExists);
            }
            let cp = Checkpoint::new(&origin, 0, empty_root());
            let note = sign_note(&k, &ca_name, &cp, c.now_secs())?;
            l.create(&note).map_err(|e| match e {
                StorageError::LockExists => LogError::AlreadyExists,
                e => e.into(),
            })?;
            s.put_mutable(CHECKPOINT_PATH, &note)?;
            landmark::store(s.as_ref(), &[Landmark::zero()], 0)?;
            Ok(())
        })
        .await??;
        Self::open(config, keys, storage, lock, clock).await
    }

    /// Opens an existing log after checking (and if needed recovering) its
    /// state, and starts its sequencer task.
    pub async fn open(
        config: LogConfig,
        keys: LogKeys,
        storage: Arc<dyn LogStorage>,
        lock: Arc<dyn LockBackend>,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, LogError> {
        let origin = config.origin()?;
        let ca_name = config.ca_id.note_name();
        let (s, l, k) = (storage.clone(), lock.clone(), keys.clone());
        let o = origin.clone();
        let (lock_bytes, cp, tree) =
            tokio::task::spawn_blocking(move || startup(s.as_ref(), l.as_ref(), &k, &o)).await??;
        let s = storage.clone();
        let lms = tokio::task::spawn_blocking(move || landmark::load(s.as_ref())).await??;
        let next_due = landmark::next_due(&lms, &config, clock.now_millis());
        let log = Arc::new(Self {
            origin,
            ca_name,
            keys,
            storage,
            lock,
            pending: Mutex::new(Vec::new()),
            writer: tokio::sync::Mutex::new(Writer {
                tree,
                lock_bytes: lock_bytes.clone(),
                witness_sizes: Default::default(),
                next_landmark_due: next_due,
            }),
            stopped: AtomicBool::new(false),
            current: RwLock::new(Arc::new(PublishedCheckpoint {
                note: lock_bytes,
                checkpoint: cp,
            })),
            landmarks: RwLock::new(Arc::new(Vec::new())),
            http: reqwest::Client::builder()
                .timeout(WITNESS_TIMEOUT)
                .build()
                .map_err(|_| LogError::Task)?,
            clock,
            config,
        });
        log.install_landmarks(lms).await?;
        crate::sequencer::spawn_loop(&log);
        Ok(log)
    }

    /// The log clock's time, Unix seconds (landmark expiry and schedule use it).
    pub fn now_secs(&self) -> u64 {
        self.clock.now_secs()
    }

    /// The log configuration.
    pub fn config(&self) -> &LogConfig {
        &self.config
    }

    /// The log origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The object store (tiles, checkpoint, landmarks).
    pub fn storage(&self) -> &Arc<dyn LogStorage> {
        &self.storage
    }

    /// The latest published checkpoint.
    pub fn checkpoint(&self) -> Arc<PublishedCheckpoint> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether the log stopped after a fatal error.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// RFC 9162 inclusion proof of entry `index` in the tree of `tree_size`
    /// (at most the current checkpoint size), read from the published tiles.
    pub async fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash>, LogError> {
        self.read_published(tree_size, move |r| {
            arbor_tlog::inclusion_proof(r, index, tree_size)
        })
        .await
    }

    /// RFC 9162 consistency proof between two published tree sizes.
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LogError> {
        self.read_published(new, move |r| arbor_tlog::consistency_proof(r, old, new))
            .await
    }

    async fn read_published<T: Send + 'static>(
        &self,
        tree_size: u64,
        f: impl FnOnce(&crate::reader::TileReader<'_>) -> Result<T, arbor_tlog::TlogError>
        + Send
        + 'static,
    ) -> Result<T, LogError> {
        let size = self.checkpoint().checkpoint.size;
        if tree_size > size {
            return Err(arbor_tlog::TlogError::OutOfRange {
                index: tree_size,
                size,
            }
            .into());
        }
        let storage = self.storage.clone();
        let out = tokio::task::spawn_blocking(move || {
            f(&crate::reader::TileReader::new(storage.as_ref(), size))
        })
        .await??;
        Ok(out)
    }

    pub(crate) fn set_current(&self, cp: PublishedCheckpoint) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(cp);
    }
}

/// Start-up checks and recovery. Returns the lock note, its checkpoint and the
/// reloaded right edge.
fn startup(
    storage: &dyn LogStorage,
    lock: &dyn LockBackend,
    keys: &LogKeys,
    origin: &str,
) -> Result<(Vec<u8>, Checkpoint, TreeState), LogError> {
    let verifier = log_verifier(keys)?;
    let lock_bytes = lock.load()?.ok_or(LogError::NotCreated)?;
    let (locked, _) = open_checkpoint(&lock_bytes, &[&verifier])
        .map_err(|e| inconsistent(format!("lock checkpoint does not verify: {e}")))?;
    if locked.origin != origin {
        return Err(inconsistent("lock checkpoint has another origin"));
    }
    let public = match storage.get(CHECKPOINT_PATH)? {
        Some(b) => {
            open_checkpoint(&b, &[&verifier])
                .map_err(|e| inconsistent(format!("public checkpoint does not verify: {e}")))?
                .0
        }
        // Creation stores the lock first; finishing it publishes the same
        // size-0 checkpoint (nothing else can be missing at size 0).
        None if locked.size == 0 => {
            storage.put_mutable(CHECKPOINT_PATH, &lock_bytes)?;
            if storage.get(crate::storage::LANDMARK_STATE_PATH)?.is_none() {
                landmark::store(storage, &[Landmark::zero()], 0)?;
            }
            locked.clone()
        }
        None => return Err(inconsistent("no public checkpoint")),
    };
    if public.origin != origin {
        return Err(inconsistent("public checkpoint has another origin"));
    }
    if public.size > locked.size {
        return Err(inconsistent(format!(
            "public checkpoint ({}) is ahead of the lock ({})",
            public.size, locked.size
        )));
    }
    if public.size == locked.size && public.root_hash != locked.root_hash {
        return Err(inconsistent("public and lock checkpoints fork"));
    }
    let stage_path = staging_path(locked.size);
    if public.size < locked.size {
        let data = storage.get(&stage_path)?.ok_or_else(|| {
            inconsistent("public checkpoint behind the lock and no staging bundle")
        })?;
        let st = Staging::decode(&data)?;
        if st.old_size != public.size || st.new_size != locked.size || st.root != locked.root_hash {
            return Err(inconsistent(
                "staging bundle does not match the lock checkpoint",
            ));
        }
        check_staging_root(storage, &st)?;
        staging::apply(storage, &st)?;
        storage.put_mutable(CHECKPOINT_PATH, &lock_bytes)?;
        tracing::warn!(
            origin,
            size = locked.size,
            "recovered a staged sequencing round"
        );
    }
    let tree = TreeState::load(storage, locked.size)?;
    if tree.root() != locked.root_hash {
        return Err(inconsistent("tiles do not reproduce the locked root"));
    }
    storage.delete(&stage_path)?;
    Ok((lock_bytes, locked, tree))
}

/// Verifies that a staging bundle's tiles, over the published tree, give its root.
fn check_staging_root(storage: &dyn LogStorage, st: &Staging) -> Result<(), LogError> {
    let objects = st.objects.iter().cloned().collect();
    let nodes = Default::default();
    let reader = crate::reader::TileReader::new(storage, st.new_size).with_round(&nodes, &objects);
    let root: Hash = arbor_tlog::tree_hash(&reader, st.new_size)?;
    if root != st.root {
        return Err(inconsistent("staging bundle tiles do not give its root"));
    }
    Ok(())
}
