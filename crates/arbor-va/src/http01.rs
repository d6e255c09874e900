//! The http-01 challenge (RFC 8555 §8.3), for `dns` and `ip` (RFC 8738 §3) identifiers.
//!
//! The VA fetches `http://{host}/.well-known/acme-challenge/{token}` on the configured
//! port and compares the body, less trailing whitespace, with the key authorization.
//! Every host on the way is resolved by the VA, checked against the address policy, and
//! connected to by address: AAAA first, then A if the connection fails.
//!
//! Redirects (Let's Encrypt's rules): only 301/302/307/308, at most
//! [`MAX_REDIRECTS`], only to `http` or `https` on ports 80 and 443 (in local mode also
//! the configured http and tls ports), and no loops. An `https` target's certificate is
//! not verified (see [`crate::tls`]).

use crate::error::ValidationError;
use crate::fetch::{self, FetchError, Target};
use crate::policy::denial_reason;
use crate::{Inner, ValidationRecord};
use arbor_proto::{Identifier, IdentifierType};
use http::StatusCode;
use rustls::pki_types::ServerName;
use std::net::{IpAddr, SocketAddr};
use tokio::time::Instant;
use url::{Host, Url};

/// The most redirects followed (Let's Encrypt's limit).
pub const MAX_REDIRECTS: usize = 10;

/// The path prefix of the challenge resource (RFC 8555 §8.3).
pub const CHALLENGE_PATH: &str = "/.well-known/acme-challenge/";

/// The longest redirect target accepted.
const MAX_URL_LEN: usize = 2048;

/// Runs one http-01 validation; see the module docs.
pub(crate) async fn validate(
    va: &Inner,
    identifier: &Identifier,
    token: &str,
    key_authorization: &str,
) -> Result<ValidationRecord, ValidationError> {
    if token.is_empty()
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ValidationError::Malformed(
            "the challenge token is not base64url (RFC 8555 §8.3)".into(),
        ));
    }
    let host = initial_host(identifier)?;
    let start = format!("http://{host}:{}{CHALLENGE_PATH}{token}", va.cfg.http_port);
    let mut url = Url::parse(&start)
        .map_err(|_| ValidationError::Malformed(format!("cannot build a URL for {host}")))?;
    let deadline = Instant::now() + va.cfg.timeout;
    let (mut first, mut resp) = fetch_hop(va, &url, deadline).await?;
    let mut redirects: Vec<ValidationRecord> = Vec::new();
    loop {
        let used = redirects
            .last()
            .unwrap_or(&first)
            .address_used
            .map_or_else(String::new, |ip| ip.to_string());
        let status = resp.status;
        if status == StatusCode::OK {
            let body = trim_trailing_ws(&resp.body);
            if body != key_authorization.as_bytes() {
                return Err(ValidationError::Unauthorized(format!(
                    "{used}: The key authorization file from the server did not match this \
                     challenge"
                )));
            }
            first.redirects = redirects;
            return Ok(first);
        }
        if !is_followed_redirect(status) {
            let extra = if status.is_redirection() {
                " (only 301, 302, 307 and 308 redirects are followed)"
            } else {
                ""
            };
            return Err(ValidationError::Unauthorized(format!(
                "{used}: Invalid response from {url}: the server returned HTTP {}{extra}",
                status.as_u16()
            )));
        }
        if redirects.len() >= MAX_REDIRECTS {
            return Err(ValidationError::Connection(format!(
                "Too many redirects (more than {MAX_REDIRECTS}) fetching {}",
                first.url
            )));
        }
        let seen = std::iter::once(&first).chain(&redirects);
        url = redirect_target(va, &url, resp.location.as_deref(), seen)?;
        let (record, next) = fetch_hop(va, &url, deadline).await?;
        redirects.push(record);
        resp = next;
    }
}

