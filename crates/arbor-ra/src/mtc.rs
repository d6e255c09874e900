//! The RA's port to a Merkle Tree Certificate issuer (draft-ietf-plants-merkle-tree-certs
//! §6, ACME in §9): an order whose profile is an MTC profile is issued by appending a
//! `TBSCertificateLogEntry` to an issuance log instead of signing X.509. The RA only
//! decides *what* to certify; the log and the certificate formats live behind
//! [`MtcIssuer`], injected by the server, so this crate stays free of log internals.
//!
//! Crash safety: the log makes an entry public before the store records its certificate,
//! so a crash in between leaves the order in `processing` with its entry logged. The
//! request is deterministic (notBefore is the order's durable `processing_since`), and
//! [`Ra::recover`] first asks the issuer for entries byte-identical to what each stuck
//! order would append ([`MtcIssuer::find_logged`]), adopting the oldest one no other
//! certificate holds ([`MtcIssuer::certify_logged`]); only orders with no logged entry are
//! submitted again. A store failure after the log answered likewise leaves the order in
//! `processing` for the next start-up instead of `invalid` next to an orphaned entry.

use crate::error::Result;
use crate::finalize::Failed;
use crate::{Ra, RaError};
use arbor_store::{CertificateRecord, OrderRecord, StoreError};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

/// Environment variable naming a crash point ([`crash_point`]); tests only.
pub const CRASH_AT_ENV: &str = "ARBOR_TEST_CRASH_AT";

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
    Pin<Box<dyn Future<Output = std::result::Result<MtcIssued, MtcIssueError>> + Send + 'a>>;

/// Boxed future returned by [`MtcIssuer::find_logged`]: serials, oldest first.
pub type FindFuture<'a> =
    Pin<Box<dyn Future<Output = std::result::Result<Vec<u64>, MtcIssueError>> + Send + 'a>>;

/// An MTC issuance log as the RA sees it. `issue` returns once the entry is sequenced and
/// a signed checkpoint covers it, so the order can become `valid` at once.
pub trait MtcIssuer: Send + Sync {
    /// Appends the entry for `req` and builds its standalone certificate.
    fn issue<'a>(&'a self, req: &'a MtcRequest) -> IssueFuture<'a>;

    /// Serials of the entries already in the log that are byte-identical to the one `req`
    /// would append, oldest first. Only resumed orders ask, so the issuer may scan; it
    /// bounds the scan itself. The default finds nothing (an issuer that cannot look).
    fn find_logged<'a>(&'a self, _req: &'a MtcRequest) -> FindFuture<'a> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// The standalone certificate for the logged entry `serial` (from
    /// [`MtcIssuer::find_logged`]) without appending anything.
    fn certify_logged<'a>(&'a self, _req: &'a MtcRequest, serial: u64) -> IssueFuture<'a> {
        Box::pin(async move {
            Err(MtcIssueError(format!(
                "this issuer cannot certify logged entry {serial:#x}"
            )))
        })
    }
}

impl Ra {
    /// The request for an order: its checked key and names, with notBefore taken from the
    /// durable `processing_since`, so a resumed issuance describes the very same entry.
    pub(crate) fn mtc_request(
        &self,
        order: &OrderRecord,
        spki_der: Vec<u8>,
        dns: Vec<String>,
        ips: &[IpAddr],
        profile: &crate::Profile,
    ) -> Result<MtcRequest> {
        if !ips.is_empty() {
            return Err(RaError::Internal(
                "MTC profiles certify DNS names only".into(),
            ));
        }
        Ok(MtcRequest {
            spki_der,
            dns_names: dns,
            not_before: order.processing_since.unwrap_or_else(|| self.now()),
            validity_secs: profile.validity_secs.min(crate::BR_MAX_VALIDITY_SECS),
        })
    }

    fn mtc_issuer(&self) -> Result<&std::sync::Arc<dyn MtcIssuer>> {
        self.inner
            .mtc
            .get()
            .ok_or_else(|| RaError::Internal("MTC profile but no MTC log".into()))
    }

