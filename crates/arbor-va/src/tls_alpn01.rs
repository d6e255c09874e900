//! The tls-alpn-01 challenge (RFC 8737), for `dns` identifiers and for `ip` identifiers
//! (RFC 8738 §6).
//!
//! The VA resolves the name (or takes the IP), vets each address with the address policy,
//! and connects to it on the tls-alpn-01 port (443, or the local port), offering ALPN
//! `acme-tls/1` only, with SNI set to the name (for an IP identifier: its reverse-DNS
//! name, e.g. `1.0.0.127.in-addr.arpa`), TLS 1.2 or later. The chain is not verified, but
//! the handshake signature is (the peer holds the key). Then:
//! - the negotiated protocol must be `acme-tls/1` (§3);
//! - the leaf's subjectAltName must hold exactly one entry, a dNSName equal to the name or
//!   an iPAddress equal to the IP (§3; RFC 8738 §6);
//! - the leaf must carry the acmeIdentifier extension (id-pe-acmeIdentifier,
//!   1.3.6.1.5.5.7.1.31), marked critical, whose value is the DER OCTET STRING of
//!   SHA-256(key authorization) (§3, §6.1). The draft OID 1.3.6.1.5.5.7.1.30.1 is refused.
//!
//! Connection failures are `connection`, handshake failures `tls`, and a certificate or
//! protocol that is not the proof is `unauthorized` (Let's Encrypt's mapping).

use crate::error::ValidationError;
use crate::http01::pick_candidates;
use crate::tls::ACME_TLS_ALPN;
use crate::{Inner, ValidationRecord};
use arbor_proto::{Identifier, IdentifierType};
use der::Decode;
use der::asn1::{ObjectIdentifier, OctetString};
use rustls::pki_types::ServerName;
use std::net::{IpAddr, SocketAddr};
use tokio::net::TcpStream;
use tokio::time::Instant;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

/// id-pe-acmeIdentifier (RFC 8737 §6.1).
pub const ID_PE_ACME_IDENTIFIER: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.31");
/// The OID of draft-ietf-acme-tls-alpn-01..04, no longer accepted.
pub const ID_PE_ACME_IDENTIFIER_V1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.30.1");
/// id-ce-subjectAltName (RFC 5280 §4.2.1.6).
const ID_CE_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");

/// What the certificate must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expected {
    Dns(String),
    Ip(IpAddr),
}

/// Runs one tls-alpn-01 validation; see the module docs.
pub(crate) async fn validate(
    va: &Inner,
    identifier: &Identifier,
    key_authorization: &str,
) -> Result<ValidationRecord, ValidationError> {
    let expected = expected(identifier)?;
    let deadline = Instant::now() + va.cfg.timeout;
    let (hostname, sni, resolved) = match &expected {
        Expected::Dns(name) => {
            let found = tokio::time::timeout_at(deadline, va.resolver.lookup_ips(name))
                .await
                .map_err(|_| {
                    ValidationError::Dns(format!(
                        "DNS problem: query timed out looking up A/AAAA for {name}"
                    ))
                })??;
            (name.clone(), name.clone(), found)
        }
        Expected::Ip(ip) => (ip.to_string(), reverse_name(*ip), vec![*ip]),
    };
    let server_name = ServerName::try_from(sni.clone())
        .map_err(|_| ValidationError::Malformed(format!("invalid TLS server name {sni}")))?;
    let candidates = pick_candidates(&resolved, va.cfg.allow_loopback, &hostname)?;
    let port = va.cfg.tls_port;
    let digest =
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_authorization.as_bytes());
    let mut tried = Vec::new();
    let mut last_err = None;
    for (i, ip) in candidates.iter().enumerate() {
        let now = Instant::now();
        let connect_deadline = if i + 1 < candidates.len() {
            now + deadline.saturating_duration_since(now) / 2
        } else {
            deadline
        };
        let addr = SocketAddr::new(*ip, port);
        let tcp = match tokio::time::timeout_at(connect_deadline, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::debug!(%addr, error = %e, "tls-alpn-01 connect failed");
                tried.push(*ip);
                last_err = Some(ValidationError::Connection(format!(
                    "{addr}: Connection refused or unreachable ({})",
                    e.kind()
                )));
                continue;
            }
            Err(_) => {
                tried.push(*ip);
                last_err = Some(ValidationError::Connection(format!(
                    "{addr}: Timeout during connect (likely firewall problem)"
                )));
                continue;
            }
        };
        let connector = tokio_rustls::TlsConnector::from(va.acme_tls.clone());
        let tls = tokio::time::timeout_at(deadline, connector.connect(server_name.clone(), tcp))
            .await
            .map_err(|_| {
                ValidationError::Connection(format!("{addr}: Timeout during the TLS handshake"))
            })?
            .map_err(|e| {
                ValidationError::Tls(format!(
                    "{addr}: TLS handshake for tls-alpn-01 (SNI {sni}) failed: {e}"
                ))
            })?;
        let (_, conn) = tls.get_ref();
        if conn.alpn_protocol() != Some(ACME_TLS_ALPN) {
            return Err(ValidationError::Unauthorized(format!(
                "{addr}: Cannot negotiate ALPN protocol \"acme-tls/1\" for tls-alpn-01 \
                 challenge (RFC 8737 §3)"
            )));
        }
        let leaf = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .ok_or_else(|| {
                ValidationError::Unauthorized(format!("{addr}: no certificate was presented"))
            })?;
        check_certificate(leaf.as_ref(), &expected, digest.as_ref()).map_err(|why| {
            ValidationError::Unauthorized(format!(
                "{addr}: Incorrect validation certificate for tls-alpn-01 challenge: {why}"
            ))
        })?;
        return Ok(ValidationRecord {
            url: String::new(),
            hostname,
            port,
            addresses_resolved: resolved,
            address_used: Some(*ip),
            addresses_tried: tried,
            redirects: Vec::new(),
        });
    }
    Err(last_err.unwrap_or_else(|| {
        ValidationError::Connection(format!("no address to connect to for {hostname}"))
    }))
}

