//! The landmark-relative certificate of a Merkle Tree Certificate, picked up by a later
//! run (draft-ietf-plants-merkle-tree-certs §9, PR #207): ask the CA through the design
//! it offers once its `Retry-After` has passed, check that the answer is the same
//! certificate (same TBSCertificate as the installed standalone one, an MTC proof), save
//! it, install `landmark.pem` + `landmark.pem.properties` beside the standalone
//! certificate and run the deploy hook again.
//!
//! Stampede manners: the next check is the CA's `Retry-After` plus up to 10 % random
//! jitter (at most five minutes), so a fleet of cron clients that were all told "after
//! the next landmark" does not arrive in the same second; a `503` with a short
//! `Retry-After` is retried inside the request.

use crate::cron::config::{CertConfig, LandmarkFetch};
use crate::cron::error::CronError;
use crate::cron::fmt_time;
use crate::cron::install;
use crate::cron::run::cert_state;
use crate::cron::session::Session;
use crate::cron::state::{LandmarkState, LandmarkStatus, State, write_atomic};
use crate::csr::pem_chain_to_der;
use crate::mtc::RelativeFetch;
use arbor_mtc::MtcCertificate;
use std::path::PathBuf;
use std::time::Duration;

/// Without a `Retry-After`, ask again after this long (seconds; landmarks are hourly).
pub const DEFAULT_LANDMARK_POLL: i64 = 3_600;
/// Never wait longer than this between checks (seconds).
pub const MAX_LANDMARK_POLL: i64 = 86_400;
/// Upper bound of the random jitter added to a `Retry-After` (seconds).
pub const MAX_JITTER: i64 = 300;

/// Seconds until the next check after a "not yet" with `retry_after`.
pub fn next_wait(retry_after: Option<Duration>) -> i64 {
    let base = retry_after
        .map(|d| d.as_secs() as i64)
        .unwrap_or(DEFAULT_LANDMARK_POLL)
        .clamp(1, MAX_LANDMARK_POLL);
    base + rand::random_range(0..=(base / 10).min(MAX_JITTER))
}

/// The state files of the landmark-relative certificate of `name`.
fn files(sess: &Session<'_>, name: &str) -> Result<(PathBuf, PathBuf), CronError> {
    let dir = sess.dir.cert_dir(name)?;
    Ok((dir.join("landmark.pem"), dir.join("landmark.properties")))
}

/// The initial landmark state of a just-issued MTC.
pub(crate) fn initial(
    cert: &CertConfig,
    serial: String,
    alternate_url: Option<String>,
    new_relative_offered: bool,
    landmark_document: Option<String>,
    now: i64,
) -> LandmarkState {
    let (status, note) = match (cert.landmark, &alternate_url, new_relative_offered) {
        (LandmarkFetch::Never, _, _) => (LandmarkStatus::Unavailable, Some("landmark = never")),
        (LandmarkFetch::Auto, None, false) => (
            LandmarkStatus::Unavailable,
            Some("the CA offers no landmark-relative certificate"),
        ),
        (LandmarkFetch::OptionalAlternate, None, _) => (
            LandmarkStatus::Unavailable,
            Some("the CA linked no acme-optional-alternate"),
        ),
        (LandmarkFetch::NewRelativeCertificate, _, false) => (
            LandmarkStatus::Unavailable,
            Some("the CA's directory has no newRelativeCertificate"),
        ),
        _ => (LandmarkStatus::Waiting, None),
    };
    LandmarkState {
        serial,
        alternate_url,
        new_relative_offered,
        landmark_document,
        status,
        next_check: now,
        attempts: 0,
        note: note.map(str::to_string),
    }
}

