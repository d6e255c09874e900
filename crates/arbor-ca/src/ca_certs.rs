//! Building the CA certificates: self-signed roots and the issuing
//! intermediate (RFC 5280 §4; CA/B Forum BR §7.1.2.1 root and §7.1.2.10
//! subordinate CA profiles). Roots carry basicConstraints cA, keyUsage
//! keyCertSign|cRLSign, a subjectKeyIdentifier and a matching AKI; the intermediate adds
//! pathLenConstraint 0, extKeyUsage serverAuth, AKI, AIA caIssuers, a CRL
//! distribution point and the DV policy.

use der::Encode;
use der::asn1::OctetString;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::name::Name;

use crate::asn1::{self, TbsBuild};
use crate::issuer::{self, Signer, random_serial};
use crate::keys::CaKey;
use crate::{CaError, oids};

/// Root validity: 25 years (the CA/B Forum caps root certificates at 25
/// years, BR §6.3.2 / Chrome Root Program).
pub const ROOT_VALIDITY_SECS: i64 = 25 * 365 * 86_400;
/// Issuing intermediate validity: 8 years.
pub const INTERMEDIATE_VALIDITY_SECS: i64 = 8 * 365 * 86_400;

fn ca_key_usage() -> KeyUsage {
    KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)
}

fn ski_ext(spki: &SubjectPublicKeyInfoOwned) -> Result<x509_cert::ext::Extension, CaError> {
    let ski = SubjectKeyIdentifier(OctetString::new(asn1::key_id(spki))?);
    asn1::ext(oids::CE_SUBJECT_KEY_ID, false, &ski)
}

/// A self-signed root certificate for `key` named `name`.
pub(crate) fn root_cert(key: &CaKey, name: &Name, now: i64) -> Result<Vec<u8>, CaError> {
    let spki = key.spki()?;
    let extensions = vec![
        asn1::ext(
            oids::CE_BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: None,
            },
        )?,
        asn1::ext(oids::CE_KEY_USAGE, true, &ca_key_usage())?,
        ski_ext(&spki)?,
        // Self-signed: the AKI names the root's own key (BR §7.1.2.1.2).
        issuer::aki_ext(&asn1::key_id(&spki))?,
    ];
    let tbs = TbsBuild {
        version: Version::V3,
        serial_number: asn1::serial(&random_serial()?)?,
        signature: key.signature_algorithm(),
        issuer: name.clone(),
        validity: asn1::validity(now, ROOT_VALIDITY_SECS)?,
        subject: name.clone(),
        subject_public_key_info: spki,
        extensions,
    };
    asn1::sign_tbs(&tbs.to_der()?, key)
}

/// Where an issuing CA publishes things about itself.
pub(crate) struct IssuerUrls<'a> {
    /// caIssuers URL of the issuer's certificate.
    pub aia: &'a str,
    /// The issuer's CRL URL.
    pub crl: &'a str,
}

/// An intermediate certificate for `subject`/`spki`, signed by `issuer`,
/// valid from `not_before` to `not_after` inclusive.
pub(crate) fn intermediate_cert(
    issuer: &Signer,
    urls: &IssuerUrls<'_>,
    subject: &Name,
    spki: &SubjectPublicKeyInfoOwned,
    not_before: i64,
    not_after: i64,
) -> Result<Vec<u8>, CaError> {
    let extensions = vec![
        asn1::ext(
            oids::CE_BASIC_CONSTRAINTS,
            true,
            &BasicConstraints {
                ca: true,
                path_len_constraint: Some(0),
            },
        )?,
        asn1::ext(oids::CE_KEY_USAGE, true, &ca_key_usage())?,
        asn1::ext(
            oids::CE_EXT_KEY_USAGE,
            false,
            &ExtendedKeyUsage(vec![oids::KP_SERVER_AUTH]),
        )?,
        ski_ext(spki)?,
        issuer::aki_ext(&issuer.ski)?,
        issuer::aia_ext(urls.aia)?,
        issuer::crl_dp_ext(urls.crl)?,
        issuer::dv_policy_ext()?,
    ];
    let tbs = TbsBuild {
        version: Version::V3,
        serial_number: asn1::serial(&random_serial()?)?,
        signature: issuer.key.signature_algorithm(),
        issuer: issuer.name.clone(),
        validity: asn1::validity(not_before, not_after - not_before + 1)?,
        subject: subject.clone(),
        subject_public_key_info: spki.clone(),
        extensions,
    };
    asn1::sign_tbs(&tbs.to_der()?, &issuer.key)
}
