//! The cron client's durable state: one directory holding `state.json` (versioned JSON),
//! the account key and per-certificate keys and chains. Every write is atomic — write a
//! temporary file, fsync it, rename it over the old one, fsync the directory — so a crash
//! (kill -9, power loss) leaves either the old or the new version, never a torn file.
//! Private keys are created with mode 0600.
//!
//! Layout: `state.json`, `account.key`, `lock`, `certs/<name>/{pending.key, cert.key,
//! chain.pem}`, and for a Merkle Tree Certificate also `cert.properties` (the standalone
//! certificate's properties), `landmark.pem` and `landmark.properties` (the
//! landmark-relative certificate, once fetched).

use crate::cron::error::CronError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The state format version this code reads and writes.
pub const STATE_VERSION: u32 = 1;
/// Mode of every private key file.
pub const KEY_MODE: u32 = 0o600;

/// `state.json`.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Always [`STATE_VERSION`].
    pub version: u32,
    /// The directory URL the account belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<String>,
    /// The account URL, once registered (the key is `account.key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_url: Option<String>,
    /// Per certificate name.
    #[serde(default)]
    pub certificates: BTreeMap<String, CertState>,
}

/// What the client knows about one configured certificate.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CertState {
    /// The certificate now installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Issued>,
    /// ARI information about `current`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal: Option<RenewalState>,
    /// An order in flight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
    /// The last failure, and when to try again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// The files of `current` have not yet been written to `output_dir`.
    #[serde(default)]
    pub install_pending: bool,
    /// The deploy hook has not yet succeeded for `current`.
    #[serde(default)]
    pub deploy_pending: bool,
    /// The landmark-relative certificate of `current`, when it is a Merkle Tree
    /// Certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landmark: Option<LandmarkState>,
}

/// Where the landmark-relative certificate of an MTC stands
/// (draft-ietf-plants-merkle-tree-certs §9).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LandmarkState {
    /// Serial (hex) of the standalone certificate it belongs to.
    pub serial: String,
    /// Design A: the certificate's `rel="acme-optional-alternate"` link, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_url: Option<String>,
    /// Design B: whether the directory offered `newRelativeCertificate` at issuance.
    #[serde(default)]
    pub new_relative_offered: bool,
    /// PR #207: the order's `landmarkURL` (the log's landmark document), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landmark_document: Option<String>,
    /// Where it stands.
    pub status: LandmarkStatus,
    /// Do not ask the CA before this (its `Retry-After`, jittered), Unix seconds.
    pub next_check: i64,
    /// How many times the CA answered "not yet".
    #[serde(default)]
    pub attempts: u32,
    /// Why it is unavailable, or the last "not yet" answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The states of [`LandmarkState`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LandmarkStatus {
    /// No landmark covers the certificate yet.
    Waiting,
    /// Fetched and saved in the state directory; not yet in `output_dir`.
    Saved,
    /// `landmark.pem` is installed.
    Installed,
    /// There will be none (expired landmark, or the CA offers neither design).
    Unavailable,
}

/// An issued certificate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Issued {
    /// Identifiers as configured when it was ordered.
    pub identifiers: Vec<String>,
    /// RFC 9773 §4.1 certificate identifier, if the certificate has an AKI.
    pub cert_id: Option<String>,
    /// Serial, hex.
    pub serial: String,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// The order it came from.
    pub order_url: String,
    /// The certificate URL.
    pub certificate_url: String,
}

/// The renewal window and the point chosen inside it (RFC 9773 §4.2).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RenewalState {
    /// The certificate this is about.
    pub cert_id: String,
    /// Window start, Unix seconds.
    pub window_start: i64,
    /// Window end, Unix seconds.
    pub window_end: i64,
    /// The random point in the window this client renews at (kept stable across runs).
    pub renew_at: i64,
    /// When to ask the server again (its `Retry-After`).
    pub next_check: i64,
}

/// An order in flight. Saved right after newOrder, before anything else happens to it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    /// The order URL.
    pub order_url: String,
    /// Identifiers as configured when it was ordered.
    pub identifiers: Vec<String>,
    /// The ARI identifier sent as `replaces`, if any.
    pub replaces: Option<String>,
    /// Why it was ordered (for messages).
    pub reason: String,
    /// When it was created, Unix seconds.
    pub created: i64,
    /// Do not poll before this (a long `Retry-After`), Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
}

/// The last failure of a certificate.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    /// What went wrong.
    pub message: String,
    /// When, Unix seconds.
    pub at: i64,
    /// Do not try again before this (rate limits, `Retry-After`), Unix seconds.
    pub retry_after: Option<i64>,
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
}

