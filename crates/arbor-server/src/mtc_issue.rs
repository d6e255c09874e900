//! The server's MTC issuer (draft-ietf-plants-merkle-tree-certs §6, §9): turns an RA
//! [`MtcRequest`] into a `TBSCertificateLogEntry` (issuer = CA ID, empty subject, SAN +
//! KU digitalSignature + EKU serverAuth, as the draft's example entry), appends it to the
//! issuance log and builds the standalone certificate from the log's answer. It also
//! builds landmark-relative certificates from a standalone one (§6.3) once a landmark
//! covers its entry, for both ACME designs (§9 `acme-optional-alternate`, PR #207).
//! For a resumed issuance it finds the entry the log already holds and certifies it
//! again instead of appending a duplicate (see `arbor_ra`'s `mtc` module).

use arbor_mtc::formats::{
    CertificatePropertyList, EntryBody, EntryExtensions, MtcLogEntry, MtcProof,
    TbsCertificateLogEntry, serial_number, split_serial,
};
use arbor_mtc::{MtcCertificate, TrustAnchorId};
use arbor_mtclog::{IssuanceLog, LandmarkStatus, MtcSite, Sequenced};
use arbor_ra::{FindFuture, IssueFuture, MtcIssueError, MtcIssued, MtcIssuer, MtcRequest};
use der::Encode;
use der::asn1::{GeneralizedTime, Ia5String, OctetString, UtcTime};
use std::sync::Arc;
use std::time::Duration;
use x509_cert::certificate::Version;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::time::{Time, Validity};

const OID_SAN: &str = "2.5.29.17";
const OID_KU: &str = "2.5.29.15";
const OID_EKU: &str = "2.5.29.37";
const OID_KP_SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";

/// One issuance log of this CA as an RA [`MtcIssuer`].
pub struct LogIssuer {
    ca_id: TrustAnchorId,
    log_number: u16,
    log: Arc<IssuanceLog>,
}

/// A landmark-relative certificate and its properties.
#[derive(Debug, Clone)]
pub struct Relative {
    /// The certificate (DER).
    pub der: Vec<u8>,
    /// `CERTIFICATE PROPERTIES` PEM block (TAI draft §7).
    pub properties_pem: String,
}

/// Why no landmark-relative certificate can be built (yet).
#[derive(Debug, thiserror::Error)]
pub enum RelativeError {
    /// No landmark covers the entry yet; retry after about this many seconds.
    #[error("no landmark covers this certificate yet")]
    NotReady { retry_after_secs: u64 },
    /// The covering landmark has expired.
    #[error("landmark {0} covering this certificate has expired")]
    TooOld(u64),
    /// Not a standalone certificate of this CA's current log.
    #[error("{0}")]
    NotOurs(String),
    /// The log or the formats failed (detail for the log only).
    #[error("{0}")]
    Internal(String),
}

fn time(secs: i64) -> Result<Time, MtcIssueError> {
    let d = Duration::from_secs(
        u64::try_from(secs).map_err(|_| MtcIssueError("time before 1970".into()))?,
    );
    match UtcTime::from_unix_duration(d) {
        Ok(t) => Ok(Time::UtcTime(t)),
        Err(_) => GeneralizedTime::from_unix_duration(d)
            .map(Time::GeneralTime)
            .map_err(|e| MtcIssueError(format!("validity: {e}"))),
    }
}

fn ext(oid: &str, critical: bool, value: &impl Encode) -> Result<Extension, MtcIssueError> {
    let der = value
        .to_der()
        .map_err(|e| MtcIssueError(format!("extension {oid}: {e}")))?;
    Ok(Extension {
        extn_id: const_oid::ObjectIdentifier::new_unwrap(oid),
        critical,
        extn_value: OctetString::new(der)
            .map_err(|e| MtcIssueError(format!("extension {oid}: {e}")))?,
    })
}

