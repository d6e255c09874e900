//! Challenge solvers for one pass over one order: http-01 (own listener or web root),
//! tls-alpn-01 (own TLS listener) and dns-01 (RFC 2136 + TSIG, or a hook). Listeners are
//! started on first use and live only as long as the [`Solvers`] value; everything that was
//! published is withdrawn by [`Solvers::cleanup`], which the pass calls on success and on
//! failure alike. Tokens that are not base64url are refused before anything is written.

pub mod dns01_hook;
pub mod dns01_rfc2136;
pub mod dns_wire;
pub mod http01_standalone;
pub mod http01_webroot;
pub mod tls_alpn01;

use crate::cron::config::{CertConfig, ChallengeKind, Config};
use crate::cron::error::CronError;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

/// Default port of the standalone http-01 solver (RFC 8555 §8.3).
pub const DEFAULT_HTTP_PORT: u16 = 80;
/// Default port of the tls-alpn-01 solver (RFC 8737 §3).
pub const DEFAULT_TLS_PORT: u16 = 443;

/// The dns-01 TXT value: base64url(SHA-256(key authorization)) (RFC 8555 §8.4).
pub fn dns01_value(key_authorization: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_authorization.as_bytes());
    arbor_proto::b64::encode(d.as_ref())
}

#[derive(Debug)]
enum Published {
    Http(String),
    Webroot(PathBuf),
    Alpn(String),
    Dns2136 {
        name: String,
        value: String,
    },
    DnsHook {
        domain: String,
        name: String,
        value: String,
    },
}

/// The solvers of one order.
pub struct Solvers<'a> {
    cfg: &'a Config,
    cert: &'a CertConfig,
    http: Option<http01_standalone::Standalone>,
    alpn: Option<tls_alpn01::AlpnSolver>,
    rfc2136: Option<dns01_rfc2136::Rfc2136>,
    published: Vec<Published>,
}

impl<'a> Solvers<'a> {
    /// Nothing started yet.
    pub fn new(cfg: &'a Config, cert: &'a CertConfig) -> Solvers<'a> {
        Solvers {
            cfg,
            cert,
            http: None,
            alpn: None,
            rfc2136: None,
            published: Vec::new(),
        }
    }

    fn bind(&self, port: u16) -> SocketAddr {
        SocketAddr::new(
            self.cert
                .bind_address
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            port,
        )
    }

    /// Publishes the answer to one challenge. `domain` is the identifier value (no `*.`).
    pub async fn provision(
        &mut self,
        kind: ChallengeKind,
        domain: &str,
        token: &str,
        key_authorization: &str,
    ) -> Result<(), CronError> {
        if !arbor_proto::b64::is_base64url(token) {
            return Err(CronError::BadToken(token.to_string()));
        }
        match kind {
            ChallengeKind::Http01 => {
                if let Some(root) = &self.cert.webroot {
                    let p = http01_webroot::add(root, token, key_authorization)?;
                    self.published.push(Published::Webroot(p));
                } else {
                    if self.http.is_none() {
                        let addr = self.bind(self.cert.http_port.unwrap_or(DEFAULT_HTTP_PORT));
                        self.http = Some(http01_standalone::Standalone::start(addr).await?);
                    }
                    if let Some(h) = &self.http {
                        h.add(token, key_authorization);
                    }
                    self.published.push(Published::Http(token.to_string()));
                }
            }
            ChallengeKind::TlsAlpn01 => {
                if self.alpn.is_none() {
                    let addr = self.bind(self.cert.tls_port.unwrap_or(DEFAULT_TLS_PORT));
                    self.alpn = Some(tls_alpn01::AlpnSolver::start(addr).await?);
                }
                if let Some(a) = &self.alpn {
                    a.add(domain, key_authorization)?;
                }
                self.published.push(Published::Alpn(domain.to_string()));
            }
            ChallengeKind::Dns01 => {
                let d = self.cfg.dns_for(self.cert)?;
                let name = format!("_acme-challenge.{}", domain.trim_end_matches('.'));
                let value = dns01_value(key_authorization);
                if let Some(hook) = &d.hook {
                    dns01_hook::run(hook, "add", domain, &name, &value).await?;
                    self.published.push(Published::DnsHook {
                        domain: domain.to_string(),
                        name,
                        value,
                    });
                } else {
                    if self.rfc2136.is_none() {
                        self.rfc2136 = Some(dns01_rfc2136::Rfc2136::from_config(d)?);
                    }
                    if let Some(r) = &self.rfc2136 {
                        // Recorded first, so a half-applied update is still cleaned up.
                        self.published.push(Published::Dns2136 {
                            name: name.clone(),
                            value: value.clone(),
                        });
                        r.add(&name, &value).await?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Waits until every RFC 2136 record is served by the primary (bounded).
    pub async fn ready(&self) -> Result<(), CronError> {
        if let Some(r) = &self.rfc2136 {
            for p in &self.published {
                if let Published::Dns2136 { name, value } = p {
                    r.wait_served(name, value).await?;
                }
            }
        }
        Ok(())
    }

    /// Withdraws everything published; returns the first error but tries every item.
    pub async fn cleanup(mut self) -> Result<(), CronError> {
        let mut first = None;
        for p in std::mem::take(&mut self.published) {
            let r = match p {
                Published::Http(t) => {
                    if let Some(h) = &self.http {
                        h.remove(&t);
                    }
                    Ok(())
                }
                Published::Webroot(path) => http01_webroot::remove(&path),
                Published::Alpn(d) => {
                    if let Some(a) = &self.alpn {
                        a.remove(&d);
                    }
                    Ok(())
                }
                Published::Dns2136 { name, value } => match &self.rfc2136 {
                    Some(r) => r.remove(&name, &value).await,
                    None => Ok(()),
                },
                Published::DnsHook {
                    domain,
                    name,
                    value,
                } => match self
                    .cfg
                    .dns_for(self.cert)
                    .ok()
                    .and_then(|d| d.hook.clone())
                {
                    Some(hook) => dns01_hook::run(&hook, "del", &domain, &name, &value).await,
                    None => Ok(()),
                },
            };
            if let Err(e) = r {
                tracing::warn!(error = %e, "challenge cleanup failed");
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}
