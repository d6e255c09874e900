//! The client's one error type. Server-side failures arrive as RFC 7807 problem documents
//! (RFC 8555 §6.7) and are kept typed, together with the HTTP status and any `Retry-After`
//! (RFC 9110 §10.2.3) so callers can back off.

use arbor_proto::{Problem, ProblemType};
use std::time::Duration;

/// Everything that can go wrong talking to an ACME server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The network, TLS or HTTP layer failed (connect, timeout, reset, bad certificate).
    #[error("HTTP transport error: {0}")]
    Transport(#[from] reqwest::Error),

    /// The extra trust root given to [`crate::AcmeClient::new`] is not a usable PEM certificate.
    #[error("extra trust root is not a PEM certificate: {0}")]
    BadTrustRoot(reqwest::Error),

    /// The extra trust root PEM holds no certificate.
    #[error("extra trust root PEM holds no CERTIFICATE block")]
    EmptyTrustRoot,

    /// The directory URL is not an `https://` URL.
    #[error("directory URL {0:?} must be an absolute https:// URL")]
    BadDirectoryUrl(String),

    /// The server answered with a problem document.
    #[error("server problem (HTTP {status}) from {url}: {problem}")]
    Problem {
        /// HTTP status code of the reply.
        status: u16,
        /// The URL that was requested.
        url: String,
        /// The parsed problem document.
        problem: Box<Problem>,
        /// The server's `Retry-After`, if it sent one (e.g. with `rateLimited`).
        retry_after: Option<Duration>,
    },

    /// The server answered with an error status but no parsable problem document.
    #[error("unexpected HTTP {status} from {url}: {snippet}")]
    UnexpectedStatus {
        /// HTTP status code.
        status: u16,
        /// The URL that was requested.
        url: String,
        /// The first bytes of the body, lossily decoded, for diagnostics.
        snippet: String,
    },

    /// A success reply whose body is not the JSON object we expected.
    #[error("invalid JSON from {url}: {source}")]
    BadJson {
        /// The URL that was requested.
        url: String,
        /// The decoding error.
        source: serde_json::Error,
    },

    /// A header that RFC 8555 requires is absent or not valid text.
    #[error("{url} answered without a usable {header} header")]
    MissingHeader {
        /// The URL that was requested.
        url: String,
        /// The header's name.
        header: &'static str,
    },

    /// The server kept rejecting our nonces (§6.5) more often than we retry.
    #[error("server rejected {0} nonces in a row (badNonce)")]
    NonceRetriesExhausted(u32),

    /// Signing a request failed.
    #[error("JWS signing failed: {0}")]
    Jws(#[from] arbor_proto::jws::JwsError),

    /// An order or authorization became `invalid`, with the server's reason if given.
    #[error("{what} {url} became invalid{}", problem.as_ref().map(|p| format!(": {p}")).unwrap_or_default())]
    Invalid {
        /// "order" or "authorization".
        what: &'static str,
        /// Its URL.
        url: String,
        /// The `error` field of the object (or of its failed challenge), if any.
        problem: Option<Box<Problem>>,
    },

    /// Polling gave up before the object reached the wanted state.
    #[error("{url} still {status} after {waited:?}")]
    PollTimeout {
        /// The polled URL.
        url: String,
        /// The last status seen.
        status: String,
        /// How long we polled.
        waited: Duration,
    },

    /// The directory does not offer a resource this request needs.
    #[error("the CA's directory offers no {0}")]
    NotOffered(&'static str),

    /// The authorization offers no challenge of the wanted type.
    #[error("authorization {authz} offers no {typ} challenge")]
    NoSuchChallenge {
        /// The authorization URL.
        authz: String,
        /// The challenge type we looked for.
        typ: String,
    },

    /// The order was already past `ready` before we could finalize it.
    #[error("order {0} was finalized before this client could do it")]
    OrderAlreadyFinalized(String),

    /// A valid order has no `certificate` URL.
    #[error("order {0} is valid but has no certificate URL")]
    NoCertificateUrl(String),

    /// The certificate download is not PEM text.
    #[error("certificate from {url} is not PEM text")]
    CertificateNotPem {
        /// The certificate URL.
        url: String,
    },

    /// A PEM text holds no well-formed CERTIFICATE block.
    #[error("PEM text holds no well-formed CERTIFICATE block")]
    NoCertificateInPem,

    /// An identifier cannot be put into a CSR (bad IP text or non-IA5 DNS name).
    #[error("identifier {0:?} cannot be put into a CSR")]
    BadCsrIdentifier(String),

    /// Building a CSR or key with rcgen failed.
    #[error("CSR generation failed: {0}")]
    Csr(#[from] rcgen::Error),

    /// Local I/O failed (binding the http-01 responder).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl ClientError {
    /// The ACME problem type, if this error is a problem document with a known type.
    pub fn problem_type(&self) -> Option<ProblemType> {
        match self {
            ClientError::Problem { problem, .. } => problem.kind(),
            _ => None,
        }
    }

    /// The `Retry-After` the server attached to this error, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            ClientError::Problem { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}
