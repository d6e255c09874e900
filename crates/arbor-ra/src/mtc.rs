//! The RA's port to a Merkle Tree Certificate issuer (draft-ietf-plants-merkle-tree-certs
//! §6, ACME in §9): an order whose profile is an MTC profile is issued by appending a
//! `TBSCertificateLogEntry` to an issuance log instead of signing X.509. The RA only
//! decides *what* to certify; the log and the certificate formats live behind
//! [`MtcIssuer`], injected by the server, so this crate stays free of log internals.

use std::future::Future;
use std::pin::Pin;

/// What to certify: the checked CSR's key and the order's names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtcRequest {
    /// SubjectPublicKeyInfo from the CSR (DER).
    pub spki_der: Vec<u8>,
    /// DNS names for the subjectAltName.
    pub dns_names: Vec<String>,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// Lifetime in seconds (notAfter = notBefore + validity − 1).
    pub validity_secs: i64,
}

/// A sequenced entry and its standalone certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtcIssued {
    /// `(log << 48) | index` (draft §6.1).
    pub serial: u64,
    /// The standalone certificate (DER).
    pub der: Vec<u8>,
    /// Stored as the certificate's issuer id, e.g. `mtc-1`.
    pub issuer_id: String,
}

/// Why the issuer could not certify.
#[derive(Debug, thiserror::Error)]
#[error("MTC issuance: {0}")]
pub struct MtcIssueError(pub String);

/// Boxed future returned by [`MtcIssuer::issue`].
pub type IssueFuture<'a> =
    Pin<Box<dyn Future<Output = Result<MtcIssued, MtcIssueError>> + Send + 'a>>;

/// An MTC issuance log as the RA sees it. `issue` returns once the entry is sequenced and
/// a signed checkpoint covers it, so the order can become `valid` at once.
pub trait MtcIssuer: Send + Sync {
    /// Appends the entry for `req` and builds its standalone certificate.
    fn issue<'a>(&'a self, req: &'a MtcRequest) -> IssueFuture<'a>;
}

/// Minimal big-endian bytes of an MTC serial, the form the store keys certificates by
/// (hex-encoded).
pub fn serial_hex(serial: u64) -> String {
    let b = serial.to_be_bytes();
    let first = b.iter().position(|x| *x != 0).unwrap_or(b.len() - 1);
    hex::encode(&b[first..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_hex_is_minimal() {
        assert_eq!(serial_hex((1 << 48) | 5), "01000000000005");
        assert_eq!(serial_hex(0), "00");
    }
}
