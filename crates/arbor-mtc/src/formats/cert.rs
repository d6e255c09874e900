//! Merkle Tree Certificates as X.509 (draft §6.2 "Certificate Format"): build a
//! standalone or landmark-relative certificate from a log entry, the subject SPKI, the
//! serial and an MTCProof, and parse one back. Both `signature` fields are
//! `id-alg-mtcProof` with absent parameters; `signatureValue` is a BIT STRING with 0
//! unused bits holding the MTCProof. Parsing keeps every TBS field's raw DER so that
//! re-encoding reproduces the input exactly and the log entry hashes byte for byte.
use der::{Decode, Encode, Tag};
use spki::AlgorithmIdentifierOwned;
use x509_cert::time::Validity;

use super::der_util::{split_tlvs, unwrap_tlv, wrap};
use super::entry::{EntryBody, MtcLogEntry, TbsCertificateLogEntry, check_version, optional_tail};
use super::error::FormatError;
use super::proof::MtcProof;
use super::tai::TrustAnchorId;
use crate::tlog;
use crate::version::CURRENT;

/// DER of `AlgorithmIdentifier { id-alg-mtcProof }` with parameters absent.
pub fn mtc_proof_algorithm_der() -> Result<Vec<u8>, FormatError> {
    AlgorithmIdentifierOwned {
        oid: CURRENT.mtc_proof_alg(),
        parameters: None,
    }
    .to_der()
    .map_err(FormatError::der("signatureAlgorithm"))
}

/// The TBSCertificate of an MTC, as raw DER per field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MtcTbs {
    pub version: Option<Vec<u8>>,
    pub serial: u64,
    pub issuer: Vec<u8>,
    pub validity: Vec<u8>,
    pub subject: Vec<u8>,
    /// Complete SubjectPublicKeyInfo TLV.
    pub spki: Vec<u8>,
    pub issuer_unique_id: Option<Vec<u8>>,
    pub subject_unique_id: Option<Vec<u8>>,
    pub extensions: Option<Vec<u8>>,
}

/// A parsed Merkle Tree Certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MtcCertificate {
    pub tbs: MtcTbs,
    pub proof: MtcProof,
}

