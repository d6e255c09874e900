//! Pluggable name resolution for validation: the system resolver, one chosen DNS server
//! (like Pebble's `-dnsserver`), or a fixed address for every name (laptop mode), behind
//! the [`HostResolver`] trait so tests can inject their own.
//!
//! Addresses come back AAAA first, then A (RFC 8555 §8.3 leaves the order to the CA; this
//! is Let's Encrypt's preference). Names are queried as fully qualified, so no search
//! domain from `/etc/resolv.conf` is ever appended, and nothing is cached: each validation
//! sees the applicant's current DNS. Deviation: no DNSSEC validation yet.

use crate::error::{VaError, ValidationError};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig as HickoryConfig,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::time::Duration;

/// Where the VA's DNS answers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResolverConfig {
    /// The operating system's resolvers (`/etc/resolv.conf`).
    System,
    /// One DNS server at this address and port (like Pebble's `-dnsserver`).
    Server(SocketAddr),
    /// Every name resolves to this one address (laptop mode; no DNS at all).
    Fixed(IpAddr),
}

/// A future returned by [`HostResolver::lookup_ips`].
pub type LookupFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<IpAddr>, ValidationError>> + Send + 'a>>;

/// A future returned by [`HostResolver::lookup_txt`]: one entry per TXT record, its
/// character-strings concatenated (RFC 8555 §8.4 compares whole records).
pub type TxtFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<Vec<u8>>, LookupError>> + Send + 'a>>;

/// A future returned by [`HostResolver::lookup_caa`].
pub type CaaFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<CaaRecord>, LookupError>> + Send + 'a>>;

/// One CAA resource record as received (RFC 8659 §4.1); the value is uninterpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaaRecord {
    /// The flags octet; 128 is the issuer-critical flag.
    pub flags: u8,
    /// The property tag, as received (matching is case-insensitive).
    pub tag: String,
    /// The property value bytes.
    pub value: Vec<u8>,
}

/// Why a TXT or CAA lookup failed. "No records of this type" (NOERROR/NODATA) is not an
/// error: the lookup returns an empty list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The name does not exist.
    #[error("NXDOMAIN")]
    NxDomain,
    /// The server answered SERVFAIL.
    #[error("SERVFAIL")]
    ServFail,
    /// The server refused the query.
    #[error("REFUSED")]
    Refused,
    /// Another response code.
    #[error("server answered response code {0}")]
    ResponseCode(u16),
    /// No answer in time.
    #[error("query timed out")]
    Timeout,
    /// The server could not be reached.
    #[error("networking error")]
    Network,
    /// The resolver failed for another reason (its text goes to the log only).
    #[error("resolver error")]
    Resolver,
    /// This resolver does no DNS at all (fixed-address laptop mode).
    #[error("no DNS server is configured")]
    NoDns,
}

/// Resolves a DNS name to the addresses the VA may try, AAAA first then A, and looks up
/// the TXT (dns-01) and CAA records of a name.
///
/// Errors of [`HostResolver::lookup_ips`] are [`ValidationError::Dns`] with a detail that
/// says what went wrong (NXDOMAIN, SERVFAIL, timeout, no records). CNAMEs are followed
/// by the resolver; the TXT and CAA lookups return the records at the end of the chain.
pub trait HostResolver: Send + Sync + std::fmt::Debug {
    /// Looks up `name` (a DNS name without trailing dot).
    fn lookup_ips<'a>(&'a self, name: &'a str) -> LookupFuture<'a>;

    /// The TXT records of `name`. The default does no DNS: [`LookupError::NoDns`].
    fn lookup_txt<'a>(&'a self, name: &'a str) -> TxtFuture<'a> {
        let _ = name;
        Box::pin(async { Err(LookupError::NoDns) })
    }

    /// The CAA records of `name`. The default does no DNS: [`LookupError::NoDns`].
    fn lookup_caa<'a>(&'a self, name: &'a str) -> CaaFuture<'a> {
        let _ = name;
        Box::pin(async { Err(LookupError::NoDns) })
    }
}

/// Every name resolves to one address; there is no TXT or CAA data (laptop mode).
#[derive(Debug, Clone, Copy)]
pub struct FixedResolver(pub IpAddr);

impl HostResolver for FixedResolver {
    fn lookup_ips<'a>(&'a self, _name: &'a str) -> LookupFuture<'a> {
        let ip = self.0;
        Box::pin(async move { Ok(vec![ip]) })
    }
}

/// A real DNS stub resolver (hickory).
#[derive(Debug, Clone)]
pub struct DnsResolver {
    inner: TokioResolver,
}

