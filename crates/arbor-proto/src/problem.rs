//! RFC 7807 problem documents with the ACME error namespace (RFC 8555 §6.7, §6.7.1).
//!
//! This module only defines the document; which error becomes which problem is decided in
//! exactly one place, the HTTP front end's error map.

use crate::Identifier;
use serde::{Deserialize, Serialize};

/// The ACME error types (RFC 8555 §6.7 plus later registrations Arbor uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemType {
    AccountDoesNotExist,
    AlreadyRevoked,
    AlreadyReplaced,
    BadCsr,
    BadNonce,
    BadPublicKey,
    BadRevocationReason,
    BadSignatureAlgorithm,
    Caa,
    Compound,
    Connection,
    Dns,
    ExternalAccountRequired,
    IncorrectResponse,
    InvalidContact,
    InvalidProfile,
    Malformed,
    OrderNotReady,
    RateLimited,
    RejectedIdentifier,
    ServerInternal,
    Tls,
    Unauthorized,
    UnsupportedContact,
    UnsupportedIdentifier,
    UserActionRequired,
    /// MTC (PR #207 to draft-ietf-plants-merkle-tree-certs): no landmark covers the
    /// certificate yet.
    LandmarkNotReady,
    /// MTC (PR #207): the landmark covering the certificate has expired.
    CertificateTooOldForLandmark,
}

/// The URN prefix of every ACME error type.
pub const ACME_ERROR_NS: &str = "urn:ietf:params:acme:error:";

impl ProblemType {
    /// The short name after `urn:ietf:params:acme:error:`.
    pub fn short_name(self) -> &'static str {
        use ProblemType::*;
        match self {
            AccountDoesNotExist => "accountDoesNotExist",
            AlreadyRevoked => "alreadyRevoked",
            AlreadyReplaced => "alreadyReplaced",
            BadCsr => "badCSR",
            BadNonce => "badNonce",
            BadPublicKey => "badPublicKey",
            BadRevocationReason => "badRevocationReason",
            BadSignatureAlgorithm => "badSignatureAlgorithm",
            Caa => "caa",
            Compound => "compound",
            Connection => "connection",
            Dns => "dns",
            ExternalAccountRequired => "externalAccountRequired",
            IncorrectResponse => "incorrectResponse",
            InvalidContact => "invalidContact",
            InvalidProfile => "invalidProfile",
            Malformed => "malformed",
            OrderNotReady => "orderNotReady",
            RateLimited => "rateLimited",
            RejectedIdentifier => "rejectedIdentifier",
            ServerInternal => "serverInternal",
            Tls => "tls",
            Unauthorized => "unauthorized",
            UnsupportedContact => "unsupportedContact",
            UnsupportedIdentifier => "unsupportedIdentifier",
            UserActionRequired => "userActionRequired",
            LandmarkNotReady => "landmarkNotReady",
            CertificateTooOldForLandmark => "certificateTooOldForLandmark",
        }
    }

    /// The full URN.
    pub fn urn(self) -> String {
        format!("{ACME_ERROR_NS}{}", self.short_name())
    }

    /// Parses a full URN back (used by clients).
    pub fn from_urn(s: &str) -> Option<ProblemType> {
        let short = s.strip_prefix(ACME_ERROR_NS)?;
        ALL.iter().copied().find(|t| t.short_name() == short)
    }
}

const ALL: &[ProblemType] = {
    use ProblemType::*;
    &[
        AccountDoesNotExist,
        AlreadyRevoked,
        AlreadyReplaced,
        BadCsr,
        BadNonce,
        BadPublicKey,
        BadRevocationReason,
        BadSignatureAlgorithm,
        Caa,
        Compound,
        Connection,
        Dns,
        ExternalAccountRequired,
        IncorrectResponse,
        InvalidContact,
        InvalidProfile,
        Malformed,
        OrderNotReady,
        RateLimited,
        RejectedIdentifier,
        ServerInternal,
        Tls,
        Unauthorized,
        UnsupportedContact,
        UnsupportedIdentifier,
        UserActionRequired,
        LandmarkNotReady,
        CertificateTooOldForLandmark,
    ]
};

/// An RFC 7807 problem document as ACME uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub typ: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<Identifier>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subproblems: Vec<Problem>,
    /// For `badSignatureAlgorithm`: the algorithms the server accepts (RFC 8555 §6.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithms: Option<Vec<String>>,
}

impl Problem {
    /// A problem of `typ` with `detail`.
    pub fn new(typ: ProblemType, detail: impl Into<String>) -> Self {
        Problem {
            typ: typ.urn(),
            detail: detail.into(),
            status: None,
            identifier: None,
            subproblems: Vec::new(),
            algorithms: None,
        }
    }

    /// Attaches the identifier this problem is about (for subproblems).
    pub fn with_identifier(mut self, id: Identifier) -> Self {
        self.identifier = Some(id);
        self
    }

    /// The parsed type, if it is an ACME one.
    pub fn kind(&self) -> Option<ProblemType> {
        ProblemType::from_urn(&self.typ)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.typ, self.detail)?;
        for s in &self.subproblems {
            write!(f, "; {s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urns_round_trip() {
        for t in ALL {
            assert_eq!(ProblemType::from_urn(&t.urn()), Some(*t));
        }
        assert_eq!(
            ProblemType::BadCsr.urn(),
            "urn:ietf:params:acme:error:badCSR"
        );
    }
}
