//! In-memory backends and a fault-injecting wrapper for tests (Sunlight's
//! `testlog` fakes): a [`FaultPlan`] shared by [`FaultStorage`] and
//! [`FaultLock`] counts every write (object puts, deletes, lock create/CAS) and
//! can fail a chosen one either *before* it lands (nothing persisted) or
//! *after* it lands (persisted, but the caller sees an error, like a timeout).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{LockBackend, LogStorage, check_path, is_immutable};
use crate::error::StorageError;

/// Whether an injected failure happens before or after the write lands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// Fail without persisting.
    Before,
    /// Persist, then fail.
    After,
}

#[derive(Debug, Default)]
struct PlanState {
    writes: u64,
    /// Fail the write with this ordinal (counted from the arming point).
    armed: Option<(u64, FaultMode)>,
    /// Fail every write whose path starts with this prefix.
    prefix: Option<(String, FaultMode)>,
    log: Vec<String>,
}

/// Shared fault schedule and write log.
#[derive(Debug, Default, Clone)]
pub struct FaultPlan(Arc<Mutex<PlanState>>);

impl FaultPlan {
    /// A plan that injects nothing.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, PlanState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fails the `n`-th write from now (0 = the next one), once.
    pub fn fail_nth_write(&self, n: u64, mode: FaultMode) {
        let mut s = self.state();
        let at = s.writes + n;
        s.armed = Some((at, mode));
    }

    /// Fails every write to paths starting with `prefix` until [`Self::clear`].
    pub fn fail_prefix(&self, prefix: &str, mode: FaultMode) {
        self.state().prefix = Some((prefix.to_owned(), mode));
    }

    /// Removes all scheduled faults.
    pub fn clear(&self) {
        let mut s = self.state();
        s.armed = None;
        s.prefix = None;
    }

    /// Number of writes seen so far.
    pub fn writes(&self) -> u64 {
        self.state().writes
    }

    /// The paths written so far, in order (lock writes as `lock`).
    pub fn write_log(&self) -> Vec<String> {
        self.state().log.clone()
    }

    /// Counts a write to `path` and returns the fault to inject, if any.
    fn check(&self, path: &str) -> Option<FaultMode> {
        let mut s = self.state();
        let n = s.writes;
        s.writes += 1;
        s.log.push(path.to_owned());
        if let Some((at, mode)) = s.armed
            && at == n
        {
            s.armed = None;
            return Some(mode);
        }
        match &s.prefix {
            Some((p, mode)) if path.starts_with(p.as_str()) => Some(*mode),
            _ => None,
        }
    }

    fn run(
        &self,
        path: &str,
        op: impl FnOnce() -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        match self.check(path) {
            None => op(),
            Some(FaultMode::Before) => Err(StorageError::Injected(path.to_owned())),
            Some(FaultMode::After) => {
                op()?;
                Err(StorageError::Injected(path.to_owned()))
            }
        }
    }
}

/// Objects in memory, with the same immutable-write rule as the real backend.
#[derive(Debug, Default, Clone)]
pub struct MemStorage(Arc<Mutex<BTreeMap<String, Vec<u8>>>>);

impl MemStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Overwrites any object, bypassing the rules (to corrupt state in tests).
    pub fn force_put(&self, path: &str, data: &[u8]) {
        self.map().insert(path.to_owned(), data.to_vec());
    }

    /// All stored paths.
    pub fn paths(&self) -> Vec<String> {
        self.map().keys().cloned().collect()
    }
}

impl LogStorage for MemStorage {
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, StorageError> {
        check_path(path)?;
        Ok(self.map().get(path).cloned())
    }

    fn put_immutable(&self, path: &str, data: &[u8]) -> Result<(), StorageError> {
        check_path(path)?;
        let mut m = self.map();
        match m.get(path) {
            Some(old) if old.as_slice() != data => {
                Err(StorageError::ImmutableMismatch(path.to_owned()))
            }
            Some(_) => Ok(()),
            None => {
                m.insert(path.to_owned(), data.to_vec());
                Ok(())
            }
        }
    }

