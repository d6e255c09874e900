//! Anti-replay nonces (RFC 8555 §6.5, §7.2): 128 random bits, base64url, each redeemable
//! once. Memory is bounded: past `capacity` outstanding nonces the oldest are forgotten
//! (a client holding one gets `badNonce` and retries with the fresh nonce it is given).
//! Nonces do not survive a restart, which RFC 8555 allows: the same retry covers it.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

/// Outstanding nonces kept by default (~40 bytes each).
pub const DEFAULT_CAPACITY: usize = 1 << 20;

/// The nonce store.
pub struct NonceStore {
    inner: Mutex<Inner>,
    capacity: usize,
    rng: SystemRandom,
}

struct Inner {
    live: HashSet<u128>,
    order: VecDeque<u128>,
}

impl NonceStore {
    /// A store remembering at most `capacity` outstanding nonces.
    pub fn new(capacity: usize) -> NonceStore {
        NonceStore {
            inner: Mutex::new(Inner {
                live: HashSet::new(),
                order: VecDeque::new(),
            }),
            capacity: capacity.max(1),
            rng: SystemRandom::new(),
        }
    }

    /// Issues a fresh nonce.
    pub fn issue(&self) -> String {
        let mut b = [0u8; 16];
        self.rng
            .fill(&mut b)
            .expect("operating system random number generator failed");
        let n = u128::from_be_bytes(b);
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.live.insert(n);
        g.order.push_back(n);
        while g.order.len() > self.capacity {
            if let Some(old) = g.order.pop_front() {
                g.live.remove(&old);
            }
        }
        arbor_proto::b64::encode(&b)
    }

    /// Redeems a nonce: true exactly once per issued nonce.
    pub fn redeem(&self, nonce: &str) -> bool {
        let Ok(bytes) = arbor_proto::b64::decode(nonce) else {
            return false;
        };
        let Ok(arr) = <[u8; 16]>::try_from(bytes.as_slice()) else {
            return false;
        };
        let n = u128::from_be_bytes(arr);
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.live.remove(&n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_and_bounded() {
        let s = NonceStore::new(2);
        let a = s.issue();
        assert!(s.redeem(&a));
        assert!(!s.redeem(&a));
        let b = s.issue();
        let _c = s.issue();
        let _d = s.issue();
        assert!(!s.redeem(&b), "oldest forgotten past capacity");
        assert!(!s.redeem("not-a-nonce"));
        assert!(!s.redeem(""));
    }
}
