//! The CA's typed error: every way key handling, encoding, signing or the
//! pre-sign profile check (RFC 5280 §4, CA/B Forum BR §7.1) can fail.

use std::path::PathBuf;

/// Errors from the X.509 signing side.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// Reading or writing a hierarchy file failed.
    #[error("i/o on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A private key could not be generated, parsed or used to sign.
    #[error("key: {0}")]
    Key(String),
    /// A private key file is readable by group or others.
    #[error("key file {path} has mode {mode:o}; it must not be accessible to group or others")]
    InsecureKeyFile {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Some but not all hierarchy files exist; refusing to guess.
    #[error("hierarchy in {dir} is incomplete: missing {missing:?}")]
    IncompleteHierarchy {
        /// The hierarchy directory.
        dir: PathBuf,
        /// The file names that are absent.
        missing: Vec<String>,
    },
    /// A stored certificate or PEM file does not parse, or does not match its key.
    #[error("stored file {path} is invalid: {detail}")]
    BadStoredFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// DER/PEM encoding or decoding of a structure we build failed.
    #[error("encoding: {0}")]
    Encode(String),
    /// A request to the signer has an unusable field (serial, time, name…).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The to-be-signed certificate breaks the certificate profile; nothing was signed.
    #[error("certificate profile violation: {0}")]
    ProfileViolation(String),
}

impl From<der::Error> for CaError {
    fn from(e: der::Error) -> Self {
        CaError::Encode(e.to_string())
    }
}

impl CaError {
    /// Wraps an I/O error with the path it concerns.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CaError::Io {
            path: path.into(),
            source,
        }
    }
}