/// The host text for the first URL: a DNS name, or an IP literal (bracketed if IPv6).
fn initial_host(identifier: &Identifier) -> Result<String, ValidationError> {
    let bad = |why: String| ValidationError::Malformed(why);
    let norm = identifier
        .normalize()
        .map_err(|e| bad(format!("invalid identifier: {e}")))?;
    match norm.kind().map_err(|e| bad(e.to_string()))? {
        IdentifierType::Dns => {
            if norm.is_wildcard() {
                return Err(bad(
                    "http-01 cannot validate a wildcard identifier (RFC 8555 §7.1.3)".into(),
                ));
            }
            Ok(norm.value)
        }
        IdentifierType::Ip => match norm.value.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => Ok(format!("[{v6}]")),
            Ok(IpAddr::V4(v4)) => Ok(v4.to_string()),
            Err(_) => Err(bad(format!("{:?} is not an IP address", norm.value))),
        },
    }
}

/// Resolves, vets and fetches one URL, trying the IPv6 then the IPv4 address.
async fn fetch_hop(
    va: &Inner,
    url: &Url,
    deadline: Instant,
) -> Result<(ValidationRecord, fetch::Response), ValidationError> {
    let malformed = || ValidationError::Malformed(format!("unusable URL {url}"));
    let port = url.port_or_known_default().ok_or_else(malformed)?;
    let (hostname, resolved) = match url.host().ok_or_else(malformed)? {
        Host::Ipv4(v4) => (v4.to_string(), vec![IpAddr::V4(v4)]),
        Host::Ipv6(v6) => (v6.to_string(), vec![IpAddr::V6(v6)]),
        Host::Domain(name) => {
            let found = tokio::time::timeout_at(deadline, va.resolver.lookup_ips(name))
                .await
                .map_err(|_| {
                    ValidationError::Dns(format!(
                        "DNS problem: query timed out looking up A/AAAA for {name}"
                    ))
                })??;
            (name.to_string(), found)
        }
    };
    let candidates = pick_candidates(&resolved, va.cfg.allow_loopback, &hostname)?;
    let host_header = match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let path = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let tls = match (url.scheme(), url.host()) {
        ("https", Some(Host::Domain(name))) => Some(
            ServerName::try_from(name.to_string())
                .map_err(|_| ValidationError::Malformed(format!("invalid TLS name {name}")))?,
        ),
        ("https", Some(Host::Ipv4(v4))) => Some(ServerName::from(IpAddr::V4(v4))),
        ("https", Some(Host::Ipv6(v6))) => Some(ServerName::from(IpAddr::V6(v6))),
        _ => None,
    }
    .map(|name| (name, va.redirect_tls.clone()));
    let mut tried = Vec::new();
    let mut last_err = None;
    for (i, ip) in candidates.iter().enumerate() {
        let now = Instant::now();
        // With a fallback still to come, the first connect gets half the time left.
        let connect_deadline = if i + 1 < candidates.len() {
            now + deadline.saturating_duration_since(now) / 2
        } else {
            deadline
        };
        let target = Target {
            addr: SocketAddr::new(*ip, port),
            host_header: &host_header,
            path: &path,
            url: url.as_str(),
            tls: tls.clone(),
        };
        match fetch::fetch(&target, connect_deadline, deadline, va.cfg.max_body).await {
            Ok(resp) => {
                let record = ValidationRecord {
                    url: url.to_string(),
                    hostname: hostname.clone(),
                    port,
                    addresses_resolved: resolved.clone(),
                    address_used: Some(*ip),
                    addresses_tried: tried,
                    redirects: Vec::new(),
                };
                return Ok((record, resp));
            }
            Err(FetchError::Connect(e)) => {
                tracing::debug!(%ip, %url, error = %e, "http-01 connect failed");
                tried.push(*ip);
                last_err = Some(e);
            }
            Err(FetchError::Exchange(e)) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| {
        ValidationError::Connection(format!("no address to connect to for {hostname}"))
    }))
}

