//! The typed error of every MTC wire-format parser and encoder in [`crate::formats`].
use thiserror::Error;

/// Why bytes are not a well-formed MTC structure (or a value cannot be encoded).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormatError {
    #[error("input ended early while reading {0}")]
    Truncated(&'static str),
    #[error("{0} has {1} unexpected trailing byte(s)")]
    TrailingData(&'static str, usize),
    #[error("{0} is too long to encode ({1} bytes)")]
    TooLong(&'static str, usize),
    #[error("invalid DER in {0}: {1}")]
    Der(&'static str, der::Error),
    #[error("unexpected ASN.1 tag in {what}: found 0x{found:02x}")]
    UnexpectedTag { what: &'static str, found: u8 },
    #[error("invalid trust anchor ID: {0}")]
    BadTrustAnchorId(&'static str),
    #[error("log-entry extensions are not strictly ascending by type")]
    ExtensionsUnsorted,
    #[error("log-entry type {0} is not known")]
    UnknownEntryType(u16),
    #[error("inclusion proof length {0} is not a multiple of the hash size")]
    ProofLength(usize),
    #[error("cosigner IDs are not in the required order (shorter first, then bytewise)")]
    CosignersUnsorted,
    #[error("cosigner ID {0} appears twice")]
    DuplicateCosigner(String),
    #[error("signatureValue BIT STRING has {0} unused bits (must be 0)")]
    UnusedBits(u8),
    #[error("serial number is negative or longer than 64 bits")]
    SerialRange,
    #[error("log number {0} is outside 1..=65535")]
    LogNumber(u64),
    #[error("index {0} is not below 2^48")]
    IndexRange(u64),
    #[error("subtree [{0}, {1}) is out of the uint48 range")]
    SubtreeRange(u64, u64),
    #[error("signature algorithm is {0}, not id-alg-mtcProof")]
    NotMtc(String),
    #[error("signature algorithm parameters must be absent")]
    AlgorithmParameters,
    #[error("TBSCertificate signature field differs from signatureAlgorithm")]
    SignatureAlgorithmMismatch,
    #[error("subjectPublicKeyInfo does not match the log entry (algorithm or hash)")]
    SpkiMismatch,
    #[error("issuer is not a CA ID distinguished name")]
    IssuerNotTrustAnchorId,
    #[error("CA certificate lacks the {0} extension")]
    MissingCaExtension(&'static str),
    #[error("CA certificate's MTC extension is not marked critical")]
    CaExtensionNotCritical,
    #[error("CA certificate's MTC extension appears more than once")]
    DuplicateCaExtension,
    #[error("CA serial bounds [{min}, {max}] are invalid (need 2^48 <= min <= max)")]
    SerialBounds { min: u64, max: u64 },
    #[error("landmark document line {line}: {reason}")]
    Landmark { line: usize, reason: &'static str },
    #[error("certificate property list: {0}")]
    Properties(&'static str),
    #[error("unsupported public key algorithm {0}")]
    UnsupportedKey(String),
    #[error("PEM: {0}")]
    Pem(String),
}

impl FormatError {
    /// Wraps a `der` error with the name of the structure that failed.
    pub(crate) fn der(what: &'static str) -> impl Fn(der::Error) -> FormatError {
        move |e| FormatError::Der(what, e)
    }
}
