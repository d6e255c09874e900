//! Merkle Tree Certificates over ACME, client side (draft-ietf-plants-merkle-tree-certs
//! §9 and PR #207): downloading a certificate with its certificate properties
//! (`application/pem-certificate-chain-with-properties`), and fetching the
//! landmark-relative certificate through either design —
//!
//! - **design A** (merged in the draft): POST-as-GET to the URL the certificate response
//!   linked with `rel="acme-optional-alternate"`; `202 Accepted` + `Retry-After` until a
//!   landmark covers the certificate, then `200`;
//! - **design B** (PR #207): a JWS POST of `{"standalone": base64url(DER)}` to the
//!   directory's `newRelativeCertificate`; `landmarkNotReady` + `Retry-After` until then.
//!
//! Both end with `certificateTooOldForLandmark` once the covering landmark has expired.
//! A `503` with a short `Retry-After` (a CA's stampede guard) is retried inside
//! [`AcmeClient::post_with`](crate::AcmeClient::post_with).

use crate::account::{Account, to_json};
use crate::error::ClientError;
use arbor_proto::ProblemType;
use std::time::Duration;

/// The MTC download media type (draft §9).
pub const PEM_WITH_PROPERTIES: &str = "application/pem-certificate-chain-with-properties";
/// What an MTC-aware client sends in `Accept`: properties preferred, a plain chain accepted.
pub const ACCEPT_WITH_PROPERTIES: &str =
    "application/pem-certificate-chain-with-properties, application/pem-certificate-chain;q=0.5";
/// The link relation of design A.
pub const OPTIONAL_ALTERNATE: &str = "acme-optional-alternate";
/// PEM label of the certificate properties block.
pub const PROPERTIES_LABEL: &str = "CERTIFICATE PROPERTIES";

/// A downloaded certificate, with its properties when the server sent them.
#[derive(Debug, Clone)]
pub struct CertificateWithProperties {
    /// DER certificates, end-entity first (an MTC has no chain: one element).
    pub chain: Vec<Vec<u8>>,
    /// The binary `CertificatePropertyList` (draft-ietf-tls-trust-anchor-ids §7).
    pub properties: Option<Vec<u8>>,
    /// `Link: rel="alternate"` URLs (RFC 8555 §7.4.2 alternate chains).
    pub alternates: Vec<String>,
    /// `Link: rel="acme-optional-alternate"` URLs (design A landmark-relative).
    pub optional_alternates: Vec<String>,
}

/// The answer to a landmark-relative certificate request.
#[derive(Debug, Clone)]
pub enum RelativeFetch {
    /// The landmark-relative certificate.
    Ready(CertificateWithProperties),
    /// No landmark covers the certificate yet; ask again after `retry_after`.
    NotYet {
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// The covering landmark has expired: there will never be one (keep the standalone).
    TooOld {
        /// The server's explanation.
        detail: String,
    },
}

/// A PEM download split: DER certificates (end-entity first) and the binary properties.
pub type SplitDownload = (Vec<Vec<u8>>, Option<Vec<u8>>);

/// Splits a PEM download into its certificates and its properties block.
pub fn parse_download(url: &str, pem: &str) -> Result<SplitDownload, ClientError> {
    let mut chain = Vec::new();
    let mut properties = None;
    for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
        let block = block.map_err(|_| ClientError::CertificateNotPem {
            url: url.to_string(),
        })?;
        match block.label.as_str() {
            "CERTIFICATE" => chain.push(block.contents),
            PROPERTIES_LABEL => properties = Some(block.contents),
            _ => {}
        }
    }
    if chain.is_empty() {
        return Err(ClientError::NoCertificateInPem);
    }
    Ok((chain, properties))
}

fn certificate_from(
    raw: crate::http::RawResponse,
) -> Result<CertificateWithProperties, ClientError> {
    let alternates = raw.links_with_rel("alternate");
    let optional_alternates = raw.links_with_rel(OPTIONAL_ALTERNATE);
    let url = raw.url.clone();
    let pem = String::from_utf8(raw.body)
        .map_err(|_| ClientError::CertificateNotPem { url: url.clone() })?;
    let (chain, properties) = parse_download(&url, &pem)?;
    Ok(CertificateWithProperties {
        chain,
        properties,
        alternates,
        optional_alternates,
    })
}

/// Maps a landmark problem to its [`RelativeFetch`], passing every other error through.
fn relative_problem(e: ClientError) -> Result<RelativeFetch, ClientError> {
    match e.problem_type() {
        Some(ProblemType::LandmarkNotReady) => Ok(RelativeFetch::NotYet {
            retry_after: e.retry_after(),
        }),
        Some(ProblemType::CertificateTooOldForLandmark) => Ok(RelativeFetch::TooOld {
            detail: e.to_string(),
        }),
        _ => Err(e),
    }
}

impl Account {
    /// Downloads a certificate asking for its properties (a CA that does not know the
    /// media type answers with a plain chain, and `properties` is `None`).
    pub async fn certificate_with_properties(
        &self,
        url: &str,
    ) -> Result<CertificateWithProperties, ClientError> {
        let raw = self.post(url, None, Some(ACCEPT_WITH_PROPERTIES)).await?;
        certificate_from(raw)
    }

    /// Design A: POST-as-GET to the `acme-optional-alternate` URL.
    pub async fn landmark_alternate(&self, url: &str) -> Result<RelativeFetch, ClientError> {
        match self.post(url, None, Some(ACCEPT_WITH_PROPERTIES)).await {
            Ok(raw) if raw.status == 202 => Ok(RelativeFetch::NotYet {
                retry_after: raw.retry_after,
            }),
            Ok(raw) => certificate_from(raw).map(RelativeFetch::Ready),
            Err(e) => relative_problem(e),
        }
    }

    /// Design B: asks the directory's `newRelativeCertificate` for the landmark-relative
    /// form of `standalone` (DER).
    pub async fn new_relative_certificate(
        &self,
        standalone: &[u8],
    ) -> Result<RelativeFetch, ClientError> {
        let url = self
            .client
            .directory()
            .new_relative_certificate
            .clone()
            .ok_or(ClientError::NotOffered("newRelativeCertificate"))?;
        let req = serde_json::json!({ "standalone": arbor_proto::b64::encode(standalone) });
        let payload = to_json(&url, &req)?;
        match self
            .post(&url, Some(&payload), Some(ACCEPT_WITH_PROPERTIES))
            .await
        {
            Ok(raw) => certificate_from(raw).map(RelativeFetch::Ready),
            Err(e) => relative_problem(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_certificates_from_properties() {
        let pem = "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n\
-----BEGIN CERTIFICATE PROPERTIES-----\nBAU=\n-----END CERTIFICATE PROPERTIES-----\n";
        let (chain, props) = parse_download("u", pem).unwrap();
        assert_eq!(chain, vec![vec![1, 2, 3]]);
        assert_eq!(props, Some(vec![4, 5]));
        let (_, none) =
            parse_download("u", &pem[..pem.find("-----BEGIN CERTIFICATE P").unwrap()]).unwrap();
        assert_eq!(none, None);
        assert!(parse_download("u", "-----BEGIN CERTIFICATE PROPERTIES-----\nBAU=\n-----END CERTIFICATE PROPERTIES-----\n").is_err());
    }
}
