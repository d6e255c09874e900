//! MTC over ACME (draft-ietf-plants-merkle-tree-certs §9; PR #207): the standalone
//! certificate download with its certificate properties, and the landmark-relative
//! certificate through both designs:
//!
//! - **Design A (merged, §9):** the certificate response links
//!   `<cert>/landmark` with `rel="acme-optional-alternate"`; that URL answers
//!   `202 Accepted` + `Retry-After` until a landmark covers the entry, then `200`.
//!   An expired landmark answers `410` + `certificateTooOldForLandmark`.
//! - **Design B (PR #207, still open):** directory `newRelativeCertificate`; valid MTC
//!   orders carry `landmarkURL` (the log's cacheable landmark document); a JWS POST of
//!   `{"standalone": base64url(DER)}` returns the landmark-relative certificate, or
//!   `landmarkNotReady` (+ `Retry-After`) / `certificateTooOldForLandmark`.
//!
//! Stampede guard: right after a landmark is minted every waiting client may come at
//! once. Arbor bounds concurrent landmark-relative builds with a small semaphore
//! ([`crate::state::RELATIVE_PERMITS`]); a request that cannot get a permit within
//! [`PERMIT_WAIT`] is answered `503` with a *jittered* `Retry-After` (1–4 s), so the
//! retries spread out instead of arriving together again. Builds are cheap (one
//! inclusion proof from tiles, no signature), and clients of design B can poll the
//! cacheable `landmarkURL` instead of the CA. `Retry-After` before a landmark is
//! estimated from the newest landmark's allocation time and the landmark interval
//! ([`LogIssuer::next_landmark_estimate_secs`]).

use crate::auth::{KeyMode, authenticate};
use crate::error::{ApiError, ApiResult};
use crate::mtc_issue::{LogIssuer, RelativeError};
use crate::render;
use crate::routes::add_link;
use crate::routes::certificate::{PEM_CHAIN, pem};
use crate::state::AppState;
use arbor_store::CertificateRecord;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Duration;

/// The MTC download media type (draft §9): PEM chain + `CERTIFICATE PROPERTIES` block.
pub const PEM_WITH_PROPERTIES: &str = "application/pem-certificate-chain-with-properties";
/// Path of the design-B resource.
pub const NEW_RELATIVE_CERT: &str = "/acme/new-relative-cert";
/// The link relation of design A.
pub const OPTIONAL_ALTERNATE: &str = "acme-optional-alternate";
/// How long a request waits for a build permit before it is told to come back.
pub const PERMIT_WAIT: Duration = Duration::from_millis(250);

/// Whether the client asked for the certificate properties.
pub fn wants_properties(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.split(';').next().map(str::trim) == Some(PEM_WITH_PROPERTIES))
}

/// Whether a stored certificate is an MTC (issuer id `mtc-<N>`).
pub fn is_mtc(cert: &CertificateRecord) -> bool {
    cert.issuer_id.starts_with("mtc-")
}

/// URL of the design-A landmark-relative certificate.
pub fn landmark_url(base: &str, serial: &str) -> String {
    format!("{}/landmark", render::cert_url(base, serial))
}

/// URL of the log's landmark document (design B `landmarkURL`).
pub fn landmarks_doc_url(base: &str, log: u16) -> String {
    format!("{base}/mtc/{log}/landmarks")
}

fn issuer(state: &AppState) -> ApiResult<&Arc<LogIssuer>> {
    state
        .mtc
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("this CA runs no MTC log".into()))
}

