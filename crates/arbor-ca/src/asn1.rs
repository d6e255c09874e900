//! DER building blocks shared by every structure the CA signs: times
//! (RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime after), names
//! (§4.1.2.4), extensions (§4.2), key identifiers (RFC 7093 §2 method 1) and
//! the TBSCertificate / Certificate envelopes (§4.1).
//!
//! x509-cert 0.3 keeps `TbsCertificate`'s fields crate-private, so the
//! envelope here is our own `der::Sequence` with the identical ASN.1 shape,
//! built from x509-cert/spki field types; its bytes are then decoded as an
//! `x509_cert::TbsCertificate` for the profile check and those exact bytes
//! are signed.

use std::time::Duration;

use aws_lc_rs::digest;
use const_oid::ObjectIdentifier;
use der::asn1::{
    AnyRef, BitString, GeneralizedTime, OctetString, PrintableStringRef, UtcTime, Utf8StringRef,
};
use der::{Any, DateTime, Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::certificate::Version;
use x509_cert::ext::Extension;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use crate::CaError;
use crate::keys::CaKey;
use crate::oids;

/// First year that RFC 5280 §4.1.2.5 requires to be a GeneralizedTime.
const FIRST_GENERALIZED_TIME_YEAR: u16 = 2050;

/// Converts Unix seconds to an RFC 5280 `Time` with the mandated encoding.
pub(crate) fn time(unix: i64) -> Result<Time, CaError> {
    let secs = u64::try_from(unix)
        .map_err(|_| CaError::InvalidRequest(format!("time {unix} is before 1970")))?;
    let dt = DateTime::from_unix_duration(Duration::from_secs(secs))
        .map_err(|e| CaError::InvalidRequest(format!("time {unix} out of range: {e}")))?;
    if dt.year() < FIRST_GENERALIZED_TIME_YEAR {
        Ok(Time::UtcTime(UtcTime::from_date_time(dt)?))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
}

/// Converts a `Time` back to Unix seconds.
pub(crate) fn unix(t: &Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// The validity period `[not_before, not_before + validity_secs - 1]`
/// (RFC 5280 §4.1.2.5: both ends inclusive).
pub(crate) fn validity(not_before: i64, validity_secs: i64) -> Result<Validity, CaError> {
    if validity_secs < 1 {
        return Err(CaError::InvalidRequest(format!(
            "validity of {validity_secs}s is not positive"
        )));
    }
    let not_after = not_before
        .checked_add(validity_secs - 1)
        .ok_or_else(|| CaError::InvalidRequest("validity overflows".into()))?;
    Ok(Validity::new(time(not_before)?, time(not_after)?))
}

/// Builds a Name of single-valued RDNs (RFC 5280 §4.1.2.4): countryName as
/// a PrintableString (appendix A), everything else as a UTF8String.
pub(crate) fn name(attrs: &[(ObjectIdentifier, &str)]) -> Result<Name, CaError> {
    let mut seq = RdnSequence::default();
    for (oid, value) in attrs {
        let value = if *oid == oids::AT_COUNTRY {
            Any::encode_from(&PrintableStringRef::new(value)?)?
        } else {
            Any::encode_from(&Utf8StringRef::new(value)?)?
        };
        let atv = AttributeTypeAndValue { oid: *oid, value };
        seq.push(RelativeDistinguishedName::try_from(vec![atv])?);
    }
    Ok(Name::from_der(&seq.to_der()?)?)
}

/// countryName of the CA certificates; BR §7.1.2.10.2 requires one.
pub const CA_COUNTRY: &str = "US";

/// A CA name: `C=<CA_COUNTRY>, O=<organization>, CN=<cn>`.
pub(crate) fn ca_name(organization: &str, cn: &str) -> Result<Name, CaError> {
    name(&[
        (oids::AT_COUNTRY, CA_COUNTRY),
        (oids::AT_ORGANIZATION, organization),
        (oids::AT_COMMON_NAME, cn),
    ])
}

/// The first commonName in `name`, if any, as text.
pub(crate) fn common_name(name: &Name) -> Option<String> {
    name.iter()
        .find(|atv| atv.oid == oids::AT_COMMON_NAME)
        .and_then(|atv| directory_string(&atv.value))
}

/// Decodes an attribute value of any of the DirectoryString text types.
pub(crate) fn directory_string(value: &Any) -> Option<String> {
    use x509_cert::ext::pkix::name::DirectoryString;
    match DirectoryString::try_from(value).ok()? {
        DirectoryString::PrintableString(s) => Some(s.to_string()),
        DirectoryString::Utf8String(s) => Some(s),
        DirectoryString::TeletexString(s) => Some(s.to_string()),
        DirectoryString::BmpString(s) => Some(s.to_string()),
    }
}

/// An extension with the DER of `value` as its extnValue.
pub(crate) fn ext<T: Encode>(
    oid: ObjectIdentifier,
    critical: bool,
    value: &T,
) -> Result<Extension, CaError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

/// ecdsa-with-SHA256 with the parameters field absent (RFC 5758 §3.2).
pub(crate) fn ecdsa_with_sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: oids::ECDSA_WITH_SHA256,
        parameters: None,
    }
}

/// Key identifier: the leftmost 160 bits of the SHA-256 of the
/// subjectPublicKey BIT STRING value (RFC 7093 §2, method 1).
pub(crate) fn key_id(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    let d = digest::digest(&digest::SHA256, spki.subject_public_key.raw_bytes());
    d.as_ref()[..20].to_vec()
}

/// A serial number from caller bytes read as an unsigned big-endian integer.
pub(crate) fn serial(bytes: &[u8]) -> Result<SerialNumber, CaError> {
    if bytes.iter().all(|b| *b == 0) {
        return Err(CaError::InvalidRequest("serial number is zero".into()));
    }
    SerialNumber::new(bytes)
        .map_err(|e| CaError::InvalidRequest(format!("serial number unusable: {e}")))
}

/// TBSCertificate (RFC 5280 §4.1), v3 only, no unique identifiers.
#[derive(Clone, Debug, Sequence)]
pub(crate) struct TbsBuild {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    pub version: Version,
    pub serial_number: SerialNumber,
    pub signature: AlgorithmIdentifierOwned,
    pub issuer: Name,
    pub validity: Validity,
    pub subject: Name,
    pub subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    pub extensions: Vec<Extension>,
}

/// Certificate (RFC 5280 §4.1) carrying the exact TBS bytes that were signed.
#[derive(Sequence)]
struct CertificateOut<'a> {
    tbs_certificate: AnyRef<'a>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature_value: BitString,
}

