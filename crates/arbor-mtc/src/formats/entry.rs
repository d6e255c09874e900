//! Issuance-log entries (draft §5.3.1 "Log Entries"): `MTCLogEntry` (TLS syntax with
//! `null_entry`/`tbs_cert_entry`) and `TBSCertificateLogEntry`, whose DER *contents
//! octets* (no outer SEQUENCE header) form `tbs_cert_entry_data`, plus the RFC 9162 leaf
//! hash of an entry. Unknown entry types are rejected: a CA must not certify a subtree
//! holding entries it does not understand.
use der::{Decode, Tag};
use x509_cert::certificate::Version;
use x509_cert::name::Name;
use x509_cert::spki::AlgorithmIdentifierOwned;
use x509_cert::time::Validity;

use super::der_util::{split_tlvs, wrap};
use super::error::FormatError;
use super::tai::TrustAnchorId;
use super::tls::{Reader, put_uint, put_vec};
use crate::tlog::{self, Hash};
use crate::version::{HASH_SIZE, MAX_ENTRY_SIZE};

/// `null_entry(0)`.
pub const NULL_ENTRY: u16 = 0;
/// `tbs_cert_entry(1)`.
pub const TBS_CERT_ENTRY: u16 = 1;

/// One `MTCLogEntryExtension` (no types are defined yet; carried opaquely).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryExtension {
    pub extension_type: u16,
    pub data: Vec<u8>,
}

/// The `extensions<0..2^16-1>` list, strictly ascending by type (shared by the log entry
/// and the MTCProof, which must carry the entry's value).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntryExtensions(pub Vec<EntryExtension>);

impl EntryExtensions {
    /// Encodes the list with its uint16 length prefix.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), FormatError> {
        self.check_order()?;
        let mut body = Vec::new();
        for ext in &self.0 {
            put_uint(
                &mut body,
                2,
                u64::from(ext.extension_type),
                "extension type",
            )?;
            put_vec(&mut body, 2, &ext.data, "extension data")?;
        }
        put_vec(out, 2, &body, "extensions")
    }

    pub(crate) fn decode_from(r: &mut Reader<'_>) -> Result<Self, FormatError> {
        let mut inner = Reader::new(r.vec(2, "extensions")?);
        let mut exts = Vec::new();
        while !inner.is_empty() {
            let extension_type = inner.u16("extension type")?;
            let data = inner.vec(2, "extension data")?.to_vec();
            exts.push(EntryExtension {
                extension_type,
                data,
            });
        }
        let out = EntryExtensions(exts);
        out.check_order()?;
        Ok(out)
    }

    fn check_order(&self) -> Result<(), FormatError> {
        if self
            .0
            .windows(2)
            .all(|w| w[0].extension_type < w[1].extension_type)
        {
            Ok(())
        } else {
            Err(FormatError::ExtensionsUnsorted)
        }
    }
}

/// `TBSCertificateLogEntry`, kept as the raw DER of each field so that it hashes and
/// re-encodes byte for byte. Every field is validated as DER of its ASN.1 type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TbsCertificateLogEntry {
    /// `[0] EXPLICIT Version` TLV; `None` is the DER default v1.
    pub version: Option<Vec<u8>>,
    pub issuer: Vec<u8>,
    pub validity: Vec<u8>,
    pub subject: Vec<u8>,
    /// `subjectPublicKeyAlgorithm`, the SPKI's AlgorithmIdentifier TLV.
    pub spki_algorithm: Vec<u8>,
    /// SHA-256 of the DER SubjectPublicKeyInfo.
    pub spki_hash: Hash,
    /// `[1] IMPLICIT` TLV.
    pub issuer_unique_id: Option<Vec<u8>>,
    /// `[2] IMPLICIT` TLV.
    pub subject_unique_id: Option<Vec<u8>>,
    /// `[3] EXPLICIT Extensions` TLV.
    pub extensions: Option<Vec<u8>>,
}

impl TbsCertificateLogEntry {
    /// Builds an entry from typed X.509 parts, hashing the subject's SPKI.
    pub fn new(
        version: Version,
        issuer: &TrustAnchorId,
        validity: &Validity,
        subject: &Name,
        spki_der: &[u8],
        extensions: Option<&x509_cert::ext::Extensions>,
    ) -> Result<Self, FormatError> {
        use der::Encode;
        let spki = spki::SubjectPublicKeyInfoRef::from_der(spki_der)
            .map_err(FormatError::der("subjectPublicKeyInfo"))?;
        let version = match version {
            Version::V1 => None,
            v => Some(wrap(
                Tag::ContextSpecific {
                    constructed: true,
                    number: der::TagNumber(0),
                },
                &v.to_der().map_err(FormatError::der("version"))?,
                "version",
            )?),
        };
        let extensions = match extensions {
            Some(exts) => Some(wrap(
                Tag::ContextSpecific {
                    constructed: true,
                    number: der::TagNumber(3),
                },
                &exts.to_der().map_err(FormatError::der("extensions"))?,
                "extensions",
            )?),
            None => None,
        };
        Ok(TbsCertificateLogEntry {
            version,
            issuer: issuer.to_name_der()?,
            validity: validity.to_der().map_err(FormatError::der("validity"))?,
            subject: subject.to_der().map_err(FormatError::der("subject"))?,
            spki_algorithm: spki
                .algorithm
                .to_der()
                .map_err(FormatError::der("subjectPublicKeyAlgorithm"))?,
            spki_hash: tlog::sha256(spki_der),
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions,
        })
    }

