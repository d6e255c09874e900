//! Pre-sign lint of subscriber (leaf) certificates: the CA/B Forum Baseline
//! Requirements §7.1.2.7 "Subscriber Certificate" profile on top of RFC 5280
//! §4, checked on the decoded TBSCertificate before any signature is made
//! (fail closed).
//!
//! Deviations / local policy: validity is capped at our CPS's 100 days (BR
//! allows 398); a subjectKeyIdentifier is tolerated though BR calls it NOT
//! RECOMMENDED; Ed25519 subject keys are accepted, which BR §6.1.5 does not
//! list (the test CA issues them for clients that want them); single-label
//! names such as "localhost" pass, since whether a name may be issued for is
//! the RA's policy decision, not a syntax question.

use std::collections::HashSet;

use const_oid::ObjectIdentifier;
use der::{Decode, Encode, EncodeValue};
use x509_cert::TbsCertificate;
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies,
    CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};

use crate::dnsname::dns_name_syntax;
use crate::{CaError, asn1, oids};

/// Our CPS's cap on subscriber certificate validity: 100 days.
pub const CPS_MAX_LEAF_VALIDITY_SECS: i64 = 100 * 86_400;
/// BR §6.3.2: subscriber certificates issued after 2020-09-01 may be valid
/// for at most 398 days.
pub const BR_MAX_LEAF_VALIDITY_SECS: i64 = 398 * 86_400;
/// BR §7.1: serials carry at least 64 bits of CSPRNG output, so the encoded
/// INTEGER has at least 8 content octets.
pub const MIN_SERIAL_OCTETS: u32 = 8;
/// RFC 5280 §4.1.2.2: serial numbers are at most 20 octets.
pub const MAX_SERIAL_OCTETS: u32 = 20;

fn violation(msg: impl Into<String>) -> CaError {
    CaError::ProfileViolation(msg.into())
}

/// Checks a leaf TBSCertificate against the subscriber profile.
pub fn check_leaf_profile(tbs: &TbsCertificate) -> Result<(), CaError> {
    if tbs.version() != Version::V3 {
        return Err(violation("version is not v3"));
    }
    let alg = tbs.signature();
    if alg.oid != oids::ECDSA_WITH_SHA256 || alg.parameters.is_some() {
        return Err(violation(
            "signature algorithm must be ecdsa-with-SHA256 with absent parameters",
        ));
    }
    check_serial(tbs)?;
    check_validity(tbs)?;
    if tbs.issuer().is_empty() {
        return Err(violation("issuer name is empty"));
    }
    let rsa = check_spki(tbs)?;
    let exts = tbs.extensions().ok_or_else(|| violation("no extensions"))?;
    let mut seen = HashSet::new();
    for e in exts {
        if !seen.insert(e.extn_id) {
            return Err(violation(format!("extension {} appears twice", e.extn_id)));
        }
        if !ALLOWED_EXTENSIONS.contains(&e.extn_id) {
            return Err(violation(format!("extension {} is not allowed", e.extn_id)));
        }
    }
    let sans = check_san(tbs)?;
    check_subject(tbs, &sans)?;
    check_key_usage(tbs, rsa)?;
    check_eku(tbs)?;
    check_basic_constraints(tbs)?;
    check_aki(tbs)?;
    check_aia(tbs)?;
    check_crl_dp(tbs)?;
    check_policies(tbs)
}

/// Extensions a subscriber certificate may carry (BR §7.1.2.7.6).
const ALLOWED_EXTENSIONS: [ObjectIdentifier; 9] = [
    oids::CE_SUBJECT_ALT_NAME,
    oids::CE_KEY_USAGE,
    oids::CE_EXT_KEY_USAGE,
    oids::CE_BASIC_CONSTRAINTS,
    oids::CE_AUTHORITY_KEY_ID,
    oids::CE_SUBJECT_KEY_ID,
    oids::PE_AUTHORITY_INFO_ACCESS,
    oids::CE_CRL_DP,
    oids::CE_CERT_POLICIES,
];

fn check_serial(tbs: &TbsCertificate) -> Result<(), CaError> {
    let serial = tbs.serial_number();
    let der = serial.to_der()?;
    let len = u32::from(serial.value_len()?);
    if !(MIN_SERIAL_OCTETS..=MAX_SERIAL_OCTETS).contains(&len) {
        return Err(violation(format!(
            "serial has {len} octets; need {MIN_SERIAL_OCTETS}..={MAX_SERIAL_OCTETS}"
        )));
    }
    // Content octets follow the 2-byte tag+length header (len <= 20).
    let content = der.get(2..).unwrap_or_default();
    if content.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(violation("serial is negative"));
    }
    if content.iter().all(|b| *b == 0) {
        return Err(violation("serial is zero"));
    }
    Ok(())
}

