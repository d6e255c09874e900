//! Arbor's validation authority (VA): proves that an applicant controls an identifier by
//! performing ACME challenges (RFC 8555 §8) against it.
//!
//! Implemented: http-01 (RFC 8555 §8.3) for `dns` identifiers and for `ip` identifiers
//! (RFC 8738 §3); dns-01 (RFC 8555 §8.4, [`dns01`]); tls-alpn-01 (RFC 8737, RFC 8738 §6,
//! [`tls_alpn01`]); CAA checking (RFC 8659 with RFC 8657's parameters, [`Va::check_caa`]);
//! name resolution through the system resolver, one named DNS server, or a fixed address
//! ([`ResolverConfig`]), or any [`HostResolver`]; the address policy against server-side
//! request forgery (RFC 8555 §10.4, [`address_allowed`]).
//!
//! With a fixed address (laptop mode) there is no DNS: dns-01 fails with a `dns` problem
//! and CAA allows everything.
//!
//! Not yet: multi-perspective validation, DNSSEC.
#![forbid(unsafe_code)]

mod caa;
pub mod dns01;
pub mod error;
mod fetch;
pub mod http01;
pub mod policy;
pub mod resolve;
mod tls;
pub mod tls_alpn01;

pub use error::{VaError, ValidationError};
pub use fetch::USER_AGENT_VALUE;
pub use policy::{address_allowed, denial_reason};
pub use resolve::{
    CaaFuture, CaaRecord, DnsResolver, FixedResolver, HostResolver, LookupError, LookupFuture,
    ResolverConfig, TxtFuture,
};

use arbor_proto::Identifier;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The default time one validation may take, DNS and redirects included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default limit on a challenge response body. A key authorization is under 100
/// bytes (RFC 8555 §8.1); anything near this limit is not one.
pub const DEFAULT_MAX_BODY: usize = 64 * 1024;
/// The http-01 port in production (RFC 8555 §8.3).
pub const HTTP01_PORT: u16 = 80;
/// The tls-alpn-01 port in production (RFC 8737 §3).
pub const TLS_ALPN01_PORT: u16 = 443;
/// Pebble's http-01 port, used in local mode.
pub const LOCAL_HTTP01_PORT: u16 = 5002;
/// Pebble's tls-alpn-01 port, used in local mode.
pub const LOCAL_TLS_ALPN01_PORT: u16 = 5001;

/// How the VA validates.
#[derive(Debug, Clone)]
pub struct VaConfig {
    /// Where DNS answers come from.
    pub resolver: ResolverConfig,
    /// The port http-01 connects to (80 in production, 5002 locally).
    pub http_port: u16,
    /// The port tls-alpn-01 will connect to (443 in production, 5001 locally).
    pub tls_port: u16,
    /// Local mode: also allow 127.0.0.0/8 and `::1`.
    pub allow_loopback: bool,
    /// The time one validation may take, DNS and redirects included.
    pub timeout: Duration,
    /// The largest response body read.
    pub max_body: usize,
}

