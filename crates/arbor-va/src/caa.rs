//! CAA checking (RFC 8659, with the RFC 8657 `accounturi` and `validationmethods`
//! parameters): may this CA issue for a name?
//!
//! The VA climbs from the name towards the root (RFC 8659 §3), stopping at the first
//! name with a non-empty CAA RRset (the "relevant RRset"); CNAMEs are followed by the
//! resolver, so a CNAME's target's RRset counts as the name's. In that RRset:
//! - a record with the issuer-critical flag and a tag this CA does not understand
//!   forbids issuance (§4.5);
//! - for a wildcard, `issuewild` records are used when present, else `issue` (§4.3);
//! - no such record at all means no restriction; otherwise one record must name one of
//!   this CA's domains (case-insensitive) with every RFC 8657 parameter satisfied; an
//!   empty issuer (`;`) or a malformed value names no CA.
//!
//! A lookup that fails (SERVFAIL, timeout, REFUSED) at any step refuses with a `dns`
//! problem: failure to look is not permission (§4). NXDOMAIN and NODATA let the climb
//! go on. IP identifiers have no CAA (RFC 8738 leaves it undefined): allowed.
//! Deviation: with a fixed-address resolver (laptop mode) there is no DNS and CAA allows.

use crate::Inner;
use crate::error::ValidationError;
use crate::resolve::{CaaRecord, LookupError};
use arbor_proto::{Identifier, IdentifierType};
use tokio::time::Instant;

/// The most names queried in one climb (a DNS name has at most 127 labels).
const MAX_CLIMB: usize = 127;
/// The longest record text repeated in a detail.
const MAX_SHOWN: usize = 100;
/// Tags this CA understands: issuance tags, `iodef`, and tags for other certificate
/// kinds or contact data that never concern TLS issuance.
const KNOWN_TAGS: &[&str] = &[
    "issue",
    "issuewild",
    "iodef",
    "issuemail",
    "issuevmc",
    "contactemail",
    "contactphone",
];

/// What the CA is asking CAA about.
pub(crate) struct Request<'a> {
    pub wildcard: bool,
    pub ca_domains: &'a [String],
    pub account_uri: &'a str,
    pub method: &'a str,
}

/// Runs the CAA check for one identifier; see the module docs.
pub(crate) async fn check(
    va: &Inner,
    identifier: &Identifier,
    req: &Request<'_>,
) -> Result<(), ValidationError> {
    let bad = |why: String| ValidationError::Malformed(why);
    let norm = identifier
        .normalize()
        .map_err(|e| bad(format!("invalid identifier: {e}")))?;
    if norm.kind().map_err(|e| bad(e.to_string()))? == IdentifierType::Ip {
        return Ok(());
    }
    let wildcard = req.wildcard || norm.is_wildcard();
    let base = norm.value.strip_prefix("*.").unwrap_or(&norm.value);
    let deadline = Instant::now() + va.cfg.timeout;
    for name in climb(base).take(MAX_CLIMB) {
        let found = tokio::time::timeout_at(deadline, va.resolver.lookup_caa(name))
            .await
            .unwrap_or(Err(LookupError::Timeout));
        match found {
            Err(LookupError::NoDns) => return Ok(()),
            Err(LookupError::NxDomain) => continue,
            Err(e) => {
                return Err(ValidationError::Dns(format!(
                    "DNS problem: {e} looking up CAA for {name} - a CAA lookup that fails \
                     does not permit issuance (RFC 8659 §4)"
                )));
            }
            Ok(records) if records.is_empty() => continue,
            Ok(records) => return evaluate(name, &records, wildcard, req),
        }
    }
    Ok(())
}

/// `a.b.c`, `b.c`, `c`: the name and each parent, root excluded.
fn climb(name: &str) -> impl Iterator<Item = &str> {
    let mut next = Some(name);
    std::iter::from_fn(move || {
        let cur = next?;
        next = cur
            .split_once('.')
            .map(|(_, rest)| rest)
            .filter(|r| !r.is_empty());
        Some(cur)
    })
}

