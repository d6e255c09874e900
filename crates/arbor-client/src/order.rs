//! Orders and authorizations (RFC 8555 §7.4, §7.5): newOrder (with the
//! draft-aaron-acme-profiles `profile` and RFC 9773 `replaces` fields), fetching orders and
//! authorizations, answering a challenge (§7.5.1), polling with a configurable interval that
//! may honour `Retry-After`, finalize (§7.4) and certificate download (§7.4.2, with the
//! `Link: rel="alternate"` chains).

use crate::account::{Account, to_json};
use crate::error::ClientError;
use crate::http::{PEM_CHAIN, RawResponse};
use arbor_proto::Identifier;
use arbor_proto::objects::{Authorization, AuthzStatus, Challenge, Order, OrderStatus};
use std::time::Duration;

/// A resource the server returned, with its URL and the server's `Retry-After` hint.
#[derive(Debug, Clone)]
pub struct Fetched<T> {
    /// The resource URL (the `Location` of a newly created one).
    pub url: String,
    /// The decoded object.
    pub value: T,
    /// The `Retry-After` the server sent with it, if any (§7.4: servers use it while an
    /// order is `processing`).
    pub retry_after: Option<Duration>,
}

impl<T: serde::de::DeserializeOwned> Fetched<T> {
    fn from_raw(url: String, raw: &RawResponse) -> Result<Self, ClientError> {
        Ok(Fetched {
            url,
            value: raw.json()?,
            retry_after: raw.retry_after,
        })
    }
}

/// How to poll an order or authorization.
#[derive(Debug, Clone, Copy)]
pub struct PollOptions {
    /// Wait between polls when the server gives no `Retry-After` (or it is ignored).
    pub interval: Duration,
    /// Give up after this long.
    pub timeout: Duration,
    /// Whether to wait as long as the server's `Retry-After` asks (capped by
    /// `max_retry_after`). A load benchmark turns this off.
    pub honor_retry_after: bool,
    /// Upper bound for one `Retry-After` wait.
    pub max_retry_after: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        PollOptions {
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(120),
            honor_retry_after: true,
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl PollOptions {
    /// Fast polling at `interval` that ignores `Retry-After` (for tests and benchmarks).
    pub fn fast(interval: Duration, timeout: Duration) -> Self {
        PollOptions {
            interval,
            timeout,
            honor_retry_after: false,
            max_retry_after: interval,
        }
    }

    fn wait(&self, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(r) if self.honor_retry_after => r.min(self.max_retry_after).max(self.interval),
            _ => self.interval,
        }
    }
}

/// Progress rank of an order status; `None` for `invalid` (a dead end).
fn order_rank(s: OrderStatus) -> Option<u8> {
    match s {
        OrderStatus::Pending => Some(0),
        OrderStatus::Ready => Some(1),
        OrderStatus::Processing => Some(2),
        OrderStatus::Valid => Some(3),
        OrderStatus::Invalid => None,
    }
}

/// A downloaded certificate chain (§7.4.2).
#[derive(Debug, Clone)]
pub struct CertificateChain {
    /// The PEM chain, end-entity first.
    pub pem: String,
    /// URLs of alternate chains (`Link: <...>;rel="alternate"`).
    pub alternates: Vec<String>,
}

impl Account {
    /// Creates an order (§7.4). `profile` and `replaces` are sent only when given.
    pub async fn new_order(
        &self,
        identifiers: &[Identifier],
        profile: Option<&str>,
        replaces: Option<&str>,
    ) -> Result<Fetched<Order>, ClientError> {
        let url = self.client.directory().new_order.clone();
        let mut req = serde_json::Map::new();
        req.insert(
            "identifiers".into(),
            serde_json::to_value(identifiers).map_err(|source| ClientError::BadJson {
                url: url.clone(),
                source,
            })?,
        );
        if let Some(p) = profile {
            req.insert("profile".into(), p.into());
        }
        if let Some(r) = replaces {
            req.insert("replaces".into(), r.into());
        }
        let raw = self.post(&url, Some(&to_json(&url, &req)?), None).await?;
        Fetched::from_raw(raw.require_location()?, &raw)
    }

    /// Fetches an order (POST-as-GET).
    pub async fn order(&self, url: &str) -> Result<Fetched<Order>, ClientError> {
        let raw = self.post(url, None, None).await?;
        Fetched::from_raw(url.to_string(), &raw)
    }

    /// Fetches an authorization (POST-as-GET).
    pub async fn authorization(&self, url: &str) -> Result<Fetched<Authorization>, ClientError> {
        let raw = self.post(url, None, None).await?;
        Fetched::from_raw(url.to_string(), &raw)
    }

    /// Tells the server a challenge is ready to be validated (§7.5.1, payload `{}`).
    pub async fn respond_challenge(&self, url: &str) -> Result<Fetched<Challenge>, ClientError> {
        let raw = self.post(url, Some(b"{}"), None).await?;
        Fetched::from_raw(url.to_string(), &raw)
    }

