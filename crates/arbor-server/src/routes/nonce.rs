//! newNonce (RFC 8555 §7.2): HEAD answers 200, GET answers 204, both with a fresh
//! `Replay-Nonce` (added by the response middleware) and `Cache-Control: no-store`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

fn nonce_response(status: StatusCode) -> Response {
    let mut r = status.into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// HEAD /acme/new-nonce
pub async fn head_nonce() -> Response {
    nonce_response(StatusCode::OK)
}

/// GET /acme/new-nonce
pub async fn get_nonce() -> Response {
    nonce_response(StatusCode::NO_CONTENT)
}