/// The name or address the certificate must carry.
pub(crate) fn expected(identifier: &Identifier) -> Result<Expected, ValidationError> {
    let bad = |why: String| ValidationError::Malformed(why);
    let norm = identifier
        .normalize()
        .map_err(|e| bad(format!("invalid identifier: {e}")))?;
    match norm.kind().map_err(|e| bad(e.to_string()))? {
        IdentifierType::Dns if norm.is_wildcard() => Err(bad(
            "tls-alpn-01 cannot validate a wildcard identifier (RFC 8737 §3)".into(),
        )),
        IdentifierType::Dns => Ok(Expected::Dns(norm.value)),
        IdentifierType::Ip => norm
            .value
            .parse()
            .map(Expected::Ip)
            .map_err(|_| bad(format!("{:?} is not an IP address", norm.value))),
    }
}

/// The reverse-DNS name of an address (RFC 1035 §3.5, RFC 3596 §2.5), used as SNI for
/// IP identifiers (RFC 8738 §6).
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut out = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                out.push_str(&format!("{:x}.{:x}.", byte & 0x0f, byte >> 4));
            }
            out.push_str("ip6.arpa");
            out
        }
    }
}

/// Checks the leaf certificate (RFC 8737 §3); `Err` says what is wrong.
pub(crate) fn check_certificate(
    der: &[u8],
    expected: &Expected,
    digest: &[u8],
) -> Result<(), String> {
    let cert = Certificate::from_der(der).map_err(|_| "the certificate cannot be parsed")?;
    let exts = cert
        .tbs_certificate()
        .extensions()
        .map(|e| e.as_slice())
        .unwrap_or_default();
    // SAN: exactly one entry, equal to the identifier.
    let sans: Vec<_> = exts
        .iter()
        .filter(|e| e.extn_id == ID_CE_SUBJECT_ALT_NAME)
        .collect();
    let [san] = sans.as_slice() else {
        return Err(format!(
            "expected one subjectAltName extension, found {}",
            sans.len()
        ));
    };
    let names = SubjectAltName::from_der(san.extn_value.as_bytes())
        .map_err(|_| "the subjectAltName extension cannot be parsed")?;
    let [name] = names.0.as_slice() else {
        return Err(format!(
            "the subjectAltName must hold exactly one name, it holds {}",
            names.0.len()
        ));
    };
    let matches = match (name, expected) {
        (GeneralName::DnsName(d), Expected::Dns(want)) => d.as_str().eq_ignore_ascii_case(want),
        (GeneralName::IpAddress(o), Expected::Ip(want)) => match want {
            IpAddr::V4(v4) => o.as_bytes() == v4.octets(),
            IpAddr::V6(v6) => o.as_bytes() == v6.octets(),
        },
        _ => false,
    };
    if !matches {
        return Err(match expected {
            Expected::Dns(want) => format!("the subjectAltName is not the dNSName {want}"),
            Expected::Ip(want) => format!("the subjectAltName is not the iPAddress {want}"),
        });
    }
    // acmeIdentifier: present, critical, the right digest.
    let acme: Vec<_> = exts
        .iter()
        .filter(|e| e.extn_id == ID_PE_ACME_IDENTIFIER)
        .collect();
    let ext = match acme.as_slice() {
        [one] => one,
        [] if exts.iter().any(|e| e.extn_id == ID_PE_ACME_IDENTIFIER_V1) => {
            return Err(
                "the acmeIdentifier extension uses the obsolete OID 1.3.6.1.5.5.7.1.30.1; \
                 RFC 8737 requires 1.3.6.1.5.5.7.1.31"
                    .into(),
            );
        }
        [] => return Err("the acmeIdentifier extension (1.3.6.1.5.5.7.1.31) is missing".into()),
        _ => return Err("the acmeIdentifier extension appears more than once".into()),
    };
    if !ext.critical {
        return Err("the acmeIdentifier extension is not marked critical (RFC 8737 §3)".into());
    }
    let value = OctetString::from_der(ext.extn_value.as_bytes())
        .map_err(|_| "the acmeIdentifier extension is not a DER OCTET STRING")?;
    if value.as_bytes() != digest {
        return Err(
            "the acmeIdentifier extension does not hold SHA-256 of this challenge's key \
             authorization"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name("127.0.0.1".parse().unwrap()),
            "1.0.0.127.in-addr.arpa"
        );
        // RFC 3596 §2.5's example address 4321:0:1:2:3:4:567:89ab
        assert_eq!(
            reverse_name("4321:0:1:2:3:4:567:89ab".parse().unwrap()),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa"
        );
    }

    #[test]
    fn expected_from_identifier() {
        assert_eq!(
            expected(&Identifier::dns("A.Example")).unwrap(),
            Expected::Dns("a.example".into())
        );
        assert!(matches!(
            expected(&Identifier::dns("*.a.example")),
            Err(ValidationError::Malformed(_))
        ));
        assert_eq!(
            expected(&Identifier::ip("::1".parse().unwrap())).unwrap(),
            Expected::Ip("::1".parse().unwrap())
        );
    }

    #[test]
    fn garbage_certificate_is_refused() {
        let e = check_certificate(
            b"\x30\x03\x02\x01\x00",
            &Expected::Dns("a".into()),
            &[0; 32],
        );
        assert!(e.unwrap_err().contains("cannot be parsed"));
    }
}
