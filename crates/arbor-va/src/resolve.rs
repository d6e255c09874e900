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

/// Resolves a DNS name to the addresses the VA may try, AAAA first then A.
///
/// Errors are [`ValidationError::Dns`] with a detail that says what went wrong
/// (NXDOMAIN, SERVFAIL, timeout, no records).
pub trait HostResolver: Send + Sync + std::fmt::Debug {
    /// Looks up `name` (a DNS name without trailing dot).
    fn lookup_ips<'a>(&'a self, name: &'a str) -> LookupFuture<'a>;
}

/// Every name resolves to one address.
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
            let fqdn = format!("{}.", name.trim_end_matches('.'));
            let (v6, v4) = tokio::join!(
                self.lookup_type(&fqdn, RecordType::AAAA),
                self.lookup_type(&fqdn, RecordType::A)
            );
            combine(name, v6, v4)
        })
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
