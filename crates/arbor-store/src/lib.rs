//! Arbor's storage: one [`Storage`] trait that every component writes through, with an
//! embedded SQLite backend (the default) and a fault-injecting fake for tests.
//!
//! Rules every backend keeps (see `docs/` and ARCHITECTURE.md):
//! - a method returns `Ok` only once its change is durable (committed and fsynced);
//! - multi-row changes that a reply depends on are one transaction;
//! - uniqueness (serials, account keys) is enforced by the database, never by luck;
//! - state transitions that races could double (finalize) are compare-and-swap.
#![forbid(unsafe_code)]

pub mod fault;
pub mod records;
pub mod sqlite;

pub use fault::{FaultKind, FaultyStore, WriteMethod};
pub use records::*;
pub use sqlite::{SqliteOptions, SqliteStore};

use async_trait::async_trait;

/// Storage errors. `Duplicate` and `NotFound` are expected outcomes callers branch on;
/// `Backend` is an internal failure (rendered as `serverInternal`, detail only in logs).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint refused the write (serial, account key, …).
    #[error("duplicate {0}")]
    Duplicate(&'static str),
    /// The row to update does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The backend failed; the change may or may not have landed.
    #[error("storage backend: {0}")]
    Backend(String),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Everything the CA persists. All times are Unix seconds.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    // --- accounts (RFC 8555 §7.3) ---
    /// Inserts a new account; `Duplicate("account key")` if the key thumbprint exists.
    async fn insert_account(&self, acct: &AccountRecord) -> Result<()>;
    /// Looks an account up by id.
    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>>;
    /// Looks an account up by its key's RFC 7638 thumbprint.
    async fn get_account_by_thumbprint(&self, thumbprint: &str) -> Result<Option<AccountRecord>>;
    /// Replaces an account's mutable fields (contact, status, key). Changing the key to one
    /// another account holds fails with `Duplicate("account key")`.
    async fn update_account(&self, acct: &AccountRecord) -> Result<()>;

    // --- orders and authorizations (§7.4, §7.5) ---
    /// Inserts an order together with the new authorizations it created, atomically.
    async fn insert_order(&self, order: &OrderRecord, new_authzs: &[AuthzRecord]) -> Result<()>;
    /// Looks an order up by id.
    async fn get_order(&self, id: &str) -> Result<Option<OrderRecord>>;
    /// Unconditionally replaces an order row (non-racy transitions only).
    async fn update_order(&self, order: &OrderRecord) -> Result<()>;
    /// Replaces the order only if its stored status is still `expected`; `Ok(false)` if not.
    /// This is what makes two concurrent finalizes issue exactly one certificate.
    async fn cas_order(&self, order: &OrderRecord, expected: OrderStatus) -> Result<bool>;
    /// An account's order ids, newest first, starting after `cursor` (exclusive), at most `limit`.
    async fn list_orders(
        &self,
        account_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>>;
    /// Orders left in `processing` (crash recovery resumes them).
    async fn list_processing_orders(&self) -> Result<Vec<OrderRecord>>;

    /// Looks an authorization up by id.
    async fn get_authz(&self, id: &str) -> Result<Option<AuthzRecord>>;
    /// Replaces an authorization row.
    async fn update_authz(&self, authz: &AuthzRecord) -> Result<()>;
    /// A reusable authorization of this account for this identifier: status valid (or
    /// pending, if `include_pending`) and `expires > now`; the newest one (SQLite prefers a
    /// valid one over a pending one). Wildcards: pass `*.example.com` to find the wildcard
    /// authorizations stored for base name `example.com` (`wildcard: true`); a plain name
    /// matches only non-wildcard authorizations. The same holds for `has_valid_authz`.
    async fn find_reusable_authz(
        &self,
        account_id: &str,
        identifier: &Identifier,
        now: i64,
        include_pending: bool,
    ) -> Result<Option<AuthzRecord>>;
    /// Every valid, unexpired authorization an account holds for `identifier` (revocation by
    /// authorized account, §7.6).
    async fn has_valid_authz(
        &self,
        account_id: &str,
        identifier: &Identifier,
        now: i64,
    ) -> Result<bool>;

    // --- serials and certificates (§7.4.2, §7.6) ---
    /// Reserves a serial before anything is signed; `Duplicate("serial")` if it was ever used.
    async fn reserve_serial(&self, serial_hex: &str, order_id: &str, now: i64) -> Result<()>;
    /// Stores the issued certificate and flips its order to `valid` in one transaction.
    async fn insert_certificate(&self, cert: &CertificateRecord, order: &OrderRecord)
    -> Result<()>;
    /// Looks a certificate up by serial (lower-case hex).
    async fn get_certificate(&self, serial_hex: &str) -> Result<Option<CertificateRecord>>;
    /// Marks a certificate revoked; `Ok(false)` if it already was.
    async fn revoke_certificate(&self, serial_hex: &str, reason: u8, at: i64) -> Result<bool>;
    /// Every revoked certificate of one issuer (CRL generation).
    async fn list_revoked(&self, issuer_id: &str) -> Result<Vec<CertificateRecord>>;

    // --- external account binding (§7.3.4) ---
    /// Stores a new EAB key, unbound; `Duplicate("eab kid")` if the kid exists.
    async fn insert_eab_key(&self, kid: &str, hmac_key: &[u8], now: i64) -> Result<()>;
    /// Looks an EAB key up by kid.
    async fn get_eab_key(&self, kid: &str) -> Result<Option<EabKeyRecord>>;
    /// Creates the account and binds the EAB key `eab_kid` to it in one transaction (the
    /// stored account's `eab_kid` is set to `eab_kid`). `NotFound("eab key")` if the kid is
    /// unknown, `Duplicate("eab binding")` if the key is already bound to an account,
    /// `Duplicate("account key")` as [`Storage::insert_account`]; on any error nothing is
    /// written.
    async fn insert_account_with_eab(&self, acct: &AccountRecord, eab_kid: &str) -> Result<()>;

    // --- rate limits (durable across restarts) ---
    /// Sliding-window limit, atomic under concurrency: counts the events of `key` with
    /// `at > now - window_secs`; below `limit`, records one at `now` and returns
    /// `Allowed { remaining: limit - count - 1 }`; otherwise records nothing and returns
    /// `Denied` with the seconds until enough events leave the window for one more to fit
    /// (the oldest counted event's `at + window_secs - now` when exactly `limit` are
    /// counted), at least 1.
    async fn take_rate(
        &self,
        key: &str,
        limit: u32,
        window_secs: i64,
        now: i64,
    ) -> Result<RateDecision>;
    /// Records an event of `key` at `now` unconditionally (e.g. a failed validation); later
    /// `take_rate`/`check_rate` calls count it.
    async fn record_rate(&self, key: &str, now: i64) -> Result<()>;
    /// What [`Storage::take_rate`] would answer, recording nothing.
    async fn check_rate(
        &self,
        key: &str,
        limit: u32,
        window_secs: i64,
        now: i64,
    ) -> Result<RateDecision>;
    /// Deletes every rate event with `at < before` (housekeeping); returns how many.
    async fn prune_rate(&self, before: i64) -> Result<u64>;

    // --- ARI (RFC 9773) ---
    /// Sets the certificate's `replaced_by` to `order_id` only if it currently equals
    /// `expected` (`None` = not replaced yet); `Ok(false)` if it did not match,
    /// `NotFound("certificate")` if no certificate has that serial.
    async fn set_replaced_by(
        &self,
        serial_hex: &str,
        order_id: &str,
        expected: Option<&str>,
    ) -> Result<bool>;

    /// Inserts a stand-alone authorization (pre-authorization, RFC 8555 §7.4.1).
    async fn insert_authz(&self, authz: &AuthzRecord) -> Result<()>;
}
