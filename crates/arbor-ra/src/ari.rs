//! ACME Renewal Information (RFC 9773): the certificate identifier (§4.1), the suggested
//! renewal window (§4.2), and the `replaces` check on newOrder (§5).
//!
//! The window opens two thirds into the certificate's lifetime and closes at three
//! quarters (for 90 days: days 60–67.5), so renewals spread out before expiry. A revoked
//! certificate gets a window that lies wholly before its revocation time: a client picks a
//! random point inside the window (§4.2) and renews once it has passed, so only a window
//! entirely in the past means "renew now".

use crate::error::Result;
use crate::{Ra, RaError};
use arbor_proto::b64;
use arbor_store::{AccountRecord, CertificateRecord, OrderStatus};
use der::Decode;
use x509_cert::ext::pkix::AuthorityKeyIdentifier;

/// How long clients should wait before asking again (§4.3: `Retry-After`), 6 hours.
pub const RENEWAL_INFO_RETRY_AFTER_SECS: i64 = 6 * 3_600;

/// A parsed ARI certificate identifier: `base64url(AKI keyIdentifier) "." base64url(serial)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertId {
    pub aki: Vec<u8>,
    pub serial: Vec<u8>,
}

impl CertId {
    /// Parses the text form; `None` if it is not two base64url parts.
    pub fn parse(s: &str) -> Option<CertId> {
        let (a, b) = s.split_once('.')?;
        let aki = b64::decode(a).ok()?;
        let serial = b64::decode(b).ok()?;
        (!aki.is_empty() && !serial.is_empty()).then_some(CertId { aki, serial })
    }

    /// The text form.
    pub fn encode(&self) -> String {
        format!("{}.{}", b64::encode(&self.aki), b64::encode(&self.serial))
    }

    /// The identifier of a DER certificate.
    pub fn of_certificate(der: &[u8]) -> Option<CertId> {
        let c = x509_cert::Certificate::from_der(der).ok()?;
        let tbs = c.tbs_certificate();
        let serial = tbs.serial_number().as_bytes().to_vec();
        let (_, aki) = tbs.get_extension::<AuthorityKeyIdentifier>().ok()??;
        let aki = aki.key_identifier?.as_bytes().to_vec();
        Some(CertId { aki, serial })
    }
}

/// A suggested renewal window, Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewalWindow {
    pub start: i64,
    pub end: i64,
}

/// The window for a certificate record.
pub fn window_for(c: &CertificateRecord) -> RenewalWindow {
    if let Some(at) = c.revoked_at {
        return RenewalWindow {
            start: at - 3_600,
            end: at - 1_800,
        };
    }
    let life = (c.not_after - c.not_before + 1).max(1);
    RenewalWindow {
        start: c.not_before + life * 2 / 3,
        end: c.not_before + life * 3 / 4,
    }
}

impl Ra {
    /// The certificate an ARI identifier names, if this CA issued it.
    pub async fn cert_by_id(&self, id: &CertId) -> Result<CertificateRecord> {
        let c = self
            .inner
            .store
            .get_certificate(&hex::encode(&id.serial))
            .await?
            .ok_or(RaError::NotFound("certificate"))?;
        match CertId::of_certificate(&c.der) {
            Some(actual) if actual == *id => Ok(c),
            _ => Err(RaError::NotFound("certificate")),
        }
    }

    /// RFC 9773 §4.2 renewal information for `cert_id` (text form).
    pub async fn renewal_info(&self, cert_id: &str) -> Result<RenewalWindow> {
        let id = CertId::parse(cert_id).ok_or_else(|| {
            RaError::Malformed(
                "certificate identifier is not base64url(AKI).base64url(serial)".into(),
            )
        })?;
        Ok(window_for(&self.cert_by_id(&id).await?))
    }

    /// The `replaces` checks of RFC 9773 §5 for a new order with `identifiers`; returns the
    /// serial of the certificate being replaced.
    pub(crate) async fn check_replaces(
        &self,
        acct: &AccountRecord,
        replaces: &str,
        identifiers: &[arbor_proto::Identifier],
    ) -> Result<CertificateRecord> {
        let id = CertId::parse(replaces).ok_or_else(|| {
            RaError::Malformed(format!(
                "replaces {replaces:?} is not an ARI certificate identifier"
            ))
        })?;
        let cert = self.cert_by_id(&id).await.map_err(|e| match e {
            RaError::NotFound(_) => RaError::Malformed(format!(
                "replaces {replaces:?} names no certificate issued by this CA"
            )),
            e => e,
        })?;
        if cert.account_id != acct.id {
            return Err(RaError::Unauthorized(
                "the certificate named in replaces was issued to another account".into(),
            ));
        }
        if !cert.identifiers.iter().any(|i| identifiers.contains(i)) {
            return Err(RaError::Malformed(
                "the new order shares no identifier with the certificate it replaces".into(),
            ));
        }
        if let Some(other) = &cert.replaced_by
            && self.replacement_is_live(other).await?
        {
            return Err(RaError::AlreadyReplaced(format!(
                "certificate {replaces} has already been replaced by another order"
            )));
        }
        Ok(cert)
    }

    /// Whether an order that claimed to replace a certificate still counts (not invalid).
    pub(crate) async fn replacement_is_live(&self, order_id: &str) -> Result<bool> {
        Ok(match self.inner.store.get_order(order_id).await? {
            Some(o) => o.status != OrderStatus::Invalid && o.expires > self.now(),
            None => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cert_id_round_trip_and_rfc_example() {
        // RFC 9773 §4.1 example identifier.
        let s = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";
        let id = CertId::parse(s).unwrap();
        assert_eq!(id.serial, vec![0x00, 0x87, 0x65, 0x43, 0x21]);
        assert_eq!(id.encode(), s);
        assert!(CertId::parse("nodot").is_none());
        assert!(CertId::parse("a+b.c").is_none());
        assert!(CertId::parse(".AIdlQyE").is_none());
    }
}