impl VaConfig {
    /// Production settings: system resolver, ports 80/443, public addresses only.
    pub fn production() -> VaConfig {
        VaConfig {
            resolver: ResolverConfig::System,
            http_port: HTTP01_PORT,
            tls_port: TLS_ALPN01_PORT,
            allow_loopback: false,
            timeout: DEFAULT_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Local (laptop/test) settings: Pebble's ports 5002/5001 and loopback allowed.
    pub fn local(resolver: ResolverConfig) -> VaConfig {
        VaConfig {
            resolver,
            http_port: LOCAL_HTTP01_PORT,
            tls_port: LOCAL_TLS_ALPN01_PORT,
            allow_loopback: true,
            timeout: DEFAULT_TIMEOUT,
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

impl Default for VaConfig {
    fn default() -> Self {
        VaConfig::production()
    }
}

/// What a successful validation saw, for the challenge's `validationRecord`.
///
/// Serializes as one element of that array in the field names Boulder and Pebble use
/// (`url`, `hostname`, `port`, `addressesResolved`, `addressUsed`, `addressesTried`);
/// [`ValidationRecord::hops`] lists the elements in order when redirects were followed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationRecord {
    /// The URL fetched (http-01 only; empty otherwise).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// The host part of the URL, the name whose TXT records were read (dns-01), or the
    /// host connected to (tls-alpn-01).
    pub hostname: String,
    /// The port connected to (0 for dns-01).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub port: u16,
    /// Every address the host resolved to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses_resolved: Vec<IpAddr>,
    /// The address that answered (none for dns-01).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_used: Option<IpAddr>,
    /// Addresses tried before `address_used` whose connection failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses_tried: Vec<IpAddr>,
    /// The later hops when redirects were followed, in order (each with no `redirects`).
    #[serde(skip)]
    pub redirects: Vec<ValidationRecord>,
}

fn is_zero(p: &u16) -> bool {
    *p == 0
}

impl ValidationRecord {
    /// Every hop in order: this record, then each redirect target.
    pub fn hops(&self) -> impl Iterator<Item = &ValidationRecord> {
        std::iter::once(self).chain(self.redirects.iter())
    }
}

/// The validation authority. Cheap to clone; shares one resolver.
#[derive(Clone, Debug)]
pub struct Va {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) cfg: VaConfig,
    pub(crate) resolver: Arc<dyn HostResolver>,
    /// TLS client settings for https redirect targets.
    pub(crate) redirect_tls: Arc<rustls::ClientConfig>,
    /// TLS client settings for tls-alpn-01.
    pub(crate) acme_tls: Arc<rustls::ClientConfig>,
}

impl Va {
    /// Builds a VA with the resolver `cfg.resolver` names.
    pub fn new(cfg: VaConfig) -> Result<Va, VaError> {
        let resolver = resolve::build(cfg.resolver)?;
        Va::with_resolver(cfg, resolver)
    }

    /// Builds a VA around any resolver (tests, a scripted DNS); `cfg.resolver` is ignored.
    pub fn with_resolver(cfg: VaConfig, resolver: Arc<dyn HostResolver>) -> Result<Va, VaError> {
        if cfg.timeout.is_zero() {
            return Err(VaError::Config("timeout must be greater than zero"));
        }
        if cfg.max_body == 0 {
            return Err(VaError::Config("max_body must be greater than zero"));
        }
        if cfg.http_port == 0 || cfg.tls_port == 0 {
            return Err(VaError::Config("ports must not be zero"));
        }
        let redirect_tls =
            tls::redirect_client_config().map_err(|e| VaError::Tls(e.to_string()))?;
        let acme_tls = tls::acme_tls_client_config().map_err(|e| VaError::Tls(e.to_string()))?;
        Ok(Va {
            inner: Arc::new(Inner {
                cfg,
                resolver,
                redirect_tls,
                acme_tls,
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &VaConfig {
        &self.inner.cfg
    }

    /// The resolver in use (shared with later challenge types).
    pub fn resolver(&self) -> &Arc<dyn HostResolver> {
        &self.inner.resolver
    }

    /// Validates http-01 (RFC 8555 §8.3): fetches
    /// `http://{host}:{http_port}/.well-known/acme-challenge/{token}` and requires the body,
    /// less trailing whitespace, to equal `key_authorization`. See [`http01`] for the
    /// redirect and address rules.
    pub async fn validate_http01(
        &self,
        identifier: &Identifier,
        token: &str,
        key_authorization: &str,
    ) -> Result<ValidationRecord, ValidationError> {
        let res = http01::validate(&self.inner, identifier, token, key_authorization).await;
        match &res {
            Ok(r) => tracing::info!(identifier = %identifier.value, address = ?r.address_used,
                "http-01 validation succeeded"),
            Err(e) => tracing::info!(identifier = %identifier.value, error = %e,
                "http-01 validation failed"),
        }
        res
    }

    /// Validates dns-01 (RFC 8555 §8.4): some TXT record at `_acme-challenge.<base name>`
    /// (for a wildcard, the name without `*.`; CNAMEs followed) must equal
    /// base64url(SHA-256(`key_authorization`)). See [`dns01`] for the problem types. With
    /// [`ResolverConfig::Fixed`] there is no DNS and this fails with a `dns` problem.
    pub async fn validate_dns01(
        &self,
        identifier: &Identifier,
        key_authorization: &str,
    ) -> Result<ValidationRecord, ValidationError> {
        let res = dns01::validate(&self.inner, identifier, key_authorization).await;
        log_result("dns-01", identifier, &res);
        res
    }

    /// Validates tls-alpn-01 (RFC 8737; RFC 8738 §6 for IP identifiers) on `tls_port`:
    /// ALPN `acme-tls/1`, one subjectAltName equal to the identifier, and the critical
    /// acmeIdentifier extension holding SHA-256(`key_authorization`). See [`tls_alpn01`].
    pub async fn validate_tls_alpn01(
        &self,
        identifier: &Identifier,
        key_authorization: &str,
    ) -> Result<ValidationRecord, ValidationError> {
        let res = tls_alpn01::validate(&self.inner, identifier, key_authorization).await;
        log_result("tls-alpn-01", identifier, &res);
        res
    }

    /// Checks CAA (RFC 8659, RFC 8657) for `identifier`: `Ok(())` when this CA may issue.
    ///
    /// `wildcard` asks for `issuewild` semantics (also implied by a `*.` identifier);
    /// `ca_domains` are this CA's issuer domain names; `account_uri` and `method` (e.g.
    /// `dns-01`) are matched against the `accounturi` and `validationmethods` parameters.
    /// A refusal is [`ValidationError::Caa`] (problem `caa`); a failed lookup is
    /// [`ValidationError::Dns`] (problem `dns`). IP identifiers, and every identifier
    /// under [`ResolverConfig::Fixed`] (laptop mode, no DNS), are allowed.
    pub async fn check_caa(
        &self,
        identifier: &Identifier,
        wildcard: bool,
        ca_domains: &[String],
        account_uri: &str,
        method: &str,
    ) -> Result<(), ValidationError> {
        let req = caa::Request {
            wildcard,
            ca_domains,
            account_uri,
            method,
        };
        let res = caa::check(&self.inner, identifier, &req).await;
        match &res {
            Ok(()) => tracing::info!(identifier = %identifier.value, "CAA permits issuance"),
            Err(e) => tracing::info!(identifier = %identifier.value, error = %e,
                "CAA check refused"),
        }
        res
    }
}

/// Logs the outcome of one validation.
fn log_result(
    kind: &'static str,
    identifier: &Identifier,
    res: &Result<ValidationRecord, ValidationError>,
) {
    match res {
        Ok(r) => tracing::info!(identifier = %identifier.value, address = ?r.address_used,
            "{kind} validation succeeded"),
        Err(e) => tracing::info!(identifier = %identifier.value, error = %e,
            "{kind} validation failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A VA can be built before any async runtime exists (e.g. while parsing flags);
    /// building sends no query.
    #[test]
    fn builds_outside_a_runtime() {
        for resolver in [
            ResolverConfig::Fixed(IpAddr::from([127, 0, 0, 1])),
            ResolverConfig::Server("127.0.0.1:8053".parse().unwrap()),
        ] {
            let va = Va::new(VaConfig::local(resolver)).unwrap();
            assert_eq!(va.config().http_port, LOCAL_HTTP01_PORT);
        }
        let bad = VaConfig {
            timeout: Duration::ZERO,
            ..VaConfig::production()
        };
        assert!(matches!(Va::new(bad), Err(VaError::Config(_))));
    }

    #[test]
    fn record_serializes_like_boulder() {
        let hop = |url: &str| ValidationRecord {
            url: url.into(),
            hostname: "example.com".into(),
            port: 80,
            addresses_resolved: vec![IpAddr::from([192, 0, 2, 1])],
            address_used: Some(IpAddr::from([192, 0, 2, 1])),
            addresses_tried: Vec::new(),
            redirects: Vec::new(),
        };
        let mut rec = hop("http://example.com/.well-known/acme-challenge/t");
        rec.redirects.push(hop("http://example.com/next"));
        let json: Vec<_> = rec
            .hops()
            .map(|h| serde_json::to_value(h).unwrap())
            .collect();
        assert_eq!(json.len(), 2);
        assert_eq!(json[1]["url"], "http://example.com/next");
        assert_eq!(json[0]["addressUsed"], "192.0.2.1");
        assert_eq!(json[0]["addressesResolved"][0], "192.0.2.1");
        assert_eq!(json[0]["port"], 80);
        assert!(json[0].get("addressesTried").is_none());
        assert!(json[0].get("redirects").is_none());
        let back: ValidationRecord = serde_json::from_value(json[1].clone()).unwrap();
        assert_eq!(back, rec.redirects[0]);
    }
}
