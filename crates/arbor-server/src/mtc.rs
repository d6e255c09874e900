//! Mounting the MTC issuance log (draft-ietf-plants-merkle-tree-certs) in `arbor serve`:
//! loads or creates the CA's cosigner key (ML-DSA-44, what c2sp.org/mtc-tlog requires),
//! the log's Ed25519 note key and the unsigned CA certificate (RFC 9925) under
//! `<data-dir>/mtc/`, then opens log N (creating it on first start) and serves the site
//! at `/mtc` (stable paths: `/mtc/ca.der`, `/mtc/<N>/checkpoint`, `/mtc/<N>/tile/...`,
//! `/mtc/<N>/landmarks`).
//!
//! Keys are 32-byte seeds in files of mode 0600, written atomically (temp + fsync + rename);
//! the log's public verifier key is written beside them as `log-<N>.vkey`.

use arbor_mtc::formats::MtcCaExtension;
use arbor_mtc::{CaCertificate, TrustAnchorId};
use arbor_mtclog::{
    FileLock, FsStorage, IssuanceLog, LockBackend, LogConfig, LogKeys, MlDsa44MessageSigner,
    MtcSite, SystemClock, WitnessEndpoint,
};
use arbor_tlog::keys::Ed25519Signer;
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// id-ml-dsa-44 (FIPS 204; RFC 9881).
const ID_ML_DSA_44: &str = "2.16.840.1.101.3.4.3.17";
/// Lifetime of the generated CA certificate: 10 years.
const CA_CERT_VALIDITY_SECS: u64 = 10 * 365 * 86_400;

/// MTC settings of `arbor serve`.
#[derive(Clone)]
pub struct MtcOptions {
    /// The CA ID, a trust anchor ID in ASCII form (e.g. `32473.1`).
    pub ca_id: String,
    /// The current issuance log's number (1..=65535).
    pub log_number: u16,
    /// How long submitted entries are pooled before a sequencing round.
    pub sequence_interval: Duration,
    /// How often a landmark is allocated.
    pub landmark_interval: Duration,
    /// Witnesses the log asks to cosign.
    pub witnesses: Vec<WitnessEndpoint>,
    /// The log's clock (checkpoint times, landmark schedule and expiry); `None` is the
    /// system clock. Tests drive landmark expiry with it.
    pub clock: Option<Arc<dyn arbor_mtclog::Clock>>,
}

impl std::fmt::Debug for MtcOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MtcOptions")
            .field("ca_id", &self.ca_id)
            .field("log_number", &self.log_number)
            .field("sequence_interval", &self.sequence_interval)
            .field("landmark_interval", &self.landmark_interval)
            .field("witnesses", &self.witnesses)
            .field("clock", &self.clock.as_ref().map(|_| "driven"))
            .finish()
    }
}

impl Default for MtcOptions {
    fn default() -> Self {
        MtcOptions {
            ca_id: "32473.1".into(),
            log_number: 1,
            sequence_interval: Duration::from_millis(100),
            landmark_interval: Duration::from_secs(3_600),
            witnesses: Vec::new(),
            clock: None,
        }
    }
}

/// Why the MTC site could not start.
#[derive(Debug, thiserror::Error)]
pub enum MtcStartError {
    #[error("MTC key or certificate file {0}: {1}")]
    Io(String, std::io::Error),
    #[error("MTC configuration: {0}")]
    Config(String),
    #[error("MTC log: {0}")]
    Log(#[from] arbor_mtclog::LogError),
    #[error("MTC storage: {0}")]
    Storage(#[from] arbor_mtclog::StorageError),
}

fn io(path: &Path, e: std::io::Error) -> MtcStartError {
    MtcStartError::Io(path.display().to_string(), e)
}

/// Writes `data` to `path` atomically with `mode`.
fn write_atomic(path: &Path, data: &[u8], mode: u32) -> Result<(), MtcStartError> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| io(&tmp, e))?;
    f.write_all(data).map_err(|e| io(&tmp, e))?;
    f.sync_all().map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io(dir, e))?;
    }
    Ok(())
}