/// The log entry for `req` (draft §5.2 TBSCertificateLogEntry).
pub fn tbs_entry(
    ca_id: &TrustAnchorId,
    req: &MtcRequest,
) -> Result<TbsCertificateLogEntry, MtcIssueError> {
    let validity = Validity::new(
        time(req.not_before)?,
        time(req.not_before + req.validity_secs - 1)?,
    );
    let mut names = Vec::with_capacity(req.dns_names.len());
    for d in &req.dns_names {
        names.push(GeneralName::DnsName(Ia5String::new(d).map_err(|_| {
            MtcIssueError(format!("DNS name {d:?} is not IA5"))
        })?));
    }
    let extensions = vec![
        ext(OID_KU, true, &KeyUsage(KeyUsages::DigitalSignature.into()))?,
        ext(
            OID_EKU,
            false,
            &ExtendedKeyUsage(vec![const_oid::ObjectIdentifier::new_unwrap(
                OID_KP_SERVER_AUTH,
            )]),
        )?,
        // Empty subject: the SAN is critical (RFC 5280 §4.2.1.6).
        ext(OID_SAN, true, &SubjectAltName(names))?,
    ];
    TbsCertificateLogEntry::new(
        Version::V3,
        ca_id,
        &validity,
        &Name::default(),
        &req.spki_der,
        Some(&extensions),
    )
    .map_err(|e| MtcIssueError(format!("log entry: {e}")))
}

impl LogIssuer {
    /// The issuer for log `log_number` of `site`.
    pub fn new(site: &MtcSite, ca_id: TrustAnchorId, log_number: u16) -> Option<LogIssuer> {
        Some(LogIssuer {
            ca_id,
            log_number,
            log: site.logs.get(&log_number)?.clone(),
        })
    }

    /// The log number.
    pub fn log_number(&self) -> u16 {
        self.log_number
    }

    /// The issuance log (monitors and tests read landmarks from it).
    pub fn log(&self) -> &Arc<IssuanceLog> {
        &self.log
    }

    /// The issuer id stored with MTC certificates: `mtc-<N>`.
    pub fn issuer_id(&self) -> String {
        format!("mtc-{}", self.log_number)
    }

    /// The landmark interval (for `Retry-After` estimates).
    pub fn landmark_interval(&self) -> Duration {
        self.log.config().landmark_interval
    }

    /// Estimated seconds until the next landmark, at least 1 and at most one interval.
    /// The log allocates one every interval; the newest landmark's expiry minus the
    /// maximum certificate lifetime gives its allocation time (exact unless the expiry
    /// was held back to stay monotonic, when the estimate errs towards "sooner").
    pub fn next_landmark_estimate_secs(&self) -> u64 {
        let interval = self.landmark_interval().as_secs_f64().ceil().max(1.0) as u64;
        let cfg = self.log.config();
        let now = self.log.now_secs();
        let allocated = self
            .log
            .landmarks()
            .last()
            .filter(|l| l.number > 0)
            .map(|l| l.expiry.saturating_sub(cfg.max_cert_lifetime.as_secs()));
        match allocated {
            Some(at) => (at + interval).saturating_sub(now).clamp(1, interval),
            None => interval,
        }
    }

    /// Properties of this log's standalone certificates, as PEM.
    pub fn standalone_properties_pem(&self) -> Result<String, RelativeError> {
        CertificatePropertyList::standalone(&self.ca_id, self.log_number)
            .and_then(|p| p.to_pem())
            .map_err(|e| RelativeError::Internal(format!("properties: {e}")))
    }

