//! External Account Binding (RFC 8555 §7.3.4): the inner JWS, MAC'd with a key the CA
//! handed out beforehand, whose payload is the new account's public JWK. HS256, HS384
//! and HS512 (RFC 7518 §3.2).
//!
//! The inner JWS follows the same flattened-serialization rules as requests (see
//! [`crate::jws`]) except that its `alg` must be a MAC, it carries `kid` and `url` but
//! no `nonce`, and it has no `jwk`. Unknown key ids are reported as
//! [`JwsError::Malformed`]; the server may choose to present them as `unauthorized`.

use aws_lc_rs::hmac;
use serde_json::{Map, Value, json};

use crate::b64;
use crate::jwk::PublicJwk;
use crate::jws::{JwsError, opt_str, parse_raw, signing_input};

/// The MAC algorithms allowed in an EAB inner JWS.
pub const EAB_ALGS: &[&str] = &["HS256", "HS384", "HS512"];

fn hmac_alg(alg: &str) -> Result<hmac::Algorithm, JwsError> {
    match alg {
        "HS256" => Ok(hmac::HMAC_SHA256),
        "HS384" => Ok(hmac::HMAC_SHA384),
        "HS512" => Ok(hmac::HMAC_SHA512),
        other => Err(JwsError::BadSignatureAlgorithm(format!(
            "external account binding alg {other} is not supported; use HS256, HS384 or HS512"
        ))),
    }
}

fn malformed(msg: &str) -> JwsError {
    JwsError::Malformed(msg.to_string())
}

/// Builds the `externalAccountBinding` value for a newAccount request: protected
/// `{alg, kid, url}`, payload the account JWK, MAC under `hmac_key`.
pub fn eab_sign(
    alg: &str,
    kid: &str,
    hmac_key: &[u8],
    url: &str,
    account_jwk: &Value,
) -> Result<Value, JwsError> {
    let mac_alg = hmac_alg(alg)?;
    if hmac_key.is_empty() {
        return Err(malformed("external account binding HMAC key is empty"));
    }
    let mut h = Map::new();
    h.insert("alg".into(), alg.into());
    h.insert("kid".into(), kid.into());
    h.insert("url".into(), url.into());
    let protected_b64 = b64::encode(
        &serde_json::to_vec(&Value::Object(h))
            .map_err(|_| malformed("cannot serialize EAB header"))?,
    );
    let payload_b64 = b64::encode(
        &serde_json::to_vec(account_jwk).map_err(|_| malformed("cannot serialize account JWK"))?,
    );
    let key = hmac::Key::new(mac_alg, hmac_key);
    let tag = hmac::sign(&key, &signing_input(&protected_b64, &payload_b64));
    Ok(json!({
        "protected": protected_b64,
        "payload": payload_b64,
        "signature": b64::encode(tag.as_ref()),
    }))
}

/// Verifies an EAB inner JWS against the outer request: `alg` HS256/384/512, no
/// `nonce`, no `jwk`, `url` equal to the outer `url`, `kid` known to `lookup`, MAC valid
/// (constant-time), and the payload the same key as the outer JWS's `jwk`. Returns the
/// `kid`.
pub fn eab_verify(
    eab: &Value,
    outer_url: &str,
    account_jwk: &PublicJwk,
    lookup: impl Fn(&str) -> Option<Vec<u8>>,
) -> Result<String, JwsError> {
    let raw = parse_raw(eab)?;
    let h = &raw.header;
    let alg = opt_str(h, "alg")?
        .ok_or_else(|| malformed("external account binding JWS header has no \"alg\""))?;
    let mac_alg = hmac_alg(&alg)?;
    if h.contains_key("nonce") {
        return Err(malformed(
            "external account binding JWS must not contain a nonce",
        ));
    }
    if h.contains_key("jwk") {
        return Err(malformed(
            "external account binding JWS must not contain a jwk",
        ));
    }
    let url = opt_str(h, "url")?
        .ok_or_else(|| malformed("external account binding JWS header has no \"url\""))?;
    if url != outer_url {
        return Err(malformed(
            "external account binding url does not match the request url",
        ));
    }
    let kid = opt_str(h, "kid")?
        .ok_or_else(|| malformed("external account binding JWS header has no \"kid\""))?;
    let key_bytes =
        lookup(&kid).ok_or_else(|| malformed("external account binding key id is not known"))?;
    let key = hmac::Key::new(mac_alg, &key_bytes);
    hmac::verify(
        &key,
        &signing_input(&raw.protected_b64, &raw.payload_b64),
        &raw.signature,
    )
    .map_err(|_| JwsError::BadSignature)?;
    let payload: Value = serde_json::from_slice(&raw.payload)
        .map_err(|_| malformed("external account binding payload is not JSON"))?;
    let bound = PublicJwk::from_value(&payload)?;
    if &bound != account_jwk {
        return Err(malformed(
            "external account binding payload is not the account key",
        ));
    }
    Ok(kid)
}
