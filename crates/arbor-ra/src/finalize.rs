//! Finalize and issuance (RFC 8555 §7.4): CSR checks, the `ready → processing` compare-and-
//! swap that makes concurrent finalizes issue exactly one certificate, serial reservation
//! before signing, and the commit of certificate + `valid` order in one transaction.
//! Orders a crash left in `processing` are resumed by [`Ra::recover`] with the same code.

use crate::error::Result;
use crate::{Ra, RaError, new_serial};
use arbor_proto::{IdentifierType, Problem, ProblemType};
use arbor_store::{AccountRecord, CertificateRecord, OrderRecord, OrderStatus, StoreError};
use std::net::IpAddr;

/// Age after which a CAA result must be checked again before issuance: BR §3.2.2.8 allows
/// 8 hours; like Boulder we recheck after 7 to keep a margin.
pub const CAA_RECHECK_SECS: i64 = 7 * 3_600;

/// How many times a colliding random serial is redrawn before giving up.
const SERIAL_ATTEMPTS: usize = 4;

impl Ra {
    /// Finalize (§7.4): `csr_der` is the decoded `csr` field; `account_url` is what CAA
    /// `accounturi` must name.
    pub async fn finalize(
        &self,
        acct: &AccountRecord,
        order_id: &str,
        csr_der: &[u8],
        account_url: &str,
    ) -> Result<OrderRecord> {
        let mut order = self.get_order(acct, order_id).await?;
        match order.status {
            OrderStatus::Ready => {}
            OrderStatus::Processing => {
                return Err(RaError::OrderNotReady(
                    "order is already processing a finalize request".into(),
                ));
            }
            s => {
                return Err(RaError::OrderNotReady(format!(
                    "order is {}, not ready; it cannot be finalized",
                    s.as_str()
                )));
            }
        }
        let csr = arbor_ca::parse_csr(csr_der).map_err(|e| RaError::BadCsr(e.to_string()))?;
        let (dns, ips) = split_identifiers(&order)?;
        let acct_key = crate::account_key(acct)?;
        arbor_ca::check_csr(&csr, &dns, &ips, &acct_key.spki_der())
            .map_err(|e| RaError::BadCsr(e.to_string()))?;
        self.recheck_caa(&order, account_url).await?;

        order.status = OrderStatus::Processing;
        order.csr = Some(csr_der.to_vec());
        order.processing_since = Some(self.now());
        if !self
            .inner
            .store
            .cas_order(&order, OrderStatus::Ready)
            .await?
        {
            return Err(RaError::OrderNotReady(
                "order is already processing a finalize request".into(),
            ));
        }
        if let Some(ms) = self.inner.cfg.async_finalize_ms {
            // Test mode: answer `processing` now and issue later, as a slow CA would. The
            // order is durable in `processing`, so a crash meanwhile is resumed by recover().
            let ra = self.clone();
            let pending = order.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                let _ = ra.issue(pending).await;
            });
            return Ok(order);
        }
        self.issue(order).await
    }

    /// Re-checks CAA for every authorization validated more than [`CAA_RECHECK_SECS`] ago
    /// (BR §3.2.2.8). Each name gets its own lookup — the 2020 Boulder incident checked one
    /// name N times instead — and every failing name is reported as a subproblem.
    async fn recheck_caa(&self, order: &OrderRecord, account_url: &str) -> Result<()> {
        let now = self.now();
        let mut subs = Vec::new();
        for authz_id in &order.authz_ids {
            let a = self.load_authz(authz_id).await?;
            let fresh = a.validated_at.is_some_and(|t| now - t <= CAA_RECHECK_SECS);
            if fresh {
                continue;
            }
            let method = a
                .challenges
                .iter()
                .find(|c| c.status == arbor_store::ChallengeStatus::Valid)
                .map(|c| c.typ.clone())
                .unwrap_or_default();
            let checked = self
                .inner
                .va
                .check_caa(
                    &a.identifier,
                    a.wildcard,
                    &self.inner.cfg.caa_identities,
                    account_url,
                    &method,
                )
                .await;
            if let Err(e) = checked {
                let shown = if a.wildcard {
                    arbor_proto::Identifier::dns(format!("*.{}", a.identifier.value))
                } else {
                    a.identifier.clone()
                };
                subs.push(crate::error::SubError {
                    identifier: shown,
                    typ: e.problem_type(),
                    detail: e.to_string(),
                });
            }
        }
        if subs.is_empty() {
            return Ok(());
        }
        let detail = if subs.len() == 1 {
            format!(
                "CAA recheck failed for {}: {}",
                subs[0].identifier.value, subs[0].detail
            )
        } else {
            format!(
                "CAA recheck failed for {} identifiers (see subproblems)",
                subs.len()
            )
        };
        Err(RaError::Caa {
            detail,
            subproblems: subs,
        })
    }

    /// Resumes every order a crash left in `processing`. Run once at start-up, before
    /// any new order is processed. Two passes: first every MTC order whose entry the log
    /// already holds adopts it (the MTC issuer's bounded scan relies on no resumed order
    /// having appended yet); then the rest are issued, oldest `processing_since` first,
    /// so an entry appended here is never followed by an older-dated one from this pass.
    pub async fn recover(&self) -> Result<usize> {
        let stuck = self.inner.store.list_processing_orders().await?;
        let n = stuck.len();
        let mut rest = Vec::new();
        for o in stuck {
            match self.adopt(&o).await {
                Ok(true) => {}
                Ok(false) => rest.push(o),
                // The entry may be logged: neither append again nor fail the order.
                Err(e) => tracing::error!(order = %o.id, error = %e,
                    "could not look for a logged entry; order left in processing"),
            }
        }
        rest.sort_by_key(|o| o.processing_since);
        for o in rest {
            let id = o.id.clone();
            if let Err(e) = self.issue(o).await {
                tracing::error!(order = %id, error = %e, "could not resume processing order");
            }
        }
        Ok(n)
    }

    /// Recovery's first pass for one order: true if it was an MTC order whose logged
    /// entry is now its certificate.
    /// An order whose request cannot be built (or with no MTC log to ask) was never
    /// logged by this CA: the second pass fails it as before.
    async fn adopt(&self, order: &OrderRecord) -> Result<bool> {
        let Ok((csr, dns, ips, profile)) = self.issuance_inputs(order) else {
            return Ok(false);
        };
        if !profile.mtc || !self.has_mtc() {
            return Ok(false);
        }
        let Ok(req) = self.mtc_request(order, csr.spki_der, dns, &ips, profile) else {
            return Ok(false);
        };
        Ok(self.adopt_logged(order, &req).await?.is_some())
    }

    /// Issues for an order in `processing` whose CSR has been checked. On any failure the
    /// order becomes `invalid` (never stuck in processing), except once the MTC log holds
    /// its entry: then it stays in `processing` and the next start-up adopts the entry.
    async fn issue(&self, order: OrderRecord) -> Result<OrderRecord> {
        match self.try_issue(&order).await {
            Ok(o) => Ok(o),
            Err(Failed { err, logged: true }) => {
                tracing::error!(order = %order.id, error = %err,
                    "storing a logged MTC certificate failed; order left in processing");
                Err(err)
            }
            Err(Failed { err, logged: false }) => {
                tracing::error!(order = %order.id, error = %err, "issuance failed");
                let mut failed = order;
                failed.status = OrderStatus::Invalid;
                failed.error = Some(Problem::new(
                    ProblemType::ServerInternal,
                    "the certificate could not be issued",
                ));
                self.inner.store.update_order(&failed).await?;
                Err(err)
            }
        }
    }

    /// The parsed CSR, the order's names and its profile.
    fn issuance_inputs(
        &self,
        order: &OrderRecord,
    ) -> Result<(arbor_ca::Csr, Vec<String>, Vec<IpAddr>, &crate::Profile)> {
        let csr_der = order
            .csr
            .as_deref()
            .ok_or_else(|| RaError::Internal("processing order has no CSR".into()))?;
        let csr = arbor_ca::parse_csr(csr_der).map_err(|e| RaError::BadCsr(e.to_string()))?;
        let (dns, ips) = split_identifiers(order)?;
        let cfg = &self.inner.cfg;
        let profile = order
            .profile
            .as_deref()
            .and_then(|p| cfg.profile(p))
            .or_else(|| cfg.profile(&cfg.default_profile))
            .ok_or_else(|| RaError::Internal("order's profile is no longer configured".into()))?;
        Ok((csr, dns, ips, profile))
    }

    async fn try_issue(&self, order: &OrderRecord) -> std::result::Result<OrderRecord, Failed> {
        let (csr, dns, ips, profile) = self.issuance_inputs(order)?;
        if profile.mtc {
            let req = self.mtc_request(order, csr.spki_der, dns, &ips, profile)?;
            return self.try_issue_mtc(order, &req).await;
        }
        let now = self.now();
        let mut serial = Vec::new();
        let mut reserved = false;
        for _ in 0..SERIAL_ATTEMPTS {
            serial = new_serial();
            match self
                .inner
                .store
                .reserve_serial(&hex::encode(&serial), &order.id, now)
                .await
            {
                Ok(()) => {
                    reserved = true;
                    break;
                }
                Err(StoreError::Duplicate(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        if !reserved {
            return Err(RaError::Internal("no unique serial after retries".into()).into());
        }
        let issuer = &self.inner.ca.intermediate;
        let validity = profile.validity_secs.min(crate::BR_MAX_VALIDITY_SECS);
        let req = arbor_ca::LeafRequest {
            serial: serial.clone(),
            spki_der: csr.spki_der.clone(),
            dns_names: dns,
            ips,
            not_before: now,
            validity_secs: validity,
            common_name: csr.common_name.clone(),
        };
        let der = issuer.issue_leaf(&req)?;
        let spki_sha256 = hex::encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            &csr.spki_der,
        ));
        let cert = CertificateRecord {
            serial: hex::encode(&serial),
            account_id: order.account_id.clone(),
            order_id: order.id.clone(),
            issuer_id: issuer.id.clone(),
            der,
            spki_sha256,
            identifiers: order.identifiers.clone(),
            not_before: now,
            not_after: now + validity - 1,
            revoked_at: None,
            revoked_reason: None,
            issued_at: now,
            replaced_by: None,
        };
        Ok(self.commit_certificate(order, cert).await?)
    }

    /// Stores the certificate and the `valid` order in one transaction, then counts it.
    pub(crate) async fn commit_certificate(
        &self,
        order: &OrderRecord,
        cert: CertificateRecord,
    ) -> Result<OrderRecord> {
        let mut done = order.clone();
        done.status = OrderStatus::Valid;
        done.cert_serial = Some(cert.serial.clone());
        self.inner.store.insert_certificate(&cert, &done).await?;
        // Counting for rate limits must not undo an issued certificate.
        if let Err(e) = self
            .note_issued(&done.identifiers, done.replaces.is_some())
            .await
        {
            tracing::warn!(order = %done.id, error = %e, "rate-limit bookkeeping failed");
        }
        Ok(done)
    }

    /// A certificate by serial for its owning account (§7.4.2).
    pub async fn get_certificate(
        &self,
        acct: &AccountRecord,
        serial: &str,
    ) -> Result<CertificateRecord> {
        self.inner
            .store
            .get_certificate(serial)
            .await?
            .filter(|c| c.account_id == acct.id)
            .ok_or(RaError::NotFound("certificate"))
    }
}

/// A failed issuance. `logged`: the MTC log already holds the entry, so the order must
/// stay in `processing` (marking it invalid would orphan a public entry).
pub(crate) struct Failed {
    pub err: RaError,
    pub logged: bool,
}

impl Failed {
    pub(crate) fn logged(err: RaError) -> Failed {
        Failed { err, logged: true }
    }
}

impl From<RaError> for Failed {
    fn from(err: RaError) -> Failed {
        Failed { err, logged: false }
    }
}

impl From<StoreError> for Failed {
    fn from(e: StoreError) -> Failed {
        RaError::from(e).into()
    }
}

impl From<arbor_ca::CaError> for Failed {
    fn from(e: arbor_ca::CaError) -> Failed {
        RaError::from(e).into()
    }
}

fn split_identifiers(order: &OrderRecord) -> Result<(Vec<String>, Vec<IpAddr>)> {
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    for id in &order.identifiers {
        match id.kind() {
            Ok(IdentifierType::Dns) => dns.push(id.value.clone()),
            Ok(IdentifierType::Ip) => ips.push(
                id.value
                    .parse()
                    .map_err(|_| RaError::Internal(format!("stored ip {:?}", id.value)))?,
            ),
            Err(e) => return Err(RaError::Internal(e.to_string())),
        }
    }
    Ok((dns, ips))
}