    /// The landmark-relative certificate for a standalone certificate of this log.
    pub async fn landmark_relative(
        &self,
        standalone_der: &[u8],
    ) -> Result<Relative, RelativeError> {
        let cert = MtcCertificate::from_der(standalone_der)
            .map_err(|e| RelativeError::NotOurs(format!("not an MTC certificate: {e}")))?;
        let (log, index) = split_serial(cert.tbs.serial);
        if log != self.log_number {
            return Err(RelativeError::NotOurs(format!(
                "certificate is from log {log}, not log {}",
                self.log_number
            )));
        }
        let issuer = cert
            .issuer_id()
            .map_err(|e| RelativeError::NotOurs(format!("issuer: {e}")))?;
        if issuer != self.ca_id {
            return Err(RelativeError::NotOurs(
                "certificate is from another CA".into(),
            ));
        }
        let entry = cert
            .log_entry_tbs()
            .map_err(|e| RelativeError::NotOurs(format!("log entry: {e}")))?;
        let p = match self
            .log
            .landmark_for(index)
            .await
            .map_err(|e| RelativeError::Internal(format!("landmark lookup: {e}")))?
        {
            LandmarkStatus::NotYet => {
                return Err(RelativeError::NotReady {
                    retry_after_secs: self.next_landmark_estimate_secs(),
                });
            }
            LandmarkStatus::Expired { number } => return Err(RelativeError::TooOld(number)),
            LandmarkStatus::Covered(p) => p,
        };
        // The entry must be the one the log holds at `index`, else the caller sent a
        // forged standalone certificate and the proof would not verify anyway.
        let proof = MtcProof::new(
            EntryExtensions::default(),
            p.subtree.start,
            p.subtree.end,
            p.inclusion_proof,
            Vec::new(),
        )
        .map_err(|e| RelativeError::Internal(format!("proof: {e}")))?;
        let der = MtcCertificate::build(&entry, &cert.tbs.spki, cert.tbs.serial, proof)
            .and_then(|c| c.to_der())
            .map_err(|e| RelativeError::Internal(format!("certificate: {e}")))?;
        let properties_pem =
            CertificatePropertyList::landmark_relative(&self.ca_id, self.log_number, p.number)
                .and_then(|l| l.to_pem())
                .map_err(|e| RelativeError::Internal(format!("properties: {e}")))?;
        Ok(Relative {
            der,
            properties_pem,
        })
    }

    /// The entry `req` describes, typed and encoded.
    fn entry(&self, req: &MtcRequest) -> Result<(TbsCertificateLogEntry, Vec<u8>), MtcIssueError> {
        let entry = tbs_entry(&self.ca_id, req)?;
        let bytes = MtcLogEntry::tbs_cert(entry.clone())
            .encode()
            .map_err(|e| MtcIssueError(format!("log entry: {e}")))?;
        Ok((entry, bytes))
    }

    /// The standalone certificate from the log's answer for `entry`.
    fn standalone(
        &self,
        entry: &TbsCertificateLogEntry,
        req: &MtcRequest,
        a: &Sequenced,
    ) -> Result<MtcIssued, MtcIssueError> {
        let st = &a.subtree;
        let proof = MtcProof::new(
            EntryExtensions::default(),
            st.start,
            st.end,
            a.inclusion_proof.clone(),
            st.signatures.clone(),
        )
        .map_err(|e| MtcIssueError(format!("proof: {e}")))?;
        let serial = serial_number(self.log_number, a.index)
            .map_err(|e| MtcIssueError(format!("serial: {e}")))?;
        let der = MtcCertificate::build(entry, &req.spki_der, serial, proof)
            .and_then(|c| c.to_der())
            .map_err(|e| MtcIssueError(format!("certificate: {e}")))?;
        Ok(MtcIssued {
            serial,
            der,
            issuer_id: self.issuer_id(),
        })
    }

    async fn issue_inner(&self, req: &MtcRequest) -> Result<MtcIssued, MtcIssueError> {
        let (entry, bytes) = self.entry(req)?;
        let a = self
            .log
            .submit(bytes)
            .await
            .map_err(|e| MtcIssueError(format!("log: {e}")))?;
        self.standalone(&entry, req, &a)
    }

    /// Looks back from the log's end for `req`'s entry. The scan stops at the first
    /// entry dated more than [`RESUME_MARGIN_SECS`] before `req` (see there), or after
    /// [`MAX_RESUME_SCAN`] entries.
    async fn find_inner(&self, req: &MtcRequest) -> Result<Vec<u64>, MtcIssueError> {
        let (_, bytes) = self.entry(req)?;
        let oldest = req.not_before.saturating_sub(RESUME_MARGIN_SECS);
        let scan = self
            .log
            .find_entry(bytes, MAX_RESUME_SCAN, move |e| {
                entry_not_before(e).is_some_and(|t| t < oldest)
            })
            .await
            .map_err(|e| MtcIssueError(format!("log scan: {e}")))?;
        if !scan.complete {
            tracing::warn!(
                scanned = scan.scanned,
                "log scan for a resumed MTC issuance hit its bound"
            );
        }
        scan.matches
            .into_iter()
            .map(|i| {
                serial_number(self.log_number, i).map_err(|e| MtcIssueError(format!("serial: {e}")))
            })
            .collect()
    }

