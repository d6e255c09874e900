//! Filesystem backends. [`FsStorage`] keeps objects under a directory; every
//! write is temp file + fsync + link/rename + fsync of the directory, so a
//! write that returned survives a crash. Immutable objects are created with
//! `hard_link` (fails if the path exists), then compared byte for byte; they are
//! made read-only.
//!
//! [`FileLock`] is the lock backend. Choice: a single small file updated by
//! compare-and-swap under a process mutex, plus an exclusive OS file lock
//! (`File::try_lock`) held for the backend's lifetime so two processes on one
//! configuration cannot both sign. The lock holds one value per log, so SQLite
//! would add a dependency and a schema without adding a guarantee; the
//! durability argument is the same temp+fsync+rename+fsync as the tiles.
//!
//! Known sad path (as in Sunlight's `internal/durable`): if fsync fails and the
//! process keeps running, the page cache may later serve bytes that never
//! reached the disk. Any I/O error in the sequencer stops the log, and a restart
//! re-reads from disk.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{LockBackend, LogStorage, check_path};
use crate::error::StorageError;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StorageError + '_ {
    move |source| StorageError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn fsync_dir(dir: &Path) -> Result<(), StorageError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Writes `data` to a fresh temp file next to `target` and fsyncs it.
fn write_temp(target: &Path, data: &[u8]) -> Result<PathBuf, StorageError> {
    let dir = target
        .parent()
        .ok_or_else(|| StorageError::BadPath(target.display().to_string()))?;
    fs::create_dir_all(dir).map_err(io(dir))?;
    let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".tmp-{}-{n}", std::process::id()));
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(data).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    Ok(tmp)
}

/// Atomically replaces `target` with `data` (temp + fsync + rename + fsync dir).
fn replace_file(target: &Path, data: &[u8]) -> Result<(), StorageError> {
    let tmp = write_temp(target, data)?;
    if let Err(e) = fs::rename(&tmp, target) {
        let _ = fs::remove_file(&tmp);
        return Err(io(target)(e));
    }
    fsync_dir(target.parent().unwrap_or(Path::new(".")))
}

fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, StorageError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

/// Objects as files under a root directory.
#[derive(Debug, Clone)]
pub struct FsStorage {
    root: PathBuf,
}

impl FsStorage {
    /// Uses (and creates) `root`.
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, StorageError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(io(&root))?;
        Ok(Self { root })
    }

    fn path(&self, path: &str) -> Result<PathBuf, StorageError> {
        check_path(path)?;
        Ok(self.root.join(path))
    }
}

impl LogStorage for FsStorage {
    fn get(&self, path: &str) -> Result<Option<Vec<u8>>, StorageError> {
        read_opt(&self.path(path)?)
    }

    fn put_immutable(&self, path: &str, data: &[u8]) -> Result<(), StorageError> {
        let target = self.link_immutable(path, data)?;
        fsync_dir(target.parent().unwrap_or(&self.root))
    }

    fn put_immutable_many(&self, objects: &[(String, Vec<u8>)]) -> Result<(), StorageError> {
        // fsync latency dominates: spread the files over a few threads, then
        // sync each directory once.
        let chunk = objects.len().div_ceil(WRITE_THREADS).max(1);
        let dirs = std::thread::scope(|scope| {
            let handles: Vec<_> = objects
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|(p, d)| self.link_immutable(p, d))
                            .collect::<Result<Vec<PathBuf>, StorageError>>()
                    })
                })
                .collect();
            let mut dirs = std::collections::BTreeSet::new();
            for h in handles {
                let written = h
                    .join()
                    .map_err(|_| StorageError::BadPath("writer thread".into()))??;
                dirs.extend(
                    written
                        .iter()
                        .filter_map(|t| t.parent().map(Path::to_path_buf)),
                );
            }
            Ok::<_, StorageError>(dirs)
        })?;
        for d in dirs {
            fsync_dir(&d)?;
        }
        Ok(())
    }

    fn put_mutable(&self, path: &str, data: &[u8]) -> Result<(), StorageError> {
        if super::is_immutable(path) {
            return Err(StorageError::BadPath(path.to_owned()));
        }
        replace_file(&self.path(path)?, data)
    }

    fn delete(&self, path: &str) -> Result<(), StorageError> {
        let target = self.path(path)?;
        match fs::remove_file(&target) {
            Ok(()) => fsync_dir(target.parent().unwrap_or(&self.root)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(&target)(e)),
        }
    }
}

/// Threads used by [`FsStorage::put_immutable_many`].
const WRITE_THREADS: usize = 8;

