//! HTTP serving of the issuance logs (c2sp.org/mtc-tlog over c2sp.org/tlog-tiles),
//! relative to the CA prefix (the server nests it at `/mtc`): `GET /ca.der`, and
//! per log N `GET /<N>/checkpoint`, `/<N>/tile/<L>/<N>[.p/<W>]`,
//! `/<N>/tile/entries/<N>[.p/<W>]` (immutable, long-lived cache headers) and
//! `/<N>/landmarks`.

use std::collections::BTreeMap;
use std::sync::Arc;

use arbor_tlog::tile::parse_tile_path;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::log::IssuanceLog;

/// Cache policy of immutable tiles and bundles.
pub const IMMUTABLE_CACHE: &str = "public, max-age=31536000, immutable";
/// Cache policy of the checkpoint and landmark document (tlog-tiles: short).
pub const MUTABLE_CACHE: &str = "no-cache";

/// What the router serves: the CA certificate and the CA's logs by number.
pub struct MtcSite {
    /// DER of the CA certificate (RFC 9925 unsigned certificate).
    pub ca_der: Vec<u8>,
    /// Logs by number.
    pub logs: BTreeMap<u16, Arc<IssuanceLog>>,
}

type St = State<Arc<MtcSite>>;

fn log_of(site: &MtcSite, n: &str) -> Option<Arc<IssuanceLog>> {
    // Log numbers are decimal without leading zeros (mtc-tlog).
    if n.starts_with('0') {
        return None;
    }
    site.logs.get(&n.parse().ok()?).cloned()
}

async fn ca_der(State(site): St) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pkix-cert"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        site.ca_der.clone(),
    )
        .into_response()
}

async fn checkpoint(State(site): St, Path(n): Path<String>) -> Response {
    let Some(log) = log_of(&site, &n) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, MUTABLE_CACHE),
        ],
        log.checkpoint().note.clone(),
    )
        .into_response()
}

async fn landmarks(State(site): St, Path(n): Path<String>) -> Response {
    let Some(log) = log_of(&site, &n) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, MUTABLE_CACHE),
        ],
        log.landmark_document(),
    )
        .into_response()
}

async fn tile(State(site): St, Path((n, rest)): Path<(String, String)>) -> Response {
    let Some(log) = log_of(&site, &n) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let path = format!("tile/{rest}");
    if parse_tile_path(&path).is_err() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let storage = log.storage().clone();
    match tokio::task::spawn_blocking(move || storage.get(&path)).await {
        Ok(Ok(Some(data))) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, IMMUTABLE_CACHE),
            ],
            data,
        )
            .into_response(),
        Ok(Ok(None)) => StatusCode::NOT_FOUND.into_response(),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "tile read failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The router, with paths relative to the CA prefix (`nest("/mtc", router(..))`).
pub fn router(site: Arc<MtcSite>) -> Router {
    Router::new()
        .route("/ca.der", get(ca_der))
        .route("/{log}/checkpoint", get(checkpoint))
        .route("/{log}/landmarks", get(landmarks))
        .route("/{log}/tile/{*rest}", get(tile))
        .with_state(site)
}
