//! Certificate revocation lists: RFC 5280 §5 CRL v2 with cRLNumber,
//! authorityKeyIdentifier and a critical issuingDistributionPoint naming the
//! CRL's URL (§5.2.5), entry reasonCode extensions (§5.3.1), and the
//! CA/B Forum BR §7.2 rules: reasonCode absent for "unspecified", and only
//! keyCompromise(1), affiliationChanged(3), superseded(4),
//! cessationOfOperation(5) and privilegeWithdrawn(9) for subscriber
//! certificates (plus cACompromise(2) on CA CRLs).

use der::Encode;
use der::asn1::BitString;
use der::asn1::Uint;
use x509_cert::certificate::Version;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::pkix::crl::dp::IssuingDistributionPoint;
use x509_cert::ext::pkix::name::DistributionPointName;
use x509_cert::ext::pkix::{CrlNumber, CrlReason};

use crate::issuer::{Issuer, Signer, aki_ext, uri};
use crate::{CaError, asn1, oids};

/// One revoked certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokedEntry {
    /// Serial as stored (positive, big-endian).
    pub serial: Vec<u8>,
    /// Revocation time, Unix seconds.
    pub revoked_at: i64,
    /// RFC 5280 CRLReason code; `None` or `Some(0)` (unspecified) omit the extension.
    pub reason: Option<u8>,
}

/// Which certificates a CRL covers (issuingDistributionPoint flags).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CrlScope {
    /// Subscriber certificates (onlyContainsUserCerts).
    UserCerts,
    /// CA certificates (onlyContainsCACerts).
    CaCerts,
}

fn reason(code: u8, scope: CrlScope) -> Result<Option<CrlReason>, CaError> {
    let r = match code {
        0 => return Ok(None),
        1 => CrlReason::KeyCompromise,
        2 if scope == CrlScope::CaCerts => CrlReason::CaCompromise,
        3 => CrlReason::AffiliationChanged,
        4 => CrlReason::Superseded,
        5 => CrlReason::CessationOfOperation,
        9 => CrlReason::PrivilegeWithdrawn,
        other => {
            return Err(CaError::InvalidRequest(format!(
                "CRL reason code {other} is not allowed"
            )));
        }
    };
    Ok(Some(r))
}

/// Builds and signs a CRL for `signer`, published at `crl_url`.
pub(crate) fn sign_crl_with(
    signer: &Signer,
    crl_url: &str,
    scope: CrlScope,
    revoked: &[RevokedEntry],
    crl_number: u64,
    this_update: i64,
    next_update: i64,
) -> Result<Vec<u8>, CaError> {
    if next_update <= this_update {
        return Err(CaError::InvalidRequest(
            "nextUpdate must follow thisUpdate".into(),
        ));
    }
    let mut entries = Vec::with_capacity(revoked.len());
    for e in revoked {
        let exts = match e.reason.map(|c| reason(c, scope)).transpose()?.flatten() {
            Some(r) => Some(vec![asn1::ext(oids::CE_CRL_REASON, false, &r)?]),
            None => None,
        };
        entries.push(RevokedCert {
            serial_number: asn1::serial(&e.serial)?,
            revocation_date: asn1::time(e.revoked_at)?,
            crl_entry_extensions: exts,
        });
    }
    let idp = IssuingDistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![uri(crl_url)?])),
        only_contains_user_certs: scope == CrlScope::UserCerts,
        only_contains_ca_certs: scope == CrlScope::CaCerts,
        only_some_reasons: None,
        indirect_crl: false,
        only_contains_attribute_certs: false,
    };
    let number = CrlNumber(Uint::new(&crl_number.to_be_bytes())?);
    let tbs = TbsCertList {
        version: Version::V2,
        signature: signer.key.signature_algorithm(),
        issuer: signer.name.clone(),
        this_update: asn1::time(this_update)?,
        next_update: Some(asn1::time(next_update)?),
        // RFC 5280 §5.1.2.6: absent, not empty, when nothing is revoked.
        revoked_certificates: (!entries.is_empty()).then_some(entries),
        crl_extensions: Some(vec![
            aki_ext(&signer.ski)?,
            asn1::ext(oids::CE_CRL_NUMBER, false, &number)?,
            asn1::ext(oids::CE_ISSUING_DP, true, &idp)?,
        ]),
    };
    let tbs_der = tbs.to_der()?;
    let sig = signer.key.sign(&tbs_der)?;
    let crl = CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: signer.key.signature_algorithm(),
        signature: BitString::from_bytes(&sig)?,
    };
    Ok(crl.to_der()?)
}

impl Issuer {
    /// Signs this issuer's CRL (onlyContainsUserCerts, distribution point
    /// [`Issuer::crl_url`]). `revoked` may be in any order.
    pub fn sign_crl(
        &self,
        revoked: &[RevokedEntry],
        crl_number: u64,
        this_update: i64,
        next_update: i64,
    ) -> Result<Vec<u8>, CaError> {
        sign_crl_with(
            &self.signer,
            &self.crl_url,
            CrlScope::UserCerts,
            revoked,
            crl_number,
            this_update,
            next_update,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_follow_br() {
        assert!(reason(0, CrlScope::UserCerts).unwrap().is_none());
        assert_eq!(
            reason(1, CrlScope::UserCerts).unwrap(),
            Some(CrlReason::KeyCompromise)
        );
        assert!(reason(2, CrlScope::UserCerts).is_err());
        assert!(reason(2, CrlScope::CaCerts).unwrap().is_some());
        assert!(reason(6, CrlScope::UserCerts).is_err());
        assert!(reason(8, CrlScope::UserCerts).is_err());
        assert!(reason(9, CrlScope::UserCerts).unwrap().is_some());
        assert!(reason(11, CrlScope::UserCerts).is_err());
    }
}
