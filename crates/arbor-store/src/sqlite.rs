//! The embedded SQLite backend: one file, WAL journal, `synchronous=FULL`, foreign keys on.
//!
//! Writes go to a single writer task (see [`writer`]) that batches concurrent writes into
//! one transaction and one fsync (group commit) and answers each caller only after the
//! commit; reads use a small pool of `query_only` connections, which in WAL mode never
//! block on, or are blocked by, the writer. Implements the persistence behind RFC 8555
//! §7.1–§7.6 as the [`Storage`] trait describes it.

mod cache;
mod eab;
mod ops;
mod rate;
mod rows;
mod schema;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::ConnectOptions;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tokio::sync::{mpsc, oneshot};

use crate::{
    AccountRecord, AuthzRecord, CertificateRecord, EabKeyRecord, Identifier, OrderRecord,
    OrderStatus, RateDecision, Result, Storage, StoreError,
};
use ops::{Op, Outcome};
use rows::{AccountRow, AuthzRow, CertRow, OrderRow, authz_key, decode_cert, decode_data};
pub use schema::SCHEMA_VERSION;
use schema::backend;
use writer::Job;

/// Tuning knobs for [`SqliteStore::open_with`].
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Read-only connections in the reader pool.
    pub readers: u32,
    /// How long a connection waits on a lock held by another process before failing.
    pub busy_timeout: Duration,
    /// Writes that may queue for the writer before callers wait for room.
    pub queue: usize,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            readers: 4,
            busy_timeout: Duration::from_secs(5),
            queue: 4096,
        }
    }
}

/// The SQLite [`Storage`] backend.
#[derive(Debug)]
pub struct SqliteStore {
    writes: mpsc::Sender<Job>,
    writer: tokio::task::JoinHandle<()>,
    readers: SqlitePool,
    accounts: std::sync::Arc<cache::AccountCache>,
}

impl SqliteStore {
    /// Opens (creating if needed, parent directory included) the database at `path` and
    /// brings its schema up to date.
    pub async fn open(path: &Path) -> Result<SqliteStore> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    /// [`SqliteStore::open`] with explicit tuning.
    pub async fn open_with(path: &Path, opts: SqliteOptions) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| StoreError::Backend(format!("creating {}: {e}", dir.display())))?;
        }
        let base = SqliteConnectOptions::from_str("sqlite:")
            .map_err(backend)?
            .filename(path)
            .foreign_keys(true)
            .busy_timeout(opts.busy_timeout)
            .synchronous(SqliteSynchronous::Full);
        let mut conn = base
            .clone()
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .connect()
            .await
            .map_err(backend)?;
        schema::migrate(&mut conn).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(opts.readers.max(1))
            .min_connections(1)
            .connect_with(base.pragma("query_only", "ON"))
            .await
            .map_err(backend)?;
        let (writes, rx) = mpsc::channel(opts.queue.max(1));
        let accounts = std::sync::Arc::new(cache::AccountCache::default());
        let writer = tokio::spawn(writer::run(conn, rx, accounts.clone()));
        Ok(SqliteStore {
            writes,
            writer,
            readers,
            accounts,
        })
    }

    /// Stops the writer after it has finished every queued write, and closes all
    /// connections. Dropping the store does the same, without waiting.
    pub async fn close(self) {
        let SqliteStore {
            writes,
            writer,
            readers,
            ..
        } = self;
        drop(writes);
        if let Err(e) = writer.await {
            tracing::warn!(error = %e, "SQLite writer task ended abnormally");
        }
        readers.close().await;
    }

    async fn write(&self, op: Op) -> Result<Outcome> {
        let stopped = || StoreError::Backend("the storage writer has stopped".into());
        let (tx, rx) = oneshot::channel();
        self.writes.send((op, tx)).await.map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// A write whose answer is a flag (compare-and-swap ops).
    async fn write_flag(&self, op: Op) -> Result<bool> {
        match self.write(op).await? {
            Outcome::Done(flag) => Ok(flag),
            other => Err(unexpected(other)),
        }
    }

    async fn fetch_data<T: serde::de::DeserializeOwned>(
        &self,
        sql: &'static str,
        key: &str,
    ) -> Result<Option<T>> {
        let row = sqlx::query(sql)
            .bind(key)
            .fetch_optional(&self.readers)
            .await
            .map_err(backend)?;
        row.as_ref().map(decode_data).transpose()
    }
}

#[async_trait]
impl Storage for SqliteStore {
    async fn insert_account(&self, acct: &AccountRecord) -> Result<()> {
        self.write(Op::InsertAccount(AccountRow::new(acct)?))
            .await
            .map(drop)
    }

    async fn get_account(&self, id: &str) -> Result<Option<AccountRecord>> {
        let (hit, generation) = self.accounts.get(id);
        if hit.is_some() {
            return Ok(hit);
        }
        let acct: Option<AccountRecord> = self
            .fetch_data("SELECT data FROM accounts WHERE id = ?", id)
            .await?;
        if let Some(a) = &acct {
            self.accounts.fill(generation, a);
        }
        Ok(acct)
    }

