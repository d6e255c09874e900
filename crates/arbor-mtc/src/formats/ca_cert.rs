//! The CA certificate (draft §5.5 "Representing Certification Authorities"): an RFC 9925
//! unsigned certificate whose subject is the CA ID, whose key is the CA cosigner key, and
//! which carries the critical `id-pe-mtcCertificationAuthority-SHA256` extension
//! `SEQUENCE { sigAlg, minSerial, maxSerial }` (-07: the OID fixes the log hash, so there
//! is no `logHash` field; both bounds lie in `mtcMinSerial..=mtcMaxSerial`).
use std::ops::RangeInclusive;

use der::asn1::{BitString, OctetString, Utf8StringRef};
use der::{Decode, Encode, Sequence, Tag};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
use x509_cert::time::Validity;

use super::der_util::{sequence, wrap};
use super::error::FormatError;
use super::tai::TrustAnchorId;
use crate::version::{CURRENT, ID_ALG_UNSIGNED, ID_RDNA_UNSIGNED};

/// The extension value `MTCCertificationAuthority` (-07 shape).
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct MtcCaExtension {
    /// Signature algorithm of the CA cosigner.
    pub sig_alg: AlgorithmIdentifierOwned,
    pub min_serial: u64,
    pub max_serial: u64,
}

impl MtcCaExtension {
    fn check(&self) -> Result<(), FormatError> {
        let ok = self.min_serial >= CURRENT.min_serial() && self.min_serial <= self.max_serial;
        if ok {
            Ok(())
        } else {
            Err(FormatError::SerialBounds {
                min: self.min_serial,
                max: self.max_serial,
            })
        }
    }
}

/// A parsed MTC CA certificate: what a relying party learns from it (draft §8.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaCertificate {
    /// The CA ID (subject), also the CA cosigner's ID.
    pub ca_id: TrustAnchorId,
    /// DER SubjectPublicKeyInfo of the CA cosigner key.
    pub spki_der: Vec<u8>,
    /// The MTC extension.
    pub mtc: MtcCaExtension,
    /// The certificate as given.
    pub der: Vec<u8>,
}

impl CaCertificate {
    /// Parses a CA certificate. The signature is not checked (RFC 9925 unsigned
    /// certificates have none); trust comes from how the certificate was configured.
    pub fn from_der(der: &[u8]) -> Result<Self, FormatError> {
        let cert = Certificate::from_der(der).map_err(FormatError::der("CA certificate"))?;
        let tbs = cert.tbs_certificate();
        let ca_id = TrustAnchorId::from_name(tbs.subject())?;
        let spki_der = tbs
            .subject_public_key_info()
            .to_der()
            .map_err(FormatError::der("CA subjectPublicKeyInfo"))?;
        let mut found = None;
        for ext in tbs.extensions().into_iter().flatten() {
            if ext.extn_id != CURRENT.ca_extension() {
                continue;
            }
            if found.is_some() {
                return Err(FormatError::DuplicateCaExtension);
            }
            if !ext.critical {
                return Err(FormatError::CaExtensionNotCritical);
            }
            let value = MtcCaExtension::from_der(ext.extn_value.as_bytes())
                .map_err(FormatError::der("MTC CA extension"))?;
            value.check()?;
            found = Some(value);
        }
        let mtc = found.ok_or(FormatError::MissingCaExtension(
            "id-pe-mtcCertificationAuthority-SHA256",
        ))?;
        Ok(CaCertificate {
            ca_id,
            spki_der,
            mtc,
            der: der.to_vec(),
        })
    }

    /// Builds an RFC 9925 unsigned CA certificate (v3, keyUsage keyCertSign and
    /// basicConstraints cA both critical, then the critical MTC extension).
    pub fn build(
        ca_id: &TrustAnchorId,
        serial: u64,
        validity: &Validity,
        spki_der: &[u8],
        mtc: MtcCaExtension,
    ) -> Result<Self, FormatError> {
        mtc.check()?;
        let e = FormatError::der("CA certificate");
        let unsigned_alg = AlgorithmIdentifierOwned {
            oid: ID_ALG_UNSIGNED,
            parameters: None,
        }
        .to_der()
        .map_err(&e)?;
        let placeholder = sequence(
            &[
                &ID_RDNA_UNSIGNED.to_der().map_err(&e)?,
                &Utf8StringRef::new("").map_err(&e)?.to_der().map_err(&e)?,
            ],
            "issuer",
        )?;
        let issuer = sequence(&[&wrap(Tag::Set, &placeholder, "issuer")?], "issuer")?;
        let ext = |oid, value: Vec<u8>| -> Result<Vec<u8>, FormatError> {
            Extension {
                extn_id: oid,
                critical: true,
                extn_value: OctetString::new(value).map_err(&e)?,
            }
            .to_der()
            .map_err(&e)
        };
        let ku = KeyUsage(KeyUsages::KeyCertSign.into())
            .to_der()
            .map_err(&e)?;
        let bc = BasicConstraints {
            ca: true,
            path_len_constraint: None,
        }
        .to_der()
        .map_err(&e)?;
        let exts = sequence(
            &[
                &ext(const_oid::db::rfc5280::ID_CE_KEY_USAGE, ku)?,
                &ext(const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS, bc)?,
                &ext(CURRENT.ca_extension(), mtc.to_der().map_err(&e)?)?,
            ],
            "extensions",
        )?;
        let ctx = |n| Tag::ContextSpecific {
            constructed: true,
            number: der::TagNumber(n),
        };
        let tbs = sequence(
            &[
                &wrap(ctx(0), &2u8.to_der().map_err(&e)?, "version")?,
                &serial.to_der().map_err(&e)?,
                &unsigned_alg,
                &issuer,
                &validity.to_der().map_err(&e)?,
                &ca_id.to_name_der()?,
                spki_der,
                &wrap(ctx(3), &exts, "extensions")?,
            ],
            "TBSCertificate",
        )?;
        let empty_sig = BitString::new(0, Vec::new())
            .map_err(&e)?
            .to_der()
            .map_err(&e)?;
        let der = sequence(&[&tbs, &unsigned_alg, &empty_sig], "Certificate")?;
        Self::from_der(&der)
    }

    /// Serial ranges this certificate revokes: `[0, minSerial)` and `(maxSerial, 2^64)`.
    pub fn revoked_ranges(&self) -> Vec<RangeInclusive<u64>> {
        let mut out = Vec::new();
        if self.mtc.min_serial > 0 {
            out.push(0..=self.mtc.min_serial - 1);
        }
        if self.mtc.max_serial < u64::MAX {
            out.push(self.mtc.max_serial + 1..=u64::MAX);
        }
        out
    }
}
