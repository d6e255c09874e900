//! The write operations the SQLite writer applies, and the SQL of each (persistence for
//! RFC 8555 §7.1–§7.6, EAB §7.3.4, rate limits, ARI `replaced_by` RFC 9773 §5).
//!
//! Each op runs on the writer's connection inside the group's transaction (or a savepoint,
//! see [`Op::needs_savepoint`]); constraint failures are mapped to the expected
//! `Duplicate`/`NotFound` outcomes, anything else is a backend error.

use sqlx::SqliteConnection;
use sqlx::error::ErrorKind;

use super::rows::{AccountRow, AuthzRow, CertRow, OrderRow};
use super::schema::backend;
use super::{eab, rate};
use crate::{RateDecision, Result, StoreError};

/// One write, with its rows already encoded.
#[derive(Debug)]
pub enum Op {
    InsertAccount(AccountRow),
    UpdateAccount(AccountRow),
    InsertOrder(OrderRow, Vec<AuthzRow>),
    UpdateOrder(OrderRow),
    CasOrder(OrderRow, &'static str),
    UpdateAuthz(AuthzRow),
    InsertAuthz(AuthzRow),
    ReserveSerial {
        serial: String,
        order_id: String,
        now: i64,
    },
    InsertCertificate(CertRow, OrderRow),
    Revoke {
        serial: String,
        reason: i64,
        at: i64,
    },
    InsertEabKey {
        kid: String,
        hmac_key: Vec<u8>,
        now: i64,
    },
    InsertAccountWithEab(AccountRow, String),
    TakeRate {
        key: String,
        limit: u32,
        window_secs: i64,
        now: i64,
    },
    RecordRate {
        key: String,
        now: i64,
    },
    PruneRate {
        before: i64,
    },
    SetReplacedBy {
        serial: String,
        order_id: String,
        expected: Option<String>,
    },
}

/// What a successful op reports back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Ops returning `()` report `Done(true)`; compare-and-swap ops their result.
    Done(bool),
    /// `TakeRate`'s decision.
    Rate(RateDecision),
    /// Rows affected (`PruneRate`).
    Count(u64),
}

impl Op {
    /// The account whose row this op writes, if it writes one (the account cache evicts it).
    pub fn account_written(&self) -> Option<&str> {
        match self {
            Op::InsertAccount(a) | Op::UpdateAccount(a) | Op::InsertAccountWithEab(a, _) => {
                Some(&a.id)
            }
            _ => None,
        }
    }

    /// Whether the op writes with more than one statement, so that a failure part-way
    /// must be undone with a savepoint rather than by SQLite's statement rollback.
    pub fn needs_savepoint(&self) -> bool {
        match self {
            Op::InsertOrder(_, authzs) => !authzs.is_empty(),
            Op::InsertCertificate(..) | Op::InsertAccountWithEab(..) => true,
            Op::InsertAccount(_)
            | Op::UpdateAccount(_)
            | Op::UpdateOrder(_)
            | Op::CasOrder(..)
            | Op::UpdateAuthz(_)
            | Op::InsertAuthz(_)
            | Op::ReserveSerial { .. }
            | Op::Revoke { .. }
            | Op::InsertEabKey { .. }
            | Op::TakeRate { .. }
            | Op::RecordRate { .. }
            | Op::PruneRate { .. }
            | Op::SetReplacedBy { .. } => false,
        }
    }
}

/// Maps a constraint failure to the expected outcome it stands for.
fn classify(e: sqlx::Error, foreign_key: &'static str) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        match db.kind() {
            ErrorKind::UniqueViolation => {
                let msg = db.message();
                let what = if msg.contains("eab_keys.kid") {
                    "eab kid"
                } else if msg.contains("accounts.thumbprint") {
                    "account key"
                } else if msg.contains("accounts.id") {
                    "account id"
                } else if msg.contains("orders.id") {
                    "order id"
                } else if msg.contains("authzs.id") {
                    "authz id"
                } else if msg.contains("serial") {
                    "serial"
                } else {
                    return backend(e);
                };
                return StoreError::Duplicate(what);
            }
            ErrorKind::ForeignKeyViolation => return StoreError::NotFound(foreign_key),
            _ => {}
        }
    }
    backend(e)
}

