//! The RA's typed errors. Each variant names the RFC 8555 §6.7 situation it reports; the
//! front end maps them to problem documents in its one error map.

use arbor_proto::{Identifier, ProblemType};

/// One identifier's failure inside a compound error (RFC 8555 §6.7.1 subproblems).
#[derive(Debug, Clone, PartialEq)]
pub struct SubError {
    pub identifier: Identifier,
    pub typ: ProblemType,
    pub detail: String,
}

/// What can go wrong in the RA.
#[derive(Debug, thiserror::Error)]
pub enum RaError {
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    Unauthorized(String),
    /// The resource does not exist or belongs to another account (same answer, so ids
    /// cannot be probed across accounts).
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    AccountDoesNotExist(String),
    #[error("{0}")]
    InvalidContact(String),
    #[error("{0}")]
    UnsupportedContact(String),
    #[error("{0}")]
    UserActionRequired(String),
    #[error("{0}")]
    ExternalAccountRequired(String),
    /// One or more identifiers were refused; details per identifier.
    #[error("{detail}")]
    RejectedIdentifiers {
        detail: String,
        subproblems: Vec<SubError>,
    },
    /// CAA forbids issuance (or could not be checked) for one or more identifiers.
    #[error("{detail}")]
    Caa {
        detail: String,
        subproblems: Vec<SubError>,
    },
    #[error("{0}")]
    OrderNotReady(String),
    #[error("{0}")]
    BadCsr(String),
    #[error("{0}")]
    BadPublicKey(String),
    #[error("{0}")]
    BadRevocationReason(String),
    #[error("{0}")]
    AlreadyRevoked(String),
    /// ARI `replaces` names a certificate another live order already replaces (RFC 9773 §5).
    #[error("{0}")]
    AlreadyReplaced(String),
    /// The order names a profile the server does not offer.
    #[error("{0}")]
    InvalidProfile(String),
    /// A rate limit tripped; retry after this many seconds.
    #[error("{detail}")]
    RateLimited {
        detail: String,
        retry_after_secs: i64,
    },
    /// keyChange to a key another account holds (§7.3.5: 409 Conflict + Location).
    #[error("new key is already in use by another account")]
    KeyInUse { account_url_id: String },
    #[error("storage: {0}")]
    Store(#[from] arbor_store::StoreError),
    #[error("signing: {0}")]
    Ca(#[from] arbor_ca::CaError),
    #[error("internal: {0}")]
    Internal(String),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, RaError>;