impl StateDir {
    /// Opens (creating, mode 0700) the directory.
    pub fn open(root: &Path) -> Result<StateDir, CronError> {
        create_private_dir(root)?;
        Ok(StateDir {
            root: root.to_path_buf(),
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `state.json`.
    pub fn state_path(&self) -> PathBuf {
        self.root.join("state.json")
    }

    /// The account key file.
    pub fn account_key_path(&self) -> PathBuf {
        self.root.join("account.key")
    }

    /// The lock file.
    pub fn lock_path(&self) -> PathBuf {
        self.root.join("lock")
    }

    /// The per-certificate directory (created, 0700).
    pub fn cert_dir(&self, name: &str) -> Result<PathBuf, CronError> {
        let d = self.root.join("certs").join(name);
        create_private_dir(&self.root.join("certs"))?;
        create_private_dir(&d)?;
        Ok(d)
    }

    /// Removes temporary files a crashed writer left behind (`.<name>.tmp<pid>`). Call it
    /// only while holding the run lock.
    pub fn sweep_temp_files(&self) {
        let mut dirs = vec![self.root.clone()];
        if let Ok(rd) = std::fs::read_dir(self.root.join("certs")) {
            dirs.extend(rd.flatten().map(|e| e.path()));
        }
        for d in dirs {
            let Ok(rd) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') && name.contains(".tmp") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }

    /// Loads `state.json` (empty state if it does not exist).
    pub fn load(&self) -> Result<State, CronError> {
        let path = self.state_path();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State {
                    version: STATE_VERSION,
                    ..State::default()
                });
            }
            Err(e) => return Err(CronError::io("read", &path)(e)),
        };
        let v: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| CronError::BadState {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        let version = v.get("version").and_then(|v| v.as_u64());
        if version != Some(u64::from(STATE_VERSION)) {
            return Err(CronError::BadState {
                path,
                reason: format!("version {version:?}, this client reads {STATE_VERSION}"),
            });
        }
        serde_json::from_value(v).map_err(|e| CronError::BadState {
            path,
            reason: e.to_string(),
        })
    }

    /// Saves `state.json` atomically.
    pub fn save(&self, state: &State) -> Result<(), CronError> {
        let mut s = state.clone();
        s.version = STATE_VERSION;
        let bytes = serde_json::to_vec_pretty(&s).map_err(|e| CronError::BadState {
            path: self.state_path(),
            reason: e.to_string(),
        })?;
        write_atomic(&self.state_path(), &bytes, 0o600)
    }
}

fn create_private_dir(d: &Path) -> Result<(), CronError> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(d)
    {
        Ok(()) => Ok(()),
        Err(e) => Err(CronError::io("create directory", d)(e)),
    }
}

/// Writes `bytes` to `path` atomically with `mode`: temp file in the same directory,
/// fsync, rename, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CronError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(bytes)?;
        // The umask may have narrowed the creation mode; set it exactly.
        std::fs::set_permissions(&tmp, std::os::unix::fs::PermissionsExt::from_mode(mode))?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        CronError::io("write", path)(e)
    })
}

/// Removes `path` if present and fsyncs its directory.
pub fn remove_durable(path: &Path) -> Result<(), CronError> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(CronError::io("remove", path)(e)),
    }
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(CronError::io("fsync", dir))?;
    }
    Ok(())
}

/// Reads a file that may be absent (`None`).
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, CronError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CronError::io("read", path)(e)),
    }
}

/// Reads a PEM private key file.
pub fn read_key(path: &Path) -> Result<Option<arbor_proto::sign::SigningKey>, CronError> {
    match std::fs::read_to_string(path) {
        Ok(pem) => arbor_proto::sign::SigningKey::from_pem(&pem)
            .map(Some)
            .map_err(|e| CronError::BadKey {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CronError::io("read", path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip_and_version_check() {
        let d = tempfile::tempdir().unwrap();
        let sd = StateDir::open(&d.path().join("s")).unwrap();
        assert_eq!(sd.load().unwrap().version, STATE_VERSION);
        let mut st = sd.load().unwrap();
        st.account_url = Some("https://ca/acct/1".into());
        st.certificates.insert("www".into(), CertState::default());
        sd.save(&st).unwrap();
        assert_eq!(sd.load().unwrap(), st);
        let mode = std::fs::metadata(sd.state_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(sd.state_path()).unwrap();
        assert!(text.contains("\"version\": 1"), "{text}");
        std::fs::write(
            sd.state_path(),
            text.replace("\"version\": 1", "\"version\": 9"),
        )
        .unwrap();
        assert!(matches!(sd.load(), Err(CronError::BadState { .. })));
        // No temporary files are left behind.
        let names: Vec<_> = std::fs::read_dir(sd.root())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["state.json".to_string()]);
    }
}