    /// Deactivates an authorization (§7.5.2).
    pub async fn deactivate_authorization(
        &self,
        url: &str,
    ) -> Result<Fetched<Authorization>, ClientError> {
        let raw = self
            .post(url, Some(br#"{"status":"deactivated"}"#), None)
            .await?;
        Fetched::from_raw(url.to_string(), &raw)
    }

    /// Polls an order until its status reaches `want` or goes past it (e.g. `valid` when
    /// `ready` was wanted). `invalid` ends the poll with [`ClientError::Invalid`].
    pub async fn poll_order(
        &self,
        url: &str,
        want: OrderStatus,
        opts: &PollOptions,
    ) -> Result<Order, ClientError> {
        let start = tokio::time::Instant::now();
        let want_rank = order_rank(want).unwrap_or(u8::MAX);
        loop {
            let f = self.order(url).await?;
            match order_rank(f.value.status) {
                None => {
                    return Err(ClientError::Invalid {
                        what: "order",
                        url: url.to_string(),
                        problem: f.value.error.map(Box::new),
                    });
                }
                Some(r) if r >= want_rank => return Ok(f.value),
                Some(_) => {}
            }
            if start.elapsed() >= opts.timeout {
                return Err(ClientError::PollTimeout {
                    url: url.to_string(),
                    status: f.value.status.as_str().to_string(),
                    waited: start.elapsed(),
                });
            }
            tokio::time::sleep(opts.wait(f.retry_after)).await;
        }
    }

    /// Polls an authorization until it is `valid`. Any other final status ends the poll
    /// with [`ClientError::Invalid`], carrying the failed challenge's error if there is one.
    pub async fn poll_authorization(
        &self,
        url: &str,
        opts: &PollOptions,
    ) -> Result<Authorization, ClientError> {
        let start = tokio::time::Instant::now();
        loop {
            let f = self.authorization(url).await?;
            match f.value.status {
                AuthzStatus::Valid => return Ok(f.value),
                AuthzStatus::Pending => {}
                _ => {
                    let problem = f
                        .value
                        .challenges
                        .iter()
                        .find_map(|c| c.error.clone())
                        .map(Box::new);
                    return Err(ClientError::Invalid {
                        what: "authorization",
                        url: url.to_string(),
                        problem,
                    });
                }
            }
            if start.elapsed() >= opts.timeout {
                return Err(ClientError::PollTimeout {
                    url: url.to_string(),
                    status: f.value.status.as_str().to_string(),
                    waited: start.elapsed(),
                });
            }
            tokio::time::sleep(opts.wait(f.retry_after)).await;
        }
    }

    /// Submits the CSR (DER) to the order's finalize URL (§7.4).
    pub async fn finalize(
        &self,
        finalize_url: &str,
        csr_der: &[u8],
    ) -> Result<Fetched<Order>, ClientError> {
        let req = serde_json::json!({ "csr": arbor_proto::b64::encode(csr_der) });
        let raw = self
            .post(finalize_url, Some(&to_json(finalize_url, &req)?), None)
            .await?;
        // The reply is the order; its URL is in Location (§7.4), else we keep the finalize URL.
        let url = raw
            .location
            .clone()
            .unwrap_or_else(|| finalize_url.to_string());
        Fetched::from_raw(url, &raw)
    }

    /// Downloads a certificate chain (§7.4.2) and the URLs of its alternate chains.
    pub async fn certificate(&self, url: &str) -> Result<CertificateChain, ClientError> {
        let raw = self.post(url, None, Some(PEM_CHAIN)).await?;
        let alternates = raw.links_with_rel("alternate");
        let pem = String::from_utf8(raw.body).map_err(|_| ClientError::CertificateNotPem {
            url: url.to_string(),
        })?;
        Ok(CertificateChain { pem, alternates })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_wait_respects_retry_after_only_when_asked() {
        let d = PollOptions::default();
        assert_eq!(d.wait(None), Duration::from_secs(1));
        assert_eq!(d.wait(Some(Duration::from_secs(5))), Duration::from_secs(5));
        assert_eq!(
            d.wait(Some(Duration::from_secs(600))),
            Duration::from_secs(60)
        );
        assert_eq!(d.wait(Some(Duration::ZERO)), Duration::from_secs(1));
        let f = PollOptions::fast(Duration::from_millis(2), Duration::from_secs(5));
        assert_eq!(
            f.wait(Some(Duration::from_secs(5))),
            Duration::from_millis(2)
        );
    }

    #[test]
    fn order_progress() {
        assert!(order_rank(OrderStatus::Valid) > order_rank(OrderStatus::Ready));
        assert_eq!(order_rank(OrderStatus::Invalid), None);
    }
}
