//! http-01 (RFC 8555 §8.3) through an existing web server: the key authorization is written
//! to `<webroot>/.well-known/acme-challenge/<token>` (mode 0644, atomically) and removed
//! after validation. The token must be base64url (checked by the caller before this runs),
//! so it cannot name a path outside that directory.

use crate::cron::error::CronError;
use crate::cron::state::{remove_durable, write_atomic};
use std::path::{Path, PathBuf};

/// Where tokens go below the web root.
pub const CHALLENGE_DIR: &str = ".well-known/acme-challenge";

/// Writes the token file; returns its path for [`remove`].
pub fn add(webroot: &Path, token: &str, key_authorization: &str) -> Result<PathBuf, CronError> {
    if !arbor_proto::b64::is_base64url(token) || token.is_empty() {
        return Err(CronError::BadToken(token.to_string()));
    }
    let dir = webroot.join(CHALLENGE_DIR);
    std::fs::create_dir_all(&dir).map_err(CronError::io("create directory", &dir))?;
    let path = dir.join(token);
    write_atomic(&path, key_authorization.as_bytes(), 0o644)?;
    Ok(path)
}

/// Removes a token file written by [`add`].
pub fn remove(path: &Path) -> Result<(), CronError> {
    remove_durable(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_removes_and_refuses_bad_tokens() {
        let d = tempfile::tempdir().unwrap();
        let p = add(d.path(), "tok-EN_1", "tok-EN_1.thumb").unwrap();
        assert_eq!(p, d.path().join(".well-known/acme-challenge/tok-EN_1"));
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "tok-EN_1.thumb");
        remove(&p).unwrap();
        assert!(!p.exists());
        assert!(matches!(
            add(d.path(), "../x", "k"),
            Err(CronError::BadToken(_))
        ));
        assert!(matches!(
            add(d.path(), "", "k"),
            Err(CronError::BadToken(_))
        ));
    }
}