    /// MTC issuance (draft-ietf-plants-merkle-tree-certs §9): the entry is appended to the
    /// issuance log and the standalone certificate becomes the order's certificate. Its
    /// serial `(log << 48) | index` names the log entry, which is all a landmark-relative
    /// certificate needs later. Once the log has answered, a failure keeps the order in
    /// `processing` (`Failed::logged`): recovery adopts the entry.
    pub(crate) async fn try_issue_mtc(
        &self,
        order: &OrderRecord,
        req: &MtcRequest,
    ) -> std::result::Result<OrderRecord, Failed> {
        let issued = self
            .mtc_issuer()?
            .issue(req)
            .await
            .map_err(|e| RaError::Internal(e.to_string()))?;
        crash_point("mtc-logged");
        self.commit_mtc(order, req, issued, false)
            .await
            .map_err(Failed::logged)
    }

    /// Phase 1 of recovery for a stuck MTC order: if the log already holds its entry,
    /// certifies and commits that entry (`Some`); `None` if none is logged (or the order is
    /// not an MTC order). Entries whose serial already belongs to another certificate are
    /// skipped: an identical request of another order (same key, names and second) has
    /// its own entry, and each entry is recorded for one order only.
    pub(crate) async fn adopt_logged(
        &self,
        order: &OrderRecord,
        req: &MtcRequest,
    ) -> Result<Option<OrderRecord>> {
        let issuer = self.mtc_issuer()?;
        let serials = issuer
            .find_logged(req)
            .await
            .map_err(|e| RaError::Internal(e.to_string()))?;
        for serial in serials {
            if self
                .inner
                .store
                .get_certificate(&serial_hex(serial))
                .await?
                .is_some()
            {
                continue;
            }
            let issued = issuer
                .certify_logged(req, serial)
                .await
                .map_err(|e| RaError::Internal(e.to_string()))?;
            tracing::warn!(order = %order.id, serial = %serial_hex(serial),
                "adopting the log entry of an issuance a crash interrupted");
            return self.commit_mtc(order, req, issued, true).await.map(Some);
        }
        Ok(None)
    }

    /// Reserves the serial and commits certificate + `valid` order.
    async fn commit_mtc(
        &self,
        order: &OrderRecord,
        req: &MtcRequest,
        issued: MtcIssued,
        resumed: bool,
    ) -> Result<OrderRecord> {
        let now = self.now();
        let serial = serial_hex(issued.serial);
        // The log hands out each index once; reserving keeps the store's serial uniqueness
        // guarantee for MTC and X.509 alike. A resumed order may have reserved its serial
        // before the crash; with no certificate under it (checked by `adopt_logged`) the
        // reservation can only be for this entry, so it is ours to use.
        match self
            .inner
            .store
            .reserve_serial(&serial, &order.id, now)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Duplicate(_)) if resumed => {}
            Err(e) => return Err(e.into()),
        }
        crash_point("mtc-reserved");
        let spki_sha256 = hex::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            &req.spki_der,
        ));
        let cert = CertificateRecord {
            serial,
            account_id: order.account_id.clone(),
            order_id: order.id.clone(),
            issuer_id: issued.issuer_id,
            der: issued.der,
            spki_sha256,
            identifiers: order.identifiers.clone(),
            not_before: req.not_before,
            not_after: req.not_before + req.validity_secs - 1,
            revoked_at: None,
            revoked_reason: None,
            issued_at: now,
            replaced_by: None,
        };
        self.commit_certificate(order, cert).await
    }
}

/// Test-only crash injection: when [`CRASH_AT_ENV`] names `point`, the process aborts
/// here (no destructors, no flushes: what a SIGKILL leaves). The crash test of `arbor
/// serve` stops between the log append and the store commit with it, a window too short
/// to hit with a signal from outside. Read once; unset in production.
fn crash_point(point: &str) {
    static AT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if AT
        .get_or_init(|| std::env::var(CRASH_AT_ENV).ok())
        .as_deref()
        == Some(point)
    {
        tracing::error!(point, "{CRASH_AT_ENV}: aborting");
        std::process::abort();
    }
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
