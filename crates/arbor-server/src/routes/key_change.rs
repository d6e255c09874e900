//! Account key rollover (RFC 8555 §7.3.5): the outer JWS is signed by the current key
//! (kid), the inner JWS by the new key (jwk) over `{account, oldKey}`, with the same `url`.

use crate::auth::{KeyMode, authenticate};
use crate::error::{ApiError, ApiResult};
use crate::render;
use crate::routes::json;
use crate::state::AppState;
use arbor_proto::jwk::PublicJwk;
use arbor_proto::jws::Jws;
use arbor_proto::objects::KeyChangeInner;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;

/// POST /acme/key-change
pub async fn key_change(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> ApiResult<Response> {
    let req = authenticate(&state, &headers, &uri, body, KeyMode::Kid).await?;
    let acct = req.account()?.clone();
    if req.jws.is_post_as_get() {
        return Err(ApiError::Malformed(
            "keyChange needs an inner JWS payload".into(),
        ));
    }
    let inner =
        Jws::parse(&req.jws.payload).map_err(|e| ApiError::Malformed(format!("inner JWS: {e}")))?;
    let new_jwk = match (&inner.protected.jwk, &inner.protected.kid) {
        (Some(j), None) => PublicJwk::from_value(j)?,
        _ => {
            return Err(ApiError::Malformed(
                "inner JWS must carry the new key as jwk and no kid".into(),
            ));
        }
    };
    if inner.protected.url != req.jws.protected.url {
        return Err(ApiError::Malformed(
            "inner JWS url must equal the outer JWS url".into(),
        ));
    }
    inner
        .verify(&new_jwk)
        .map_err(|_| ApiError::Malformed("inner JWS signature is invalid".into()))?;
    let body: KeyChangeInner = serde_json::from_slice(&inner.payload)
        .map_err(|e| ApiError::Malformed(format!("inner payload: {e}")))?;
    let acct_url = render::account_url(&req.base, &acct.id);
    if body.account != acct_url {
        return Err(ApiError::Unauthorized(
            "inner payload's account does not match the outer kid".into(),
        ));
    }
    let old = PublicJwk::from_value(&body.old_key)
        .map_err(|e| ApiError::Malformed(format!("oldKey: {e}")))?;
    if old.thumbprint() != acct.thumbprint {
        return Err(ApiError::Unauthorized(
            "oldKey is not the account's current key".into(),
        ));
    }
    if new_jwk.thumbprint() == acct.thumbprint {
        return Err(ApiError::Malformed("the new key equals the old key".into()));
    }
    let acct = state.ra.change_key(acct, &new_jwk).await?;
    Ok(json(
        StatusCode::OK,
        &render::account(&req.base, &acct),
        Some(&acct_url),
    ))
}
