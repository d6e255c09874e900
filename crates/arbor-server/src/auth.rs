//! Authenticating an ACME POST (RFC 8555 §6.2–§6.5): content type, body size (checked
//! before parsing), flattened JWS syntax, the `url` header against the request URL, the
//! anti-replay nonce, `jwk` xor `kid`, the account behind `kid`, and the signature.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use arbor_proto::jwk::PublicJwk;
use arbor_proto::jws::Jws;
use arbor_store::{AccountRecord, AccountStatus};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Uri, header};
use serde::de::DeserializeOwned;

/// The only media type ACME requests may use (§6.2).
pub const JOSE_JSON: &str = "application/jose+json";

/// Which key reference a resource accepts (§6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    /// newAccount: a `jwk` only.
    Jwk,
    /// Every other resource: a `kid` only.
    Kid,
    /// revokeCert: either.
    Either,
}

/// An authenticated request.
pub struct Authed {
    pub jws: Jws,
    /// The account (for `kid` requests).
    pub account: Option<AccountRecord>,
    /// The embedded key (for `jwk` requests).
    pub jwk: Option<PublicJwk>,
    /// `https://host[:port]` of this request, for building URLs.
    pub base: String,
}

impl Authed {
    /// The account of a `kid` request.
    pub fn account(&self) -> ApiResult<&AccountRecord> {
        self.account
            .as_ref()
            .ok_or_else(|| ApiError::Malformed("this resource requires a kid".into()))
    }

    /// Parses the payload as JSON of type `T`; POST-as-GET is refused here.
    pub fn payload<T: DeserializeOwned>(&self) -> ApiResult<T> {
        if self.jws.is_post_as_get() {
            return Err(ApiError::Malformed(
                "this resource needs a JSON payload, not POST-as-GET".into(),
            ));
        }
        serde_json::from_slice(&self.jws.payload)
            .map_err(|e| ApiError::Malformed(format!("payload is not the expected JSON: {e}")))
    }

    /// The payload as a JSON object (empty object for POST-as-GET).
    pub fn payload_object(&self) -> ApiResult<Option<serde_json::Map<String, serde_json::Value>>> {
        if self.jws.is_post_as_get() {
            return Ok(None);
        }
        match serde_json::from_slice::<serde_json::Value>(&self.jws.payload) {
            Ok(serde_json::Value::Object(m)) => Ok(Some(m)),
            _ => Err(ApiError::Malformed("payload must be a JSON object".into())),
        }
    }
}

/// `https://host` of the request, from `Host` (HTTP/1.1) or the URI authority (HTTP/2).
pub fn base_url(headers: &HeaderMap, uri: &Uri) -> ApiResult<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| uri.authority().map(|a| a.to_string()))
        .ok_or_else(|| ApiError::Malformed("request has no Host".into()))?;
    if host.is_empty() || host.contains(['/', ' ', '@']) {
        return Err(ApiError::Malformed("invalid Host header".into()));
    }
    Ok(format!("https://{host}"))
}

/// Reads the body with the size cap (Content-Length checked before anything is read).
pub async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> ApiResult<Bytes> {
    let max = state.cfg.max_body;
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > max as u64
    {
        return Err(ApiError::PayloadTooLarge(max));
    }
    axum::body::to_bytes(body, max)
        .await
        .map_err(|_| ApiError::PayloadTooLarge(max))
}

/// Runs every check of §6.2–§6.5 on a POST and returns the authenticated request.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    body: Body,
    mode: KeyMode,
) -> ApiResult<Authed> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case(JOSE_JSON) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type must be {JOSE_JSON}, not {ct:?}"
        )));
    }
    let bytes = read_body(state, headers, body).await?;
    let jws = Jws::parse(&bytes)?;
    let base = base_url(headers, uri)?;
    let expected_url = format!(
        "{base}{}",
        uri.path_and_query().map(|p| p.as_str()).unwrap_or("/")
    );
    match jws.protected.url.as_deref() {
        Some(u) if u == expected_url => {}
        Some(u) => {
            return Err(ApiError::Unauthorized(format!(
                "JWS url {u:?} does not match the request URL {expected_url:?}"
            )));
        }
        None => {
            return Err(ApiError::Malformed(
                "JWS protected header has no url".into(),
            ));
        }
    }
    match jws.protected.nonce.as_deref() {
        Some(n) if state.nonces.redeem(n) => {
            if crate::state::HostileKnobs::roll(state.cfg.hostile.nonce_reject_percent) {
                return Err(ApiError::BadNonce(
                    "nonce rejected by the hostile test mode; retry with the fresh one".into(),
                ));
            }
        }
        Some(_) => {
            return Err(ApiError::BadNonce(
                "JWS nonce is unknown, expired or already used".into(),
            ));
        }
        None => {
            return Err(ApiError::BadNonce(
                "JWS protected header has no nonce".into(),
            ));
        }
    }
    match (mode, &jws.protected.jwk, &jws.protected.kid) {
        (KeyMode::Jwk, Some(jwk), None) | (KeyMode::Either, Some(jwk), None) => {
            let key = PublicJwk::from_value(jwk)?;
            jws.verify(&key)?;
            Ok(Authed {
                jws,
                account: None,
                jwk: Some(key),
                base,
            })
        }
        (KeyMode::Kid, None, Some(kid)) | (KeyMode::Either, None, Some(kid)) => {
            let prefix = format!("{base}/acme/acct/");
            let id = kid
                .strip_prefix(&prefix)
                .filter(|id| !id.is_empty() && !id.contains('/'))
                .ok_or_else(|| {
                    ApiError::AccountDoesNotExist(format!("kid {kid:?} is not an account URL"))
                })?;
            let acct = state.ra.account(id).await?.ok_or_else(|| {
                ApiError::AccountDoesNotExist(format!("account {kid:?} does not exist"))
            })?;
            let key = arbor_ra::account_key(&acct)?;
            jws.verify(&key)?;
            if acct.status != AccountStatus::Valid {
                return Err(ApiError::Unauthorized(format!(
                    "account is {}",
                    acct.status.as_str()
                )));
            }
            Ok(Authed {
                jws,
                account: Some(acct),
                jwk: None,
                base,
            })
        }
        (KeyMode::Jwk, _, Some(_)) => Err(ApiError::Malformed(
            "newAccount requests must carry a jwk, not a kid".into(),
        )),
        (KeyMode::Kid, Some(_), _) => Err(ApiError::Malformed(
            "this resource requires a kid (account URL), not a jwk".into(),
        )),
        _ => Err(ApiError::Malformed(
            "JWS must carry exactly one of jwk and kid".into(),
        )),
    }
}