impl FsStorage {
    /// Creates an immutable file (without syncing its directory); returns its path.
    fn link_immutable(&self, path: &str, data: &[u8]) -> Result<PathBuf, StorageError> {
        let target = self.path(path)?;
        if let Some(existing) = read_opt(&target)? {
            return if existing == data {
                Ok(target)
            } else {
                Err(StorageError::ImmutableMismatch(path.to_owned()))
            };
        }
        let tmp = write_temp(&target, data)?;
        let linked = fs::hard_link(&tmp, &target);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                if read_opt(&target)?.as_deref() != Some(data) {
                    return Err(StorageError::ImmutableMismatch(path.to_owned()));
                }
            }
            Err(e) => return Err(io(&target)(e)),
        }
        // Best effort: immutable objects are read-only on disk.
        if let Ok(meta) = fs::metadata(&target) {
            let mut perm = meta.permissions();
            perm.set_readonly(true);
            let _ = fs::set_permissions(&target, perm);
        }
        Ok(target)
    }
}

/// The lock backend as one file, `<dir>/checkpoint`, guarded by `<dir>/LOCK`.
#[derive(Debug)]
pub struct FileLock {
    file: PathBuf,
    /// Serialises CAS within the process; the OS lock on `_guard` excludes
    /// other processes.
    mutex: Mutex<()>,
    _guard: File,
}

impl FileLock {
    /// Opens (creating) the lock directory and takes its exclusive OS lock.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, StorageError> {
        let dir = dir.as_ref();
        fs::create_dir_all(dir).map_err(io(dir))?;
        let lock_path = dir.join("LOCK");
        let guard = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        guard
            .try_lock()
            .map_err(|_| StorageError::LockBusy(lock_path.display().to_string()))?;
        Ok(Self {
            file: dir.join("checkpoint"),
            mutex: Mutex::new(()),
            _guard: guard,
        })
    }
}

impl LockBackend for FileLock {
    fn load(&self) -> Result<Option<Vec<u8>>, StorageError> {
        let _g = self.mutex.lock().unwrap_or_else(|p| p.into_inner());
        read_opt(&self.file)
    }

    fn create(&self, checkpoint: &[u8]) -> Result<(), StorageError> {
        let _g = self.mutex.lock().unwrap_or_else(|p| p.into_inner());
        if read_opt(&self.file)?.is_some() {
            return Err(StorageError::LockExists);
        }
        replace_file(&self.file, checkpoint)
    }

    fn compare_and_swap(&self, old: &[u8], new: &[u8]) -> Result<(), StorageError> {
        let _g = self.mutex.lock().unwrap_or_else(|p| p.into_inner());
        if read_opt(&self.file)?.as_deref() != Some(old) {
            return Err(StorageError::CasConflict);
        }
        replace_file(&self.file, new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immutable_and_mutable_semantics() {
        let dir = tempfile::tempdir().unwrap();
        let s = FsStorage::new(dir.path()).unwrap();
        s.put_immutable("tile/0/000", b"abc").unwrap();
        s.put_immutable("tile/0/000", b"abc").unwrap();
        assert!(matches!(
            s.put_immutable("tile/0/000", b"abd"),
            Err(StorageError::ImmutableMismatch(_))
        ));
        assert!(s.put_mutable("tile/0/000", b"x").is_err());
        s.put_mutable("checkpoint", b"1").unwrap();
        s.put_mutable("checkpoint", b"2").unwrap();
        assert_eq!(s.get("checkpoint").unwrap().unwrap(), b"2");
        s.delete("checkpoint").unwrap();
        s.delete("checkpoint").unwrap();
        assert_eq!(s.get("checkpoint").unwrap(), None);
        assert!(s.get("../etc/passwd").is_err());
        // No temp files left behind.
        let names: Vec<_> = fs::read_dir(dir.path().join("tile/0"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["000"]);
    }

    #[test]
    fn many_immutable_objects() {
        let dir = tempfile::tempdir().unwrap();
        let s = FsStorage::new(dir.path()).unwrap();
        let objs: Vec<(String, Vec<u8>)> = (0..50)
            .map(|i| (format!("tile/{}/{i:03}", i % 3), vec![i as u8; 64]))
            .collect();
        s.put_immutable_many(&objs).unwrap();
        s.put_immutable_many(&objs).unwrap();
        for (p, d) in &objs {
            assert_eq!(&s.get(p).unwrap().unwrap(), d);
        }
        let mut clash = objs.clone();
        clash[17].1[0] ^= 1;
        assert!(matches!(
            s.put_immutable_many(&clash),
            Err(StorageError::ImmutableMismatch(p)) if p == objs[17].0
        ));
    }

    #[test]
    fn lock_cas_and_exclusion() {
        let dir = tempfile::tempdir().unwrap();
        let l = FileLock::open(dir.path()).unwrap();
        assert!(matches!(
            FileLock::open(dir.path()),
            Err(StorageError::LockBusy(_))
        ));
        assert_eq!(l.load().unwrap(), None);
        l.create(b"a").unwrap();
        assert!(matches!(l.create(b"b"), Err(StorageError::LockExists)));
        assert!(matches!(
            l.compare_and_swap(b"x", b"b"),
            Err(StorageError::CasConflict)
        ));
        l.compare_and_swap(b"a", b"b").unwrap();
        assert_eq!(l.load().unwrap().unwrap(), b"b");
        drop(l);
        let l2 = FileLock::open(dir.path()).unwrap();
        assert_eq!(l2.load().unwrap().unwrap(), b"b");
    }
}
