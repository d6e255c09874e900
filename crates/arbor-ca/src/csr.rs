//! Finalize CSRs (RFC 8555 §7.4, PKCS #10 / RFC 2986): parsing, verifying
//! the self-signature over the original certificationRequestInfo bytes, and
//! checking the request against the order and the account.
//!
//! Local rules: names come from the subjectAltName extension (dNSName and
//! iPAddress only); a subject commonName, if present, must be one of them
//! (so a CSR with only a CN is refused); basicConstraints cA=TRUE, the TLS
//! Feature (OCSP must-staple) extension and unknown critical extensions are
//! refused; other subject attributes and non-critical extensions are ignored,
//! since nothing from the CSR but the key and names reaches the certificate.

use std::collections::BTreeSet;
use std::net::IpAddr;

use der::asn1::{AnyRef, BitString};
use der::{Decode, Encode, Sequence, Tag, Tagged};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, SubjectAltName};
use x509_cert::request::{CertReqInfo, Version};

use crate::csr_key::{inspect_key, verify};
use crate::{asn1, oids};

/// id-pe-tlsfeature (RFC 7633 §6), used for OCSP must-staple.
const TLS_FEATURE: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.24");

/// A parsed, signature-checked CSR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Csr {
    /// The subject public key as DER SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
    /// The key, described for humans and logs, e.g. "ECDSA P-256", "RSA 2048".
    pub key_desc: String,
    /// subjectAltName dNSNames, lower-cased, duplicates removed, in CSR order.
    pub dns_names: Vec<String>,
    /// subjectAltName iPAddresses, duplicates removed, in CSR order.
    pub ips: Vec<IpAddr>,
    /// The subject commonName, lower-cased (or canonical IP text), if any.
    pub common_name: Option<String>,
}

/// Why a CSR is refused. Each message is meant for the ACME client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrError {
    /// Not a well-formed DER PKCS #10 request.
    #[error("CSR is not a valid PKCS#10 request: {0}")]
    Unparseable(String),
    /// The self-signature does not verify.
    #[error("CSR signature does not verify with the CSR's public key")]
    BadSignature,
    /// The key type or size is not one the CA issues for.
    #[error(
        "unsupported public key: {0}; allowed are ECDSA P-256, P-384, RSA 2048-4096 and Ed25519"
    )]
    UnsupportedKey(String),
    /// The signature algorithm is not supported, or does not fit the key.
    #[error("unsupported CSR signature algorithm: {0}")]
    UnsupportedSignatureAlgorithm(String),
    /// The key is too weak.
    #[error("weak public key: {0}")]
    WeakKey(String),
    /// The certificate key is the ACME account key.
    #[error("the CSR's public key is the account key; certificates need a different key")]
    KeyIsAccountKey,
    /// The CSR's names are not exactly the order's.
    #[error("CSR names differ from the order's: missing {missing:?}, not in order {extra:?}")]
    NamesMismatch {
        /// Names in the order but not in the CSR.
        missing: Vec<String>,
        /// Names in the CSR but not in the order.
        extra: Vec<String>,
    },
    /// The subject commonName is not one of the SANs.
    #[error("CSR commonName {0:?} is not among its subjectAltNames")]
    CommonNameNotInSans(String),
    /// The CSR names nothing.
    #[error("CSR contains no subjectAltName names")]
    NoNames,
    /// The CSR asks for something the CA will not put in a certificate.
    #[error("CSR requests an unsupported extension: {0}")]
    UnsupportedExtension(String),
}

/// CertificationRequest (RFC 2986 §4.2) with certificationRequestInfo kept as
/// the raw element, so the signature is checked over the original bytes.
#[derive(Sequence)]
struct RawCertReq<'a> {
    info: AnyRef<'a>,
    algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

fn unparseable(e: impl std::fmt::Display) -> CsrError {
    CsrError::Unparseable(e.to_string())
}