/// Decides on the relevant RRset found at `name`.
fn evaluate(
    name: &str,
    records: &[CaaRecord],
    wildcard: bool,
    req: &Request<'_>,
) -> Result<(), ValidationError> {
    let forbid = |why: String| {
        Err(ValidationError::Caa(format!(
            "CAA record for {name} prevents issuance: {why}"
        )))
    };
    if let Some(r) = records
        .iter()
        .find(|r| r.flags & 0x80 != 0 && !is_known(&r.tag))
    {
        return forbid(format!(
            "critical property tag \"{}\" is not understood (RFC 8659 §4.5)",
            shown(r.tag.as_bytes())
        ));
    }
    let tagged = |tag: &str| -> Vec<&CaaRecord> {
        records
            .iter()
            .filter(|r| r.tag.eq_ignore_ascii_case(tag))
            .collect()
    };
    let wild = tagged("issuewild");
    let (tag, set) = if wildcard && !wild.is_empty() {
        ("issuewild", wild)
    } else {
        ("issue", tagged("issue"))
    };
    if set.is_empty() {
        return Ok(());
    }
    let mut last_reason = String::new();
    for r in &set {
        match authorizes(&r.value, req) {
            Ok(()) => return Ok(()),
            Err(why) => {
                last_reason = format!("{tag} \"{}\" {why}", shown(&r.value));
            }
        }
    }
    if set.len() > 1 {
        last_reason = format!(
            "none of {} {tag} records authorizes this CA; last: {last_reason}",
            set.len()
        );
    }
    forbid(last_reason)
}

/// Whether one `issue`/`issuewild` value authorizes this request; `Err` says why not.
fn authorizes(value: &[u8], req: &Request<'_>) -> Result<(), &'static str> {
    let (domain, params) = parse_issue_value(value).ok_or("is malformed (RFC 8659 §4.2)")?;
    let Some(domain) = domain else {
        return Err("forbids all issuance");
    };
    if !req
        .ca_domains
        .iter()
        .any(|d| d.trim_end_matches('.').eq_ignore_ascii_case(domain))
    {
        return Err("names another CA");
    }
    for (k, v) in params {
        if k.eq_ignore_ascii_case("accounturi") && v != req.account_uri {
            return Err("is limited to another ACME account (RFC 8657 §3)");
        }
        if k.eq_ignore_ascii_case("validationmethods") && !v.split(',').any(|m| m == req.method) {
            return Err("does not allow this validation method (RFC 8657 §4)");
        }
    }
    Ok(())
}

/// The parameters of an issue value, in order: (tag, value).
type Params<'a> = Vec<(&'a str, &'a str)>;

/// Parses `issuer-domain-name; tag=value; ...` (RFC 8659 §4.2). `None` when malformed;
/// the domain is `None` for an empty issuer (`;`).
fn parse_issue_value(value: &[u8]) -> Option<(Option<&str>, Params<'_>)> {
    let text = std::str::from_utf8(value).ok()?;
    let is_wsp = |c: char| c == ' ' || c == '\t';
    let (domain, rest) = match text.split_once(';') {
        Some((d, r)) => (d.trim_matches(is_wsp), Some(r)),
        None => (text.trim_matches(is_wsp), None),
    };
    let domain = if domain.is_empty() {
        None
    } else {
        let ok = domain.split('.').all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
        if !ok {
            return None;
        }
        Some(domain)
    };
    let mut params = Vec::new();
    if let Some(rest) = rest {
        for p in rest.split(';').map(|p| p.trim_matches(is_wsp)) {
            if p.is_empty() {
                // "ca.example;" and "ca.example; a=b;" are common; tolerate.
                continue;
            }
            let (k, v) = p.split_once('=')?;
            let (k, v) = (k.trim_matches(is_wsp), v.trim_matches(is_wsp));
            let tag_ok = !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            let value_ok = v.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b';');
            if !tag_ok || !value_ok {
                return None;
            }
            if params
                .iter()
                .any(|(seen, _): &(&str, &str)| seen.eq_ignore_ascii_case(k))
            {
                return None;
            }
            params.push((k, v));
        }
    }
    Some((domain, params))
}

fn is_known(tag: &str) -> bool {
    KNOWN_TAGS.iter().any(|k| k.eq_ignore_ascii_case(tag))
}

