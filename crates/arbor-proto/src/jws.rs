//! RFC 7515 JSON Web Signatures in the flattened JSON serialization, as ACME profiles them
//! (RFC 8555 §6.2): exactly one signature, the whole header integrity-protected, no
//! unencoded payload (RFC 7797), no MAC algorithms, and exactly one of `jwk` / `kid`.
//!
//! This module only parses and checks the shape; whether the `nonce`, `url` and `kid`
//! are acceptable is the server's business. The External Account Binding inner JWS,
//! which is MAC-based, is handled in [`crate::eab`].
//!
//! Deviations: duplicate JSON member names are not detected (RFC 7515 §5.2 allows a
//! parser to keep the last one, which serde_json does); `crit` is rejected outright
//! since Arbor understands no header extensions (RFC 7515 §4.1.11).

use serde_json::{Map, Value};

use crate::b64;
use crate::jwk::PublicJwk;

/// The `alg` values Arbor accepts on ACME requests (RFC 8555 §6.2, RFC 7518 §3.1, RFC 8037).
pub const SUPPORTED_ALGS: &[&str] = &["ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA"];

/// Why a JWS (or a key in it) was refused. The HTTP layer maps each variant to the ACME
/// problem type of the same name (`malformed`, `badSignatureAlgorithm`, `badPublicKey`),
/// and [`JwsError::BadSignature`] to `malformed` per RFC 8555 §6.2.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum JwsError {
    /// The request is not a well-formed ACME JWS.
    #[error("{0}")]
    Malformed(String),
    /// `alg` is `none`, a MAC algorithm, or one Arbor does not implement.
    #[error("{0}")]
    BadSignatureAlgorithm(String),
    /// The signature does not verify under the key.
    #[error("JWS signature is invalid")]
    BadSignature,
    /// The key is unsupported, too weak or invalid.
    #[error("{0}")]
    BadPublicKey(String),
}

fn malformed(msg: impl Into<String>) -> JwsError {
    JwsError::Malformed(msg.into())
}

/// The decoded protected header. `raw` keeps every member, including ones Arbor ignores.
#[derive(Debug, Clone, PartialEq)]
pub struct Protected {
    pub alg: String,
    pub jwk: Option<Value>,
    pub kid: Option<String>,
    pub nonce: Option<String>,
    pub url: Option<String>,
    pub raw: Value,
}