/// One step for the landmark-relative certificate of `cert`: install a saved one, or ask
/// the CA. Returns the report text.
pub(crate) async fn advance(
    sess: &mut Session<'_>,
    state: &mut State,
    cert: &CertConfig,
) -> Result<String, CronError> {
    let Some(l) = cert_state(state, &cert.name).landmark.clone() else {
        return Ok("no landmark-relative certificate expected".into());
    };
    match l.status {
        LandmarkStatus::Saved => {
            install_saved(sess, state, cert).await?;
            return Ok("installed the saved landmark-relative certificate".into());
        }
        LandmarkStatus::Waiting => {}
        LandmarkStatus::Installed | LandmarkStatus::Unavailable => {
            return Ok("nothing to do for the landmark-relative certificate".into());
        }
    }
    let acct = sess.account(state).await?;
    let dir = sess.dir.cert_dir(&cert.name)?;
    let chain_path = dir.join("chain.pem");
    let chain_pem =
        std::fs::read_to_string(&chain_path).map_err(CronError::io("read", &chain_path))?;
    let standalone = pem_chain_to_der(&chain_pem)?.swap_remove(0);
    let use_a = match cert.landmark {
        LandmarkFetch::OptionalAlternate => true,
        LandmarkFetch::Auto => l.alternate_url.is_some(),
        LandmarkFetch::NewRelativeCertificate | LandmarkFetch::Never => false,
    };
    let (design, answer) = match (&l.alternate_url, use_a) {
        (Some(url), true) => (
            "acme-optional-alternate",
            acct.landmark_alternate(url).await?,
        ),
        _ => (
            "newRelativeCertificate",
            acct.new_relative_certificate(&standalone).await?,
        ),
    };
    let now = sess.now();
    match answer {
        RelativeFetch::Ready(c) => {
            let leaf = c.chain.first().ok_or_else(|| {
                CronError::BadCertificate("empty landmark-relative download".into())
            })?;
            same_certificate(&standalone, leaf)?;
            let (pem_path, props_path) = files(sess, &cert.name)?;
            match &c.properties {
                Some(p) => write_atomic(&props_path, p, 0o600)?,
                None => crate::cron::state::remove_durable(&props_path)?,
            }
            write_atomic(&pem_path, install::cert_pem(leaf).as_bytes(), 0o600)?;
            if let Some(l) = cert_state(state, &cert.name).landmark.as_mut() {
                l.status = LandmarkStatus::Saved;
                l.note = None;
            }
            sess.dir.save(state)?;
            sess.crash_point("landmark")?;
            install_saved(sess, state, cert).await?;
            Ok(format!(
                "landmark-relative certificate installed ({design}, after {} not-yet answers)",
                l.attempts
            ))
        }
        RelativeFetch::NotYet { retry_after } => {
            let next = now + next_wait(retry_after);
            if let Some(l) = cert_state(state, &cert.name).landmark.as_mut() {
                l.attempts += 1;
                l.next_check = next;
                l.note = Some(format!("no landmark covers it yet ({design})"));
            }
            sess.dir.save(state)?;
            Ok(format!(
                "no landmark covers the certificate yet; asking again after {}",
                fmt_time(next)
            ))
        }
        RelativeFetch::TooOld { detail } => {
            if let Some(l) = cert_state(state, &cert.name).landmark.as_mut() {
                l.status = LandmarkStatus::Unavailable;
                l.note = Some(detail.clone());
            }
            sess.dir.save(state)?;
            Ok(format!(
                "no landmark-relative certificate will come (keeping the standalone one): {detail}"
            ))
        }
    }
}

/// The landmark-relative certificate must be an MTC with the same TBSCertificate as the
/// standalone one (§6.3: only the proof differs).
fn same_certificate(standalone: &[u8], relative: &[u8]) -> Result<(), CronError> {
    let s = MtcCertificate::from_der(standalone)
        .map_err(|e| CronError::BadCertificate(format!("standalone certificate: {e}")))?;
    let r = MtcCertificate::from_der(relative).map_err(|e| {
        CronError::BadCertificate(format!("landmark-relative certificate is not an MTC: {e}"))
    })?;
    if s.tbs != r.tbs {
        return Err(CronError::BadCertificate(
            "the landmark-relative certificate is not for the installed certificate".into(),
        ));
    }
    Ok(())
}

/// Installs the saved landmark-relative certificate and runs the deploy hook.
async fn install_saved(
    sess: &mut Session<'_>,
    state: &mut State,
    cert: &CertConfig,
) -> Result<(), CronError> {
    install_files(sess, cert)?;
    let cs = cert_state(state, &cert.name);
    if let Some(l) = cs.landmark.as_mut() {
        l.status = LandmarkStatus::Installed;
    }
    cs.deploy_pending = cert.deploy_hook.is_some();
    sess.dir.save(state)?;
    sess.crash_point("landmark-install")?;
    install::deploy_if_pending(sess, state, cert).await
}

/// Writes the saved landmark-relative certificate to `output_dir`.
pub(crate) fn install_files(sess: &Session<'_>, cert: &CertConfig) -> Result<(), CronError> {
    let (pem_path, props_path) = files(sess, &cert.name)?;
    let pem = std::fs::read_to_string(&pem_path).map_err(CronError::io("read", &pem_path))?;
    let der = pem_chain_to_der(&pem)?.swap_remove(0);
    let props = crate::cron::state::read_optional(&props_path)?;
    install::install_landmark(cert, &der, props.as_deref())
}

/// Drops the landmark files of a replaced certificate from the state directory.
pub(crate) fn forget(sess: &Session<'_>, name: &str) -> Result<(), CronError> {
    let (pem_path, props_path) = files(sess, name)?;
    crate::cron::state::remove_durable(&pem_path)?;
    crate::cron::state::remove_durable(&props_path)
}

/// For the report: when the landmark-relative certificate is next asked for.
pub fn idle_note(l: Option<&LandmarkState>, serial: &str) -> String {
    match l {
        Some(l) if l.serial == serial => match l.status {
            LandmarkStatus::Waiting => format!(
                "; landmark-relative certificate asked for again after {}",
                fmt_time(l.next_check)
            ),
            LandmarkStatus::Installed => "; landmark-relative certificate installed".into(),
            LandmarkStatus::Saved => "; landmark-relative certificate saved".into(),
            LandmarkStatus::Unavailable => format!(
                "; no landmark-relative certificate ({})",
                l.note.as_deref().unwrap_or("unavailable")
            ),
        },
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_bounded() {
        for _ in 0..200 {
            let w = next_wait(Some(Duration::from_secs(100)));
            assert!((100..=110).contains(&w), "{w}");
            let d = next_wait(None);
            assert!((3_600..=3_900).contains(&d), "{d}");
        }
        assert!(next_wait(Some(Duration::ZERO)) >= 1);
        assert!(next_wait(Some(Duration::from_secs(10_000_000))) <= MAX_LANDMARK_POLL + MAX_JITTER);
    }
}