/// Record text safe to repeat: printable ASCII, at most [`MAX_SHOWN`] characters.
fn shown(bytes: &[u8]) -> String {
    let mut s: String = bytes
        .iter()
        .take(MAX_SHOWN)
        .map(|&b| {
            if (0x20..0x7f).contains(&b) && b != b'"' {
                b as char
            } else {
                '?'
            }
        })
        .collect();
    if bytes.len() > MAX_SHOWN {
        s.push_str("...");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(domains: &'a [String], wildcard: bool) -> Request<'a> {
        Request {
            wildcard,
            ca_domains: domains,
            account_uri: "https://ca.example/acct/1",
            method: "dns-01",
        }
    }

    fn rec(flags: u8, tag: &str, value: &str) -> CaaRecord {
        CaaRecord {
            flags,
            tag: tag.into(),
            value: value.as_bytes().to_vec(),
        }
    }

    #[test]
    fn climbs_to_the_tld() {
        let v: Vec<_> = climb("a.b.example.com").collect();
        assert_eq!(
            v,
            ["a.b.example.com", "b.example.com", "example.com", "com"]
        );
        assert_eq!(climb("com").collect::<Vec<_>>(), ["com"]);
    }

    #[test]
    fn parses_values() {
        assert_eq!(parse_issue_value(b";"), Some((None, vec![])));
        assert_eq!(
            parse_issue_value(b" ca.example "),
            Some((Some("ca.example"), vec![]))
        );
        assert_eq!(
            parse_issue_value(b"ca.example; accounturi=https://x/1 ;validationmethods=dns-01"),
            Some((
                Some("ca.example"),
                vec![
                    ("accounturi", "https://x/1"),
                    ("validationmethods", "dns-01")
                ]
            ))
        );
        assert_eq!(parse_issue_value(b"ca..example"), None);
        assert_eq!(parse_issue_value(b"ca.example; novalue"), None);
        assert_eq!(parse_issue_value(b"ca.example; a=1; a=2"), None);
        assert_eq!(parse_issue_value(b"\xff"), None);
    }

    #[test]
    fn evaluation_matrix() {
        let d = vec!["CA.example".to_string()];
        let ok = |rs: &[CaaRecord], wild: bool| evaluate("n.example", rs, wild, &req(&d, wild));
        assert!(ok(&[rec(0, "issue", "ca.example")], false).is_ok());
        assert!(ok(&[rec(0, "ISSUE", "Ca.Example")], false).is_ok());
        assert!(ok(&[rec(0, "issue", "other.example")], false).is_err());
        assert!(ok(&[rec(0, "issue", ";")], false).is_err());
        assert!(ok(&[rec(0, "iodef", "mailto:x@y")], false).is_ok());
        // several issue records: any one authorizing wins
        assert!(
            ok(
                &[
                    rec(0, "issue", "other.example"),
                    rec(0, "issue", "ca.example")
                ],
                false
            )
            .is_ok()
        );
        // wildcard prefers issuewild, falls back to issue
        let both = [rec(0, "issue", "ca.example"), rec(0, "issuewild", ";")];
        assert!(ok(&both, false).is_ok());
        assert!(ok(&both, true).is_err());
        assert!(ok(&[rec(0, "issue", "ca.example")], true).is_ok());
        // critical unknown refuses, non-critical unknown is ignored
        assert!(
            ok(
                &[rec(0, "issue", "ca.example"), rec(128, "tbs", "x")],
                false
            )
            .is_err()
        );
        assert!(ok(&[rec(0, "issue", "ca.example"), rec(0, "tbs", "x")], false).is_ok());
        assert!(ok(&[rec(128, "issue", "ca.example")], false).is_ok());
        // RFC 8657 parameters
        let acct = "ca.example; accounturi=https://ca.example/acct/1";
        assert!(ok(&[rec(0, "issue", acct)], false).is_ok());
        assert!(
            ok(
                &[rec(
                    0,
                    "issue",
                    "ca.example; accounturi=https://ca.example/acct/2"
                )],
                false
            )
            .is_err()
        );
        assert!(
            ok(
                &[rec(
                    0,
                    "issue",
                    "ca.example; validationmethods=http-01,dns-01"
                )],
                false
            )
            .is_ok()
        );
        assert!(
            ok(
                &[rec(0, "issue", "ca.example; validationmethods=http-01")],
                false
            )
            .is_err()
        );
        assert!(ok(&[rec(0, "issue", "ca.example; unknownparam=1")], false).is_ok());
    }

    #[test]
    fn details_name_the_record() {
        let d = vec!["ca.example".to_string()];
        let e = evaluate(
            "n.example",
            &[rec(0, "issue", "other.example")],
            false,
            &req(&d, false),
        )
        .unwrap_err();
        assert_eq!(e.problem_type().short_name(), "caa");
        assert!(e.detail().contains("CAA record for n.example"), "{e}");
        assert!(
            e.detail()
                .contains("issue \"other.example\" names another CA"),
            "{e}"
        );
        let e = evaluate("n.example", &[rec(128, "tbs", "x")], false, &req(&d, false)).unwrap_err();
        assert!(e.detail().contains("critical property tag \"tbs\""), "{e}");
        assert_eq!(shown(b"a\"b\x00"), "a?b?");
    }
}
