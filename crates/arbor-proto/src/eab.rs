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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::{KeyKind, SigningKey};

    const URL: &str = "https://ca.example/acme/new-account";
    const KID: &str = "kid-1";
    const KEY: &[u8] = b"an hmac key handed out by the CA";

    fn lookup(kid: &str) -> Option<Vec<u8>> {
        (kid == KID).then(|| KEY.to_vec())
    }

    /// MACs an arbitrary header, to forge inner JWSs `eab_sign` would never produce.
    fn mac_with_header(header: &Value, payload: &Value) -> Value {
        let p = b64::encode(&serde_json::to_vec(header).unwrap());
        let pl = b64::encode(&serde_json::to_vec(payload).unwrap());
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, KEY),
            &signing_input(&p, &pl),
        );
        json!({"protected": p, "payload": pl, "signature": b64::encode(tag.as_ref())})
    }

    #[test]
    fn sign_then_verify_each_alg() {
        let acct = SigningKey::generate(KeyKind::P256).unwrap().public_jwk();
        for alg in EAB_ALGS {
            let eab = eab_sign(alg, KID, KEY, URL, &acct.to_value()).unwrap();
            assert_eq!(eab_verify(&eab, URL, &acct, lookup), Ok(KID.to_string()));
            // The tag is as long as the hash the algorithm names.
            let tag_len = b64::decode(eab["signature"].as_str().unwrap())
                .unwrap()
                .len();
            assert_eq!(tag_len * 8, alg[2..].parse::<usize>().unwrap());
        }
        // A JWK with extra members still binds the same key.
        let mut extra = acct.to_value();
        extra["use"] = json!("sig");
        let eab = eab_sign("HS256", KID, KEY, URL, &extra).unwrap();
        assert_eq!(eab_verify(&eab, URL, &acct, lookup), Ok(KID.to_string()));
    }

    #[test]
    fn rejects_wrong_key_url_kid_and_account() {
        let acct = SigningKey::generate(KeyKind::Ed25519).unwrap().public_jwk();
        let eab = eab_sign("HS256", KID, b"some other key", URL, &acct.to_value()).unwrap();
        assert_eq!(
            eab_verify(&eab, URL, &acct, lookup),
            Err(JwsError::BadSignature)
        );

        let eab = eab_sign("HS256", KID, KEY, URL, &acct.to_value()).unwrap();
        let wrong_url = eab_verify(&eab, "https://ca.example/acme/other", &acct, lookup);
        assert!(matches!(wrong_url, Err(JwsError::Malformed(m)) if m.contains("url")));
        assert!(matches!(
            eab_verify(&eab, URL, &acct, |_| None),
            Err(JwsError::Malformed(_))
        ));

        let other = SigningKey::generate(KeyKind::Ed25519).unwrap().public_jwk();
        let wrong_acct = eab_verify(&eab, URL, &other, lookup);
        assert!(matches!(wrong_acct, Err(JwsError::Malformed(m)) if m.contains("account key")));

        let mut tampered = eab.clone();
        tampered["payload"] = json!(b64::encode(&serde_json::to_vec(&other.to_value()).unwrap()));
        assert_eq!(
            eab_verify(&tampered, URL, &other, lookup),
            Err(JwsError::BadSignature)
        );
    }

    #[test]
    fn rejects_bad_headers() {
        let acct = SigningKey::generate(KeyKind::P256).unwrap().public_jwk();
        let jwk = acct.to_value();
        let base = json!({"alg": "HS256", "kid": KID, "url": URL});
        assert!(eab_verify(&mac_with_header(&base, &jwk), URL, &acct, lookup).is_ok());

        let mut with_nonce = base.clone();
        with_nonce["nonce"] = json!("abc");
        let r = eab_verify(&mac_with_header(&with_nonce, &jwk), URL, &acct, lookup);
        assert!(matches!(r, Err(JwsError::Malformed(m)) if m.contains("nonce")));

        let mut with_jwk = base.clone();
        with_jwk["jwk"] = jwk.clone();
        let r = eab_verify(&mac_with_header(&with_jwk, &jwk), URL, &acct, lookup);
        assert!(matches!(r, Err(JwsError::Malformed(_))));

        for alg in ["none", "RS256", "ES256", "HS1"] {
            let mut h = base.clone();
            h["alg"] = json!(alg);
            let r = eab_verify(&mac_with_header(&h, &jwk), URL, &acct, lookup);
            assert!(
                matches!(r, Err(JwsError::BadSignatureAlgorithm(_))),
                "{alg}"
            );
        }
        for missing in ["kid", "url", "alg"] {
            let mut h = base.clone();
            h.as_object_mut().unwrap().remove(missing);
            let r = eab_verify(&mac_with_header(&h, &jwk), URL, &acct, lookup);
            assert!(matches!(r, Err(JwsError::Malformed(_))), "{missing}");
        }
        assert!(matches!(
            eab_sign("RS256", KID, KEY, URL, &jwk),
            Err(JwsError::BadSignatureAlgorithm(_))
        ));
        assert!(matches!(
            eab_sign("HS256", KID, b"", URL, &jwk),
            Err(JwsError::Malformed(_))
        ));
        // Not flattened JSON.
        assert!(matches!(
            eab_verify(&json!("x"), URL, &acct, lookup),
            Err(JwsError::Malformed(_))
        ));
    }
}
