//! dns-01 (RFC 8555 §8.4) by dynamic update: the `_acme-challenge` TXT record is added to
//! the primary with an RFC 2136 UPDATE signed with TSIG (RFC 8945, hmac-sha256 by default),
//! the client then waits — bounded — until the primary itself serves it, and deletes
//! exactly that record afterwards (also when validation failed). Messages go over TCP.

use crate::cron::config::{
    DEFAULT_DNS_TTL, DEFAULT_PROPAGATION_POLL, DEFAULT_PROPAGATION_TIMEOUT, DnsConfig,
};
use crate::cron::error::CronError;
use crate::cron::solvers::dns_wire::{self, Change, TsigKey};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Timeout of one DNS exchange.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default TSIG algorithm.
pub const DEFAULT_TSIG_ALGORITHM: &str = "hmac-sha256";

fn err(reason: String) -> CronError {
    CronError::Solver {
        kind: "dns-01",
        reason,
    }
}

/// A configured RFC 2136 publisher.
#[derive(Debug, Clone)]
pub struct Rfc2136 {
    server: SocketAddr,
    zone: Option<String>,
    key: Option<TsigKey>,
    ttl: u32,
    timeout: Duration,
    poll: Duration,
}

impl Rfc2136 {
    /// From the `[dns]` table (which must name a `server`).
    pub fn from_config(d: &DnsConfig) -> Result<Rfc2136, CronError> {
        let server = d
            .server
            .ok_or_else(|| CronError::ConfigInvalid("[dns] needs `server`".into()))?;
        let key = match (&d.tsig_key, &d.tsig_secret) {
            (Some(name), Some(secret)) => {
                use base64ct::Encoding;
                let secret = base64ct::Base64::decode_vec(secret.trim()).map_err(|_| {
                    CronError::ConfigInvalid("[dns] tsig_secret is not base64".into())
                })?;
                let algorithm = d
                    .tsig_algorithm
                    .clone()
                    .unwrap_or_else(|| DEFAULT_TSIG_ALGORITHM.into());
                if dns_wire::hmac_algorithm(&algorithm).is_none() {
                    return Err(CronError::ConfigInvalid(format!(
                        "[dns] tsig_algorithm {algorithm:?}: use hmac-sha256, hmac-sha384 or hmac-sha512"
                    )));
                }
                Some(TsigKey {
                    name: name.clone(),
                    algorithm,
                    secret,
                })
            }
            _ => None,
        };
        Ok(Rfc2136 {
            server,
            zone: d.zone.clone(),
            key,
            ttl: d.ttl.unwrap_or(DEFAULT_DNS_TTL),
            timeout: Duration::from_secs(
                d.propagation_timeout.unwrap_or(DEFAULT_PROPAGATION_TIMEOUT),
            ),
            poll: Duration::from_secs(
                d.propagation_poll
                    .unwrap_or(DEFAULT_PROPAGATION_POLL)
                    .max(1),
            ),
        })
    }

    async fn exchange(&self, msg: &[u8]) -> Result<Vec<u8>, CronError> {
        let server = self.server;
        let io = async {
            let mut s = tokio::net::TcpStream::connect(server).await?;
            let len = u16::try_from(msg.len()).map_err(std::io::Error::other)?;
            let mut framed = len.to_be_bytes().to_vec();
            framed.extend(msg);
            s.write_all(&framed).await?;
            let mut lb = [0u8; 2];
            s.read_exact(&mut lb).await?;
            let mut reply = vec![0u8; usize::from(u16::from_be_bytes(lb))];
            s.read_exact(&mut reply).await?;
            Ok::<_, std::io::Error>(reply)
        };
        match tokio::time::timeout(EXCHANGE_TIMEOUT, io).await {
            Ok(Ok(r)) if r.len() >= 12 && r[0..2] == msg[0..2] => Ok(r),
            Ok(Ok(_)) => Err(err(format!(
                "{server} sent a malformed or mismatched reply"
            ))),
            Ok(Err(e)) => Err(err(format!("{server}: {e}"))),
            Err(_) => Err(err(format!(
                "{server}: no reply within {EXCHANGE_TIMEOUT:?}"
            ))),
        }
    }

    async fn zone_of(&self, name: &str) -> Result<String, CronError> {
        if let Some(z) = &self.zone {
            return Ok(z.trim_end_matches('.').to_ascii_lowercase());
        }
        let q = dns_wire::query(rand::random(), name, dns_wire::TYPE_SOA)
            .map_err(|e| err(e.to_string()))?;
        let reply = self.exchange(&q).await?;
        dns_wire::soa_owner(&reply)
            .ok_or_else(|| err(format!("{} names no zone (SOA) for {name}", self.server)))
    }

    async fn update(&self, name: &str, value: &str, change: Change) -> Result<(), CronError> {
        let zone = self.zone_of(name).await?;
        let msg = dns_wire::update_txt(rand::random(), &zone, name, value, change)
            .map_err(|e| err(e.to_string()))?;
        let now = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        };
        let (msg, mac) = match &self.key {
            Some(k) => {
                let (m, mac) =
                    dns_wire::sign_with_mac(&msg, k, now()).map_err(|e| err(e.to_string()))?;
                (m, Some(mac))
            }
            None => (msg, None),
        };
        let reply = self.exchange(&msg).await?;
        match dns_wire::rcode(&reply) {
            Some(0) => {}
            rc => {
                return Err(err(format!(
                    "UPDATE of {name} in zone {zone} refused by {} (rcode {rc:?})",
                    self.server
                )));
            }
        }
        if let (Some(k), Some(mac)) = (&self.key, mac) {
            dns_wire::verify_reply(&reply, k, &mac, now())
                .map_err(|e| err(format!("{}: {e}", self.server)))?;
        }
        Ok(())
    }

    /// Adds the TXT record.
    pub async fn add(&self, name: &str, value: &str) -> Result<(), CronError> {
        self.update(name, value, Change::Add(self.ttl)).await
    }

    /// Deletes exactly that TXT record.
    pub async fn remove(&self, name: &str, value: &str) -> Result<(), CronError> {
        self.update(name, value, Change::Delete).await
    }

    /// Waits until the primary serves `value` at `name`, at most the configured bound.
    pub async fn wait_served(&self, name: &str, value: &str) -> Result<(), CronError> {
        let start = tokio::time::Instant::now();
        loop {
            let q = dns_wire::query(rand::random(), name, dns_wire::TYPE_TXT)
                .map_err(|e| err(e.to_string()))?;
            if let Ok(reply) = self.exchange(&q).await
                && dns_wire::txt_answers(&reply, name)
                    .iter()
                    .any(|t| t == value)
            {
                return Ok(());
            }
            if start.elapsed() >= self.timeout {
                return Err(err(format!(
                    "{} still does not serve the TXT record {name} after {:?}",
                    self.server, self.timeout
                )));
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}