fn affected(rows: u64, what: &'static str) -> Result<Outcome> {
    if rows == 0 {
        Err(StoreError::NotFound(what))
    } else {
        Ok(Outcome::Done(true))
    }
}

/// Inserts an `accounts` row; `Duplicate("account key")` on a thumbprint clash.
pub(super) async fn insert_account(conn: &mut SqliteConnection, a: &AccountRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO accounts (id, thumbprint, status, created_at, data) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&a.id)
    .bind(&a.thumbprint)
    .bind(a.status)
    .bind(a.created_at)
    .bind(&a.data)
    .execute(&mut *conn)
    .await
    .map_err(|e| classify(e, "account"))?;
    Ok(())
}

/// `UPDATE … WHERE serial = ? AND <cas>` matched nothing: `Ok(false)` if the certificate
/// exists (the compare failed), `NotFound` otherwise.
async fn cas_miss(conn: &mut SqliteConnection, serial: &str) -> Result<Outcome> {
    let exists = sqlx::query("SELECT 1 FROM certificates WHERE serial = ?")
        .bind(serial)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?;
    match exists {
        Some(_) => Ok(Outcome::Done(false)),
        None => Err(StoreError::NotFound("certificate")),
    }
}

async fn write_authz(conn: &mut SqliteConnection, a: &AuthzRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO authzs (id, account_id, identifier_type, identifier_value, wildcard, \
         status, expires, created_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&a.id)
    .bind(&a.account_id)
    .bind(&a.identifier_type)
    .bind(&a.identifier_value)
    .bind(a.wildcard)
    .bind(a.status)
    .bind(a.expires)
    .bind(a.created_at)
    .bind(&a.data)
    .execute(&mut *conn)
    .await
    .map_err(|e| classify(e, "account"))?;
    Ok(())
}

async fn set_order(conn: &mut SqliteConnection, o: &OrderRow) -> Result<Outcome> {
    let r = sqlx::query("UPDATE orders SET status = ?, data = ? WHERE id = ?")
        .bind(o.status)
        .bind(&o.data)
        .bind(&o.id)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    affected(r.rows_affected(), "order")
}

