//! The run lock: an advisory exclusive `flock` on `<state_dir>/lock` (std's
//! `File::try_lock`), held for the whole pass so two `arbor client` processes never work
//! on the same state at once. The kernel drops it when the process dies, so a crashed run
//! never leaves a stale lock behind.

use crate::cron::error::CronError;
use std::fs::{File, TryLockError};
use std::path::Path;

/// A held lock; released on drop.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock without waiting; [`CronError::Locked`] if another process has it.
    pub fn acquire(path: &Path) -> Result<RunLock, CronError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(CronError::io("open lock", path))?;
        match file.try_lock() {
            Ok(()) => Ok(RunLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(CronError::Locked(path.to_path_buf())),
            Err(TryLockError::Error(e)) => Err(CronError::io("lock", path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_release() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("lock");
        let a = RunLock::acquire(&p).unwrap();
        assert!(matches!(RunLock::acquire(&p), Err(CronError::Locked(_))));
        drop(a);
        RunLock::acquire(&p).unwrap();
    }
}