/// The longest a single DNS query may take before it is retried or given up.
pub const DNS_QUERY_TIMEOUT: Duration = Duration::from_secs(5);

impl DnsResolver {
    /// The system resolver configuration.
    pub fn system() -> Result<DnsResolver, VaError> {
        let builder =
            TokioResolver::builder_tokio().map_err(|e| VaError::SystemResolver(e.to_string()))?;
        Self::finish(builder)
    }

    /// One DNS server, queried over UDP with TCP fallback.
    pub fn server(addr: SocketAddr) -> Result<DnsResolver, VaError> {
        let mut udp = ConnectionConfig::udp();
        udp.port = addr.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = addr.port();
        let ns = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
        let config = HickoryConfig::from_name_servers(vec![ns]);
        let builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
        Self::finish(builder)
    }

    fn finish(
        mut builder: hickory_resolver::ResolverBuilder<TokioRuntimeProvider>,
    ) -> Result<DnsResolver, VaError> {
        let opts = builder.options_mut();
        opts.cache_size = 0;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.ndots = 0;
        opts.timeout = DNS_QUERY_TIMEOUT;
        opts.try_tcp_on_error = true;
        let inner = builder
            .build()
            .map_err(|e| VaError::Resolver(e.to_string()))?;
        Ok(DnsResolver { inner })
    }

    /// The addresses of one record type (A or AAAA).
    async fn lookup_type(&self, fqdn: &str, rtype: RecordType) -> Result<Vec<IpAddr>, NetError> {
        let lookup = self.inner.lookup(fqdn, rtype).await?;
        Ok(lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) if rtype == RecordType::A => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) if rtype == RecordType::AAAA => Some(IpAddr::V6(a.0)),
                _ => None,
            })
            .collect())
    }
}

impl HostResolver for DnsResolver {
    fn lookup_ips<'a>(&'a self, name: &'a str) -> LookupFuture<'a> {
        Box::pin(async move {
            let fqdn = fqdn(name);
            let (v6, v4) = tokio::join!(
                self.lookup_type(&fqdn, RecordType::AAAA),
                self.lookup_type(&fqdn, RecordType::A)
            );
            combine(name, v6, v4)
        })
    }

    fn lookup_txt<'a>(&'a self, name: &'a str) -> TxtFuture<'a> {
        Box::pin(async move {
            let records = self.lookup_data(name, RecordType::TXT).await?;
            Ok(records
                .into_iter()
                .filter_map(|d| match d {
                    RData::TXT(t) => {
                        Some(t.txt_data.iter().flat_map(|s| s.iter()).copied().collect())
                    }
                    _ => None,
                })
                .collect())
        })
    }

    fn lookup_caa<'a>(&'a self, name: &'a str) -> CaaFuture<'a> {
        Box::pin(async move {
            let records = self.lookup_data(name, RecordType::CAA).await?;
            Ok(records
                .into_iter()
                .filter_map(|d| match d {
                    RData::CAA(c) => Some(CaaRecord {
                        flags: c.flags(),
                        tag: c.tag.clone(),
                        value: c.value.clone(),
                    }),
                    _ => None,
                })
                .collect())
        })
    }
}

/// `name` with exactly one trailing dot, so no search domain is appended.
fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

impl DnsResolver {
    /// The record data of one type at `name` (CNAMEs followed); NODATA is an empty list.
    async fn lookup_data(&self, name: &str, rtype: RecordType) -> Result<Vec<RData>, LookupError> {
        match self.inner.lookup(fqdn(name), rtype).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter(|r| r.record_type() == rtype)
                .map(|r| r.data.clone())
                .collect()),
            Err(NetError::Dns(DnsError::NoRecordsFound(nr)))
                if nr.response_code == ResponseCode::NoError =>
            {
                Ok(Vec::new())
            }
            Err(e) => {
                tracing::debug!(%name, %rtype, error = %e, "DNS lookup failed");
                Err(lookup_error(&e))
            }
        }
    }
}

/// Maps a resolver failure to a [`LookupError`] (no upstream text is kept).
fn lookup_error(e: &NetError) -> LookupError {
    let code = |code: ResponseCode| match code {
        ResponseCode::ServFail => LookupError::ServFail,
        ResponseCode::Refused => LookupError::Refused,
        ResponseCode::NXDomain => LookupError::NxDomain,
        other => LookupError::ResponseCode(u16::from(other)),
    };
    match e {
        NetError::Timeout => LookupError::Timeout,
        NetError::Dns(DnsError::ResponseCode(c)) => code(*c),
        NetError::Dns(DnsError::NoRecordsFound(nr)) => code(nr.response_code),
        NetError::Io(_) | NetError::NoConnections => LookupError::Network,
        _ => LookupError::Resolver,
    }
}