/// A certificate download: the PEM certificates, plus properties when asked for.
fn download(certs: &[&[u8]], properties_pem: &str, with_props: bool) -> Response {
    let mut text: String = certs.iter().map(|der| pem(der)).collect();
    let ctype = if with_props {
        text.push_str(properties_pem);
        PEM_WITH_PROPERTIES
    } else {
        PEM_CHAIN
    };
    let mut r = (StatusCode::OK, text).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

/// The standalone certificate download, linking design A.
///
/// An MTC needs no chain: a relying party holds the CA's parameters, and an MTC-aware
/// client (asking for `application/pem-certificate-chain-with-properties`) gets the
/// certificate alone. A client that knows only RFC 8555 gets the CA certificate (RFC 9925,
/// unsigned) after it, in the place of an issuer: certbot 5.x refuses a download of fewer
/// than two certificates and would otherwise save nothing. Relying parties ignore the
/// extra certificate; it costs its ~1.4 kB in handshakes that send `fullchain.pem`.
pub fn standalone(
    state: &AppState,
    cert: &CertificateRecord,
    headers: &HeaderMap,
    base: &str,
) -> ApiResult<Response> {
    let props = issuer(state)?
        .standalone_properties_pem()
        .map_err(relative_error)?;
    let mut r = if wants_properties(headers) {
        download(&[&cert.der], &props, true)
    } else {
        let ca = state.mtc_ca_der.as_deref().map(Vec::as_slice);
        let certs: Vec<&[u8]> = std::iter::once(cert.der.as_slice()).chain(ca).collect();
        download(&certs, &props, false)
    };
    add_link(
        &mut r,
        &landmark_url(base, &cert.serial),
        OPTIONAL_ALTERNATE,
    );
    Ok(r)
}

fn relative_error(e: RelativeError) -> ApiError {
    match e {
        RelativeError::NotReady { retry_after_secs } => ApiError::LandmarkNotReady {
            detail: "no landmark covers this certificate yet".into(),
            retry_after_secs,
        },
        RelativeError::TooOld(n) => ApiError::CertificateTooOldForLandmark(format!(
            "landmark {n}, which covers this certificate, has expired"
        )),
        RelativeError::NotOurs(d) => ApiError::Malformed(d),
        RelativeError::Internal(d) => ApiError::Ra(arbor_ra::RaError::Internal(format!(
            "landmark-relative: {d}"
        ))),
    }
}

/// Builds the landmark-relative certificate under the stampede guard.
async fn build(state: &AppState, standalone_der: &[u8]) -> ApiResult<crate::mtc_issue::Relative> {
    let mtc = issuer(state)?;
    let permit =
        tokio::time::timeout(PERMIT_WAIT, state.relative_permits.clone().acquire_owned()).await;
    let Ok(Ok(_permit)) = permit else {
        return Err(ApiError::Busy {
            detail: "many landmark-relative certificates are being built; retry shortly".into(),
            retry_after_secs: rand::random_range(1..=4),
        });
    };
    mtc.landmark_relative(standalone_der)
        .await
        .map_err(relative_error)
}

/// POST /acme/cert/{serial}/landmark (design A, POST-as-GET).
pub async fn landmark(
    state: AppState,
    serial: String,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    let req = authenticate(&state, &headers, &uri, body, KeyMode::Kid).await?;
    if !req.jws.is_post_as_get() {
        return Err(ApiError::Malformed(
            "certificates are read with POST-as-GET".into(),
        ));
    }
    let cert = state.ra.get_certificate(req.account()?, &serial).await?;
    if !is_mtc(&cert) {
        return Err(ApiError::NotFound("not a Merkle Tree Certificate".into()));
    }
    let up = render::cert_url(&req.base, &serial);
    let mut r = match build(&state, &cert.der).await {
        Ok(rel) => download(&[&rel.der], &rel.properties_pem, wants_properties(&headers)),
        Err(ApiError::LandmarkNotReady {
            retry_after_secs, ..
        }) => {
            // §9: 202 Accepted + Retry-After until the landmark exists.
            let mut r = StatusCode::ACCEPTED.into_response();
            if let Ok(v) = HeaderValue::from_str(&state.cfg.hostile.retry_after(retry_after_secs)) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Err(e) => return Err(e),
    };
    add_link(&mut r, &up, "alternate");
    Ok(r)
}

/// The design-B request body.
#[derive(Debug, serde::Deserialize)]
struct RelativeRequest {
    standalone: String,
}

/// POST /acme/new-relative-cert (design B).
pub async fn new_relative_certificate(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    let req = authenticate(&state, &headers, &uri, body, KeyMode::Kid).await?;
    let payload: RelativeRequest = req.payload()?;
    let der = arbor_proto::b64::decode(&payload.standalone).map_err(|_| {
        ApiError::Malformed("standalone is not unpadded base64url-encoded DER".into())
    })?;
    let serial = arbor_mtc::MtcCertificate::from_der(&der)
        .map(|c| arbor_ra::serial_hex(c.tbs.serial))
        .map_err(|e| ApiError::Malformed(format!("standalone is not an MTC: {e}")))?;
    // PR #207 lets the server require the same account. Arbor does, and serves only
    // certificates it issued byte for byte, so no proof is built for a forged entry.
    let cert = state.ra.get_certificate(req.account()?, &serial).await?;
    if !is_mtc(&cert) || cert.der != der {
        return Err(ApiError::Unauthorized(
            "this account was not issued that standalone certificate".into(),
        ));
    }
    let rel = build(&state, &der).await?;
    let mut r = download(&[&rel.der], &rel.properties_pem, wants_properties(&headers));
    add_link(&mut r, &render::cert_url(&req.base, &serial), "up");
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).expect("header"));
        h
    }

    #[test]
    fn properties_only_when_asked_for() {
        assert!(wants_properties(&accept(PEM_WITH_PROPERTIES)));
        assert!(wants_properties(&accept(
            "application/pem-certificate-chain;q=0.5, application/pem-certificate-chain-with-properties"
        )));
        assert!(!wants_properties(&accept(PEM_CHAIN)));
        assert!(!wants_properties(&accept("*/*")));
        assert!(!wants_properties(&HeaderMap::new()));
    }
}