/// Applies one op on `conn` (inside the caller's transaction or savepoint).
pub async fn apply(conn: &mut SqliteConnection, op: &Op) -> Result<Outcome> {
    let done = Outcome::Done(true);
    match op {
        Op::InsertAccount(a) => insert_account(conn, a).await.map(|()| done),
        Op::UpdateAccount(a) => {
            let r = sqlx::query(
                "UPDATE accounts SET thumbprint = ?, status = ?, data = ? WHERE id = ?",
            )
            .bind(&a.thumbprint)
            .bind(a.status)
            .bind(&a.data)
            .bind(&a.id)
            .execute(&mut *conn)
            .await
            .map_err(|e| classify(e, "account"))?;
            affected(r.rows_affected(), "account")
        }
        Op::InsertOrder(o, authzs) => {
            for a in authzs {
                write_authz(conn, a).await?;
            }
            sqlx::query(
                "INSERT INTO orders (id, account_id, status, created_at, data) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(&o.id)
            .bind(&o.account_id)
            .bind(o.status)
            .bind(o.created_at)
            .bind(&o.data)
            .execute(&mut *conn)
            .await
            .map_err(|e| classify(e, "account"))?;
            Ok(done)
        }
        Op::UpdateOrder(o) => set_order(conn, o).await,
        Op::CasOrder(o, expected) => {
            let r =
                sqlx::query("UPDATE orders SET status = ?, data = ? WHERE id = ? AND status = ?")
                    .bind(o.status)
                    .bind(&o.data)
                    .bind(&o.id)
                    .bind(*expected)
                    .execute(&mut *conn)
                    .await
                    .map_err(backend)?;
            Ok(Outcome::Done(r.rows_affected() == 1))
        }
        Op::InsertAuthz(a) => {
            write_authz(conn, a).await?;
            Ok(Outcome::Done(true))
        }
        Op::UpdateAuthz(a) => {
            let r = sqlx::query(
                "UPDATE authzs SET identifier_type = ?, identifier_value = ?, wildcard = ?, \
                 status = ?, expires = ?, data = ? WHERE id = ?",
            )
            .bind(&a.identifier_type)
            .bind(&a.identifier_value)
            .bind(a.wildcard)
            .bind(a.status)
            .bind(a.expires)
            .bind(&a.data)
            .bind(&a.id)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
            affected(r.rows_affected(), "authz")
        }
        Op::ReserveSerial {
            serial,
            order_id,
            now,
        } => {
            sqlx::query("INSERT INTO serials (serial, order_id, created_at) VALUES (?, ?, ?)")
                .bind(serial)
                .bind(order_id)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(|e| classify(e, "order"))?;
            Ok(done)
        }
        Op::InsertCertificate(c, o) => {
            sqlx::query(
                "INSERT INTO certificates (serial, account_id, order_id, issuer_id, \
                 spki_sha256, identifiers, not_before, not_after, issued_at, revoked_at, \
                 revoked_reason, der, replaced_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&c.serial)
            .bind(&c.account_id)
            .bind(&c.order_id)
            .bind(&c.issuer_id)
            .bind(&c.spki_sha256)
            .bind(&c.identifiers)
            .bind(c.not_before)
            .bind(c.not_after)
            .bind(c.issued_at)
            .bind(c.revoked_at)
            .bind(c.revoked_reason)
            .bind(&c.der)
            .bind(&c.replaced_by)
            .execute(&mut *conn)
            .await
            .map_err(|e| classify(e, "serial reservation"))?;
            set_order(conn, o).await
        }
        Op::Revoke { serial, reason, at } => {
            let r = sqlx::query(
                "UPDATE certificates SET revoked_at = ?, revoked_reason = ? \
                 WHERE serial = ? AND revoked_at IS NULL",
            )
            .bind(at)
            .bind(reason)
            .bind(serial)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
            if r.rows_affected() == 1 {
                return Ok(done);
            }
            cas_miss(conn, serial).await
        }
        Op::InsertEabKey { kid, hmac_key, now } => {
            sqlx::query("INSERT INTO eab_keys (kid, hmac_key, created_at) VALUES (?, ?, ?)")
                .bind(kid)
                .bind(hmac_key)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(|e| classify(e, "eab key"))?;
            Ok(done)
        }
        Op::InsertAccountWithEab(a, kid) => {
            eab::bind_new_account(conn, a, kid).await.map(|()| done)
        }
        Op::TakeRate {
            key,
            limit,
            window_secs,
            now,
        } => rate::take(conn, key, *limit, *window_secs, *now)
            .await
            .map(Outcome::Rate),
        Op::RecordRate { key, now } => rate::record(conn, key, *now).await.map(|()| done),
        Op::PruneRate { before } => rate::prune(conn, *before).await.map(Outcome::Count),
        Op::SetReplacedBy {
            serial,
            order_id,
            expected,
        } => {
            // `IS` compares NULL with NULL as equal, so `expected: None` means "unset".
            let r = sqlx::query(
                "UPDATE certificates SET replaced_by = ? WHERE serial = ? AND replaced_by IS ?",
            )
            .bind(order_id)
            .bind(serial)
            .bind(expected)
            .execute(&mut *conn)
            .await
            .map_err(backend)?;
            if r.rows_affected() == 1 {
                return Ok(done);
            }
            cas_miss(conn, serial).await
        }
    }
}