/// Joins the AAAA and A answers: any address wins; otherwise the most telling error.
fn combine(
    name: &str,
    v6: Result<Vec<IpAddr>, NetError>,
    v4: Result<Vec<IpAddr>, NetError>,
) -> Result<Vec<IpAddr>, ValidationError> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (rtype, res) in [("AAAA", v6), ("A", v4)] {
        match res {
            Ok(ips) => out.extend(ips),
            Err(e) => errors.push((rtype, e)),
        }
    }
    if !out.is_empty() {
        return Ok(out);
    }
    // An NXDOMAIN anywhere is the clearest answer; then real failures; then "no records".
    if let Some((rtype, _)) = errors.iter().find(|(_, e)| e.is_nx_domain()) {
        return Err(ValidationError::Dns(format!(
            "DNS problem: NXDOMAIN looking up {rtype} for {name} - check that a DNS record \
             exists for this domain"
        )));
    }
    if let Some((rtype, e)) = errors.iter().find(|(_, e)| !e.is_no_records_found()) {
        return Err(ValidationError::Dns(format!(
            "DNS problem: {} looking up {rtype} for {name}",
            describe(e)
        )));
    }
    Err(ValidationError::Dns(format!(
        "DNS problem: no valid A or AAAA records found for {name}"
    )))
}

/// A short, fixed description of a resolver failure (no upstream text is echoed).
fn describe(e: &NetError) -> String {
    match e {
        NetError::Timeout => "query timed out".into(),
        NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => "SERVFAIL".into(),
        NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => "REFUSED".into(),
        NetError::Dns(DnsError::ResponseCode(code)) => format!("server answered {code}"),
        NetError::Io(_) | NetError::NoConnections => "networking error".into(),
        _ => "resolver error".into(),
    }
}

/// Builds the resolver a [`ResolverConfig`] names.
pub fn build(cfg: ResolverConfig) -> Result<std::sync::Arc<dyn HostResolver>, VaError> {
    Ok(match cfg {
        ResolverConfig::System => std::sync::Arc::new(DnsResolver::system()?),
        ResolverConfig::Server(addr) => std::sync::Arc::new(DnsResolver::server(addr)?),
        ResolverConfig::Fixed(ip) => std::sync::Arc::new(FixedResolver(ip)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::net::NoRecords;
    use hickory_resolver::proto::op::Query;

    fn no_records(code: ResponseCode) -> NetError {
        NetError::Dns(DnsError::NoRecordsFound(NoRecords::new(Query::new(), code)))
    }

    fn detail(r: Result<Vec<IpAddr>, ValidationError>) -> String {
        match r {
            Err(ValidationError::Dns(d)) => d,
            other => panic!("expected a Dns error, got {other:?}"),
        }
    }

    #[test]
    fn combine_prefers_addresses_then_nxdomain() {
        let v6: IpAddr = "2001:4860::1".parse().unwrap();
        let v4: IpAddr = "8.8.8.8".parse().unwrap();
        assert_eq!(
            combine("a.example", Ok(vec![v6]), Ok(vec![v4])).unwrap(),
            vec![v6, v4]
        );
        assert_eq!(
            combine("a.example", Err(NetError::Timeout), Ok(vec![v4])).unwrap(),
            vec![v4]
        );
        let d = detail(combine(
            "a.example",
            Err(NetError::Timeout),
            Err(no_records(ResponseCode::NXDomain)),
        ));
        assert!(d.contains("NXDOMAIN looking up A for a.example"), "{d}");
        let d = detail(combine(
            "a.example",
            Err(no_records(ResponseCode::NoError)),
            Err(NetError::Dns(DnsError::ResponseCode(
                ResponseCode::ServFail,
            ))),
        ));
        assert!(d.contains("SERVFAIL looking up A"), "{d}");
        let d = detail(combine(
            "a.example",
            Err(NetError::Timeout),
            Err(no_records(ResponseCode::NoError)),
        ));
        assert!(d.contains("query timed out looking up AAAA"), "{d}");
        let d = detail(combine(
            "a.example",
            Err(no_records(ResponseCode::NoError)),
            Ok(vec![]),
        ));
        assert!(d.contains("no valid A or AAAA records"), "{d}");
    }
}