/// A parsed flattened JWS. The base64url forms are kept so that the signing input is
/// exactly what the client signed.
#[derive(Debug, Clone, PartialEq)]
pub struct Jws {
    pub protected: Protected,
    pub protected_b64: String,
    pub payload_b64: String,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// The algorithm-independent parts of a flattened JWS; shared with [`crate::eab`].
pub(crate) struct RawJws {
    pub protected_b64: String,
    pub header: Map<String, Value>,
    pub payload_b64: String,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Reads a string member of a JSON object: absent is `None`, present but not a string is
/// an error.
pub(crate) fn opt_str(obj: &Map<String, Value>, name: &str) -> Result<Option<String>, JwsError> {
    match obj.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(malformed(format!("JWS member \"{name}\" must be a string"))),
    }
}

fn decode_member(obj: &Map<String, Value>, name: &str) -> Result<(String, Vec<u8>), JwsError> {
    let s = opt_str(obj, name)?.ok_or_else(|| malformed(format!("JWS has no \"{name}\"")))?;
    let bytes =
        b64::decode(&s).map_err(|_| malformed(format!("JWS \"{name}\" is not base64url")))?;
    Ok((s, bytes))
}

/// Checks the flattened-serialization shape and the header rules common to every JWS
/// Arbor reads (RFC 8555 §6.2, RFC 7515 §7.2.2): one signature, no unprotected header,
/// no `b64`/`crit` extensions, header a JSON object.
pub(crate) fn parse_raw(v: &Value) -> Result<RawJws, JwsError> {
    let obj = v
        .as_object()
        .ok_or_else(|| malformed("JWS is not a JSON object"))?;
    if obj.contains_key("signatures") {
        return Err(malformed(
            "JWS must use the flattened JSON serialization, not the general one",
        ));
    }
    if obj.contains_key("header") {
        return Err(malformed("JWS must not have an unprotected header"));
    }
    let (protected_b64, protected) = decode_member(obj, "protected")?;
    let (payload_b64, payload) = decode_member(obj, "payload")?;
    let (_, signature) = decode_member(obj, "signature")?;
    let header = match serde_json::from_slice::<Value>(&protected) {
        Ok(Value::Object(m)) => m,
        _ => return Err(malformed("JWS protected header is not a JSON object")),
    };
    match header.get("b64") {
        None | Some(Value::Bool(true)) => {}
        Some(_) => return Err(malformed("JWS unencoded payload (b64) is not supported")),
    }
    if header.contains_key("crit") {
        return Err(malformed(
            "JWS \"crit\" header extensions are not supported",
        ));
    }
    Ok(RawJws {
        protected_b64,
        header,
        payload_b64,
        payload,
        signature,
    })
}

/// Checks an `alg` value for an ACME request signature (RFC 8555 §6.2).
fn check_alg(alg: &str) -> Result<(), JwsError> {
    if alg == "none" {
        return Err(JwsError::BadSignatureAlgorithm(
            "JWS alg \"none\" is not allowed".into(),
        ));
    }
    if alg.starts_with("HS") {
        return Err(JwsError::BadSignatureAlgorithm(format!(
            "JWS alg {alg} is a MAC algorithm, not allowed for ACME requests"
        )));
    }
    if !SUPPORTED_ALGS.contains(&alg) {
        return Err(JwsError::BadSignatureAlgorithm(format!(
            "JWS alg {alg} is not supported; use one of {}",
            SUPPORTED_ALGS.join(", ")
        )));
    }
    Ok(())
}

impl Jws {
    /// Parses an ACME request body: flattened JSON only.
    ///
    /// Rejects (as [`JwsError::Malformed`] unless noted): a body that is not a JSON
    /// object; the general form (`signatures`); an unprotected `header`; missing or
    /// non-base64url members; a protected header that is not a JSON object; `b64: false`
    /// or any `crit`; both `jwk` and `kid`, or neither. `alg` `none`, `HS*` or unknown is
    /// [`JwsError::BadSignatureAlgorithm`]. An empty payload is POST-as-GET.
    pub fn parse(body: &[u8]) -> Result<Jws, JwsError> {
        let v: Value =
            serde_json::from_slice(body).map_err(|_| malformed("JWS is not valid JSON"))?;
        let raw = parse_raw(&v)?;
        let h = &raw.header;
        let alg = opt_str(h, "alg")?.ok_or_else(|| malformed("JWS header has no \"alg\""))?;
        // The algorithm is judged first, so `alg: none` (which has an empty signature)
        // gets badSignatureAlgorithm rather than malformed.
        check_alg(&alg)?;
        if raw.signature.is_empty() {
            return Err(malformed("JWS signature is empty"));
        }
        let jwk = match h.get("jwk") {
            None => None,
            Some(j @ Value::Object(_)) => Some(j.clone()),
            Some(_) => return Err(malformed("JWS header \"jwk\" must be a JSON object")),
        };
        let kid = opt_str(h, "kid")?;
        match (&jwk, &kid) {
            (Some(_), Some(_)) => {
                return Err(malformed(
                    "JWS header must not contain both \"jwk\" and \"kid\"",
                ));
            }
            (None, None) => {
                return Err(malformed(
                    "JWS header must contain either \"jwk\" or \"kid\"",
                ));
            }
            _ => {}
        }
        let protected = Protected {
            alg,
            jwk,
            kid,
            nonce: opt_str(h, "nonce")?,
            url: opt_str(h, "url")?,
            raw: Value::Object(raw.header.clone()),
        };
        Ok(Jws {
            protected,
            protected_b64: raw.protected_b64,
            payload_b64: raw.payload_b64,
            payload: raw.payload,
            signature: raw.signature,
        })
    }

    /// The JWS signing input: `protected_b64 "." payload_b64` (RFC 7515 §5.1).
    pub fn signing_input(&self) -> Vec<u8> {
        signing_input(&self.protected_b64, &self.payload_b64)
    }

    /// Verifies the signature under `key` with the header's `alg`; the key type must fit
    /// the algorithm.
    pub fn verify(&self, key: &PublicJwk) -> Result<(), JwsError> {
        key.verify(&self.protected.alg, &self.signing_input(), &self.signature)
    }

    /// The embedded `jwk`, parsed and checked, if the header has one.
    pub fn embedded_jwk(&self) -> Result<Option<PublicJwk>, JwsError> {
        self.protected
            .jwk
            .as_ref()
            .map(PublicJwk::from_value)
            .transpose()
    }

    /// Whether this is a POST-as-GET request (RFC 8555 §6.3): the payload is empty.
    pub fn is_post_as_get(&self) -> bool {
        self.payload_b64.is_empty()
    }
}

/// `protected_b64 "." payload_b64`.
pub(crate) fn signing_input(protected_b64: &str, payload_b64: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(protected_b64.len() + 1 + payload_b64.len());
    v.extend_from_slice(protected_b64.as_bytes());
    v.push(b'.');
    v.extend_from_slice(payload_b64.as_bytes());
    v
}

#[cfg(test)]
pub(crate) mod tests;