fn check_validity(tbs: &TbsCertificate) -> Result<(), CaError> {
    let v = tbs.validity();
    let nb = asn1::unix(&v.not_before);
    let na = asn1::unix(&v.not_after);
    // RFC 5280 §4.1.2.5: the period includes both ends.
    let secs = na - nb + 1;
    if secs < 1 {
        return Err(violation("notAfter is before notBefore"));
    }
    if secs > BR_MAX_LEAF_VALIDITY_SECS {
        return Err(violation(format!("validity {secs}s exceeds BR's 398 days")));
    }
    if secs > CPS_MAX_LEAF_VALIDITY_SECS {
        return Err(violation(format!(
            "validity {secs}s exceeds the CPS's 100 days"
        )));
    }
    Ok(())
}

/// Returns whether the key is RSA (for keyEncipherment).
fn check_spki(tbs: &TbsCertificate) -> Result<bool, CaError> {
    let alg = &tbs.subject_public_key_info().algorithm;
    match alg.oid {
        oids::EC_PUBLIC_KEY => {
            let curve = alg
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
            match curve {
                Some(oids::SECP256R1) | Some(oids::SECP384R1) => Ok(false),
                _ => Err(violation("EC key is not on P-256 or P-384")),
            }
        }
        oids::RSA_ENCRYPTION => {
            if !alg.parameters.as_ref().is_some_and(|p| p.is_null()) {
                return Err(violation("rsaEncryption parameters must be NULL"));
            }
            Ok(true)
        }
        oids::ED25519 if alg.parameters.is_none() => Ok(false),
        other => Err(violation(format!(
            "subject key algorithm {other} not allowed"
        ))),
    }
}

/// A SAN entry as it may appear in the subject commonName.
fn check_san(tbs: &TbsCertificate) -> Result<Vec<String>, CaError> {
    let (critical, san) = tbs
        .get_extension::<SubjectAltName>()?
        .ok_or_else(|| violation("subjectAltName is missing"))?;
    if san.0.is_empty() {
        return Err(violation("subjectAltName is empty"));
    }
    if critical != tbs.subject().is_empty() {
        return Err(violation(
            "subjectAltName must be critical exactly when the subject is empty",
        ));
    }
    let mut out = Vec::with_capacity(san.0.len());
    for gn in &san.0 {
        match gn {
            GeneralName::DnsName(d) => {
                let d = d.as_str();
                dns_name_syntax(d).map_err(|why| violation(format!("dNSName {d:?}: {why}")))?;
                out.push(d.to_string());
            }
            GeneralName::IpAddress(ip) => {
                let b = ip.as_bytes();
                let text = match b.len() {
                    4 => <[u8; 4]>::try_from(b).map(|a| std::net::IpAddr::from(a).to_string()),
                    16 => <[u8; 16]>::try_from(b).map(|a| std::net::IpAddr::from(a).to_string()),
                    _ => return Err(violation("iPAddress is neither 4 nor 16 octets")),
                };
                out.push(text.map_err(|_| violation("iPAddress length"))?);
            }
            _ => {
                return Err(violation(
                    "subjectAltName holds a name type other than DNS/IP",
                ));
            }
        }
    }
    Ok(out)
}

fn check_subject(tbs: &TbsCertificate, sans: &[String]) -> Result<(), CaError> {
    let subject = tbs.subject();
    if subject.is_empty() {
        return Ok(());
    }
    let mut attrs = subject.iter();
    let (Some(atv), None) = (attrs.next(), attrs.next()) else {
        return Err(violation("subject must be empty or a single commonName"));
    };
    if atv.oid != oids::AT_COMMON_NAME {
        return Err(violation(format!(
            "subject attribute {} not allowed",
            atv.oid
        )));
    }
    let cn = asn1::directory_string(&atv.value)
        .ok_or_else(|| violation("subject commonName is not a text string"))?;
    if !sans.contains(&cn) {
        return Err(violation(format!(
            "commonName {cn:?} is not one of the SANs"
        )));
    }
    Ok(())
}

fn check_key_usage(tbs: &TbsCertificate, rsa: bool) -> Result<(), CaError> {
    let (critical, ku) = tbs
        .get_extension::<KeyUsage>()?
        .ok_or_else(|| violation("keyUsage is missing"))?;
    if !critical {
        return Err(violation("keyUsage must be critical"));
    }
    if !ku.digital_signature() {
        return Err(violation("keyUsage lacks digitalSignature"));
    }
    let mut allowed = KeyUsage(KeyUsages::DigitalSignature.into());
    if rsa {
        allowed.0 |= KeyUsages::KeyEncipherment;
    }
    if ku.0.bits() & !allowed.0.bits() != 0 {
        return Err(violation(
            "keyUsage has bits beyond digitalSignature(+keyEncipherment for RSA)",
        ));
    }
    Ok(())
}