impl MtcCertificate {
    /// Builds a certificate for `entry` (serial `(log << 48) | index`, see
    /// [`super::tai::serial_number`]); `spki_der` must match the entry's algorithm and hash.
    pub fn build(
        entry: &TbsCertificateLogEntry,
        spki_der: &[u8],
        serial: u64,
        proof: MtcProof,
    ) -> Result<Self, FormatError> {
        let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der)
            .map_err(FormatError::der("subjectPublicKeyInfo"))?;
        let alg = spki
            .algorithm
            .to_der()
            .map_err(FormatError::der("subjectPublicKeyAlgorithm"))?;
        if alg != entry.spki_algorithm || tlog::sha256(spki_der) != entry.spki_hash {
            return Err(FormatError::SpkiMismatch);
        }
        let cert = MtcCertificate {
            tbs: MtcTbs {
                version: entry.version.clone(),
                serial,
                issuer: entry.issuer.clone(),
                validity: entry.validity.clone(),
                subject: entry.subject.clone(),
                spki: spki_der.to_vec(),
                issuer_unique_id: entry.issuer_unique_id.clone(),
                subject_unique_id: entry.subject_unique_id.clone(),
                extensions: entry.extensions.clone(),
            },
            proof,
        };
        cert.to_der()?;
        Ok(cert)
    }

    /// Encodes the certificate.
    pub fn to_der(&self) -> Result<Vec<u8>, FormatError> {
        let alg = mtc_proof_algorithm_der()?;
        let t = &self.tbs;
        let serial = t
            .serial
            .to_der()
            .map_err(FormatError::der("serialNumber"))?;
        let mut tbs = Vec::new();
        if let Some(v) = &t.version {
            tbs.extend_from_slice(v);
        }
        for f in [&serial, &alg, &t.issuer, &t.validity, &t.subject, &t.spki] {
            tbs.extend_from_slice(f);
        }
        for f in [&t.issuer_unique_id, &t.subject_unique_id, &t.extensions]
            .into_iter()
            .flatten()
        {
            tbs.extend_from_slice(f);
        }
        let tbs = wrap(Tag::Sequence, &tbs, "TBSCertificate")?;
        let mut bits = vec![0u8];
        bits.extend_from_slice(&self.proof.encode()?);
        let sig = wrap(Tag::BitString, &bits, "signatureValue")?;
        wrap(Tag::Sequence, &[tbs, alg, sig].concat(), "Certificate")
    }

    /// Parses a DER certificate. Returns [`FormatError::NotMtc`] when the certificate's
    /// signature algorithm is anything but `id-alg-mtcProof`.
    pub fn from_der(der: &[u8]) -> Result<Self, FormatError> {
        let contents = unwrap_tlv(der, 0x30, "Certificate")?;
        let parts = split_tlvs(contents, "Certificate")?;
        let [tbs, alg, sig] = parts.as_slice() else {
            return Err(FormatError::Truncated("Certificate (3 fields)"));
        };
        if alg.tag != 0x30 {
            return Err(FormatError::UnexpectedTag {
                what: "signatureAlgorithm",
                found: alg.tag,
            });
        }
        let parsed_alg = AlgorithmIdentifierOwned::from_der(alg.bytes)
            .map_err(FormatError::der("signatureAlgorithm"))?;
        if parsed_alg.oid != CURRENT.mtc_proof_alg() {
            return Err(FormatError::NotMtc(parsed_alg.oid.to_string()));
        }
        if alg.bytes != mtc_proof_algorithm_der()?.as_slice() {
            return Err(FormatError::AlgorithmParameters);
        }
        let bits = unwrap_tlv(sig.bytes, 0x03, "signatureValue")?;
        let (&unused, proof_bytes) = bits
            .split_first()
            .ok_or(FormatError::Truncated("signatureValue"))?;
        if unused != 0 {
            return Err(FormatError::UnusedBits(unused));
        }
        let tbs = parse_tbs(unwrap_tlv(tbs.bytes, 0x30, "TBSCertificate")?, alg.bytes)?;
        let proof = MtcProof::decode(proof_bytes)?;
        Ok(MtcCertificate { tbs, proof })
    }

    /// The CA ID named by the issuer.
    pub fn issuer_id(&self) -> Result<TrustAnchorId, FormatError> {
        TrustAnchorId::from_name_der(&self.tbs.issuer)
    }

    /// `(notBefore, notAfter)` as Unix seconds.
    pub fn validity(&self) -> Result<(i64, i64), FormatError> {
        let v = Validity::<x509_cert::certificate::Rfc5280>::from_der(&self.tbs.validity)
            .map_err(FormatError::der("validity"))?;
        let secs = |t: x509_cert::time::Time| {
            i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
        };
        Ok((secs(v.not_before), secs(v.not_after)))
    }

    /// Rebuilds the TBSCertificateLogEntry this certificate asserts (draft §8.2 step 7).
    pub fn log_entry_tbs(&self) -> Result<TbsCertificateLogEntry, FormatError> {
        let spki_parts = split_tlvs(
            unwrap_tlv(&self.tbs.spki, 0x30, "subjectPublicKeyInfo")?,
            "subjectPublicKeyInfo",
        )?;
        let alg = spki_parts
            .first()
            .ok_or(FormatError::Truncated("subjectPublicKeyInfo"))?;
        Ok(TbsCertificateLogEntry {
            version: self.tbs.version.clone(),
            issuer: self.tbs.issuer.clone(),
            validity: self.tbs.validity.clone(),
            subject: self.tbs.subject.clone(),
            spki_algorithm: alg.bytes.to_vec(),
            spki_hash: tlog::sha256(&self.tbs.spki),
            issuer_unique_id: self.tbs.issuer_unique_id.clone(),
            subject_unique_id: self.tbs.subject_unique_id.clone(),
            extensions: self.tbs.extensions.clone(),
        })
    }

    /// The full MTCLogEntry (draft §8.2 step 8), with the proof's extensions.
    pub fn log_entry(&self) -> Result<MtcLogEntry, FormatError> {
        Ok(MtcLogEntry {
            extensions: self.proof.extensions.clone(),
            body: EntryBody::TbsCert(Box::new(self.log_entry_tbs()?)),
        })
    }
}

fn parse_tbs(contents: &[u8], outer_alg: &[u8]) -> Result<MtcTbs, FormatError> {
    let tlvs = split_tlvs(contents, "TBSCertificate")?;
    let mut it = tlvs.into_iter().peekable();
    let version = match it.peek() {
        Some(t) if t.tag == 0xa0 => {
            let t = it.next().map(|t| t.bytes).unwrap_or_default();
            check_version(t)?;
            Some(t.to_vec())
        }
        _ => None,
    };
    let mut next = |tag: u8, what: &'static str| -> Result<&[u8], FormatError> {
        match it.next() {
            Some(t) if t.tag == tag => Ok(t.bytes),
            Some(t) => Err(FormatError::UnexpectedTag { what, found: t.tag }),
            None => Err(FormatError::Truncated(what)),
        }
    };
    let serial = next(0x02, "serialNumber")?;
    let serial = u64::from_der(serial).map_err(|_| FormatError::SerialRange)?;
    if next(0x30, "signature")? != outer_alg {
        return Err(FormatError::SignatureAlgorithmMismatch);
    }
    let issuer = next(0x30, "issuer")?.to_vec();
    TrustAnchorId::from_name_der(&issuer)?;
    let validity = next(0x30, "validity")?.to_vec();
    Validity::<x509_cert::certificate::Rfc5280>::from_der(&validity)
        .map_err(FormatError::der("validity"))?;
    let subject = next(0x30, "subject")?.to_vec();
    x509_cert::name::Name::from_der(&subject).map_err(FormatError::der("subject"))?;
    let spki = next(0x30, "subjectPublicKeyInfo")?.to_vec();
    spki::SubjectPublicKeyInfoRef::from_der(&spki)
        .map_err(FormatError::der("subjectPublicKeyInfo"))?;
    let rest: Vec<_> = it.collect();
    let (issuer_unique_id, subject_unique_id, extensions) = optional_tail(&rest)?;
    Ok(MtcTbs {
        version,
        serial,
        issuer,
        validity,
        subject,
        spki,
        issuer_unique_id,
        subject_unique_id,
        extensions,
    })
}
