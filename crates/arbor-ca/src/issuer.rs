//! The issuing intermediate: builds subscriber TBSCertificates (RFC 5280
//! §4.1, CA/B Forum BR §7.1.2.7), lints them with
//! [`check_leaf_profile`](crate::check_leaf_profile) before signing, and
//! signs them with ECDSA P-256 / SHA-256.
//!
//! The subject is empty with a critical subjectAltName, unless a commonName
//! is requested, in which case it is `CN=<name>` and the SAN is non-critical
//! (RFC 5280 §4.2.1.6). No subjectKeyIdentifier (BR: NOT RECOMMENDED).

use std::net::IpAddr;

use der::asn1::{Ia5String, OctetString};
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::certificate::Version;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::certpolicy::PolicyInformation;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName,
};
use x509_cert::name::Name;

use crate::asn1::{self, TbsBuild};
use crate::keys::CaKey;
use crate::profile::check_leaf_profile_der;
use crate::{CaError, oids};

/// Default subscriber validity: 90 days.
pub const DEFAULT_LEAF_VALIDITY_SECS: i64 = 90 * 86_400;

/// A key that signs certificates and CRLs under one CA name.
#[derive(Debug)]
pub(crate) struct Signer {
    pub(crate) key: CaKey,
    pub(crate) name: Name,
    /// subjectKeyIdentifier of this CA's certificate(s).
    pub(crate) ski: Vec<u8>,
    /// Short stable id: hex of the first 8 bytes of the SKI.
    pub(crate) id: String,
    /// notAfter of this CA's certificate, in Unix seconds.
    pub(crate) not_after: i64,
}

/// Short id of a CA: hex of the first 8 bytes of its key identifier.
pub(crate) fn ca_id(ski: &[u8]) -> String {
    hex::encode(&ski[..ski.len().min(8)])
}

/// The issuing intermediate CA.
#[derive(Debug)]
pub struct Issuer {
    /// Short stable id (hex of the first 8 bytes of the SKI); names the
    /// AIA (`{aia_base_url}/{id}.der`) and CRL (`{crl_base_url}/{id}.crl`) URLs.
    pub id: String,
    /// The intermediate certificate signed by the primary root (DER).
    pub cert_der: Vec<u8>,
    /// The same intermediate (key and subject) cross-signed by the alternate root (DER).
    pub cross_cert_der: Vec<u8>,
    /// The intermediate's subject commonName.
    pub subject_cn: String,
    /// caIssuers URL put in leaves: where `cert_der` is served.
    pub aia_url: String,
    /// CRL distribution point put in leaves and in this issuer's CRLs.
    pub crl_url: String,
    pub(crate) signer: Signer,
}

/// What a subscriber certificate should contain. Built by the RA after the
/// CSR and order checks.
#[derive(Clone, Debug)]
pub struct LeafRequest {
    /// Positive big-endian serial, made by the caller from a CSPRNG: at least
    /// 64 random bits with the first bit 0 (9..=20 bytes; 16 recommended).
    pub serial: Vec<u8>,
    /// The subject public key, a DER SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
    /// dNSName SANs (lower case).
    pub dns_names: Vec<String>,
    /// iPAddress SANs.
    pub ips: Vec<IpAddr>,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// Validity in seconds; notAfter = notBefore + validity − 1.
    /// [`DEFAULT_LEAF_VALIDITY_SECS`] is 90 days.
    pub validity_secs: i64,
    /// Optional subject commonName; must be one of the SANs (DNS name or IP text).
    pub common_name: Option<String>,
}

/// Fewest serial bytes accepted from a caller: 64 random bits plus room
/// for a clear first bit.
pub const MIN_SERIAL_BYTES: usize = 9;

/// A fresh positive 16-byte serial from the system CSPRNG (first bit 0).
pub fn random_serial() -> Result<Vec<u8>, CaError> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut s = vec![0u8; 16];
    SystemRandom::new()
        .fill(&mut s)
        .map_err(|_| CaError::Key("CSPRNG failure".into()))?;
    s[0] &= 0x7f;
    if s[0] == 0 {
        // Keep the integer 16 octets long so it never drops under the minimum.
        s[0] = 0x01;
    }
    Ok(s)
}

