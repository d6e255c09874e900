//! Accounts (RFC 8555 §7.3): newAccount, account read/update/deactivation (§7.3.2,
//! §7.3.6) and the orders list with pagination (§7.1.2.1).

use crate::auth::{Authed, KeyMode, authenticate};
use crate::error::{ApiError, ApiResult};
use crate::render;
use crate::routes::{add_link, json};
use crate::state::AppState;
use arbor_proto::objects::AccountRequest;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use std::collections::HashMap;

/// POST /acme/new-account
pub async fn new_account(
    State(state): State<AppState>,
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
    let (acct, created) = state.ra.new_account(jwk, &payload, None, None).await?;
    let url = render::account_url(&req.base, &acct.id);
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json(status, &render::account(&req.base, &acct), Some(&url)))
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
