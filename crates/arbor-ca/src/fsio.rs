//! Crash-safe files for the hierarchy: each file is written to a temporary
//! name in the same directory, fsynced, renamed over the target, and the
//! directory is fsynced, so a crash leaves either the old or the new file.
//! Key files are created with mode 0600 and refused on load if group- or
//! world-accessible.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::CaError;

/// Mode for private key files: owner read/write only.
pub(crate) const KEY_FILE_MODE: u32 = 0o600;
/// Mode for certificate files: world readable.
pub(crate) const CERT_FILE_MODE: u32 = 0o644;
/// Mode for a hierarchy directory we create.
const DIR_MODE: u32 = 0o700;

/// Creates `dir` (and parents) if absent.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), CaError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|e| CaError::io(dir, e))
}

/// Atomically replaces `dir/name` with `bytes`, created with `mode`.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> Result<(), CaError> {
    let target = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    // A stale temporary from an earlier crash is garbage; start afresh.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(CaError::io(&tmp, e)),
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| CaError::io(&tmp, e))?;
    f.write_all(bytes).map_err(|e| CaError::io(&tmp, e))?;
    f.sync_all().map_err(|e| CaError::io(&tmp, e))?;
    drop(f);
    fs::rename(&tmp, &target).map_err(|e| CaError::io(&target, e))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| CaError::io(dir, e))
}

/// Reads a UTF-8 text file.
pub(crate) fn read_text(path: &Path) -> Result<String, CaError> {
    fs::read_to_string(path).map_err(|e| CaError::io(path, e))
}

/// Reads a private key file after checking that only its owner can access it.
pub(crate) fn read_key_file(path: &Path) -> Result<String, CaError> {
    let meta = fs::metadata(path).map_err(|e| CaError::io(path, e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(CaError::InsecureKeyFile {
            path: path.to_path_buf(),
            mode,
        });
    }
    read_text(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_sets_mode() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "k", b"one", KEY_FILE_MODE).unwrap();
        write_atomic(dir.path(), "k", b"two", KEY_FILE_MODE).unwrap();
        let p = dir.path().join("k");
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(!dir.path().join(".k.tmp").exists());
        assert_eq!(read_key_file(&p).unwrap(), "two");
    }

    #[test]
    fn group_readable_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_atomic(dir.path(), "k", b"x", 0o640).unwrap();
        let err = read_key_file(&dir.path().join("k")).unwrap_err();
        assert!(matches!(err, CaError::InsecureKeyFile { mode: 0o640, .. }));
    }
}
