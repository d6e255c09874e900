//! Rate limits (RFC 8555 §6.6, §10.3), kept in the store so they hold across restarts.
//! The defaults follow Let's Encrypt's published limits; each is configurable and can be
//! switched off. A tripped limit is `rateLimited` with `Retry-After` and a detail naming it.
//!
//! Keys: `acct-ip:<ip>`, `order-acct:<account>`, `failed:<account>:<identifier>`,
//! `domain:<registered domain or IP>`, `dup:<sorted identifier set>`.

use crate::error::Result;
use crate::{Ra, RaError};
use arbor_proto::{Identifier, IdentifierType};
use arbor_store::RateDecision;

/// `count` events per `window_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub count: u32,
    pub window_secs: i64,
}

/// Every limit; `None` switches one off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// New accounts per client IP (Let's Encrypt: 10 per 3 hours).
    pub new_accounts_per_ip: Option<Limit>,
    /// New orders per account (Let's Encrypt: 300 per 3 hours).
    pub new_orders_per_account: Option<Limit>,
    /// Certificates per registered domain, by the public suffix list (50 per 7 days).
    /// ARI renewals (orders with `replaces`) are exempt.
    pub certs_per_registered_domain: Option<Limit>,
    /// Failed validations per account and identifier (5 per hour).
    pub failed_validations: Option<Limit>,
    /// Certificates for the exact same identifier set (5 per 7 days).
    pub duplicate_certificates: Option<Limit>,
}

const HOUR: i64 = 3_600;
const WEEK: i64 = 7 * 86_400;

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            new_accounts_per_ip: Some(Limit {
                count: 10,
                window_secs: 3 * HOUR,
            }),
            new_orders_per_account: Some(Limit {
                count: 300,
                window_secs: 3 * HOUR,
            }),
            certs_per_registered_domain: Some(Limit {
                count: 50,
                window_secs: WEEK,
            }),
            failed_validations: Some(Limit {
                count: 5,
                window_secs: HOUR,
            }),
            duplicate_certificates: Some(Limit {
                count: 5,
                window_secs: WEEK,
            }),
        }
    }
}

impl RateLimits {
    /// Every limit off.
    pub fn off() -> Self {
        RateLimits {
            new_accounts_per_ip: None,
            new_orders_per_account: None,
            certs_per_registered_domain: None,
            failed_validations: None,
            duplicate_certificates: None,
        }
    }
}

/// The registered domain (eTLD+1) of a DNS identifier, or the address of an IP one.
pub fn registered_domain(id: &Identifier) -> String {
    match id.kind() {
        Ok(IdentifierType::Dns) => {
            let name = id.value.trim_start_matches("*.");
            psl::domain_str(name).unwrap_or(name).to_string()
        }
        _ => id.value.clone(),
    }
}

fn dup_key(ids: &[Identifier]) -> String {
    let mut v: Vec<String> = ids
        .iter()
        .map(|i| format!("{}:{}", i.typ, i.value))
        .collect();
    v.sort();
    format!("dup:{}", v.join(","))
}

fn denied(what: &str, l: Limit, retry: i64) -> RaError {
    RaError::RateLimited {
        detail: format!(
            "too many {what}: limit is {} per {}; retry after {retry} s",
            l.count,
            human(l.window_secs)
        ),
        retry_after_secs: retry,
    }
}

fn human(secs: i64) -> String {
    if secs % 86_400 == 0 {
        format!("{} day(s)", secs / 86_400)
    } else if secs % 3_600 == 0 {
        format!("{} hour(s)", secs / 3_600)
    } else {
        format!("{secs} s")
    }
}

impl Ra {
    async fn take(&self, key: &str, l: Option<Limit>, what: &str) -> Result<()> {
        let Some(l) = l else { return Ok(()) };
        match self
            .inner
            .store
            .take_rate(key, l.count, l.window_secs, self.now())
            .await?
        {
            RateDecision::Allowed { .. } => Ok(()),
            RateDecision::Denied { retry_after_secs } => Err(denied(what, l, retry_after_secs)),
        }
    }

    async fn check(&self, key: &str, l: Option<Limit>, what: &str) -> Result<()> {
        let Some(l) = l else { return Ok(()) };
        match self
            .inner
            .store
            .check_rate(key, l.count, l.window_secs, self.now())
            .await?
        {
            RateDecision::Allowed { .. } => Ok(()),
            RateDecision::Denied { retry_after_secs } => Err(denied(what, l, retry_after_secs)),
        }
    }

    /// Counts a new account from `ip`.
    pub(crate) async fn limit_new_account(&self, ip: Option<&str>) -> Result<()> {
        match ip {
            Some(ip) => {
                let l = self.inner.cfg.rate_limits.new_accounts_per_ip;
                self.take(
                    &format!("acct-ip:{ip}"),
                    l,
                    &format!("new accounts from {ip}"),
                )
                .await
            }
            None => Ok(()),
        }
    }

    /// Checks every order-time limit, then counts the order.
    pub(crate) async fn limit_new_order(
        &self,
        account_id: &str,
        ids: &[Identifier],
        renewal: bool,
    ) -> Result<()> {
        let rl = &self.inner.cfg.rate_limits;
        for id in ids {
            self.check(
                &format!("failed:{account_id}:{}", id.value),
                rl.failed_validations,
                &format!("failed validations for {}", id.value),
            )
            .await?;
        }
        if !renewal {
            let mut domains: Vec<String> = ids.iter().map(registered_domain).collect();
            domains.sort();
            domains.dedup();
            for d in &domains {
                self.check(
                    &format!("domain:{d}"),
                    rl.certs_per_registered_domain,
                    &format!("certificates for registered domain {d}"),
                )
                .await?;
            }
        }
        self.check(
            &dup_key(ids),
            rl.duplicate_certificates,
            "duplicate certificates for this exact set of identifiers",
        )
        .await?;
        self.take(
            &format!("order-acct:{account_id}"),
            rl.new_orders_per_account,
            "new orders for this account",
        )
        .await
    }

    /// Records a failed validation.
    pub(crate) async fn note_failed_validation(
        &self,
        account_id: &str,
        id: &Identifier,
    ) -> Result<()> {
        if self.inner.cfg.rate_limits.failed_validations.is_some() {
            let key = format!("failed:{account_id}:{}", id.value);
            self.inner.store.record_rate(&key, self.now()).await?;
        }
        Ok(())
    }

    /// Records an issued certificate against the per-domain and duplicate limits.
    pub(crate) async fn note_issued(&self, ids: &[Identifier], renewal: bool) -> Result<()> {
        let rl = &self.inner.cfg.rate_limits;
        let now = self.now();
        if rl.certs_per_registered_domain.is_some() && !renewal {
            let mut domains: Vec<String> = ids.iter().map(registered_domain).collect();
            domains.sort();
            domains.dedup();
            for d in domains {
                self.inner
                    .store
                    .record_rate(&format!("domain:{d}"), now)
                    .await?;
            }
        }
        if rl.duplicate_certificates.is_some() {
            self.inner.store.record_rate(&dup_key(ids), now).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_domains() {
        assert_eq!(
            registered_domain(&Identifier::dns("a.b.example.com")),
            "example.com"
        );
        assert_eq!(
            registered_domain(&Identifier::dns("*.x.example.co.uk")),
            "example.co.uk"
        );
        assert_eq!(
            registered_domain(&Identifier::ip("127.0.0.1".parse().unwrap())),
            "127.0.0.1"
        );
        assert_eq!(
            dup_key(&[Identifier::dns("b.com"), Identifier::dns("a.com")]),
            "dup:dns:a.com,dns:b.com"
        );
    }
}