/// The first allowed IPv6 and the first allowed IPv4 address, in that order. Fails with a
/// `connection` problem naming the policy when every address is refused.
pub(crate) fn pick_candidates(
    resolved: &[IpAddr],
    allow_loopback: bool,
    hostname: &str,
) -> Result<Vec<IpAddr>, ValidationError> {
    if resolved.is_empty() {
        return Err(ValidationError::Dns(format!(
            "DNS problem: no valid A or AAAA records found for {hostname}"
        )));
    }
    let allowed = |ip: &&IpAddr| denial_reason(**ip, allow_loopback).is_none();
    let v6 = resolved.iter().filter(|ip| ip.is_ipv6()).find(allowed);
    let v4 = resolved.iter().filter(|ip| ip.is_ipv4()).find(allowed);
    let out: Vec<IpAddr> = v6.into_iter().chain(v4).copied().collect();
    if out.is_empty() {
        let ip = resolved[0];
        let why = denial_reason(ip, allow_loopback).unwrap_or("not allowed");
        return Err(ValidationError::Connection(format!(
            "{hostname}: refusing to connect to {ip}: the address is {why} (RFC 8555 §10.4)"
        )));
    }
    Ok(out)
}

/// Whether the VA follows this status.
fn is_followed_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 307 | 308)
}

/// Checks and resolves a redirect's `Location` against the current URL.
fn redirect_target<'a>(
    va: &Inner,
    current: &Url,
    location: Option<&str>,
    mut seen: impl Iterator<Item = &'a ValidationRecord>,
) -> Result<Url, ValidationError> {
    let conn = |why: String| ValidationError::Connection(why);
    let location =
        location.ok_or_else(|| conn(format!("Redirect from {current} has no Location header")))?;
    if location.len() > MAX_URL_LEN {
        return Err(conn(format!(
            "Redirect target from {current} is longer than {MAX_URL_LEN} bytes"
        )));
    }
    let mut next = current
        .join(location)
        .map_err(|_| conn(format!("Redirect from {current} has an invalid Location")))?;
    next.set_fragment(None);
    match next.scheme() {
        "http" | "https" => {}
        _ => {
            return Err(conn(format!(
                "Invalid protocol scheme in redirect target from {current}: only http and \
                 https are allowed"
            )));
        }
    }
    let port = next.port_or_known_default().unwrap_or(0);
    let local_port_ok =
        va.cfg.allow_loopback && (port == va.cfg.http_port || port == va.cfg.tls_port);
    if !(port == 80 || port == 443 || local_port_ok) {
        return Err(conn(format!(
            "Invalid port in redirect target {next}: only ports 80 and 443 are allowed"
        )));
    }
    if next.host().is_none() {
        return Err(conn(format!("Redirect target {next} has no host")));
    }
    if seen.any(|r| r.url == next.as_str()) {
        return Err(conn(format!("Redirect loop detected at {next}")));
    }
    Ok(next)
}

/// Drops the trailing whitespace RFC 8555 §8.3 says to ignore.
fn trim_trailing_ws(body: &[u8]) -> &[u8] {
    let end = body
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .map_or(0, |i| i + 1);
    &body[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_only_trailing_whitespace() {
        assert_eq!(trim_trailing_ws(b"abc \r\n\t"), b"abc");
        assert_eq!(trim_trailing_ws(b" abc"), b" abc");
        assert_eq!(trim_trailing_ws(b"\n\n"), b"");
        assert_eq!(trim_trailing_ws(b""), b"");
    }

    #[test]
    fn host_for_identifiers() {
        assert_eq!(
            initial_host(&Identifier::dns("WWW.Example.com")).unwrap(),
            "www.example.com"
        );
        assert_eq!(
            initial_host(&Identifier::ip("2001:db8::1".parse().unwrap())).unwrap(),
            "[2001:db8::1]"
        );
        assert!(matches!(
            initial_host(&Identifier::dns("*.example.com")),
            Err(ValidationError::Malformed(_))
        ));
    }

    #[test]
    fn candidates_v6_first_and_policy() {
        let ips: Vec<IpAddr> = ["8.8.8.8", "10.0.0.1", "fd00::1", "2606:4700::1"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let c = pick_candidates(&ips, false, "h").unwrap();
        assert_eq!(c, vec![ips[3], ips[0]]);
        let private: Vec<IpAddr> = vec!["10.0.0.1".parse().unwrap()];
        let e = pick_candidates(&private, false, "h").unwrap_err();
        assert!(matches!(&e, ValidationError::Connection(d) if d.contains("RFC 1918")));
    }
}
