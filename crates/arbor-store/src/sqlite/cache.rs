//! A read-through cache of account rows (RFC 8555 §6.2: every signed request names its
//! account by `kid`, so each one would otherwise cost a SQLite read and its thread hops).
//!
//! Coherence is what matters here: a deactivated account or a rolled-over key must never
//! be served stale. The writer task, after each group's commit (or failure) and before it
//! answers anyone, bumps a generation and evicts every account the group wrote; a reader only inserts what it read if no account write finished while it
//! was reading. A reader that fetched the old row before a commit therefore either
//! inserts it before the writer's eviction (which removes it) or sees the bumped
//! generation and inserts nothing. This holds because this process is the only writer of
//! the `accounts` table (the embedded backend's single writer task); `arbor admin` writes
//! EAB keys only.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::AccountRecord;

/// Entries kept at most; the cache is cleared when it would grow beyond this.
pub const MAX_ACCOUNTS: usize = 50_000;

#[derive(Debug, Default)]
struct Inner {
    generation: u64,
    accounts: HashMap<String, AccountRecord>,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct AccountCache {
    inner: Mutex<Inner>,
}

impl AccountCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The cached account, and the generation to pass to [`AccountCache::fill`] on a miss.
    pub fn get(&self, id: &str) -> (Option<AccountRecord>, u64) {
        let g = self.lock();
        (g.accounts.get(id).cloned(), g.generation)
    }

    /// Caches what a read that started at `generation` returned, unless an account write
    /// finished meanwhile.
    pub fn fill(&self, generation: u64, acct: &AccountRecord) {
        let mut g = self.lock();
        if g.generation != generation {
            return;
        }
        if g.accounts.len() >= MAX_ACCOUNTS {
            g.accounts.clear();
        }
        g.accounts.insert(acct.id.clone(), acct.clone());
    }

    /// Called after every account write, whether it succeeded or not.
    pub fn written(&self, id: &str) {
        let mut g = self.lock();
        g.generation += 1;
        g.accounts.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct(id: &str, status: crate::AccountStatus) -> AccountRecord {
        AccountRecord {
            id: id.into(),
            jwk: "{}".into(),
            thumbprint: "t".into(),
            status,
            contact: Vec::new(),
            tos_agreed: true,
            eab_kid: None,
            eab_jws: None,
            created_at: 0,
            created_ip: None,
        }
    }

    #[test]
    fn a_read_racing_a_write_is_not_cached() {
        let c = AccountCache::default();
        let (miss, g) = c.get("a");
        assert!(miss.is_none());
        // The reader fetched the old row; the write commits before the reader fills.
        c.written("a");
        c.fill(g, &acct("a", crate::AccountStatus::Valid));
        assert!(c.get("a").0.is_none(), "stale row must not be cached");
        let (_, g) = c.get("a");
        c.fill(g, &acct("a", crate::AccountStatus::Deactivated));
        assert_eq!(
            c.get("a").0.map(|a| a.status),
            Some(crate::AccountStatus::Deactivated)
        );
        c.written("a");
        assert!(c.get("a").0.is_none());
    }
}
