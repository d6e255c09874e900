//! revokeCert (RFC 8555 §7.6): signed by an account (kid) or by the certificate's key (jwk).

use crate::auth::{KeyMode, authenticate};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use arbor_proto::objects::RevocationRequest;
use arbor_ra::RevocationAuth;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// POST /acme/revoke-cert
pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    let req = authenticate(&state, &headers, &uri, body, KeyMode::Either).await?;
    let payload: RevocationRequest = req.payload()?;
    let der = arbor_proto::b64::decode(&payload.certificate)
        .map_err(|_| ApiError::Malformed("certificate is not base64url DER".into()))?;
    let auth = match (&req.account, &req.jwk) {
        (Some(a), _) => RevocationAuth::Account(a.clone()),
        (None, Some(k)) => RevocationAuth::CertificateKey(k.clone()),
        (None, None) => return Err(ApiError::Malformed("request carries no key".into())),
    };
    state.ra.revoke(auth, &der, payload.reason).await?;
    Ok(StatusCode::OK.into_response())
}