/// Signs already-encoded TBS bytes with `key` and assembles the Certificate.
/// The result is re-parsed as an `x509_cert::Certificate` before return.
pub(crate) fn sign_tbs(tbs_der: &[u8], key: &CaKey) -> Result<Vec<u8>, CaError> {
    let sig = key.sign(tbs_der)?;
    let cert = CertificateOut {
        tbs_certificate: AnyRef::from_der(tbs_der)?,
        signature_algorithm: key.signature_algorithm(),
        signature_value: BitString::from_bytes(&sig)?,
    };
    let der = cert.to_der()?;
    x509_cert::Certificate::from_der(&der)?;
    Ok(der)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_switch_to_generalized_in_2050() {
        // 2049-12-31T23:59:59Z and 2050-01-01T00:00:00Z.
        assert!(matches!(time(2_524_607_999).unwrap(), Time::UtcTime(_)));
        assert!(matches!(time(2_524_608_000).unwrap(), Time::GeneralTime(_)));
        assert_eq!(unix(&time(1_700_000_000).unwrap()), 1_700_000_000);
        assert!(time(-1).is_err());
    }

    #[test]
    fn validity_not_after_is_inclusive() {
        let v = validity(1_700_000_000, 7_776_000).unwrap();
        assert_eq!(unix(&v.not_after) - unix(&v.not_before) + 1, 7_776_000);
        assert!(validity(1_700_000_000, 0).is_err());
    }

    #[test]
    fn names_round_trip_common_name() {
        let n = ca_name("Arbor Test CA", "Arbor Test Root").unwrap();
        assert_eq!(common_name(&n).as_deref(), Some("Arbor Test Root"));
        assert_eq!(n.to_string(), "CN=Arbor Test Root,O=Arbor Test CA,C=US");
    }

    #[test]
    fn serial_is_positive_and_bounded() {
        let s = serial(&[0x80; 8]).unwrap();
        // A set high bit gains a 0x00 sign octet.
        assert_eq!(s.to_der().unwrap()[1], 9);
        assert!(serial(&[0, 0]).is_err());
        assert!(serial(&[0x80; 20]).is_err());
        assert!(serial(&[0x7f; 20]).is_ok());
    }
}