/// Parses a DER CSR, checks its key, verifies its self-signature, and
/// extracts the requested names.
pub fn parse_csr(der: &[u8]) -> Result<Csr, CsrError> {
    let raw = RawCertReq::from_der(der).map_err(unparseable)?;
    if raw.info.tag() != Tag::Sequence {
        return Err(unparseable("certificationRequestInfo is not a SEQUENCE"));
    }
    let info_der = raw.info.to_der().map_err(unparseable)?;
    let info = CertReqInfo::from_der(&info_der).map_err(unparseable)?;
    if info.version != Version::V1 {
        return Err(unparseable("version is not v1(0)"));
    }
    let spki = &info.public_key;
    let kind = inspect_key(spki)?;
    let sig = raw
        .signature
        .as_bytes()
        .ok_or_else(|| unparseable("signature bit string has unused bits"))?;
    verify(spki, kind, &raw.algorithm, &info_der, sig)?;

    let mut dns_names: Vec<String> = Vec::new();
    let mut ips: Vec<IpAddr> = Vec::new();
    for ext in requested_extensions(&info)? {
        match ext.extn_id {
            oids::CE_SUBJECT_ALT_NAME => {
                let san =
                    SubjectAltName::from_der(ext.extn_value.as_bytes()).map_err(unparseable)?;
                collect_names(&san, &mut dns_names, &mut ips)?;
            }
            oids::CE_BASIC_CONSTRAINTS => {
                let bc =
                    BasicConstraints::from_der(ext.extn_value.as_bytes()).map_err(unparseable)?;
                if bc.ca {
                    return Err(CsrError::UnsupportedExtension(
                        "basicConstraints cA=TRUE".into(),
                    ));
                }
            }
            TLS_FEATURE => {
                return Err(CsrError::UnsupportedExtension(
                    "TLS Feature (OCSP must-staple); this CA runs no OCSP responder".into(),
                ));
            }
            oids::CE_KEY_USAGE | oids::CE_EXT_KEY_USAGE | oids::CE_SUBJECT_KEY_ID => {}
            other if ext.critical => {
                return Err(CsrError::UnsupportedExtension(format!(
                    "critical extension {other}"
                )));
            }
            _ => {}
        }
    }

    let common_name = subject_common_name(&info)?;
    if dns_names.is_empty() && ips.is_empty() {
        return match common_name {
            Some(cn) => Err(CsrError::CommonNameNotInSans(cn)),
            None => Err(CsrError::NoNames),
        };
    }
    if let Some(cn) = &common_name {
        let in_dns = dns_names.iter().any(|d| d == cn);
        let in_ips = cn.parse::<IpAddr>().is_ok_and(|ip| ips.contains(&ip));
        if !in_dns && !in_ips {
            return Err(CsrError::CommonNameNotInSans(cn.clone()));
        }
    }
    Ok(Csr {
        spki_der: spki.to_der().map_err(unparseable)?,
        key_desc: kind.describe(),
        dns_names,
        ips,
        common_name,
    })
}

/// The extensions in the (single) extensionRequest attribute (RFC 2985 §5.4.2).
fn requested_extensions(info: &CertReqInfo) -> Result<Vec<Extension>, CsrError> {
    let mut found: Option<Vec<Extension>> = None;
    for attr in info.attributes.iter() {
        if attr.oid != oids::EXTENSION_REQUEST {
            continue;
        }
        let mut values = attr.values.iter();
        let (Some(v), None, None) = (values.next(), values.next(), found.as_ref()) else {
            return Err(unparseable(
                "extensionRequest must appear once with one value",
            ));
        };
        let exts: Vec<Extension> = v.decode_as().map_err(unparseable)?;
        let mut seen = BTreeSet::new();
        if !exts.iter().all(|e| seen.insert(e.extn_id)) {
            return Err(unparseable("an extension is requested twice"));
        }
        found = Some(exts);
    }
    Ok(found.unwrap_or_default())
}

