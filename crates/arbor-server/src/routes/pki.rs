//! Public PKI files over plain HTTP (RFC 5280 §4.2.2.1 caIssuers, §4.2.1.13 CRL
//! distribution points): the issuing CA certificates as DER and each issuer's current CRL,
//! signed on request from the store's revocation records.

use crate::state::AppState;
use arbor_ca::RevokedEntry;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// How long a CRL is valid (BR §4.9.7: nextUpdate at most 10 days after thisUpdate).
pub const CRL_VALIDITY_SECS: i64 = 7 * 86_400;

/// The same files on the ACME listener, for clients that only reach HTTPS.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/aia/{file}", get(aia))
        .route("/crl/{file}", get(crl))
}

/// The plain-HTTP router (AIA + CRL only).
pub fn public_router(state: AppState) -> Router {
    routes().with_state(state)
}

fn typed(body: Vec<u8>, ct: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    r
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

async fn aia(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(id) = file.strip_suffix(".der") else {
        return not_found();
    };
    let want = format!("{id}.der");
    match state
        .ra
        .hierarchy()
        .aia_documents()
        .into_iter()
        .find(|(name, _)| *name == want)
    {
        Some((_, der)) => typed(der, "application/pkix-cert"),
        None => not_found(),
    }
}

async fn crl(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(id) = file.strip_suffix(".crl") else {
        return not_found();
    };
    let h = state.ra.hierarchy();
    let now = state.ra.now();
    // Root CRLs cover the CA certificates each root issued; none has been revoked.
    for (alternate, root_id) in [(false, &h.root.id), (true, &h.root_alt.id)] {
        if id == root_id.as_str() {
            return match h.sign_root_crl(alternate, &[], now as u64, now, now + CRL_VALIDITY_SECS) {
                Ok(der) => typed(der, "application/pkix-crl"),
                Err(e) => {
                    tracing::error!(error = %e, "signing root CRL");
                    (StatusCode::SERVICE_UNAVAILABLE, "try again\n").into_response()
                }
            };
        }
    }
    let issuer = &h.intermediate;
    if id != issuer.id {
        return not_found();
    }
    let revoked = match state.ra.store().list_revoked(&issuer.id).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "listing revoked certificates");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again\n").into_response();
        }
    };
    let entries: Vec<RevokedEntry> = revoked
        .iter()
        .filter_map(|c| {
            Some(RevokedEntry {
                serial: hex::decode(&c.serial).ok()?,
                revoked_at: c.revoked_at?,
                reason: c.revoked_reason.filter(|r| *r != 0),
            })
        })
        .collect();
    // The CRL number only has to increase; the issuing time in seconds does.
    match issuer.sign_crl(&entries, now as u64, now, now + CRL_VALIDITY_SECS) {
        Ok(der) => typed(der, "application/pkix-crl"),
        Err(e) => {
            tracing::error!(error = %e, "signing CRL");
            (StatusCode::SERVICE_UNAVAILABLE, "try again\n").into_response()
        }
    }
}