fn check_eku(tbs: &TbsCertificate) -> Result<(), CaError> {
    let (critical, eku) = tbs
        .get_extension::<ExtendedKeyUsage>()?
        .ok_or_else(|| violation("extKeyUsage is missing"))?;
    if critical {
        return Err(violation("extKeyUsage must not be critical"));
    }
    if !eku.0.contains(&oids::KP_SERVER_AUTH) {
        return Err(violation("extKeyUsage lacks serverAuth"));
    }
    if let Some(bad) = eku
        .0
        .iter()
        .find(|o| **o != oids::KP_SERVER_AUTH && **o != oids::KP_CLIENT_AUTH)
    {
        return Err(violation(format!("extKeyUsage {bad} not allowed")));
    }
    Ok(())
}

fn check_basic_constraints(tbs: &TbsCertificate) -> Result<(), CaError> {
    let (critical, bc) = tbs
        .get_extension::<BasicConstraints>()?
        .ok_or_else(|| violation("basicConstraints is missing"))?;
    if !critical || bc.ca || bc.path_len_constraint.is_some() {
        return Err(violation(
            "basicConstraints must be critical with cA false and no pathLen",
        ));
    }
    Ok(())
}

fn check_aki(tbs: &TbsCertificate) -> Result<(), CaError> {
    let (critical, aki) = tbs
        .get_extension::<AuthorityKeyIdentifier>()?
        .ok_or_else(|| violation("authorityKeyIdentifier is missing"))?;
    if critical
        || aki.key_identifier.is_none()
        || aki.authority_cert_issuer.is_some()
        || aki.authority_cert_serial_number.is_some()
    {
        return Err(violation(
            "authorityKeyIdentifier must be non-critical with only a keyIdentifier",
        ));
    }
    Ok(())
}

fn http_uri(gn: &GeneralName) -> Option<&str> {
    match gn {
        GeneralName::UniformResourceIdentifier(u) if u.as_str().starts_with("http://") => {
            Some(u.as_str())
        }
        _ => None,
    }
}

fn check_aia(tbs: &TbsCertificate) -> Result<(), CaError> {
    let (critical, aia) = tbs
        .get_extension::<AuthorityInfoAccessSyntax>()?
        .ok_or_else(|| violation("authorityInformationAccess is missing"))?;
    if critical {
        return Err(violation("authorityInformationAccess must not be critical"));
    }
    let ca_issuers = aia
        .0
        .iter()
        .filter(|ad| ad.access_method == oids::AD_CA_ISSUERS)
        .count();
    if ca_issuers == 0
        || aia
            .0
            .iter()
            .any(|ad| http_uri(&ad.access_location).is_none())
    {
        return Err(violation(
            "authorityInformationAccess needs http:// caIssuers URIs only",
        ));
    }
    Ok(())
}

fn check_crl_dp(tbs: &TbsCertificate) -> Result<(), CaError> {
    let (critical, dps) = tbs
        .get_extension::<CrlDistributionPoints>()?
        .ok_or_else(|| violation("cRLDistributionPoints is missing"))?;
    let ok = !critical
        && !dps.0.is_empty()
        && dps.0.iter().all(|dp| {
            dp.reasons.is_none()
                && dp.crl_issuer.is_none()
                && match &dp.distribution_point {
                    Some(DistributionPointName::FullName(names)) => {
                        !names.is_empty() && names.iter().all(|n| http_uri(n).is_some())
                    }
                    _ => false,
                }
        });
    if !ok {
        return Err(violation(
            "cRLDistributionPoints must be non-critical http:// fullName URIs",
        ));
    }
    Ok(())
}

fn check_policies(tbs: &TbsCertificate) -> Result<(), CaError> {
    let (critical, pols) = tbs
        .get_extension::<CertificatePolicies>()?
        .ok_or_else(|| violation("certificatePolicies is missing"))?;
    let ok = !critical
        && pols.0.len() == 1
        && pols.0[0].policy_identifier == oids::CABF_DOMAIN_VALIDATED
        && pols.0[0].policy_qualifiers.is_none();
    if !ok {
        return Err(violation(
            "certificatePolicies must be exactly the DV policy 2.23.140.1.2.1 without qualifiers",
        ));
    }
    Ok(())
}

/// Decodes TBS bytes and runs [`check_leaf_profile`] on them.
pub(crate) fn check_leaf_profile_der(tbs_der: &[u8]) -> Result<(), CaError> {
    let tbs = TbsCertificate::from_der(tbs_der)?;
    check_leaf_profile(&tbs)
}

#[cfg(test)]
#[path = "profile_tests.rs"]
mod profile_tests;