    async fn certify_inner(
        &self,
        req: &MtcRequest,
        serial: u64,
    ) -> Result<MtcIssued, MtcIssueError> {
        let (log, index) = split_serial(serial);
        if log != self.log_number {
            return Err(MtcIssueError(format!(
                "serial {serial:#x} is not of log {}",
                self.log_number
            )));
        }
        let (entry, bytes) = self.entry(req)?;
        let a = self
            .log
            .sequenced_entry(index)
            .await
            .map_err(|e| MtcIssueError(format!("log: {e}")))?;
        // The proof must be of this request's entry, not of whatever sits at `index`.
        let st = &a.subtree;
        arbor_tlog::verify_subtree_inclusion(
            st.start,
            st.end,
            index,
            &arbor_tlog::leaf_hash(&bytes),
            &a.inclusion_proof,
            &st.hash,
        )
        .map_err(|_| MtcIssueError(format!("entry {index} is not this request's")))?;
        self.standalone(&entry, req, &a)
    }
}

/// How far before a resumed request's notBefore the log scan for its entry goes. Entries
/// are appended in submission order, and a request is submitted right after its order
/// enters `processing` (its notBefore), so an entry appended after the one looked for is
/// dated at most the gap between another order's `processing_since` and its submission
/// earlier: milliseconds, seconds under load. The only entries dated much earlier are
/// those of orders resumed at start-up, and `Ra::recover` looks up every stuck order
/// before it submits any (and submits the rest oldest first), so none of them follows an
/// entry being looked for. Ten minutes is a wide margin for a scan that is cheap anyway.
pub const RESUME_MARGIN_SECS: i64 = 600;

/// Most entries a resumed issuance reads (4096 entry bundles): a cap on start-up work if
/// the log holds undatable entries or the issuance rate was extreme.
pub const MAX_RESUME_SCAN: u64 = 1 << 20;

/// notBefore (Unix seconds) of an encoded `tbs_cert_entry`; `None` for other entries.
fn entry_not_before(bytes: &[u8]) -> Option<i64> {
    use der::Decode;
    let e = MtcLogEntry::decode(bytes).ok()?;
    let EntryBody::TbsCert(tbs) = e.body else {
        return None;
    };
    let v: Validity = Validity::from_der(&tbs.validity).ok()?;
    i64::try_from(v.not_before.to_unix_duration().as_secs()).ok()
}

impl MtcIssuer for LogIssuer {
    fn issue<'a>(&'a self, req: &'a MtcRequest) -> IssueFuture<'a> {
        Box::pin(self.issue_inner(req))
    }

    fn find_logged<'a>(&'a self, req: &'a MtcRequest) -> FindFuture<'a> {
        Box::pin(self.find_inner(req))
    }

    fn certify_logged<'a>(&'a self, req: &'a MtcRequest, serial: u64) -> IssueFuture<'a> {
        Box::pin(self.certify_inner(req, serial))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumed_scan_dates_entries_by_not_before() {
        let mut spki = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0,
        ];
        spki.extend_from_slice(&[9; 32]);
        let req = MtcRequest {
            spki_der: spki,
            dns_names: vec!["a.example".into()],
            not_before: 1_780_000_123,
            validity_secs: 86_400,
        };
        let ca: TrustAnchorId = "32473.1".parse().expect("ca id");
        let entry = tbs_entry(&ca, &req).expect("entry");
        let bytes = MtcLogEntry::tbs_cert(entry).encode().expect("encode");
        assert_eq!(entry_not_before(&bytes), Some(1_780_000_123));
        let null = MtcLogEntry::null().encode().expect("null");
        assert_eq!(entry_not_before(&null), None);
        assert_eq!(entry_not_before(b"junk"), None);
    }
}
