//! Errors of the cron client. Configuration problems ([`CronError::is_config`]) end a run
//! with exit code 2; everything else is a per-certificate failure (exit code 1).

use crate::error::ClientError;
use std::path::PathBuf;

/// What can go wrong in a cron pass or an account command.
#[derive(Debug, thiserror::Error)]
pub enum CronError {
    /// The configuration file cannot be read.
    #[error("cannot read config {path}: {source}")]
    ConfigRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The configuration is not valid TOML of the expected shape (unknown keys included).
    #[error("config: {0}")]
    ConfigParse(String),
    /// The configuration parses but is inconsistent.
    #[error("config: {0}")]
    ConfigInvalid(String),
    /// Another pass holds the state lock.
    #[error("another arbor client run holds the lock {0}")]
    Locked(PathBuf),
    /// Local file-system work failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The state file is not a state this version understands.
    #[error("state file {path}: {reason}")]
    BadState {
        /// The file.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// A stored key cannot be loaded.
    #[error("key {path}: {reason}")]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The ACME server or transport failed.
    #[error(transparent)]
    Acme(#[from] ClientError),
    /// The server sent a token that is not base64url (never written to disk or DNS).
    #[error("challenge token {0:?} is not base64url")]
    BadToken(String),
    /// The server sent a certificate we cannot use.
    #[error("certificate: {0}")]
    BadCertificate(String),
    /// A challenge could not be provisioned.
    #[error("{kind} solver: {reason}")]
    Solver {
        /// The challenge type.
        kind: &'static str,
        /// Why.
        reason: String,
    },
    /// A hook command failed.
    #[error("hook `{command}` failed: {reason}")]
    Hook {
        /// The command line.
        command: String,
        /// Exit status or spawn error.
        reason: String,
    },
    /// No account exists yet in the state directory.
    #[error("no account in {0}; run `arbor client account create` or `arbor client run`")]
    NoAccount(PathBuf),
    /// No certificate named so in the config.
    #[error("no certificate named {0:?} in the config")]
    UnknownCertificate(String),
    /// The certificate has not been issued yet.
    #[error("certificate {0:?} has not been issued")]
    NotIssued(String),
    /// Test hook: the pass stopped after the named step (`ARBOR_CLIENT_CRASH_AFTER`).
    #[error("simulated crash after step {0}")]
    SimulatedCrash(String),
}

impl CronError {
    /// Whether this is a configuration error (exit code 2).
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            CronError::ConfigRead { .. } | CronError::ConfigParse(_) | CronError::ConfigInvalid(_)
        )
    }

    pub(crate) fn io(
        what: &'static str,
        path: &std::path::Path,
    ) -> impl FnOnce(std::io::Error) -> CronError {
        let path = path.to_path_buf();
        move |source| CronError::Io { what, path, source }
    }
}
