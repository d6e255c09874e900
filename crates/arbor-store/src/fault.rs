//! A fault-injecting [`Storage`] wrapper for crash and failure tests (Sunlight-style
//! "fail and don't persist" / "fail after persisting").
//!
//! Reads always pass through. Each write call is numbered (1, 2, …, across all write
//! methods) and checked against a programmable plan: a fault can target the Nth write or a
//! write method by name, and either fail *before* persisting (the inner store is never
//! called) or *after* persisting (the inner store commits, then the caller sees an error —
//! the "reply lost after commit" case). Both return [`StoreError::Backend`], exactly what a
//! real backend failure looks like to callers.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use crate::{
    AccountRecord, AuthzRecord, CertificateRecord, EabKeyRecord, Identifier, OrderRecord,
    OrderStatus, RateDecision, Result, Storage, StoreError,
};

/// When an injected failure happens relative to the real write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Fail without calling the inner store: nothing is persisted.
    Before,
    /// Call the inner store (its change persists), then fail anyway.
    After,
}

/// The write methods of [`Storage`], for targeting faults by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteMethod {
    InsertAccount,
    UpdateAccount,
    InsertOrder,
    UpdateOrder,
    CasOrder,
    UpdateAuthz,
    ReserveSerial,
    InsertCertificate,
    RevokeCertificate,
    InsertEabKey,
    InsertAccountWithEab,
    TakeRate,
    RecordRate,
    PruneRate,
    SetReplacedBy,
    InsertAuthz,
}

impl WriteMethod {
    /// The trait method's name.
    pub fn name(self) -> &'static str {
        match self {
            WriteMethod::InsertAccount => "insert_account",
            WriteMethod::UpdateAccount => "update_account",
            WriteMethod::InsertOrder => "insert_order",
            WriteMethod::UpdateOrder => "update_order",
            WriteMethod::CasOrder => "cas_order",
            WriteMethod::UpdateAuthz => "update_authz",
            WriteMethod::ReserveSerial => "reserve_serial",
            WriteMethod::InsertCertificate => "insert_certificate",
            WriteMethod::RevokeCertificate => "revoke_certificate",
            WriteMethod::InsertEabKey => "insert_eab_key",
            WriteMethod::InsertAccountWithEab => "insert_account_with_eab",
            WriteMethod::TakeRate => "take_rate",
            WriteMethod::RecordRate => "record_rate",
            WriteMethod::PruneRate => "prune_rate",
            WriteMethod::SetReplacedBy => "set_replaced_by",
            WriteMethod::InsertAuthz => "insert_authz",
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Trigger {
    Nth(u64),
    Method(WriteMethod),
}

#[derive(Debug)]
struct Fault {
    trigger: Trigger,
    kind: FaultKind,
    /// How many more times it fires.
    remaining: u32,
}

/// One fault that fired: which write call, which method, which kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Injected {
    pub call: u64,
    pub method: WriteMethod,
    pub kind: FaultKind,
}

/// A [`Storage`] that forwards to `S` except where its fault plan says to fail.
#[derive(Debug)]
pub struct FaultyStore<S: Storage> {
    inner: S,
    writes: AtomicU64,
    plan: Mutex<Vec<Fault>>,
    log: Mutex<Vec<Injected>>,
}

impl<S: Storage> FaultyStore<S> {
    /// Wraps `inner` with an empty plan (no faults).
    pub fn new(inner: S) -> Self {
        FaultyStore {
            inner,
            writes: AtomicU64::new(0),
            plan: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
        }
    }

