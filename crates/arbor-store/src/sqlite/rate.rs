//! Durable sliding-window rate limits: one `rate_events(key, at)` row per counted event.
//!
//! A decision is one indexed `COUNT` + `MIN` over `(key, at)`; `take` runs it and the
//! `INSERT` in the writer task, inside the group-commit transaction, so concurrent takes of
//! one key are serialized and exactly `limit` of them win. Policy (which keys, limits and
//! windows — e.g. the newOrder and failed-validation limits Let's Encrypt documents) is the
//! RA's; this module only counts.

use sqlx::{Row, SqliteConnection};

use super::schema::backend;
use crate::{RateDecision, Result};

/// What taking one more event of `key` at `now` would answer (records nothing).
pub async fn decide(
    conn: &mut SqliteConnection,
    key: &str,
    limit: u32,
    window_secs: i64,
    now: i64,
) -> Result<RateDecision> {
    let since = now.saturating_sub(window_secs);
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM rate_events WHERE key = ? AND at > ?",
    )
    .bind(key)
    .bind(since)
    .fetch_one(&mut *conn)
    .await
    .map_err(backend)?;
    let count: i64 = row.try_get("n").map_err(backend)?;
    let oldest: Option<i64> = row.try_get("oldest").map_err(backend)?;
    let limit = i64::from(limit);
    if count < limit {
        let remaining = u32::try_from(limit - count - 1).unwrap_or(0);
        return Ok(RateDecision::Allowed { remaining });
    }
    // Room for one more opens when the (count - limit + 1)-th oldest event leaves the
    // window: the oldest one in the usual case of exactly `limit` events. More than
    // `limit` can only come from `record`; that rarer case costs a second query.
    let freeing = if count == limit {
        oldest
    } else {
        sqlx::query(
            "SELECT at FROM rate_events WHERE key = ? AND at > ? ORDER BY at LIMIT 1 OFFSET ?",
        )
        .bind(key)
        .bind(since)
        .bind(count - limit)
        .fetch_optional(&mut *conn)
        .await
        .map_err(backend)?
        .map(|r| r.try_get::<i64, _>("at"))
        .transpose()
        .map_err(backend)?
    };
    // `None` only for `limit == 0`, which never admits anything: suggest a full window.
    let retry = freeing.map_or(window_secs, |at| {
        at.saturating_add(window_secs).saturating_sub(now)
    });
    Ok(RateDecision::Denied {
        retry_after_secs: retry.max(1),
    })
}

/// [`decide`], recording the event when it is allowed.
pub async fn take(
    conn: &mut SqliteConnection,
    key: &str,
    limit: u32,
    window_secs: i64,
    now: i64,
) -> Result<RateDecision> {
    let decision = decide(conn, key, limit, window_secs, now).await?;
    if let RateDecision::Allowed { .. } = decision {
        record(conn, key, now).await?;
    }
    Ok(decision)
}

/// Records one event of `key` at `now`.
pub async fn record(conn: &mut SqliteConnection, key: &str, now: i64) -> Result<()> {
    sqlx::query("INSERT INTO rate_events (key, at) VALUES (?, ?)")
        .bind(key)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(())
}

/// Deletes the events older than `before`; returns how many.
pub async fn prune(conn: &mut SqliteConnection, before: i64) -> Result<u64> {
    let r = sqlx::query("DELETE FROM rate_events WHERE at < ?")
        .bind(before)
        .execute(&mut *conn)
        .await
        .map_err(backend)?;
    Ok(r.rows_affected())
}
