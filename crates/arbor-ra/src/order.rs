//! Orders: creation with authorization reuse (RFC 8555 §7.4), and the order state machine
//! (§7.1.6). An order's `pending → ready → invalid` moves are derived from its
//! authorizations when the order is read, and persisted as compare-and-swap so they never
//! overwrite a concurrent finalize.

use crate::error::{Result, SubError};
use crate::{Ra, RaError, new_id, new_token};
use arbor_proto::objects::NewOrderRequest;
use arbor_proto::{Identifier, IdentifierType, Problem, ProblemType};
use arbor_store::{
    AccountRecord, AuthzRecord, AuthzStatus, ChallengeRecord, ChallengeStatus, OrderRecord,
    OrderStatus,
};

impl Ra {
    /// newOrder (§7.4): checks identifiers, reuses or creates one authorization per
    /// identifier, and stores order and new authorizations in one transaction.
    pub async fn new_order(
        &self,
        acct: &AccountRecord,
        req: &NewOrderRequest,
    ) -> Result<(OrderRecord, Vec<AuthzRecord>)> {
        if req.not_before.is_some() || req.not_after.is_some() {
            return Err(RaError::Malformed(
                "notBefore and notAfter are not supported by this server".into(),
            ));
        }
        let idents = self.check_identifiers(&req.identifiers)?;
        let cfg = &self.inner.cfg;
        let profile_name = req
            .profile
            .clone()
            .unwrap_or_else(|| cfg.default_profile.clone());
        let profile = cfg.profile(&profile_name).ok_or_else(|| {
            RaError::InvalidProfile(format!(
                "profile {profile_name:?} is not offered; offered: {}",
                cfg.profiles
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if !profile.allow_ip {
            let ips: Vec<SubError> = idents
                .iter()
                .filter(|i| i.kind() == Ok(IdentifierType::Ip))
                .map(|i| SubError {
                    identifier: i.clone(),
                    typ: ProblemType::RejectedIdentifier,
                    detail: format!(
                        "IP identifiers are not allowed in profile {:?}; use one that allows them (e.g. \"shortlived\")",
                        profile.name
                    ),
                })
                .collect();
            if !ips.is_empty() {
                return Err(RaError::RejectedIdentifiers {
                    detail: format!("profile {:?} does not allow IP identifiers", profile.name),
                    subproblems: ips,
                });
            }
        }
        self.limit_new_order(&acct.id, &idents, req.replaces.is_some())
            .await?;
        let replaced = match &req.replaces {
            Some(r) => Some(self.check_replaces(acct, r, &idents).await?),
            None => None,
        };
        let now = self.now();
        let mut authz_ids = Vec::with_capacity(idents.len());
        let mut new_authzs = Vec::new();
        let mut all_authzs = Vec::new();
        let mut expires = now + self.inner.cfg.order_lifetime_secs;
        for ident in &idents {
            let target = ident.authz_identifier();
            let wildcard = ident.is_wildcard();
            // The store matches wildcard authorizations when given the `*.` name.
            let reused = self
                .inner
                .store
                .find_reusable_authz(&acct.id, ident, now, true)
                .await?
                .filter(|a| a.wildcard == wildcard)
                .filter(|_| {
                    let pct = self.inner.cfg.authz_reuse_percent;
                    pct >= 100 || rand::random_range(0..100u8) < pct
                });
            let authz = match reused {
                Some(a) => a,
                None => {
                    let a = self.make_authz(acct, &target, wildcard, now);
                    new_authzs.push(a.clone());
                    a
                }
            };
            expires = expires.min(authz.expires);
            authz_ids.push(authz.id.clone());
            all_authzs.push(authz);
        }
        let status = if all_authzs.iter().all(|a| a.status == AuthzStatus::Valid) {
            OrderStatus::Ready
        } else {
            OrderStatus::Pending
        };
        let order = OrderRecord {
            id: new_id(),
            account_id: acct.id.clone(),
            status,
            expires,
            identifiers: idents,
            not_before: None,
            not_after: None,
            authz_ids,
            error: None,
            csr: None,
            cert_serial: None,
            profile: Some(profile.name.clone()),
            replaces: req.replaces.clone(),
            created_at: now,
            processing_since: None,
        };
        if let Some(cert) = &replaced {
            // Claim the certificate before the order exists: a crash in between leaves a
            // claim by a missing order, which counts as free (`replacement_is_live`).
            if !self
                .inner
                .store
                .set_replaced_by(&cert.serial, &order.id, cert.replaced_by.as_deref())
                .await?
            {
                return Err(RaError::AlreadyReplaced(
                    "the certificate was replaced by a concurrent order".into(),
                ));
            }
        }
        self.inner.store.insert_order(&order, &new_authzs).await?;
        Ok((order, all_authzs))
    }

    /// Pre-authorization (§7.4.1): a new pending authorization outside any order. Wildcards
    /// are refused, as the RFC requires.
    pub async fn new_authz(&self, acct: &AccountRecord, ident: &Identifier) -> Result<AuthzRecord> {
        let ids = self.check_identifiers(std::slice::from_ref(ident))?;
        let id = &ids[0];
        if id.is_wildcard() {
            return Err(RaError::RejectedIdentifiers {
                detail: "newAuthz cannot pre-authorize a wildcard name (RFC 8555 §7.4.1)".into(),
                subproblems: vec![],
            });
        }
        let a = self.make_authz(acct, id, false, self.now());
        self.inner.store.insert_authz(&a).await?;
        Ok(a)
    }

    /// Loads an order owned by `acct`, bringing its status up to date (§7.1.6).
    pub async fn get_order(&self, acct: &AccountRecord, id: &str) -> Result<OrderRecord> {
        let order = self
            .inner
            .store
            .get_order(id)
            .await?
            .filter(|o| o.account_id == acct.id)
            .ok_or(RaError::NotFound("order"))?;
        self.refresh_order(order).await
    }

    /// Applies the derived transitions: expiry, all-authorizations-valid → ready, any
    /// authorization failed → invalid.
    pub(crate) async fn refresh_order(&self, mut order: OrderRecord) -> Result<OrderRecord> {
        let now = self.now();
        let before = order.status;
        match order.status {
            OrderStatus::Pending | OrderStatus::Ready if order.expires <= now => {
                order.status = OrderStatus::Invalid;
                order.error = Some(Problem::new(ProblemType::Malformed, "order expired"));
            }
            OrderStatus::Pending => {
                let mut all_valid = true;
                for id in &order.authz_ids {
                    let a = self.load_authz(id).await?;
                    match self.authz_status(&a, now) {
                        AuthzStatus::Valid => {}
                        AuthzStatus::Pending => all_valid = false,
                        bad => {
                            all_valid = false;
                            order.status = OrderStatus::Invalid;
                            let err = a
                                .challenges
                                .iter()
                                .find_map(|c| c.error.clone())
                                .unwrap_or_else(|| {
                                    Problem::new(
                                        ProblemType::Unauthorized,
                                        format!("authorization is {}", bad.as_str()),
                                    )
                                });
                            order.error = Some(err.with_identifier(a.identifier.clone()));
                            break;
                        }
                    }
                }
                if all_valid {
                    order.status = OrderStatus::Ready;
                }
            }
            _ => {}
        }
        if order.status != before && !self.inner.store.cas_order(&order, before).await? {
            // Someone else moved it (e.g. a finalize); read what they wrote.
            return self
                .inner
                .store
                .get_order(&order.id)
                .await?
                .ok_or(RaError::NotFound("order"));
        }
        Ok(order)
    }

    fn check_identifiers(&self, raw: &[Identifier]) -> Result<Vec<Identifier>> {
        if raw.is_empty() {
            return Err(RaError::Malformed("order has no identifiers".into()));
        }
        if raw.len() > self.inner.cfg.max_identifiers {
            return Err(RaError::RejectedIdentifiers {
                detail: format!(
                    "order has {} identifiers; at most {} are allowed",
                    raw.len(),
                    self.inner.cfg.max_identifiers
                ),
                subproblems: vec![],
            });
        }
        let mut out = Vec::with_capacity(raw.len());
        let mut subs = Vec::new();
        for id in raw {
            match id.normalize() {
                Ok(n) => out.push(n),
                Err(e) => {
                    let typ = match e {
                        arbor_proto::identifier::IdentifierError::UnsupportedType(_) => {
                            ProblemType::UnsupportedIdentifier
                        }
                        _ => ProblemType::RejectedIdentifier,
                    };
                    subs.push(SubError {
                        identifier: id.clone(),
                        typ,
                        detail: e.to_string(),
                    });
                }
            }
        }
        if !subs.is_empty() {
            let detail = if subs.len() == 1 {
                format!(
                    "cannot issue for {:?}: {}",
                    subs[0].identifier.value, subs[0].detail
                )
            } else {
                format!(
                    "cannot issue for {} identifiers (see subproblems)",
                    subs.len()
                )
            };
            return Err(RaError::RejectedIdentifiers {
                detail,
                subproblems: subs,
            });
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn make_authz(
        &self,
        acct: &AccountRecord,
        ident: &Identifier,
        wildcard: bool,
        now: i64,
    ) -> AuthzRecord {
        let mut types: Vec<&str> = Vec::new();
        match ident.kind() {
            // RFC 8555 §7.1.3: a wildcard can only be proven through DNS.
            Ok(IdentifierType::Dns) if wildcard => types.push("dns-01"),
            Ok(IdentifierType::Dns) => types.extend(["http-01", "dns-01", "tls-alpn-01"]),
            // RFC 8738 §7: no dns-01 for IP addresses.
            Ok(IdentifierType::Ip) => types.extend(["http-01", "tls-alpn-01"]),
            Err(_) => {}
        }
        let challenges = types
            .into_iter()
            .map(|t| ChallengeRecord {
                id: new_id(),
                typ: t.to_string(),
                token: new_token(),
                status: ChallengeStatus::Pending,
                validated: None,
                error: None,
            })
            .collect();
        AuthzRecord {
            id: new_id(),
            account_id: acct.id.clone(),
            identifier: ident.clone(),
            wildcard,
            status: AuthzStatus::Pending,
            expires: now + self.inner.cfg.pending_authz_lifetime_secs,
            challenges,
            validated_at: None,
            created_at: now,
        }
    }
}
