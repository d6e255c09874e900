//! ACME identifiers (RFC 8555 §7.1.3/§9.7.7 `dns`, RFC 8738 `ip`) and their syntax checks.
//!
//! Syntax only: whether a name may be issued for (public suffix, policy) is the RA's call.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// The identifier types Arbor understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdentifierType {
    /// A DNS name (RFC 8555 §9.7.7).
    Dns,
    /// An IP address (RFC 8738).
    Ip,
}

impl IdentifierType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            IdentifierType::Dns => "dns",
            IdentifierType::Ip => "ip",
        }
    }
}

/// An identifier as it appears in orders and authorizations.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub struct Identifier {
    #[serde(rename = "type")]
    pub typ: String,
    pub value: String,
}

/// Why an identifier's syntax is unacceptable (→ `rejectedIdentifier` / `malformed`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("unsupported identifier type {0:?}")]
    UnsupportedType(String),
    #[error("{0:?} is not a valid DNS name: {1}")]
    BadDnsName(String, &'static str),
    #[error("{0:?} is not a valid IP address")]
    BadIp(String),
}

/// Maximum length of a DNS name in presentation form (RFC 1035 §2.3.4).
pub const MAX_DNS_NAME_LEN: usize = 253;
/// Maximum length of one DNS label (RFC 1035 §2.3.4).
pub const MAX_DNS_LABEL_LEN: usize = 63;

impl Identifier {
    /// A `dns` identifier.
    pub fn dns(v: impl Into<String>) -> Self {
        Identifier {
            typ: "dns".into(),
            value: v.into(),
        }
    }

    /// An `ip` identifier.
    pub fn ip(v: IpAddr) -> Self {
        Identifier {
            typ: "ip".into(),
            value: v.to_string(),
        }
    }

    /// The parsed type, if Arbor knows it.
    pub fn kind(&self) -> Result<IdentifierType, IdentifierError> {
        match self.typ.as_str() {
            "dns" => Ok(IdentifierType::Dns),
            "ip" => Ok(IdentifierType::Ip),
            other => Err(IdentifierError::UnsupportedType(other.to_string())),
        }
    }

    /// Whether this is a wildcard `dns` identifier (`*.example.com`).
    pub fn is_wildcard(&self) -> bool {
        self.typ == "dns" && self.value.starts_with("*.")
    }

    /// The name an authorization is for: the wildcard's base domain (RFC 8555 §7.1.3).
    pub fn authz_identifier(&self) -> Identifier {
        if self.is_wildcard() {
            Identifier::dns(&self.value[2..])
        } else {
            self.clone()
        }
    }

    /// Checks syntax and returns the canonical form (lower-case DNS, canonical IP text).
    pub fn normalize(&self) -> Result<Identifier, IdentifierError> {
        match self.kind()? {
            IdentifierType::Dns => {
                let v = self.value.to_ascii_lowercase();
                check_dns_name(&v)?;
                Ok(Identifier::dns(v))
            }
            IdentifierType::Ip => {
                let ip: IpAddr = self
                    .value
                    .parse()
                    .map_err(|_| IdentifierError::BadIp(self.value.clone()))?;
                Ok(Identifier::ip(ip))
            }
        }
    }
}

/// Syntax of a (possibly wildcard) DNS name as allowed in an order.
fn check_dns_name(v: &str) -> Result<(), IdentifierError> {
    let bad = |why| Err(IdentifierError::BadDnsName(v.to_string(), why));
    let base = v.strip_prefix("*.").unwrap_or(v);
    if base.is_empty() {
        return bad("empty name");
    }
    if v.len() > MAX_DNS_NAME_LEN {
        return bad("name longer than 253 characters");
    }
    if base.ends_with('.') {
        return bad("trailing dot");
    }
    if base.contains('*') {
        return bad("wildcard only allowed as the whole leftmost label");
    }
    if base.parse::<IpAddr>().is_ok() {
        return bad("an IP address must use the ip identifier type");
    }
    let labels: Vec<&str> = base.split('.').collect();
    if labels.len() < 2 {
        return bad("name must have at least two labels");
    }
    for l in &labels {
        if l.is_empty() {
            return bad("empty label");
        }
        if l.len() > MAX_DNS_LABEL_LEN {
            return bad("label longer than 63 characters");
        }
        if !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return bad("invalid character (only a-z, 0-9 and '-' are allowed)");
        }
        if l.starts_with('-') || l.ends_with('-') {
            return bad("label starts or ends with a hyphen");
        }
    }
    let tld = labels[labels.len() - 1];
    if tld.bytes().all(|b| b.is_ascii_digit()) {
        return bad("top-level label is all digits");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_rejects() {
        assert_eq!(
            Identifier::dns("WWW.Example.COM")
                .normalize()
                .unwrap()
                .value,
            "www.example.com"
        );
        assert!(Identifier::dns("*.example.com").normalize().is_ok());
        for bad in [
            "",
            "com",
            "a..b",
            "-a.com",
            "a-.com",
            "a_b.com",
            "*.*.a.com",
            "a.*.com",
            "1.2.3.4",
            "a.com.",
            "x.123",
        ] {
            assert!(Identifier::dns(bad).normalize().is_err(), "{bad}");
        }
        assert_eq!(
            Identifier {
                typ: "ip".into(),
                value: "::0001".into()
            }
            .normalize()
            .unwrap()
            .value,
            "::1"
        );
        assert!(
            Identifier {
                typ: "email".into(),
                value: "a@b.c".into()
            }
            .normalize()
            .is_err()
        );
    }

    #[test]
    fn wildcard_authz() {
        let w = Identifier::dns("*.example.com");
        assert!(w.is_wildcard());
        assert_eq!(w.authz_identifier(), Identifier::dns("example.com"));
    }
}