    fn put_mutable(&self, path: &str, data: &[u8]) -> Result<(), StorageError> {
        check_path(path)?;
        if is_immutable(path) {
            return Err(StorageError::BadPath(path.to_owned()));
        }
        self.map().insert(path.to_owned(), data.to_vec());
        Ok(())
    }

    fn delete(&self, path: &str) -> Result<(), StorageError> {
        check_path(path)?;
        self.map().remove(path);
        Ok(())
    }
}

/// A lock backend in memory.
#[derive(Debug, Default, Clone)]
pub struct MemLock(Arc<Mutex<Option<Vec<u8>>>>);

impl MemLock {
    /// An empty lock.
    pub fn new() -> Self {
        Self::default()
    }

    /// Overwrites the stored checkpoint, bypassing CAS (to corrupt state in tests).
    pub fn force_set(&self, v: Option<Vec<u8>>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = v;
    }
}

impl LockBackend for MemLock {
    fn load(&self) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self.0.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    fn create(&self, checkpoint: &[u8]) -> Result<(), StorageError> {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_some() {
            return Err(StorageError::LockExists);
        }
        *g = Some(checkpoint.to_vec());
        Ok(())
    }

    fn compare_and_swap(&self, old: &[u8], new: &[u8]) -> Result<(), StorageError> {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if g.as_deref() != Some(old) {
            return Err(StorageError::CasConflict);
        }
        *g = Some(new.to_vec());
        Ok(())
    }
}

/// Wraps an object store, injecting the faults of a [`FaultPlan`].
#[derive(Clone)]
pub struct FaultStorage {
    inner: Arc<dyn LogStorage>,
    plan: FaultPlan,
}

impl FaultStorage {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn LogStorage>, plan: FaultPlan) -> Self {
        Self { inner, plan }
    }
}

impl LogStorage for FaultStorage {
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.get(path)
    }
    fn put_immutable(&self, path: &str, data: &[u8]) -> Result<(), StorageError> {
        self.plan.run(path, || self.inner.put_immutable(path, data))
    }
    fn put_mutable(&self, path: &str, data: &[u8]) -> Result<(), StorageError> {
        self.plan.run(path, || self.inner.put_mutable(path, data))
    }
    fn delete(&self, path: &str) -> Result<(), StorageError> {
        self.plan.run(path, || self.inner.delete(path))
    }
}

/// Wraps a lock backend, injecting the faults of a [`FaultPlan`] (path `lock`).
#[derive(Clone)]
pub struct FaultLock {
    inner: Arc<dyn LockBackend>,
    plan: FaultPlan,
}

impl FaultLock {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn LockBackend>, plan: FaultPlan) -> Self {
        Self { inner, plan }
    }
}

impl LockBackend for FaultLock {
    fn load(&self) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.load()
    }
    fn create(&self, checkpoint: &[u8]) -> Result<(), StorageError> {
        self.plan.run("lock", || self.inner.create(checkpoint))
    }
    fn compare_and_swap(&self, old: &[u8], new: &[u8]) -> Result<(), StorageError> {
        self.plan
            .run("lock", || self.inner.compare_and_swap(old, new))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_and_after() {
        let mem = MemStorage::new();
        let plan = FaultPlan::new();
        let f = FaultStorage::new(Arc::new(mem.clone()), plan.clone());
        plan.fail_nth_write(0, FaultMode::Before);
        assert!(f.put_mutable("a", b"1").is_err());
        assert_eq!(mem.get("a").unwrap(), None);
        plan.fail_nth_write(0, FaultMode::After);
        assert!(f.put_mutable("a", b"1").is_err());
        assert_eq!(mem.get("a").unwrap().unwrap(), b"1");
        f.put_mutable("a", b"2").unwrap();
        assert_eq!(plan.writes(), 3);
        plan.fail_prefix("tile/", FaultMode::Before);
        assert!(f.put_immutable("tile/0/000", b"x").is_err());
        plan.clear();
        f.put_immutable("tile/0/000", b"x").unwrap();
    }
}
