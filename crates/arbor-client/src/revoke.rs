//! Certificate revocation (RFC 8555 §7.6), either as the account that holds the certificate
//! (`kid` signature) or with the certificate's own private key (`jwk` signature).

use crate::account::{Account, to_json};
use crate::client::AcmeClient;
use crate::error::ClientError;
use arbor_proto::sign::SigningKey;

/// CRL reason codes a subscriber may give (RFC 5280 §5.3.1; RFC 8555 §7.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationReason {
    /// 0
    Unspecified,
    /// 1
    KeyCompromise,
    /// 3
    AffiliationChanged,
    /// 4
    Superseded,
    /// 5
    CessationOfOperation,
}

impl RevocationReason {
    /// The RFC 5280 reason code.
    pub fn code(self) -> i64 {
        match self {
            RevocationReason::Unspecified => 0,
            RevocationReason::KeyCompromise => 1,
            RevocationReason::AffiliationChanged => 3,
            RevocationReason::Superseded => 4,
            RevocationReason::CessationOfOperation => 5,
        }
    }
}

fn payload(
    url: &str,
    cert_der: &[u8],
    reason: Option<RevocationReason>,
) -> Result<Vec<u8>, ClientError> {
    let mut req = serde_json::Map::new();
    req.insert(
        "certificate".into(),
        arbor_proto::b64::encode(cert_der).into(),
    );
    if let Some(r) = reason {
        req.insert("reason".into(), r.code().into());
    }
    to_json(url, &req)
}

impl Account {
    /// Revokes `cert_der` as this account (§7.6).
    pub async fn revoke(
        &self,
        cert_der: &[u8],
        reason: Option<RevocationReason>,
    ) -> Result<(), ClientError> {
        let url = self.client.directory().revoke_cert.clone();
        self.post(&url, Some(&payload(&url, cert_der, reason)?), None)
            .await?;
        Ok(())
    }
}

impl AcmeClient {
    /// Revokes `cert_der` with a signature by the certificate's own key (§7.6, `jwk` form);
    /// no account needed.
    pub async fn revoke_with_cert_key(
        &self,
        cert_der: &[u8],
        cert_key: &SigningKey,
        reason: Option<RevocationReason>,
    ) -> Result<(), ClientError> {
        let url = self.directory().revoke_cert.clone();
        let body = payload(&url, cert_der, reason)?;
        self.post(cert_key, None, &url, Some(&body), None).await?;
        Ok(())
    }
}
