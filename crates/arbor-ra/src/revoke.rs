//! Certificate revocation (RFC 8555 §7.6): by the issuing account, by the certificate's
//! own key, or by an account holding valid authorizations for every identifier in it.
//! Reason codes are those the Baseline Requirements let a subscriber choose (§7.2.2).

use crate::error::Result;
use crate::{Ra, RaError};
use arbor_proto::jwk::PublicJwk;
use arbor_store::{AccountRecord, CertificateRecord};
use der::Decode;

/// Who signed the revocation request.
pub enum RevocationAuth {
    /// An account (kid-signed request).
    Account(AccountRecord),
    /// The certificate's key itself (jwk-signed request).
    CertificateKey(PublicJwk),
}

/// CRLReason codes a subscriber may request: unspecified (0), keyCompromise (1),
/// affiliationChanged (3), superseded (4), cessationOfOperation (5) — BR §7.2.2 / RFC 5280
/// §5.3.1. certificateHold (6) is forbidden by the BRs; the others are CA-only.
pub const ALLOWED_REASONS: &[u8] = &[0, 1, 3, 4, 5];

impl Ra {
    /// Revokes `cert_der` with `reason` (absent = unspecified).
    pub async fn revoke(
        &self,
        auth: RevocationAuth,
        cert_der: &[u8],
        reason: Option<i64>,
    ) -> Result<CertificateRecord> {
        let reason = match reason {
            None => 0u8,
            Some(r) if (0..=255).contains(&r) && ALLOWED_REASONS.contains(&(r as u8)) => r as u8,
            Some(r) => {
                return Err(RaError::BadRevocationReason(format!(
                    "reason code {r} is not allowed; allowed: 0, 1, 3, 4, 5"
                )));
            }
        };
        let parsed = x509_cert::Certificate::from_der(cert_der)
            .map_err(|e| RaError::Malformed(format!("certificate is not valid DER: {e}")))?;
        let serial = hex::encode(parsed.tbs_certificate().serial_number().as_bytes());
        let rec = self
            .inner
            .store
            .get_certificate(&serial)
            .await?
            .filter(|c| c.der == cert_der)
            .ok_or(RaError::NotFound("certificate"))?;
        let now = self.now();
        let allowed = match &auth {
            RevocationAuth::CertificateKey(jwk) => {
                let spki = hex::encode(aws_lc_rs::digest::digest(
                    &aws_lc_rs::digest::SHA256,
                    &jwk.spki_der(),
                ));
                spki == rec.spki_sha256
            }
            RevocationAuth::Account(acct) if acct.id == rec.account_id => true,
            RevocationAuth::Account(acct) => {
                let mut all = true;
                for id in &rec.identifiers {
                    if !self.inner.store.has_valid_authz(&acct.id, id, now).await? {
                        all = false;
                        break;
                    }
                }
                all
            }
        };
        if !allowed {
            return Err(RaError::Unauthorized(
                "the requester is neither the issuing account, the certificate's key, nor an \
                 account authorized for every identifier in the certificate"
                    .into(),
            ));
        }
        if !self
            .inner
            .store
            .revoke_certificate(&rec.serial, reason, now)
            .await?
        {
            return Err(RaError::AlreadyRevoked(
                "certificate is already revoked".into(),
            ));
        }
        let mut out = rec;
        out.revoked_at = Some(now);
        out.revoked_reason = Some(reason);
        Ok(out)
    }
}
