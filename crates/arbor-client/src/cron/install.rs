//! Installing an issued certificate: `key.pem` (mode `key_mode`, default 0600),
//! `cert.pem` (end-entity), `chain.pem` (issuers) and `fullchain.pem` (both, RFC 8555 §9.1
//! order) in `output_dir`, each written atomically with the configured mode and numeric
//! owner/group; then the `deploy_hook`, run with `ARBOR_CERT_NAME` and `ARBOR_OUTPUT_DIR`.
//!
//! A Merkle Tree Certificate (draft-ietf-plants-merkle-tree-certs) has no chain:
//! `cert.pem` and `fullchain.pem` hold the standalone certificate, `chain.pem` is empty,
//! and `cert.pem.properties` / `fullchain.pem.properties` hold its certificate properties
//! in their binary encoding (draft-ietf-tls-trust-anchor-ids §7). The landmark-relative
//! certificate arrives later as `landmark.pem` with `landmark.pem.properties`.

use crate::cron::config::CertConfig;
use crate::cron::error::CronError;
use crate::cron::hook::run_hook;
use crate::cron::state::{remove_durable, write_atomic};
use base64ct::{Base64, Encoding};
use std::path::Path;

/// Default mode of key.pem.
pub const DEFAULT_KEY_MODE: u32 = 0o600;
/// Default mode of the certificate files.
pub const DEFAULT_CERT_MODE: u32 = 0o644;

