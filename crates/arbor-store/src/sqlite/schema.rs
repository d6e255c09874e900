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
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`SCHEMA_VERSION`]; refuses a database from a newer build.
pub async fn migrate(conn: &mut SqliteConnection) -> Result<()> {
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
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
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