    /// The wrapped store (for reads that must bypass the plan, or for closing it).
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Unwraps the store.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// Write calls made so far (faulted ones included). The next write is number
    /// `write_count() + 1`.
    pub fn write_count(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    /// Fails write call number `n` (1-based, counted since the store was wrapped).
    pub fn fail_nth_write(&self, n: u64, kind: FaultKind) {
        self.push(Fault {
            trigger: Trigger::Nth(n),
            kind,
            remaining: 1,
        });
    }

    /// Fails the next write, whatever it is.
    pub fn fail_next_write(&self, kind: FaultKind) {
        self.fail_nth_write(self.write_count() + 1, kind);
    }

    /// Fails the next `times` calls of `method`.
    pub fn fail_method(&self, method: WriteMethod, kind: FaultKind, times: u32) {
        self.push(Fault {
            trigger: Trigger::Method(method),
            kind,
            remaining: times,
        });
    }

    /// Drops every planned fault that has not fired yet.
    pub fn clear(&self) {
        lock(&self.plan).clear();
    }

    /// Every fault that fired, in order.
    pub fn injected(&self) -> Vec<Injected> {
        lock(&self.log).clone()
    }

    fn push(&self, fault: Fault) {
        lock(&self.plan).push(fault);
    }

    /// Numbers this write call and picks the fault (if any) that applies to it.
    fn decide(&self, method: WriteMethod) -> Option<FaultKind> {
        let call = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        let mut plan = lock(&self.plan);
        let fault = plan.iter_mut().find(|f| {
            f.remaining > 0
                && match f.trigger {
                    Trigger::Nth(n) => n == call,
                    Trigger::Method(m) => m == method,
                }
        })?;
        fault.remaining -= 1;
        let kind = fault.kind;
        plan.retain(|f| f.remaining > 0);
        lock(&self.log).push(Injected { call, method, kind });
        Some(kind)
    }

    /// Runs one write under the plan.
    async fn guarded<T, F>(&self, method: WriteMethod, write: F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        match self.decide(method) {
            None => write.await,
            Some(FaultKind::Before) => Err(injected(method, FaultKind::Before)),
            Some(FaultKind::After) => {
                // The real outcome is discarded: the caller only learns that it failed.
                let _ = write.await;
                Err(injected(method, FaultKind::After))
            }
        }
    }
}

fn injected(method: WriteMethod, kind: FaultKind) -> StoreError {
    StoreError::Backend(format!("injected fault ({kind:?}) in {}", method.name()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking test thread must not hide the plan from the others.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait]
impl<S: Storage> Storage for FaultyStore<S> {
    async fn insert_account(&self, acct: &AccountRecord) -> Result<()> {
        self.guarded(WriteMethod::InsertAccount, self.inner.insert_account(acct))
            .await
    }
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>> {
        self.inner.get_account(id).await
    }
    async fn get_account_by_thumbprint(&self, thumbprint: &str) -> Result<Option<AccountRecord>> {
        self.inner.get_account_by_thumbprint(thumbprint).await
    }
    async fn update_account(&self, acct: &AccountRecord) -> Result<()> {
        self.guarded(WriteMethod::UpdateAccount, self.inner.update_account(acct))
            .await
    }
    async fn insert_order(&self, order: &OrderRecord, new_authzs: &[AuthzRecord]) -> Result<()> {
        let write = self.inner.insert_order(order, new_authzs);
        self.guarded(WriteMethod::InsertOrder, write).await
    }
    async fn get_order(&self, id: &str) -> Result<Option<OrderRecord>> {
        self.inner.get_order(id).await
    }
    async fn update_order(&self, order: &OrderRecord) -> Result<()> {
        self.guarded(WriteMethod::UpdateOrder, self.inner.update_order(order))
            .await
    }
    async fn cas_order(&self, order: &OrderRecord, expected: OrderStatus) -> Result<bool> {
        self.guarded(WriteMethod::CasOrder, self.inner.cas_order(order, expected))
            .await
    }
    async fn list_orders(
        &self,
        account_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>> {
        self.inner.list_orders(account_id, cursor, limit).await
    }
    async fn list_processing_orders(&self) -> Result<Vec<OrderRecord>> {
        self.inner.list_processing_orders().await
    }
    async fn get_authz(&self, id: &str) -> Result<Option<AuthzRecord>> {
        self.inner.get_authz(id).await
    }
    async fn update_authz(&self, authz: &AuthzRecord) -> Result<()> {
        self.guarded(WriteMethod::UpdateAuthz, self.inner.update_authz(authz))
            .await
    }
    async fn find_reusable_authz(
        &self,
        account_id: &str,
        identifier: &Identifier,
        now: i64,
        include_pending: bool,
    ) -> Result<Option<AuthzRecord>> {
        self.inner
            .find_reusable_authz(account_id, identifier, now, include_pending)
            .await
    }
    async fn has_valid_authz(
        &self,
        account_id: &str,
        identifier: &Identifier,
        now: i64,
    ) -> Result<bool> {
        self.inner
            .has_valid_authz(account_id, identifier, now)
            .await
    }
    async fn reserve_serial(&self, serial_hex: &str, order_id: &str, now: i64) -> Result<()> {
        let write = self.inner.reserve_serial(serial_hex, order_id, now);
        self.guarded(WriteMethod::ReserveSerial, write).await
    }
    async fn insert_certificate(
        &self,
        cert: &CertificateRecord,
        order: &OrderRecord,
    ) -> Result<()> {
        let write = self.inner.insert_certificate(cert, order);
        self.guarded(WriteMethod::InsertCertificate, write).await
    }
    async fn get_certificate(&self, serial_hex: &str) -> Result<Option<CertificateRecord>> {
        self.inner.get_certificate(serial_hex).await
    }
    async fn revoke_certificate(&self, serial_hex: &str, reason: u8, at: i64) -> Result<bool> {
        let write = self.inner.revoke_certificate(serial_hex, reason, at);
        self.guarded(WriteMethod::RevokeCertificate, write).await
    }
    async fn list_revoked(&self, issuer_id: &str) -> Result<Vec<CertificateRecord>> {
        self.inner.list_revoked(issuer_id).await
    }
    async fn insert_eab_key(&self, kid: &str, hmac_key: &[u8], now: i64) -> Result<()> {
        let write = self.inner.insert_eab_key(kid, hmac_key, now);
        self.guarded(WriteMethod::InsertEabKey, write).await
    }
    async fn get_eab_key(&self, kid: &str) -> Result<Option<EabKeyRecord>> {
        self.inner.get_eab_key(kid).await
    }
    async fn insert_account_with_eab(&self, acct: &AccountRecord, eab_kid: &str) -> Result<()> {
        let write = self.inner.insert_account_with_eab(acct, eab_kid);
        self.guarded(WriteMethod::InsertAccountWithEab, write).await
    }
    async fn take_rate(
        &self,
        key: &str,
        limit: u32,
        window_secs: i64,
        now: i64,
    ) -> Result<RateDecision> {
        let write = self.inner.take_rate(key, limit, window_secs, now);
        self.guarded(WriteMethod::TakeRate, write).await
    }
    async fn record_rate(&self, key: &str, now: i64) -> Result<()> {
        let write = self.inner.record_rate(key, now);
        self.guarded(WriteMethod::RecordRate, write).await
    }
    async fn check_rate(
        &self,
        key: &str,
        limit: u32,
        window_secs: i64,
        now: i64,
    ) -> Result<RateDecision> {
        self.inner.check_rate(key, limit, window_secs, now).await
    }
    async fn prune_rate(&self, before: i64) -> Result<u64> {
        let write = self.inner.prune_rate(before);
        self.guarded(WriteMethod::PruneRate, write).await
    }
    async fn set_replaced_by(
        &self,
        serial_hex: &str,
        order_id: &str,
        expected: Option<&str>,
    ) -> Result<bool> {
        let write = self.inner.set_replaced_by(serial_hex, order_id, expected);
        self.guarded(WriteMethod::SetReplacedBy, write).await
    }
    async fn insert_authz(&self, authz: &AuthzRecord) -> Result<()> {
        let write = self.inner.insert_authz(authz);
        self.guarded(WriteMethod::InsertAuthz, write).await
    }
}
