//! The SQLite schema and its embedded, versioned migrations.
//!
//! Each migration runs once, inside one transaction with the bump of `schema_version`, so a
//! crash mid-migration leaves the previous version intact. The bulk of every record is kept
//! as JSON in a `data` column; the columns beside it are the ones lookups filter or sort on
//! and are always written together with `data` (same statement, same transaction).

use sqlx::{Connection, Row, SqliteConnection};

use crate::{Result, StoreError};

/// Migrations in order; index + 1 is the schema version they produce.
const MIGRATIONS: &[&str] = &[
    // v1: accounts, orders, authorizations, serials, certificates.
    r#"
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY NOT NULL,
    thumbprint  TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    data        TEXT NOT NULL
);

CREATE TABLE orders (
    id          TEXT PRIMARY KEY NOT NULL,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    status      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX orders_by_account ON orders(account_id, created_at DESC, id DESC);
CREATE INDEX orders_processing ON orders(status) WHERE status = 'processing';

CREATE TABLE authzs (
    id                TEXT PRIMARY KEY NOT NULL,
    account_id        TEXT NOT NULL REFERENCES accounts(id),
    identifier_type   TEXT NOT NULL,
    identifier_value  TEXT NOT NULL,
    wildcard          INTEGER NOT NULL,
    status            TEXT NOT NULL,
    expires           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    data              TEXT NOT NULL
);
CREATE INDEX authzs_reuse
    ON authzs(account_id, identifier_type, identifier_value, wildcard, status, expires);

CREATE TABLE serials (
    serial      TEXT PRIMARY KEY NOT NULL,
    order_id    TEXT NOT NULL REFERENCES orders(id),
    created_at  INTEGER NOT NULL
);

CREATE TABLE certificates (
    serial          TEXT PRIMARY KEY NOT NULL REFERENCES serials(serial),
    account_id      TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    issuer_id       TEXT NOT NULL,
    spki_sha256     TEXT NOT NULL,
    identifiers     TEXT NOT NULL,
    not_before      INTEGER NOT NULL,
    not_after       INTEGER NOT NULL,
    issued_at       INTEGER NOT NULL,
    revoked_at      INTEGER,
    revoked_reason  INTEGER,
    der             BLOB NOT NULL
);
CREATE INDEX certificates_by_spki ON certificates(spki_sha256);
CREATE INDEX certificates_revoked ON certificates(issuer_id) WHERE revoked_at IS NOT NULL;
"#,
    // v2: EAB keys, rate-limit events, ARI `replaced_by`.
    r#"
ALTER TABLE certificates ADD COLUMN replaced_by TEXT;

CREATE TABLE eab_keys (
    kid         TEXT PRIMARY KEY NOT NULL,
    hmac_key    BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    account_id  TEXT REFERENCES accounts(id)
);

CREATE TABLE rate_events (
    key  TEXT NOT NULL,
    at   INTEGER NOT NULL
);
CREATE INDEX rate_events_by_key ON rate_events(key, at);
CREATE INDEX rate_events_by_time ON rate_events(at);
"#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`SCHEMA_VERSION`]; refuses a database from a newer build.
pub async fn migrate(conn: &mut SqliteConnection) -> Result<()> {
    migrate_to(conn, SCHEMA_VERSION).await
}

/// Applies the migrations up to and including version `target` (tests build old schemas
/// with it).
async fn migrate_to(conn: &mut SqliteConnection, target: i64) -> Result<()> {
    sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    let current: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version")
        .fetch_one(&mut *conn)
        .await
        .and_then(|r| r.try_get("v"))
        .map_err(backend)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Backend(format!(
            "database schema version {current} is newer than this build's {SCHEMA_VERSION}"
        )));
    }
    let pending = MIGRATIONS
        .iter()
        .enumerate()
        .take(usize::try_from(target).unwrap_or(0))
        .skip(usize::try_from(current).unwrap_or(0));
    for (i, sql) in pending {
        let version = i as i64 + 1;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(backend)?;
        sqlx::raw_sql(*sql)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query("DELETE FROM schema_version")
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query("INSERT INTO schema_version (version) VALUES (?)")
            .bind(version)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        tracing::info!(version, "applied storage migration");
    }
    Ok(())
}

/// Wraps an unexpected database error.
pub fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::str::FromStr;

    use sqlx::ConnectOptions;
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};

    use super::*;
    use crate::{SqliteStore, Storage};

    async fn connect(path: &Path) -> SqliteConnection {
        SqliteConnectOptions::from_str("sqlite:")
            .unwrap()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // The v1 row below stands alone (no account/order/serial rows).
            .foreign_keys(false)
            .connect()
            .await
            .unwrap()
    }

    async fn version(conn: &mut SqliteConnection) -> i64 {
        sqlx::query("SELECT version FROM schema_version")
            .fetch_one(&mut *conn)
            .await
            .and_then(|r| r.try_get("version"))
            .unwrap()
    }

    #[tokio::test]
    async fn v1_database_upgrades_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        let mut conn = connect(&path).await;
        migrate_to(&mut conn, 1).await.unwrap();
        assert_eq!(version(&mut conn).await, 1);
        let der: Vec<u8> = (0u8..=255).collect();
        sqlx::query(
            "INSERT INTO certificates (serial, account_id, order_id, issuer_id, spki_sha256, \
             identifiers, not_before, not_after, issued_at, revoked_at, revoked_reason, der) \
             VALUES ('1f', 'acct', 'o1', 'int-1', 'ab', '[{\"type\":\"dns\",\"value\":\"a.example\"}]', \
             10, 20, 11, 15, 1, ?)",
        )
        .bind(&der)
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();

        let store = SqliteStore::open(&path).await.unwrap();
        let c = store.get_certificate("1f").await.unwrap().unwrap();
        assert_eq!(c.replaced_by, None);
        assert_eq!(c.der, der);
        assert_eq!(
            (
                c.not_before,
                c.not_after,
                c.issued_at,
                c.revoked_at,
                c.revoked_reason
            ),
            (10, 20, 11, Some(15), Some(1))
        );
        assert_eq!(c.identifiers, [crate::Identifier::dns("a.example")]);
        // The v2 column and tables work on the upgraded file.
        assert!(store.set_replaced_by("1f", "o2", None).await.unwrap());
        store.insert_eab_key("kid", b"k", 1).await.unwrap();
        store.record_rate("r", 1).await.unwrap();
        store.close().await;

        let mut conn = connect(&path).await;
        assert_eq!(version(&mut conn).await, SCHEMA_VERSION);
        // Re-running the migrations on an up-to-date file changes nothing.
        migrate(&mut conn).await.unwrap();
        assert_eq!(version(&mut conn).await, SCHEMA_VERSION);
        conn.close().await.unwrap();
    }

    #[tokio::test]
    async fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = connect(&dir.path().join("new.db")).await;
        migrate(&mut conn).await.unwrap();
        sqlx::query("UPDATE schema_version SET version = version + 1")
            .execute(&mut conn)
            .await
            .unwrap();
        assert!(matches!(
            migrate(&mut conn).await,
            Err(StoreError::Backend(_))
        ));
    }
}
