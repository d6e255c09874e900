//! The dns-01 challenge (RFC 8555 §8.4): the applicant publishes
//! `base64url(SHA-256(key authorization))` as a TXT record at `_acme-challenge.<name>`
//! (for a wildcard, `<name>` is the base name without `*.`).
//!
//! CNAMEs at the challenge name are followed by the resolver (delegated validation, as
//! every CA does). Several TXT records may exist; any one matching wins. The records
//! found are never echoed in a detail, only counted. Problem types follow Let's
//! Encrypt: a lookup that fails (NXDOMAIN, SERVFAIL, timeout) is `dns`; an answer
//! without the proof (no TXT record, wrong value) is `unauthorized`.
//!
//! With a fixed-address resolver (laptop mode, `--resolve-all-to`) there is no DNS, so
//! dns-01 fails with a `dns` problem that says so.

use crate::error::ValidationError;
use crate::resolve::LookupError;
use crate::{Inner, ValidationRecord};
use arbor_proto::{Identifier, IdentifierType};

/// The label prepended to the name (RFC 8555 §8.4).
pub const CHALLENGE_LABEL: &str = "_acme-challenge";

/// The detail when the VA has no DNS to look in.
pub const NO_DNS_DETAIL: &str = "dns-01 needs a DNS server; this CA runs with --resolve-all-to";

/// The TXT value that proves `key_authorization`: unpadded base64url of its SHA-256
/// digest (RFC 8555 §8.4).
pub fn txt_value(key_authorization: &str) -> String {
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_authorization.as_bytes());
    arbor_proto::b64::encode(digest.as_ref())
}

/// The name whose TXT records are read: `_acme-challenge.<base name>`.
pub fn challenge_name(identifier: &Identifier) -> Result<String, ValidationError> {
    let bad = |why: String| ValidationError::Malformed(why);
    let norm = identifier
        .normalize()
        .map_err(|e| bad(format!("invalid identifier: {e}")))?;
    match norm.kind().map_err(|e| bad(e.to_string()))? {
        IdentifierType::Dns => {
            let base = norm.value.strip_prefix("*.").unwrap_or(&norm.value);
            Ok(format!("{CHALLENGE_LABEL}.{base}"))
        }
        IdentifierType::Ip => Err(bad(
            "dns-01 cannot validate an IP identifier (RFC 8738 §7)".into()
        )),
    }
}

/// Runs one dns-01 validation; see the module docs.
pub(crate) async fn validate(
    va: &Inner,
    identifier: &Identifier,
    key_authorization: &str,
) -> Result<ValidationRecord, ValidationError> {
    let name = challenge_name(identifier)?;
    let expected = txt_value(key_authorization);
    let found = tokio::time::timeout(va.cfg.timeout, va.resolver.lookup_txt(&name))
        .await
        .unwrap_or(Err(LookupError::Timeout));
    let records = found.map_err(|e| lookup_failure(&name, &e))?;
    if records.is_empty() {
        return Err(ValidationError::Unauthorized(format!(
            "No TXT record found at {name}"
        )));
    }
    if !records.iter().any(|r| r.as_slice() == expected.as_bytes()) {
        return Err(ValidationError::Unauthorized(format!(
            "Incorrect TXT record at {name}: wrong value: found {} TXT record(s), none \
             matches the expected value",
            records.len()
        )));
    }
    Ok(ValidationRecord {
        url: String::new(),
        hostname: name
            .strip_prefix(CHALLENGE_LABEL)
            .and_then(|n| n.strip_prefix('.'))
            .unwrap_or(&name)
            .to_string(),
        port: 0,
        addresses_resolved: Vec::new(),
        address_used: None,
        addresses_tried: Vec::new(),
        redirects: Vec::new(),
    })
}

/// The `dns` problem for a failed TXT lookup.
fn lookup_failure(name: &str, e: &LookupError) -> ValidationError {
    ValidationError::Dns(match e {
        LookupError::NoDns => NO_DNS_DETAIL.to_string(),
        LookupError::NxDomain => format!(
            "DNS problem: NXDOMAIN looking up TXT for {name} - check that a DNS record \
             exists for this domain"
        ),
        other => format!("DNS problem: {other} looking up TXT for {name}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txt_value_matches_rfc_shape() {
        // SHA-256 is 32 bytes: 43 base64url characters without padding.
        let v = txt_value("token.thumbprint");
        assert_eq!(v.len(), 43);
        assert!(
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        // SHA-256("") is well known.
        assert_eq!(txt_value(""), "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU");
    }

    #[test]
    fn names() {
        let n = |s: &str| challenge_name(&Identifier::dns(s)).unwrap();
        assert_eq!(n("WWW.Example.com"), "_acme-challenge.www.example.com");
        assert_eq!(n("*.example.com"), "_acme-challenge.example.com");
        let ip = Identifier::ip("192.0.2.1".parse().unwrap());
        assert!(matches!(
            challenge_name(&ip),
            Err(ValidationError::Malformed(_))
        ));
    }

    #[test]
    fn failure_details() {
        let d = |e| {
            lookup_failure("_acme-challenge.a.example", &e)
                .detail()
                .to_string()
        };
        assert!(d(LookupError::ServFail).contains("SERVFAIL looking up TXT"));
        assert!(d(LookupError::Timeout).contains("query timed out"));
        assert!(d(LookupError::NxDomain).contains("NXDOMAIN"));
        assert_eq!(d(LookupError::NoDns), NO_DNS_DETAIL);
    }
}
