//! Certificate download (RFC 8555 §7.4.2): `application/pem-certificate-chain`, the default
//! chain at the certificate URL and each alternate chain at `/{n}`, cross-linked with
//! `Link: rel="alternate"`. Merkle Tree Certificates are served by [`super::mtc`].

use crate::auth::{KeyMode, authenticate};
use crate::error::{ApiError, ApiResult};
use crate::render;
use crate::routes::add_link;
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// The media type of a certificate chain (RFC 8555 §9.1).
pub const PEM_CHAIN: &str = "application/pem-certificate-chain";

/// One `CERTIFICATE` PEM block.
pub fn pem(der: &[u8]) -> String {
    pem_rfc7468_encode(der)
}

fn pem_rfc7468_encode(der: &[u8]) -> String {
    use base64ct::{Base64, Encoding};
    let b64 = Base64::encode_string(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

async fn serve(
    state: AppState,
    serial: String,
    n: usize,
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
    if crate::routes::mtc::is_mtc(&cert) {
        if n != 0 {
            return Err(ApiError::NotFound("no such alternate chain".into()));
        }
        return crate::routes::mtc::standalone(&state, &cert, &headers, &req.base);
    }
    let h = state.ra.hierarchy();
    let chains = [h.chain_default(), h.chain_alternate()];
    let chain = chains
        .get(n)
        .ok_or_else(|| ApiError::NotFound("no such alternate chain".into()))?;
    let mut text = pem(&cert.der);
    for c in chain {
        text.push_str(&pem(c));
    }
    let mut r = (StatusCode::OK, text).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PEM_CHAIN));
    for i in 0..chains.len() {
        if i == n {
            continue;
        }
        let url = if i == 0 {
            render::cert_url(&req.base, &serial)
        } else {
            render::cert_alt_url(&req.base, &serial, i)
        };
        add_link(&mut r, &url, "alternate");
    }
    Ok(r)
}

/// POST /acme/cert/{serial}
pub async fn get_default(
    State(state): State<AppState>,
    Path(serial): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    serve(state, serial, 0, headers, uri, body).await
}

/// POST /acme/cert/{serial}/{n}
pub async fn get_alternate(
    State(state): State<AppState>,
    Path((serial, n)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    if n == "landmark" {
        return crate::routes::mtc::landmark(state, serial, headers, uri, body).await;
    }
    let n: usize = n
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| ApiError::NotFound("no such alternate chain".into()))?;
    serve(state, serial, n, headers, uri, body).await
}