    /// The DER contents octets (the fields concatenated, no SEQUENCE header).
    pub fn contents(&self) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(v) = &self.version {
            out.extend_from_slice(v);
        }
        out.extend_from_slice(&self.issuer);
        out.extend_from_slice(&self.validity);
        out.extend_from_slice(&self.subject);
        out.extend_from_slice(&self.spki_algorithm);
        out.extend_from_slice(&[0x04, HASH_SIZE as u8]);
        out.extend_from_slice(&self.spki_hash);
        for f in [
            &self.issuer_unique_id,
            &self.subject_unique_id,
            &self.extensions,
        ]
        .into_iter()
        .flatten()
        {
            out.extend_from_slice(f);
        }
        out
    }

    /// Full DER (with the SEQUENCE header), e.g. for display with an ASN.1 dumper.
    pub fn to_der(&self) -> Result<Vec<u8>, FormatError> {
        wrap(Tag::Sequence, &self.contents(), "TBSCertificateLogEntry")
    }

    /// Parses DER contents octets strictly (field order, tags, DER of each field).
    pub fn from_contents(contents: &[u8]) -> Result<Self, FormatError> {
        const WHAT: &str = "TBSCertificateLogEntry";
        let tlvs = split_tlvs(contents, WHAT)?;
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
        let issuer = next(0x30, "issuer")?;
        TrustAnchorId::from_name_der(issuer)?;
        let validity = next(0x30, "validity")?;
        Validity::<x509_cert::certificate::Rfc5280>::from_der(validity)
            .map_err(FormatError::der("validity"))?;
        let subject = next(0x30, "subject")?;
        Name::from_der(subject).map_err(FormatError::der("subject"))?;
        let spki_algorithm = next(0x30, "subjectPublicKeyAlgorithm")?;
        AlgorithmIdentifierOwned::from_der(spki_algorithm)
            .map_err(FormatError::der("subjectPublicKeyAlgorithm"))?;
        let hash = next(0x04, "subjectPublicKeyInfoHash")?;
        let hash = <&der::asn1::OctetStringRef>::from_der(hash)
            .map_err(FormatError::der("subjectPublicKeyInfoHash"))?;
        let spki_hash: Hash = hash
            .as_bytes()
            .try_into()
            .map_err(|_| FormatError::Truncated("subjectPublicKeyInfoHash"))?;
        let (issuer, validity, subject, spki_algorithm) = (
            issuer.to_vec(),
            validity.to_vec(),
            subject.to_vec(),
            spki_algorithm.to_vec(),
        );
        let rest: Vec<_> = it.collect();
        let (issuer_unique_id, subject_unique_id, extensions) = optional_tail(&rest)?;
        Ok(TbsCertificateLogEntry {
            version,
            issuer,
            validity,
            subject,
            spki_algorithm,
            spki_hash,
            issuer_unique_id,
            subject_unique_id,
            extensions,
        })
    }

    /// The CA ID in the issuer field.
    pub fn issuer_id(&self) -> Result<TrustAnchorId, FormatError> {
        TrustAnchorId::from_name_der(&self.issuer)
    }
}

type OptTail = (Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>);

