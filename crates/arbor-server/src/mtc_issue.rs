//! The server's MTC issuer (draft-ietf-plants-merkle-tree-certs §6, §9): turns an RA
//! [`MtcRequest`] into a `TBSCertificateLogEntry` (issuer = CA ID, empty subject, SAN +
//! KU digitalSignature + EKU serverAuth, as the draft's example entry), appends it to the
//! issuance log and builds the standalone certificate from the log's answer. It also
//! builds landmark-relative certificates from a standalone one (§6.3) once a landmark
//! covers its entry, for both ACME designs (§9 `acme-optional-alternate`, PR #207).

use arbor_mtc::formats::{
    CertificatePropertyList, EntryExtensions, MtcLogEntry, MtcProof, TbsCertificateLogEntry,
    serial_number, split_serial,
};
use arbor_mtc::{MtcCertificate, TrustAnchorId};
use arbor_mtclog::{IssuanceLog, LandmarkStatus, MtcSite};
use arbor_ra::{IssueFuture, MtcIssueError, MtcIssued, MtcIssuer, MtcRequest};
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

    async fn issue_inner(&self, req: &MtcRequest) -> Result<MtcIssued, MtcIssueError> {
        let entry = tbs_entry(&self.ca_id, req)?;
        let bytes = MtcLogEntry::tbs_cert(entry.clone())
            .encode()
            .map_err(|e| MtcIssueError(format!("log entry: {e}")))?;
        let a = self
            .log
            .submit(bytes)
            .await
            .map_err(|e| MtcIssueError(format!("log: {e}")))?;
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
        let der = MtcCertificate::build(&entry, &req.spki_der, serial, proof)
            .and_then(|c| c.to_der())
            .map_err(|e| MtcIssueError(format!("certificate: {e}")))?;
        Ok(MtcIssued {
            serial,
            der,
            issuer_id: self.issuer_id(),
        })
    }
}

impl MtcIssuer for LogIssuer {
    fn issue<'a>(&'a self, req: &'a MtcRequest) -> IssueFuture<'a> {
        Box::pin(self.issue_inner(req))
    }
}
