//! Routing: one file per RFC 8555 resource, and the response middleware that puts a fresh
//! `Replay-Nonce` and `Link: <dir>;rel="index"` on every response, errors included (§6.5,
//! §7.1).

pub mod account;
pub mod authz;
pub mod certificate;
pub mod directory;
pub mod key_change;
pub mod mtc;
pub mod nonce;
pub mod order;
pub mod pki;
pub mod renewal_info;
pub mod revoke;

use crate::auth::base_url;
use crate::error::{ApiError, ConflictAccount};
use crate::render::{self, paths};
use crate::state::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// The `Replay-Nonce` header name (§6.5.1).
pub static REPLAY_NONCE: HeaderName = HeaderName::from_static("replay-nonce");

/// The ACME router over HTTPS.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(paths::DIRECTORY, get(directory::get_directory))
        .route(
            paths::NEW_NONCE,
            get(nonce::get_nonce).head(nonce::head_nonce),
        )
        .route(paths::NEW_ACCOUNT, post(account::new_account))
        .route("/acme/acct/{id}", post(account::post_account))
        .route("/acme/acct/{id}/orders", post(account::list_orders))
        .route(paths::KEY_CHANGE, post(key_change::key_change))
        .route(paths::NEW_ORDER, post(order::new_order))
        .route(paths::NEW_AUTHZ, post(authz::new_authz))
        .route("/acme/order/{id}", post(order::get_order))
        .route("/acme/order/{id}/finalize", post(order::finalize))
        .route("/acme/authz/{id}", post(authz::post_authz))
        .route("/acme/chall/{authz}/{chall}", post(authz::post_challenge))
        .route("/acme/cert/{serial}", post(certificate::get_default))
        .route("/acme/cert/{serial}/{n}", post(certificate::get_alternate))
        .route(paths::REVOKE_CERT, post(revoke::revoke))
        .route(mtc::NEW_RELATIVE_CERT, post(mtc::new_relative_certificate))
        .route(
            "/acme/renewal-info/{id}",
            get(renewal_info::get_renewal_info),
        )
        .merge(pki::routes())
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), acme_headers))
        .with_state(state)
}

async fn fallback() -> ApiError {
    ApiError::NotFound("no such resource".into())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed("method not allowed: ACME resources take POST (or POST-as-GET)")
}

async fn acme_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let base = base_url(req.headers(), req.uri()).ok();
    let hostile = &state.cfg.hostile;
    let mut resp = if req.method() == axum::http::Method::POST
        && crate::state::HostileKnobs::roll(hostile.unavailable_percent)
    {
        let mut r = ApiError::Unavailable("temporarily unavailable (hostile test mode)".into())
            .into_response();
        if let Ok(v) = HeaderValue::from_str(&hostile.retry_after(1)) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    if !h.contains_key(&REPLAY_NONCE)
        && let Ok(v) = HeaderValue::from_str(&state.nonces.issue())
    {
        h.insert(REPLAY_NONCE.clone(), v);
    }
    if let Some(base) = &base {
        if let Ok(v) = HeaderValue::from_str(&format!("<{base}{}>;rel=\"index\"", paths::DIRECTORY))
        {
            h.append(header::LINK, v);
        }
        if let Some(ConflictAccount(id)) = resp.extensions().get::<ConflictAccount>().cloned()
            && let Ok(v) = HeaderValue::from_str(&render::account_url(base, &id))
        {
            resp.headers_mut().insert(header::LOCATION, v);
        }
    }
    resp
}

/// A JSON response with optional `Location`.
pub fn json(status: StatusCode, body: &impl serde::Serialize, location: Option<&str>) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut r = (status, bytes).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(loc) = location
        && let Ok(v) = HeaderValue::from_str(loc)
    {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Adds a `Link` header.
pub fn add_link(r: &mut Response, url: &str, rel: &str) {
    if let Ok(v) = HeaderValue::from_str(&format!("<{url}>;rel=\"{rel}\"")) {
        r.headers_mut().append(header::LINK, v);
    }
}