fn collect_names(
    san: &SubjectAltName,
    dns: &mut Vec<String>,
    ips: &mut Vec<IpAddr>,
) -> Result<(), CsrError> {
    for gn in &san.0 {
        match gn {
            GeneralName::DnsName(d) => {
                let d = d.as_str().to_ascii_lowercase();
                if !dns.contains(&d) {
                    dns.push(d);
                }
            }
            GeneralName::IpAddress(o) => {
                let b = o.as_bytes();
                let ip = if let Ok(a) = <[u8; 4]>::try_from(b) {
                    IpAddr::from(a)
                } else if let Ok(a) = <[u8; 16]>::try_from(b) {
                    IpAddr::from(a)
                } else {
                    return Err(unparseable("iPAddress is neither 4 nor 16 octets"));
                };
                if !ips.contains(&ip) {
                    ips.push(ip);
                }
            }
            other => {
                return Err(CsrError::UnsupportedExtension(format!(
                    "subjectAltName {} (only dNSName and iPAddress are allowed)",
                    general_name_kind(other)
                )));
            }
        }
    }
    Ok(())
}

fn general_name_kind(gn: &GeneralName) -> &'static str {
    match gn {
        GeneralName::OtherName(_) => "otherName",
        GeneralName::Rfc822Name(_) => "rfc822Name",
        GeneralName::DnsName(_) => "dNSName",
        GeneralName::DirectoryName(_) => "directoryName",
        GeneralName::EdiPartyName(_) => "ediPartyName",
        GeneralName::UniformResourceIdentifier(_) => "uniformResourceIdentifier",
        GeneralName::IpAddress(_) => "iPAddress",
        GeneralName::RegisteredId(_) => "registeredID",
    }
}

/// The subject's single commonName, normalised: IPs in canonical text,
/// DNS names lower-cased.
fn subject_common_name(info: &CertReqInfo) -> Result<Option<String>, CsrError> {
    let mut cns = info
        .subject
        .iter()
        .filter(|atv| atv.oid == oids::AT_COMMON_NAME);
    let Some(atv) = cns.next() else {
        return Ok(None);
    };
    if cns.next().is_some() {
        return Err(unparseable("subject has more than one commonName"));
    }
    let cn = asn1::directory_string(&atv.value)
        .ok_or_else(|| unparseable("subject commonName is not a text string"))?;
    Ok(Some(match cn.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => cn.to_ascii_lowercase(),
    }))
}

/// Checks a parsed CSR against the order and the account: the key is not
/// the account key, and the names are exactly the order's (as sets,
/// DNS names case-insensitively).
pub fn check_csr(
    csr: &Csr,
    order_dns: &[String],
    order_ips: &[IpAddr],
    account_spki_der: &[u8],
) -> Result<(), CsrError> {
    if same_key(&csr.spki_der, account_spki_der) {
        return Err(CsrError::KeyIsAccountKey);
    }
    let want: BTreeSet<String> = order_dns
        .iter()
        .map(|d| d.to_ascii_lowercase())
        .chain(order_ips.iter().map(IpAddr::to_string))
        .collect();
    let have: BTreeSet<String> = csr
        .dns_names
        .iter()
        .map(|d| d.to_ascii_lowercase())
        .chain(csr.ips.iter().map(IpAddr::to_string))
        .collect();
    if want != have {
        return Err(CsrError::NamesMismatch {
            missing: want.difference(&have).cloned().collect(),
            extra: have.difference(&want).cloned().collect(),
        });
    }
    if let Some(cn) = csr.common_name.as_ref().filter(|cn| !have.contains(*cn)) {
        return Err(CsrError::CommonNameNotInSans(cn.clone()));
    }
    Ok(())
}

/// Compares two SPKIs by algorithm and key bits, tolerating encoding
/// differences in the wrapper; falls back to a byte comparison.
fn same_key(a: &[u8], b: &[u8]) -> bool {
    match (
        SubjectPublicKeyInfoOwned::from_der(a),
        SubjectPublicKeyInfoOwned::from_der(b),
    ) {
        (Ok(x), Ok(y)) => {
            x.algorithm.oid == y.algorithm.oid && x.subject_public_key == y.subject_public_key
        }
        _ => a == b,
    }
}

#[cfg(test)]
#[path = "csr_tests.rs"]
mod tests;
