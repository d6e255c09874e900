//! The single SQLite writer with group commit.
//!
//! SQLite admits one writer at a time, so every write goes to one task that owns the only
//! read-write connection. The task drains whatever ops are queued, applies them inside one
//! transaction, commits once — one fsync for the whole group, as `synchronous=FULL` in WAL
//! mode syncs the log on commit — and only then answers every waiter. One op's `Duplicate`
//! or `NotFound` undoes only that op: a multi-statement op runs in its own SAVEPOINT, and a
//! single statement that fails a constraint is backed out by SQLite itself. A waiter's
//! `Ok` therefore always means "committed and durable".

use sqlx::{Connection, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use super::cache::AccountCache;
use super::ops::{Op, Outcome, apply};
use crate::{Result, StoreError};

/// Most ops applied in one transaction; bounds how long the first waiter of a group waits.
pub const MAX_GROUP: usize = 256;

/// An op and the channel its result goes back on.
pub type Job = (Op, oneshot::Sender<Result<Outcome>>);

/// Runs the writer loop until every sender is dropped, then closes the connection.
/// Account rows it wrote (or tried to) are evicted from `accounts` after each group,
/// before any waiter is answered — here, not in the caller, so that a caller whose future
/// is dropped mid-write cannot leave a stale account cached.
pub async fn run(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<Job>,
    accounts: std::sync::Arc<AccountCache>,
) {
    let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
    while let Some(first) = rx.recv().await {
        group.push(first);
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let results = apply_group(&mut conn, &group).await;
        for (op, _) in &group {
            if let Some(id) = op.account_written() {
                accounts.written(id);
            }
        }
        for ((_, reply), result) in group.drain(..).zip(results) {
            // A waiter that gave up (its future was dropped) is not an error.
            let _ = reply.send(result);
        }
    }
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "closing the SQLite writer connection");
    }
}

/// Applies a group in one transaction and returns one result per op.
async fn apply_group(conn: &mut SqliteConnection, group: &[Job]) -> Vec<Result<Outcome>> {
    let fail_all = |msg: String| {
        group
            .iter()
            .map(|_| Err(StoreError::Backend(msg.clone())))
            .collect()
    };
    let mut tx = match conn.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => return fail_all(format!("begin: {e}")),
    };
    let mut results = Vec::with_capacity(group.len());
    if let [(op, _)] = group {
        // A lone op needs no savepoint: its failure is the transaction's.
        let r = apply(&mut tx, op).await;
        if r.is_err() {
            if let Err(e) = tx.rollback().await {
                tracing::warn!(error = %e, "rolling back a failed write");
            }
            return vec![r];
        }
        results.push(r);
    } else {
        for (op, _) in group {
            let r = if op.needs_savepoint() {
                let mut sp = match Connection::begin(&mut *tx).await {
                    Ok(sp) => sp,
                    Err(e) => return fail_all(format!("savepoint: {e}")),
                };
                let r = apply(&mut sp, op).await;
                let end = if r.is_ok() {
                    sp.commit().await
                } else {
                    sp.rollback().await
                };
                if let Err(e) = end {
                    return fail_all(format!("ending savepoint: {e}"));
                }
                r
            } else {
                // One writing statement: SQLite backs out a statement that fails a
                // constraint by itself and keeps the transaction going.
                apply(&mut tx, op).await
            };
            if let Err(StoreError::Backend(msg)) = &r {
                // An I/O-level failure may have aborted the whole transaction: give up on
                // the group rather than commit a state we can no longer reason about.
                let msg = format!("group aborted: {msg}");
                drop(tx);
                return fail_all(msg);
            }
            results.push(r);
        }
    }
    match tx.commit().await {
        Ok(()) => results,
        Err(e) => {
            let msg = format!("commit: {e}");
            results
                .into_iter()
                .map(|r| r.and(Err(StoreError::Backend(msg.clone()))))
                .collect()
        }
    }
}