/// Parses the optional `[1] [2] [3]` fields that end both TBSCertificate and the entry.
pub(crate) fn optional_tail(rest: &[super::der_util::Tlv<'_>]) -> Result<OptTail, FormatError> {
    let mut out: OptTail = (None, None, None);
    let mut last = 0u8;
    for t in rest {
        let slot = match t.tag {
            0x81 => &mut out.0,
            0x82 => &mut out.1,
            0xa3 => {
                let inner = super::der_util::unwrap_tlv(t.bytes, 0xa3, "extensions")?;
                x509_cert::ext::Extensions::from_der(inner)
                    .map_err(FormatError::der("extensions"))?;
                &mut out.2
            }
            found => {
                return Err(FormatError::UnexpectedTag {
                    what: "TBS optional fields",
                    found,
                });
            }
        };
        if t.tag & 0x1f <= last & 0x1f {
            return Err(FormatError::UnexpectedTag {
                what: "TBS optional fields (order)",
                found: t.tag,
            });
        }
        last = t.tag;
        *slot = Some(t.bytes.to_vec());
    }
    Ok(out)
}

/// Checks a `[0] EXPLICIT Version` TLV; DER forbids spelling out the default v1.
pub(crate) fn check_version(tlv: &[u8]) -> Result<(), FormatError> {
    let inner = super::der_util::unwrap_tlv(tlv, 0xa0, "version")?;
    match Version::from_der(inner).map_err(FormatError::der("version"))? {
        Version::V1 => Err(FormatError::Der(
            "version",
            der::Tag::Integer.non_canonical_error().into(),
        )),
        _ => Ok(()),
    }
}

/// What an entry certifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryBody {
    /// `null_entry`: certifies nothing.
    Null,
    /// `tbs_cert_entry`.
    TbsCert(Box<TbsCertificateLogEntry>),
}

/// `MTCLogEntry`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MtcLogEntry {
    pub extensions: EntryExtensions,
    pub body: EntryBody,
}

impl MtcLogEntry {
    /// A `null_entry` with no extensions (encodes as `00 00 00 00`).
    pub fn null() -> Self {
        MtcLogEntry {
            extensions: EntryExtensions::default(),
            body: EntryBody::Null,
        }
    }

    /// A `tbs_cert_entry` with no extensions.
    pub fn tbs_cert(entry: TbsCertificateLogEntry) -> Self {
        MtcLogEntry {
            extensions: EntryExtensions::default(),
            body: EntryBody::TbsCert(Box::new(entry)),
        }
    }

    /// Encodes the entry; fails above 65535 bytes.
    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        let mut out = Vec::new();
        self.extensions.encode_into(&mut out)?;
        match &self.body {
            EntryBody::Null => put_uint(&mut out, 2, u64::from(NULL_ENTRY), "entry type")?,
            EntryBody::TbsCert(tbs) => {
                put_uint(&mut out, 2, u64::from(TBS_CERT_ENTRY), "entry type")?;
                out.extend_from_slice(&tbs.contents());
            }
        }
        if out.len() > MAX_ENTRY_SIZE {
            return Err(FormatError::TooLong("MTCLogEntry", out.len()));
        }
        Ok(out)
    }

    /// Decodes an entry whose total length is known (e.g. from a tile bundle).
    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(FormatError::TooLong("MTCLogEntry", bytes.len()));
        }
        let mut r = Reader::new(bytes);
        let extensions = EntryExtensions::decode_from(&mut r)?;
        let body = match r.u16("entry type")? {
            NULL_ENTRY => {
                r.finish("null_entry")?;
                EntryBody::Null
            }
            TBS_CERT_ENTRY => {
                EntryBody::TbsCert(Box::new(TbsCertificateLogEntry::from_contents(r.rest())?))
            }
            other => return Err(FormatError::UnknownEntryType(other)),
        };
        Ok(MtcLogEntry { extensions, body })
    }

    /// RFC 9162 leaf hash `SHA-256(0x00 || entry)`.
    pub fn leaf_hash(&self) -> Result<Hash, FormatError> {
        Ok(tlog::leaf_hash(&self.encode()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_entry_bytes_and_hash() {
        let e = MtcLogEntry::null();
        assert_eq!(e.encode().unwrap(), vec![0, 0, 0, 0]);
        assert_eq!(
            hex::encode(e.leaf_hash().unwrap()),
            "8855508aade16ec573d21e6a485dfd0a7624085c1a14b5ecdd6485de0c6839a4"
        );
        assert_eq!(MtcLogEntry::decode(&[0, 0, 0, 0]).unwrap(), e);
        assert!(MtcLogEntry::decode(&[0, 0, 0, 0, 0]).is_err());
        assert_eq!(
            MtcLogEntry::decode(&[0, 0, 0, 2]),
            Err(FormatError::UnknownEntryType(2))
        );
    }

    #[test]
    fn extensions_must_ascend() {
        let ext = |t| EntryExtension {
            extension_type: t,
            data: vec![1],
        };
        let mut e = MtcLogEntry::null();
        e.extensions = EntryExtensions(vec![ext(1), ext(2)]);
        let bytes = e.encode().unwrap();
        assert_eq!(MtcLogEntry::decode(&bytes).unwrap(), e);
        // Swap the two extensions on the wire.
        let mut swapped = bytes.clone();
        swapped[3] = 2;
        swapped[8] = 1;
        assert_eq!(
            MtcLogEntry::decode(&swapped),
            Err(FormatError::ExtensionsUnsorted)
        );
        e.extensions = EntryExtensions(vec![ext(2), ext(2)]);
        assert_eq!(e.encode(), Err(FormatError::ExtensionsUnsorted));
    }
}