pub(crate) fn san_names(dns: &[String], ips: &[IpAddr]) -> Result<Vec<GeneralName>, CaError> {
    let mut names = Vec::with_capacity(dns.len() + ips.len());
    for d in dns {
        names.push(GeneralName::DnsName(Ia5String::new(d).map_err(|_| {
            CaError::InvalidRequest(format!("DNS name {d:?} is not IA5"))
        })?));
    }
    for ip in ips {
        let octets = match ip {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        names.push(GeneralName::IpAddress(OctetString::new(octets)?));
    }
    Ok(names)
}

pub(crate) fn uri(u: &str) -> Result<GeneralName, CaError> {
    Ok(GeneralName::UniformResourceIdentifier(
        Ia5String::new(u).map_err(|_| CaError::InvalidRequest(format!("URL {u:?} is not IA5")))?,
    ))
}

/// AKI carrying only the issuer's key identifier (RFC 5280 §4.2.1.1).
pub(crate) fn aki_ext(ski: &[u8]) -> Result<Extension, CaError> {
    let aki = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(ski)?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    asn1::ext(oids::CE_AUTHORITY_KEY_ID, false, &aki)
}

/// AIA with one caIssuers URI (RFC 5280 §4.2.2.1).
pub(crate) fn aia_ext(url: &str) -> Result<Extension, CaError> {
    let aia = AuthorityInfoAccessSyntax(vec![AccessDescription {
        access_method: oids::AD_CA_ISSUERS,
        access_location: uri(url)?,
    }]);
    asn1::ext(oids::PE_AUTHORITY_INFO_ACCESS, false, &aia)
}

/// CRL DP with one fullName URI (RFC 5280 §4.2.1.13).
pub(crate) fn crl_dp_ext(url: &str) -> Result<Extension, CaError> {
    let dps = CrlDistributionPoints(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![uri(url)?])),
        reasons: None,
        crl_issuer: None,
    }]);
    asn1::ext(oids::CE_CRL_DP, false, &dps)
}

/// certificatePolicies with only the CA/B Forum DV policy (BR §7.1.6.1).
pub(crate) fn dv_policy_ext() -> Result<Extension, CaError> {
    let pols = CertificatePolicies(vec![PolicyInformation {
        policy_identifier: oids::CABF_DOMAIN_VALIDATED,
        policy_qualifiers: None,
    }]);
    asn1::ext(oids::CE_CERT_POLICIES, false, &pols)
}

impl Issuer {
    /// Builds the TBSCertificate for `req` without checking or signing it.
    pub(crate) fn leaf_tbs(&self, req: &LeafRequest) -> Result<TbsBuild, CaError> {
        if req.serial.len() < MIN_SERIAL_BYTES || req.serial.first().is_some_and(|b| b & 0x80 != 0)
        {
            return Err(CaError::InvalidRequest(format!(
                "serial must be >= {MIN_SERIAL_BYTES} bytes with the first bit 0"
            )));
        }
        let spki = SubjectPublicKeyInfoOwned::from_der(&req.spki_der)
            .map_err(|e| CaError::InvalidRequest(format!("subject public key: {e}")))?;
        let validity = asn1::validity(req.not_before, req.validity_secs)?;
        if asn1::unix(&validity.not_after) > self.signer.not_after {
            return Err(CaError::InvalidRequest(
                "leaf would outlive the issuing certificate".into(),
            ));
        }
        let subject = match &req.common_name {
            Some(cn) => asn1::name(&[(oids::AT_COMMON_NAME, cn)])?,
            None => Name::default(),
        };
        let mut ku = KeyUsage(KeyUsages::DigitalSignature.into());
        if spki.algorithm.oid == oids::RSA_ENCRYPTION {
            ku.0 |= KeyUsages::KeyEncipherment;
        }
        let san = SubjectAltName(san_names(&req.dns_names, &req.ips)?);
        let extensions = vec![
            asn1::ext(oids::CE_KEY_USAGE, true, &ku)?,
            asn1::ext(
                oids::CE_EXT_KEY_USAGE,
                false,
                &ExtendedKeyUsage(vec![oids::KP_SERVER_AUTH]),
            )?,
            asn1::ext(
                oids::CE_BASIC_CONSTRAINTS,
                true,
                &BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
            )?,
            aki_ext(&self.signer.ski)?,
            aia_ext(&self.aia_url)?,
            dv_policy_ext()?,
            crl_dp_ext(&self.crl_url)?,
            asn1::ext(oids::CE_SUBJECT_ALT_NAME, subject.is_empty(), &san)?,
        ];
        Ok(TbsBuild {
            version: Version::V3,
            serial_number: asn1::serial(&req.serial)?,
            signature: self.signer.key.signature_algorithm(),
            issuer: self.signer.name.clone(),
            validity,
            subject,
            subject_public_key_info: spki,
            extensions,
        })
    }

    /// Builds the TBS, runs [`check_leaf_profile`](crate::check_leaf_profile)
    /// on it before signing (fail closed), signs it with the intermediate key
    /// (ECDSA P-256 SHA-256) and returns the certificate DER.
    pub fn issue_leaf(&self, req: &LeafRequest) -> Result<Vec<u8>, CaError> {
        let tbs_der = self.leaf_tbs(req)?.to_der()?;
        check_leaf_profile_der(&tbs_der)?;
        asn1::sign_tbs(&tbs_der, &self.signer.key)
    }

    /// notAfter of the intermediate certificate (Unix seconds).
    pub fn not_after(&self) -> i64 {
        self.signer.not_after
    }
}
