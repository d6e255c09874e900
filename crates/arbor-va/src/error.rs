//! The VA's two error types: [`VaError`] for building a [`crate::Va`], and
//! [`ValidationError`] for a failed challenge, which maps to exactly one ACME problem type
//! (RFC 8555 §6.7) in [`ValidationError::problem_type`].
//!
//! Details are shown to the applicant in the challenge's `error` field, so they name the
//! host, address and cause but never echo content fetched from the applicant's server.

use arbor_proto::ProblemType;

/// Why a [`crate::Va`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum VaError {
    /// The system resolver configuration (e.g. `/etc/resolv.conf`) could not be read.
    #[error("cannot read the system DNS configuration: {0}")]
    SystemResolver(String),
    /// The resolver could not be built from the configuration.
    #[error("cannot build the DNS resolver: {0}")]
    Resolver(String),
    /// The TLS client configuration could not be built.
    #[error("cannot build the TLS client configuration: {0}")]
    Tls(String),
    /// A configuration value is out of range.
    #[error("invalid VA configuration: {0}")]
    Config(&'static str),
}

/// Why a validation (or a CAA check) failed. Each variant is one ACME problem type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The name did not resolve: NXDOMAIN, SERVFAIL, timeout, or no A/AAAA records.
    #[error("{0}")]
    Dns(String),
    /// No usable connection: refused, reset, timed out, or refused by the address policy.
    #[error("{0}")]
    Connection(String),
    /// The server answered, but not with this challenge's proof (wrong status or content).
    #[error("{0}")]
    Unauthorized(String),
    /// The response was not a valid challenge response (e.g. a bad redirect).
    #[error("{0}")]
    IncorrectResponse(String),
    /// A TLS handshake failed.
    #[error("{0}")]
    Tls(String),
    /// The request itself is unusable (e.g. http-01 for a wildcard identifier).
    #[error("{0}")]
    Malformed(String),
    /// CAA records forbid this CA from issuing for the identifier (RFC 8659 §4).
    #[error("{0}")]
    Caa(String),
}

impl ValidationError {
    /// The ACME problem type this failure is reported as. Exhaustive on purpose: a new
    /// variant must choose its type here.
    pub fn problem_type(&self) -> ProblemType {
        match self {
            ValidationError::Dns(_) => ProblemType::Dns,
            ValidationError::Connection(_) => ProblemType::Connection,
            ValidationError::Unauthorized(_) => ProblemType::Unauthorized,
            ValidationError::IncorrectResponse(_) => ProblemType::IncorrectResponse,
            ValidationError::Tls(_) => ProblemType::Tls,
            ValidationError::Malformed(_) => ProblemType::Malformed,
            ValidationError::Caa(_) => ProblemType::Caa,
        }
    }

    /// The detail text (same as `Display`).
    pub fn detail(&self) -> &str {
        match self {
            ValidationError::Dns(s)
            | ValidationError::Connection(s)
            | ValidationError::Unauthorized(s)
            | ValidationError::IncorrectResponse(s)
            | ValidationError::Tls(s)
            | ValidationError::Malformed(s)
            | ValidationError::Caa(s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_variant_has_its_problem_type() {
        let cases = [
            (ValidationError::Dns("x".into()), "dns"),
            (ValidationError::Connection("x".into()), "connection"),
            (ValidationError::Unauthorized("x".into()), "unauthorized"),
            (
                ValidationError::IncorrectResponse("x".into()),
                "incorrectResponse",
            ),
            (ValidationError::Tls("x".into()), "tls"),
            (ValidationError::Malformed("x".into()), "malformed"),
            (ValidationError::Caa("x".into()), "caa"),
        ];
        for (e, short) in cases {
            assert_eq!(e.problem_type().short_name(), short);
            assert_eq!(e.detail(), "x");
            assert_eq!(e.to_string(), "x");
        }
    }
}