    async fn get_account_by_thumbprint(&self, thumbprint: &str) -> Result<Option<AccountRecord>> {
        self.fetch_data("SELECT data FROM accounts WHERE thumbprint = ?", thumbprint)
            .await
    }

    async fn update_account(&self, acct: &AccountRecord) -> Result<()> {
        self.write(Op::UpdateAccount(AccountRow::new(acct)?))
            .await
            .map(drop)
    }

    async fn insert_order(&self, order: &OrderRecord, new_authzs: &[AuthzRecord]) -> Result<()> {
        let authzs = new_authzs
            .iter()
            .map(AuthzRow::new)
            .collect::<Result<Vec<_>>>()?;
        self.write(Op::InsertOrder(OrderRow::new(order)?, authzs))
            .await
            .map(drop)
    }

    async fn get_order(&self, id: &str) -> Result<Option<OrderRecord>> {
        self.fetch_data("SELECT data FROM orders WHERE id = ?", id)
            .await
    }

    async fn update_order(&self, order: &OrderRecord) -> Result<()> {
        self.write(Op::UpdateOrder(OrderRow::new(order)?))
            .await
            .map(drop)
    }

    async fn cas_order(&self, order: &OrderRecord, expected: OrderStatus) -> Result<bool> {
        self.write_flag(Op::CasOrder(OrderRow::new(order)?, expected.as_str()))
            .await
    }

    async fn list_orders(
        &self,
        account_id: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = match cursor {
            None => {
                sqlx::query(
                    "SELECT id FROM orders WHERE account_id = ? \
                     ORDER BY created_at DESC, id DESC LIMIT ?",
                )
                .bind(account_id)
                .bind(limit)
                .fetch_all(&self.readers)
                .await
            }
            Some(after) => {
                // Row-value comparison against the cursor order's own sort key; an unknown
                // cursor compares as NULL and yields an empty page.
                sqlx::query(
                    "SELECT id FROM orders WHERE account_id = ? AND (created_at, id) < \
                     (SELECT created_at, id FROM orders WHERE id = ? AND account_id = ?) \
                     ORDER BY created_at DESC, id DESC LIMIT ?",
                )
                .bind(account_id)
                .bind(after)
                .bind(account_id)
                .bind(limit)
                .fetch_all(&self.readers)
                .await
            }
        }
        .map_err(backend)?;
        rows.iter()
            .map(|r| sqlx::Row::try_get::<String, _>(r, "id").map_err(backend))
            .collect()
    }

    async fn list_processing_orders(&self) -> Result<Vec<OrderRecord>> {
        let rows = sqlx::query("SELECT data FROM orders WHERE status = 'processing'")
            .fetch_all(&self.readers)
            .await
            .map_err(backend)?;
        rows.iter().map(decode_data).collect()
    }

    async fn get_authz(&self, id: &str) -> Result<Option<AuthzRecord>> {
        self.fetch_data("SELECT data FROM authzs WHERE id = ?", id)
            .await
    }

    async fn update_authz(&self, authz: &AuthzRecord) -> Result<()> {
        self.write(Op::UpdateAuthz(AuthzRow::new(authz)?))
            .await
            .map(drop)
    }

    /// Prefers a valid authorization over a pending one, then the newest. A `*.` prefix on
    /// `identifier` selects wildcard authorizations of the base name (see `rows::authz_key`).
    async fn find_reusable_authz(
        &self,
        account_id: &str,
        identifier: &Identifier,
        now: i64,
        include_pending: bool,
    ) -> Result<Option<AuthzRecord>> {
        let (value, wildcard) = authz_key(identifier);
        let row = sqlx::query(
            "SELECT data FROM authzs WHERE account_id = ? AND identifier_type = ? \
             AND identifier_value = ? AND wildcard = ? AND expires > ? \
             AND (status = 'valid' OR (? AND status = 'pending')) \
             ORDER BY status = 'valid' DESC, created_at DESC, id DESC LIMIT 1",
        )
        .bind(account_id)
        .bind(&identifier.typ)
        .bind(value)
        .bind(wildcard)
        .bind(now)
        .bind(include_pending)
        .fetch_optional(&self.readers)
        .await
        .map_err(backend)?;
        row.as_ref().map(decode_data).transpose()
    }

    async fn has_valid_authz(
        &self,
        account_id: &str,
        identifier: &Identifier,
        now: i64,
    ) -> Result<bool> {
        let (value, wildcard) = authz_key(identifier);
        let row = sqlx::query(
            "SELECT 1 FROM authzs WHERE account_id = ? AND identifier_type = ? \
             AND identifier_value = ? AND wildcard = ? AND expires > ? AND status = 'valid' \
             LIMIT 1",
        )
        .bind(account_id)
        .bind(&identifier.typ)
        .bind(value)
        .bind(wildcard)
        .bind(now)
        .fetch_optional(&self.readers)
        .await
        .map_err(backend)?;
        Ok(row.is_some())
    }

