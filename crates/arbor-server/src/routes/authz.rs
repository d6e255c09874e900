//! Authorizations and challenges (RFC 8555 §7.5): reads, client deactivation (§7.5.2) and
//! responding to a challenge (§7.5.1).

use crate::auth::{KeyMode, authenticate};
use crate::error::{ApiError, ApiResult};
use crate::render;
use crate::routes::{add_link, json};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

/// The newAuthz payload (RFC 8555 §7.4.1).
#[derive(serde::Deserialize)]
struct NewAuthzRequest {
    identifier: arbor_proto::Identifier,
}

/// POST /acme/new-authz (pre-authorization, §7.4.1)
pub async fn new_authz(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    let req = authenticate(&state, &headers, &uri, body, KeyMode::Kid).await?;
    let payload: NewAuthzRequest = req.payload()?;
    let authz = state
        .ra
        .new_authz(req.account()?, &payload.identifier)
        .await?;
    let url = render::authz_url(&req.base, &authz.id);
    Ok(json(
        StatusCode::CREATED,
        &render::authz(&req.base, &authz),
        Some(&url),
    ))
}

/// POST /acme/authz/{id}: POST-as-GET, or `{"status":"deactivated"}`.
pub async fn post_authz(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    let req = authenticate(&state, &headers, &uri, body, KeyMode::Kid).await?;
    let acct = req.account()?;
    let authz = match req.payload_object()? {
        None => state.ra.get_authz(acct, &id).await?,
        Some(obj) => match obj.get("status").and_then(|s| s.as_str()) {
            Some("deactivated") => state.ra.deactivate_authz(acct, &id).await?,
            _ => {
                return Err(ApiError::Malformed(
                    "an authorization update may only set status to \"deactivated\"".into(),
                ));
            }
        },
    };
    let url = render::authz_url(&req.base, &authz.id);
    let mut view = render::authz(&req.base, &authz);
    if state.cfg.hostile.shuffle {
        crate::routes::order::shuffle(&mut view.challenges);
    }
    Ok(json(StatusCode::OK, &view, Some(&url)))
}

/// POST /acme/chall/{authz}/{chall}: POST-as-GET, or `{}` to ask for validation.
pub async fn post_challenge(
    State(state): State<AppState>,
    Path((authz_id, chall_id)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    let req = authenticate(&state, &headers, &uri, body, KeyMode::Kid).await?;
    let acct = req.account()?;
    let (authz, idx) = match req.payload_object()? {
        None => {
            let a = state.ra.get_authz(acct, &authz_id).await?;
            let idx = a
                .challenges
                .iter()
                .position(|c| c.id == chall_id)
                .ok_or_else(|| ApiError::NotFound("challenge not found".into()))?;
            (a, idx)
        }
        // §7.5.1: the payload is an empty object; a client-sent keyAuthorization (ACME
        // drafts) is ignored, never trusted.
        Some(_) => {
            let acct_url = render::account_url(&req.base, &acct.id);
            state
                .ra
                .respond_challenge(acct, &authz_id, &chall_id, &acct_url)
                .await?
        }
    };
    let c = &authz.challenges[idx];
    let mut r = json(
        StatusCode::OK,
        &render::challenge(&req.base, &authz.id, c),
        None,
    );
    add_link(&mut r, &render::authz_url(&req.base, &authz.id), "up");
    Ok(r)
}
