//! Accounts (RFC 8555 §7.3): newAccount, account read/update/deactivation (§7.3.2,
//! §7.3.6) and the orders list with pagination (§7.1.2.1).

use crate::auth::{Authed, KeyMode, authenticate};
use crate::error::{ApiError, ApiResult};
use crate::listener::ClientAddr;
use crate::render;
use crate::routes::{add_link, json};
use crate::state::AppState;
use arbor_proto::objects::AccountRequest;
use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use std::collections::HashMap;

/// POST /acme/new-account
pub async fn new_account(
    State(state): State<AppState>,
    peer: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    let req = authenticate(&state, &headers, &uri, body, KeyMode::Jwk).await?;
    let payload: AccountRequest = req.payload()?;
    let jwk = req
        .jwk
        .as_ref()
        .ok_or_else(|| ApiError::Malformed("newAccount requires a jwk".into()))?;
    let ip = peer.map(|Extension(ClientAddr(a))| a.ip().to_string());
    let eab = match &payload.external_account_binding {
        // An existing account is returned as is; binding only matters on creation.
        Some(eab) if state.ra.account_by_key(jwk).await?.is_none() => {
            Some(verify_eab(&state, eab, &req, jwk).await?)
        }
        _ => None,
    };
    let (acct, created) = state.ra.new_account(jwk, &payload, eab, ip).await?;
    let url = render::account_url(&req.base, &acct.id);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(status, &render::account(&req.base, &acct), Some(&url)))
}

/// Verifies an external account binding (RFC 8555 §7.3.4) against the stored HMAC key.
/// Returns the key id and the binding as sent.
async fn verify_eab(
    state: &AppState,
    eab: &serde_json::Value,
    req: &Authed,
    jwk: &arbor_proto::jwk::PublicJwk,
) -> ApiResult<(String, serde_json::Value)> {
    let kid = eab_kid(eab).ok_or_else(|| {
        ApiError::Malformed("externalAccountBinding has no readable protected kid".into())
    })?;
    let key = state.ra.eab_key(&kid).await?.ok_or_else(|| {
        ApiError::ExternalAccountBinding(format!("external account key id {kid:?} is unknown"))
    })?;
    let outer_url = req.jws.protected.url.clone().unwrap_or_default();
    let verified =
        arbor_proto::eab::eab_verify(eab, &outer_url, jwk, |k| (k == kid).then(|| key.clone()))
            .map_err(|e| {
                ApiError::ExternalAccountBinding(format!("external account binding: {e}"))
            })?;
    Ok((verified, eab.clone()))
}

fn eab_kid(eab: &serde_json::Value) -> Option<String> {
    let p = eab.get("protected")?.as_str()?;
    let h: serde_json::Value = serde_json::from_slice(&arbor_proto::b64::decode(p).ok()?).ok()?;
    h.get("kid")?.as_str().map(str::to_string)
}

/// The account named in the path must be the one that signed (§7.3.2).
fn own_account<'a>(req: &'a Authed, id: &str) -> ApiResult<&'a arbor_store::AccountRecord> {
    let acct = req.account()?;
    if acct.id != id {
        return Err(ApiError::Unauthorized(
            "the request is signed by a different account than the one in the URL".into(),
        ));
    }
    Ok(acct)
}

/// POST /acme/acct/{id}: read (POST-as-GET), update contacts, or deactivate.
pub async fn post_account(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    let req = authenticate(&state, &headers, &uri, body, KeyMode::Kid).await?;
    let acct = own_account(&req, &id)?.clone();
    let url = render::account_url(&req.base, &acct.id);
    let acct = if req.jws.is_post_as_get() {
        acct
    } else {
        let payload: AccountRequest = req.payload()?;
        state.ra.update_account(acct, &payload).await?
    };
    Ok(json(
        StatusCode::OK,
        &render::account(&req.base, &acct),
        Some(&url),
    ))
}

/// POST /acme/acct/{id}/orders[?cursor=...]
pub async fn list_orders(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    let req = authenticate(&state, &headers, &uri, body, KeyMode::Kid).await?;
    let acct = own_account(&req, &id)?;
    if !req.jws.is_post_as_get() {
        return Err(ApiError::Malformed(
            "the orders list is read with POST-as-GET".into(),
        ));
    }
    let (ids, next) = state
        .ra
        .list_orders(acct, q.get("cursor").map(String::as_str))
        .await?;
    let mut r = json(StatusCode::OK, &render::orders_list(&req.base, &ids), None);
    if let Some(c) = next {
        let next_url = format!("{}?cursor={c}", render::orders_url(&req.base, &acct.id));
        add_link(&mut r, &next_url, "next");
    }
    Ok(r)
}
