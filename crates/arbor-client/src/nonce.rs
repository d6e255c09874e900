//! The replay-nonce pool (RFC 8555 §6.5): every response's `Replay-Nonce` is kept for the
//! next request, so a busy client almost never has to ask `newNonce` (§7.2).
//!
//! Nonces are single-use; the pool hands each one out once, newest first (least likely to
//! have expired on the server). It is bounded, evicting the oldest nonce when full.

use std::collections::VecDeque;
use std::sync::Mutex;

/// How many spare nonces a client keeps by default.
pub const DEFAULT_NONCE_POOL_CAP: usize = 64;

/// A bounded stack of unused nonces (newest out first, oldest evicted), shared by all
/// tasks using one client.
#[derive(Debug)]
pub struct NoncePool {
    cap: usize,
    q: Mutex<VecDeque<String>>,
}

impl NoncePool {
    /// An empty pool that holds at most `cap` nonces (at least one).
    pub fn new(cap: usize) -> Self {
        NoncePool {
            cap: cap.max(1),
            q: Mutex::new(VecDeque::new()),
        }
    }

    /// Takes the freshest nonce, if any (most recently received = least likely expired).
    pub fn take(&self) -> Option<String> {
        self.lock().pop_back()
    }

    /// Adds a nonce received from the server; drops the oldest one when full.
    pub fn put(&self, nonce: String) {
        if nonce.is_empty() {
            return;
        }
        let mut q = self.lock();
        if q.len() >= self.cap {
            q.pop_front();
        }
        q.push_back(nonce);
    }

    /// Number of nonces waiting.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<String>> {
        // A panic while holding this lock cannot leave the deque inconsistent.
        self.q.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifo_bounded_single_use() {
        let p = NoncePool::new(2);
        assert_eq!(p.take(), None);
        p.put("a".into());
        p.put("b".into());
        p.put("c".into()); // evicts "a"
        p.put(String::new()); // ignored
        assert_eq!(p.len(), 2);
        assert_eq!(p.take().as_deref(), Some("c"));
        assert_eq!(p.take().as_deref(), Some("b"));
        assert_eq!(p.take(), None);
        assert!(p.is_empty());
    }
}
