//! Orders (RFC 8555 §7.4): newOrder, order reads (POST-as-GET) and finalize.

use crate::auth::{KeyMode, authenticate};
use crate::error::{ApiError, ApiResult};
use crate::render;
use crate::routes::json;
use crate::state::AppState;
use arbor_proto::objects::{FinalizeRequest, NewOrderRequest};
use arbor_store::{OrderRecord, OrderStatus};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;

/// Seconds a client should wait before polling a `processing` order.
pub const PROCESSING_RETRY_AFTER: u64 = 1;

fn order_response(state: &AppState, base: &str, status: StatusCode, o: &OrderRecord) -> Response {
    let url = render::order_url(base, &o.id);
    let mut view = render::order(base, o);
    if state.cfg.hostile.shuffle {
        shuffle(&mut view.identifiers);
        shuffle(&mut view.authorizations);
    }
    // PR #207: valid MTC orders point at the log's (cacheable) landmark document.
    view.landmark_url =
        mtc_log(state, o).map(|log| crate::routes::mtc::landmarks_doc_url(base, log));
    let mut r = json(status, &view, Some(&url));
    if o.status == OrderStatus::Processing {
        let v = state.cfg.hostile.retry_after(PROCESSING_RETRY_AFTER);
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    r
}

/// Shuffles a list (hostile test mode: clients must not rely on order).
/// The MTC log of a valid order whose profile is an MTC profile.
fn mtc_log(state: &AppState, o: &OrderRecord) -> Option<u16> {
    let mtc = state.mtc.as_ref()?;
    let cfg = state.ra.config();
    let profile = o
        .profile
        .as_deref()
        .and_then(|p| cfg.profile(p))
        .or_else(|| cfg.profile(&cfg.default_profile))?;
    (o.status == OrderStatus::Valid && profile.mtc).then(|| mtc.log_number())
}

pub fn shuffle<T>(v: &mut [T]) {
    use rand::seq::SliceRandom;
    v.shuffle(&mut rand::rng());
}

/// POST /acme/new-order
pub async fn new_order(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    let req = authenticate(&state, &headers, &uri, body, KeyMode::Kid).await?;
    let payload: NewOrderRequest = req.payload()?;
    let (order, _) = state.ra.new_order(req.account()?, &payload).await?;
    Ok(order_response(
        &state,
        &req.base,
        StatusCode::CREATED,
        &order,
    ))
}

/// POST /acme/order/{id} (POST-as-GET)
pub async fn get_order(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    let req = authenticate(&state, &headers, &uri, body, KeyMode::Kid).await?;
    if !req.jws.is_post_as_get() {
        return Err(ApiError::Malformed(
            "orders are read with POST-as-GET".into(),
        ));
    }
    let order = state.ra.get_order(req.account()?, &id).await?;
    Ok(order_response(&state, &req.base, StatusCode::OK, &order))
}

/// POST /acme/order/{id}/finalize
pub async fn finalize(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    let req = authenticate(&state, &headers, &uri, body, KeyMode::Kid).await?;
    let payload: FinalizeRequest = req.payload()?;
    let csr = arbor_proto::b64::decode(&payload.csr).map_err(|_| {
        ApiError::Ra(arbor_ra::RaError::BadCsr(
            "csr is not unpadded base64url-encoded DER".into(),
        ))
    })?;
    let acct = req.account()?;
    let acct_url = render::account_url(&req.base, &acct.id);
    let order = state.ra.finalize(acct, &id, &csr, &acct_url).await?;
    Ok(order_response(&state, &req.base, StatusCode::OK, &order))
}