/// A 32-byte seed stored at `path`, generated on first use.
fn seed(path: &Path) -> Result<Vec<u8>, MtcStartError> {
    match std::fs::read(path) {
        Ok(s) if s.len() == 32 => Ok(s),
        Ok(_) => Err(MtcStartError::Config(format!(
            "{} is not a 32-byte seed",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let s = arbor_ra::random_key();
            write_atomic(path, &s, 0o600)?;
            Ok(s)
        }
        Err(e) => Err(io(path, e)),
    }
}

/// Loads or creates keys, CA certificate and log; returns the site to mount at `/mtc`.
pub async fn open_site(
    data_dir: &Path,
    o: &MtcOptions,
    now: i64,
) -> Result<Arc<MtcSite>, MtcStartError> {
    let dir = data_dir.join("mtc");
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let ca_id: TrustAnchorId = o
        .ca_id
        .parse()
        .map_err(|e| MtcStartError::Config(format!("ca_id {:?}: {e}", o.ca_id)))?;
    if o.log_number == 0 {
        return Err(MtcStartError::Config("log number 0 is invalid".into()));
    }
    let ca_key = MlDsa44MessageSigner::from_seed(&seed(&dir.join("ca-cosigner.seed"))?)
        .map_err(|e| MtcStartError::Config(format!("CA cosigner key: {e}")))?;
    let mut cfg = LogConfig::new(ca_id.clone(), o.log_number);
    cfg.sequence_interval = o.sequence_interval;
    cfg.landmark_interval = o.landmark_interval;
    cfg.witnesses = o.witnesses.clone();
    let origin = cfg.origin()?;
    let log_key = Ed25519Signer::from_seed(&origin, &seed(&dir.join("log-key.seed"))?)
        .map_err(|e| MtcStartError::Config(format!("log key: {e}")))?;
    // The public verifier key, for monitors (`arbor log --log-key`) and witnesses.
    let vkey = format!("{}\n", log_key.verifier_key());
    let vkey_path = dir.join(format!("log-{}.vkey", o.log_number));
    if std::fs::read_to_string(&vkey_path).ok().as_deref() != Some(vkey.as_str()) {
        write_atomic(&vkey_path, vkey.as_bytes(), 0o644)?;
    }

    let ca_path = dir.join("ca.der");
    let ca_der = match std::fs::read(&ca_path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let spki = ca_key
                .spki_der()
                .map_err(|e| MtcStartError::Config(format!("CA key SPKI: {e}")))?;
            let log = u64::from(o.log_number);
            let start = Duration::from_secs(u64::try_from(now).unwrap_or(0).saturating_sub(3_600));
            let t = |d: Duration| {
                der::asn1::GeneralizedTime::from_unix_duration(d)
                    .map(x509_cert::time::Time::GeneralTime)
                    .map_err(|e| MtcStartError::Config(format!("CA validity: {e}")))
            };
            let validity = x509_cert::time::Validity::new(
                t(start)?,
                t(start + Duration::from_secs(CA_CERT_VALIDITY_SECS))?,
            );
            let ca = CaCertificate::build(
                &ca_id,
                1,
                &validity,
                &spki,
                MtcCaExtension {
                    sig_alg: spki::AlgorithmIdentifierOwned {
                        oid: const_oid::ObjectIdentifier::new_unwrap(ID_ML_DSA_44),
                        parameters: None,
                    },
                    min_serial: log << 48,
                    max_serial: ((log + 1) << 48) - 1,
                },
            )
            .map_err(|e| MtcStartError::Config(format!("CA certificate: {e}")))?;
            write_atomic(&ca_path, &ca.der, 0o644)?;
            ca.der
        }
        Err(e) => return Err(io(&ca_path, e)),
    };

    let log_dir = dir.join(format!("log-{}", o.log_number));
    let storage = Arc::new(FsStorage::new(log_dir.join("objects"))?);
    let lock = Arc::new(FileLock::open(log_dir.join("lock"))?);
    let keys = LogKeys {
        log_key: Arc::new(log_key),
        ca_cosigner: Arc::new(ca_key),
    };
    let existing = lock.load()?.is_some();
    let clock = o.clock.clone().unwrap_or_else(|| Arc::new(SystemClock));
    let log = if existing {
        IssuanceLog::open(cfg, keys, storage, lock, clock).await?
    } else {
        IssuanceLog::create(cfg, keys, storage, lock, clock).await?
    };
    Ok(Arc::new(MtcSite {
        ca_der,
        logs: BTreeMap::from([(o.log_number, log)]),
    }))
}
