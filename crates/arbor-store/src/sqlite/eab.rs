//! External account binding keys (RFC 8555 §7.3.4): provisioned keys, each of which may
//! bind exactly one account, bound in the same transaction that creates the account.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::ops::insert_account;
use super::rows::AccountRow;
use super::schema::backend;
use crate::{EabKeyRecord, Result, StoreError};

/// Inserts the account and binds `kid` to it. Runs in the writer inside a savepoint, so an
/// error leaves neither the account nor the binding behind; the single writer makes the
/// check-then-bind race-free.
pub async fn bind_new_account(
    conn: &mut SqliteConnection,
    acct: &AccountRow,
    kid: &str,
) -> Result<()> {
    let bound: Option<Option<String>> =
        sqlx::query("SELECT account_id FROM eab_keys WHERE kid = ?")
            .bind(kid)
            .fetch_optional(&mut *conn)
            .await
            .map_err(backend)?
            .map(|r| r.try_get("account_id"))
            .transpose()
            .map_err(backend)?;
    match bound {
        None => return Err(StoreError::NotFound("eab key")),
        Some(Some(_)) => return Err(StoreError::Duplicate("eab binding")),
        Some(None) => {}
    }
    insert_account(conn, acct).await?;
    let r = sqlx::query("UPDATE eab_keys SET account_id = ? WHERE kid = ? AND account_id IS NULL")
        .bind(&acct.id)
        .bind(kid)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    if r.rows_affected() == 1 {
        Ok(())
    } else {
        // Unreachable with one writer, but never report a binding that did not happen.
        Err(StoreError::Duplicate("eab binding"))
    }
}

/// Decodes an `eab_keys` row.
pub fn decode(row: &SqliteRow) -> Result<EabKeyRecord> {
    Ok(EabKeyRecord {
        kid: row.try_get("kid").map_err(backend)?,
        hmac_key: row.try_get("hmac_key").map_err(backend)?,
        created_at: row.try_get("created_at").map_err(backend)?,
        account_id: row.try_get("account_id").map_err(backend)?,
    })
}