/// Encodes one DER certificate as PEM (RFC 7468 §5, 64-character lines).
pub fn cert_pem(der: &[u8]) -> String {
    let b64 = Base64::encode_string(der);
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// The landmark-relative certificate's file name in `output_dir`.
pub const LANDMARK_PEM: &str = "landmark.pem";
/// Suffix of a certificate file's properties file.
pub const PROPERTIES_SUFFIX: &str = ".properties";

fn properties_name(pem_name: &str) -> String {
    format!("{pem_name}{PROPERTIES_SUFFIX}")
}

/// Writes the four files of `cert` from the key and the DER chain (end-entity first),
/// and the properties files beside `cert.pem` and `fullchain.pem` when `properties` is
/// given (stale ones are removed otherwise).
pub fn install_files(
    cert: &CertConfig,
    key_pem: &str,
    chain: &[Vec<u8>],
    properties: Option<&[u8]>,
) -> Result<(), CronError> {
    let Some((leaf, issuers)) = chain.split_first() else {
        return Err(CronError::BadCertificate("empty chain".into()));
    };
    let dir = &cert.output_dir;
    std::fs::create_dir_all(dir).map_err(CronError::io("create directory", dir))?;
    let leaf_pem = cert_pem(leaf);
    let chain_pem: String = issuers.iter().map(|d| cert_pem(d)).collect();
    let full = format!("{leaf_pem}{chain_pem}");
    let key_mode = cert.key_mode.unwrap_or(DEFAULT_KEY_MODE);
    let cert_mode = cert.cert_mode.unwrap_or(DEFAULT_CERT_MODE);
    // The key first: a reader that sees a new cert.pem also finds its key.
    for (name, body, mode) in [
        ("key.pem", key_pem, key_mode),
        ("cert.pem", leaf_pem.as_str(), cert_mode),
        ("chain.pem", chain_pem.as_str(), cert_mode),
        ("fullchain.pem", full.as_str(), cert_mode),
    ] {
        let path = dir.join(name);
        write_atomic(&path, body.as_bytes(), mode)?;
        chown(&path, cert)?;
    }
    for name in ["cert.pem", "fullchain.pem"] {
        let path = dir.join(properties_name(name));
        match properties {
            Some(p) => {
                write_atomic(&path, p, cert_mode)?;
                chown(&path, cert)?;
            }
            None => remove_durable(&path)?,
        }
    }
    Ok(())
}

/// Writes `landmark.pem` and, when given, `landmark.pem.properties`.
pub fn install_landmark(
    cert: &CertConfig,
    der: &[u8],
    properties: Option<&[u8]>,
) -> Result<(), CronError> {
    let dir = &cert.output_dir;
    let mode = cert.cert_mode.unwrap_or(DEFAULT_CERT_MODE);
    let props = dir.join(properties_name(LANDMARK_PEM));
    match properties {
        Some(p) => {
            write_atomic(&props, p, mode)?;
            chown(&props, cert)?;
        }
        None => remove_durable(&props)?,
    }
    let path = dir.join(LANDMARK_PEM);
    write_atomic(&path, cert_pem(der).as_bytes(), mode)?;
    chown(&path, cert)
}

/// Removes `landmark.pem` and its properties (they belong to a replaced certificate).
pub fn remove_landmark(cert: &CertConfig) -> Result<(), CronError> {
    remove_durable(&cert.output_dir.join(LANDMARK_PEM))?;
    remove_durable(&cert.output_dir.join(properties_name(LANDMARK_PEM)))
}

fn chown(path: &Path, cert: &CertConfig) -> Result<(), CronError> {
    if cert.owner.is_none() && cert.group.is_none() {
        return Ok(());
    }
    std::os::unix::fs::chown(path, cert.owner, cert.group).map_err(CronError::io("chown", path))
}

/// Runs the deploy hook if the state says it has not yet succeeded for the installed
/// files, and records its success.
pub async fn deploy_if_pending(
    sess: &crate::cron::session::Session<'_>,
    state: &mut crate::cron::state::State,
    cert: &CertConfig,
) -> Result<(), CronError> {
    let cs = crate::cron::run::cert_state(state, &cert.name);
    if !cs.deploy_pending {
        return Ok(());
    }
    deploy(cert).await?;
    crate::cron::run::cert_state(state, &cert.name).deploy_pending = false;
    sess.dir.save(state)
}

/// Runs the deploy hook, if configured.
pub async fn deploy(cert: &CertConfig) -> Result<(), CronError> {
    let Some(cmd) = &cert.deploy_hook else {
        return Ok(());
    };
    let dir = cert.output_dir.to_string_lossy();
    run_hook(
        cmd,
        &[
            ("ARBOR_CERT_NAME", cert.name.as_str()),
            ("ARBOR_OUTPUT_DIR", &dir),
        ],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn files_and_modes() {
        let d = tempfile::tempdir().unwrap();
        let mut c = crate::cron::config::Config::parse(
            &format!(
                "directory = \"https://ca/dir\"\nstate_dir = \"s\"\n[[certificate]]\nname = \"a\"\nidentifiers = [\"a.example\"]\noutput_dir = \"{}\"\ncert_mode = 0o640\n",
                d.path().join("live").display()
            ),
            d.path(),
        )
        .unwrap();
        let c = c.certificates.remove(0);
        install_files(&c, "KEY", &[vec![1, 2, 3], vec![4, 5]], Some(&[9, 9])).unwrap();
        assert_eq!(
            std::fs::read(c.output_dir.join("fullchain.pem.properties")).unwrap(),
            vec![9, 9]
        );
        install_landmark(&c, &[7, 7], Some(&[8])).unwrap();
        assert!(c.output_dir.join("landmark.pem").exists());
        remove_landmark(&c).unwrap();
        assert!(!c.output_dir.join("landmark.pem").exists());
        assert!(!c.output_dir.join("landmark.pem.properties").exists());
        install_files(&c, "KEY", &[vec![1, 2, 3], vec![4, 5]], None).unwrap();
        assert!(!c.output_dir.join("cert.pem.properties").exists());
        let mode = |n: &str| {
            std::fs::metadata(c.output_dir.join(n))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        assert_eq!(mode("key.pem"), 0o600);
        assert_eq!(mode("cert.pem"), 0o640);
        let full = std::fs::read_to_string(c.output_dir.join("fullchain.pem")).unwrap();
        assert_eq!(full.matches("BEGIN CERTIFICATE").count(), 2);
        let chain = std::fs::read_to_string(c.output_dir.join("chain.pem")).unwrap();
        assert!(chain.contains("BAU="), "{chain}");
    }
}