    async fn reserve_serial(&self, serial_hex: &str, order_id: &str, now: i64) -> Result<()> {
        let op = Op::ReserveSerial {
            serial: serial_hex.to_owned(),
            order_id: order_id.to_owned(),
            now,
        };
        self.write(op).await.map(drop)
    }

    async fn insert_certificate(
        &self,
        cert: &CertificateRecord,
        order: &OrderRecord,
    ) -> Result<()> {
        let op = Op::InsertCertificate(CertRow::new(cert)?, OrderRow::new(order)?);
        self.write(op).await.map(drop)
    }

    async fn get_certificate(&self, serial_hex: &str) -> Result<Option<CertificateRecord>> {
        let row = sqlx::query("SELECT * FROM certificates WHERE serial = ?")
            .bind(serial_hex)
            .fetch_optional(&self.readers)
            .await
            .map_err(backend)?;
        row.as_ref().map(decode_cert).transpose()
    }

    async fn revoke_certificate(&self, serial_hex: &str, reason: u8, at: i64) -> Result<bool> {
        let op = Op::Revoke {
            serial: serial_hex.to_owned(),
            reason: i64::from(reason),
            at,
        };
        self.write_flag(op).await
    }

    async fn list_revoked(&self, issuer_id: &str) -> Result<Vec<CertificateRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM certificates WHERE issuer_id = ? AND revoked_at IS NOT NULL \
             ORDER BY serial",
        )
        .bind(issuer_id)
        .fetch_all(&self.readers)
        .await
        .map_err(backend)?;
        rows.iter().map(decode_cert).collect()
    }

    async fn insert_eab_key(&self, kid: &str, hmac_key: &[u8], now: i64) -> Result<()> {
        let op = Op::InsertEabKey {
            kid: kid.to_owned(),
            hmac_key: hmac_key.to_vec(),
            now,
        };
        self.write(op).await.map(drop)
    }

    async fn get_eab_key(&self, kid: &str) -> Result<Option<EabKeyRecord>> {
        let row = sqlx::query("SELECT * FROM eab_keys WHERE kid = ?")
            .bind(kid)
            .fetch_optional(&self.readers)
            .await
            .map_err(backend)?;
        row.as_ref().map(eab::decode).transpose()
    }

    async fn insert_account_with_eab(&self, acct: &AccountRecord, eab_kid: &str) -> Result<()> {
        let mut bound = acct.clone();
        bound.eab_kid = Some(eab_kid.to_owned());
        let op = Op::InsertAccountWithEab(AccountRow::new(&bound)?, eab_kid.to_owned());
        self.write(op).await.map(drop)
    }

    async fn take_rate(
        &self,
        key: &str,
        limit: u32,
        window_secs: i64,
        now: i64,
    ) -> Result<RateDecision> {
        let op = Op::TakeRate {
            key: key.to_owned(),
            limit,
            window_secs,
            now,
        };
        match self.write(op).await? {
            Outcome::Rate(decision) => Ok(decision),
            other => Err(unexpected(other)),
        }
    }

    async fn record_rate(&self, key: &str, now: i64) -> Result<()> {
        let op = Op::RecordRate {
            key: key.to_owned(),
            now,
        };
        self.write(op).await.map(drop)
    }

    async fn check_rate(
        &self,
        key: &str,
        limit: u32,
        window_secs: i64,
        now: i64,
    ) -> Result<RateDecision> {
        let mut conn = self.readers.acquire().await.map_err(backend)?;
        rate::decide(&mut conn, key, limit, window_secs, now).await
    }

    async fn prune_rate(&self, before: i64) -> Result<u64> {
        match self.write(Op::PruneRate { before }).await? {
            Outcome::Count(n) => Ok(n),
            other => Err(unexpected(other)),
        }
    }

    async fn insert_authz(&self, authz: &AuthzRecord) -> Result<()> {
        self.write(Op::InsertAuthz(AuthzRow::new(authz)?))
            .await
            .map(drop)
    }

    async fn set_replaced_by(
        &self,
        serial_hex: &str,
        order_id: &str,
        expected: Option<&str>,
    ) -> Result<bool> {
        let op = Op::SetReplacedBy {
            serial: serial_hex.to_owned(),
            order_id: order_id.to_owned(),
            expected: expected.map(str::to_owned),
        };
        self.write_flag(op).await
    }
}

/// The writer answered an op with the wrong kind of outcome (a bug, not a user error).
fn unexpected(outcome: Outcome) -> StoreError {
    StoreError::Backend(format!("storage writer returned an unexpected {outcome:?}"))
}
