//! Acting on the plan: one pass over every configured certificate (RFC 8555 §7.1 issuance
//! cycle, driven as a resumable state machine). Every step that creates something at the
//! CA or on disk is saved before the next one starts: the order URL right after newOrder,
//! the certificate key before finalize, the downloaded chain before installation. A crash
//! anywhere therefore resumes the same order with the same key next run.
//!
//! The one window no client can close: a crash between newOrder's reply and the state write
//! leaves an order the client never learns about; it stays pending at the CA until it
//! expires, and no certificate is ever issued for it.
//!
//! Never blocks long: a `Retry-After` beyond [`RunOptions::max_inline_wait`] is saved and
//! the order resumed next run; a rate limit is saved with its retry time.

use crate::cron::ari;
use crate::cron::config::{CertConfig, Config};
use crate::cron::error::CronError;
use crate::cron::install;
use crate::cron::issue::{drive_order, install_current};
use crate::cron::lock::RunLock;
use crate::cron::plan::{self, Action};
use crate::cron::session::{RunOptions, Session};
use crate::cron::state::{CertState, Failure, Pending, State, remove_durable};
use crate::cron::{EXIT_CERT_FAILED, EXIT_OK, fmt_time};
use arbor_proto::ProblemType;

/// When a rate limit comes without `Retry-After`, try again after this long (seconds).
pub const DEFAULT_RATE_LIMIT_BACKOFF: i64 = 3_600;

/// The result for one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertOutcome {
    /// The certificate name.
    pub name: String,
    /// False if this certificate failed in this pass (or is blocked by a failure).
    pub ok: bool,
    /// One human line: what was done, why, what is next.
    pub line: String,
    /// Whether a new certificate was installed in this pass.
    pub issued: bool,
}

/// The result of a pass.
#[derive(Debug, Clone, Default)]
pub struct PassReport {
    /// Per certificate, in config order.
    pub outcomes: Vec<CertOutcome>,
}

impl PassReport {
    /// 0 if every certificate is fine, else 1.
    pub fn exit_code(&self) -> u8 {
        if self.outcomes.iter().all(|o| o.ok) {
            EXIT_OK
        } else {
            EXIT_CERT_FAILED
        }
    }
}

/// Runs one pass. Errors are whole-pass failures (lock held, unusable state, simulated
/// crash); per-certificate failures are in the report.
pub async fn run_pass(cfg: &Config, opts: &RunOptions) -> Result<PassReport, CronError> {
    let mut sess = Session::new(cfg, opts)?;
    let _lock = RunLock::acquire(&sess.dir.lock_path())?;
    sess.dir.sweep_temp_files();
    let mut state = sess.dir.load()?;
    let mut report = PassReport::default();
    for cert in &cfg.certificates {
        state.certificates.entry(cert.name.clone()).or_default();
        let r = process(&mut sess, &mut state, cert).await;
        let outcome = match r {
            Ok(o) => {
                let now = sess.now();
                let cs = cert_state(&mut state, &cert.name);
                let expired = cs
                    .failure
                    .as_ref()
                    .is_some_and(|f| f.retry_after.is_none_or(|t| t <= now));
                if o.ok && expired {
                    // Whatever failed before has worked now.
                    cs.failure = None;
                    sess.dir.save(&state)?;
                }
                o
            }
            Err(e @ CronError::SimulatedCrash(_)) => return Err(e),
            Err(e) => {
                let now = sess.now();
                let retry_after = match &e {
                    CronError::Acme(ce) if ce.problem_type() == Some(ProblemType::RateLimited) => {
                        Some(
                            now + ce
                                .retry_after()
                                .map(|d| d.as_secs() as i64)
                                .unwrap_or(DEFAULT_RATE_LIMIT_BACKOFF),
                        )
                    }
                    _ => None,
                };
                let cs = cert_state(&mut state, &cert.name);
                cs.failure = Some(Failure {
                    message: e.to_string(),
                    at: now,
                    retry_after,
                });
                sess.dir.save(&state)?;
                let next = match retry_after {
                    Some(t) => format!("retry after {}", fmt_time(t)),
                    None => "retry next run".into(),
                };
                CertOutcome {
                    name: cert.name.clone(),
                    ok: false,
                    line: format!("{}: FAILED: {e}; {next}", cert.name),
                    issued: false,
                }
            }
        };
        report.outcomes.push(outcome);
    }
    Ok(report)
}

pub(crate) fn cert_state<'s>(state: &'s mut State, name: &str) -> &'s mut CertState {
    state.certificates.entry(name.to_string()).or_default()
}

pub(crate) fn line(cert: &CertConfig, ok: bool, issued: bool, text: String) -> CertOutcome {
    CertOutcome {
        name: cert.name.clone(),
        ok,
        line: format!("{}: {text}", cert.name),
        issued,
    }
}

async fn process(
    sess: &mut Session<'_>,
    state: &mut State,
    cert: &CertConfig,
) -> Result<CertOutcome, CronError> {
    let now = sess.now();
    let cs = cert_state(state, &cert.name);
    if cs.current.is_some() && !cs.install_pending && !cert.output_dir.join("cert.pem").exists() {
        // The installed files went missing: write them again from the state directory.
        cs.install_pending = true;
    }
    refresh_ari(sess, state, cert, now).await?;
    let fraction = cert.renew_fraction(sess.cfg);
    let action = plan::decide(cert, cert_state(state, &cert.name), fraction, now);
    match action {
        Action::Idle { next, from_ari } => {
            let until = cert_state(state, &cert.name)
                .current
                .as_ref()
                .map(|c| fmt_time(c.not_after))
                .unwrap_or_default();
            let why = if from_ari {
                "ARI window"
            } else {
                "lifetime fraction"
            };
            let cs = cert_state(state, &cert.name);
            let lm = cs
                .current
                .as_ref()
                .map(|c| crate::cron::landmark::idle_note(cs.landmark.as_ref(), &c.serial))
                .unwrap_or_default();
            Ok(line(
                cert,
                true,
                false,
                format!(
                    "ok, valid until {until}; renewal due {} ({why}){lm}",
                    fmt_time(next)
                ),
            ))
        }
        Action::Landmark => {
            let text = crate::cron::landmark::advance(sess, state, cert).await?;
            Ok(line(cert, true, false, text))
        }
        Action::Wait { until, reason } => {
            let failed = cert_state(state, &cert.name).failure.is_some();
            Ok(line(
                cert,
                !failed,
                false,
                format!("waiting until {}: {reason}", fmt_time(until)),
            ))
        }
        Action::Install => {
            install_current(sess, state, cert).await?;
            Ok(line(
                cert,
                true,
                true,
                "installed the saved certificate".into(),
            ))
        }
        Action::Deploy => {
            install::deploy_if_pending(sess, state, cert).await?;
            Ok(line(cert, true, false, "deploy hook succeeded".into()))
        }
        Action::Order { reason, replaces } => {
            place_order(sess, state, cert, &reason, replaces).await?;
            drive_order(sess, state, cert).await
        }
        Action::Continue { .. } => drive_order(sess, state, cert).await,
    }
}

/// Fetches the ARI window when due. Failures only log: the saved window or the lifetime
/// fraction still decide.
async fn refresh_ari(
    sess: &mut Session<'_>,
    state: &mut State,
    cert: &CertConfig,
    now: i64,
) -> Result<(), CronError> {
    let cs = cert_state(state, &cert.name);
    if !plan::needs_ari_check(cs, now) {
        return Ok(());
    }
    let Some(id) = cs.current.as_ref().and_then(|c| c.cert_id.clone()) else {
        return Ok(());
    };
    let client = match sess.client().await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(cert = %cert.name, error = %e, "cannot reach the CA for renewal info");
            return Ok(());
        }
    };
    match ari::fetch_window(&client, &id).await {
        Ok(Some(w)) => {
            let cs = cert_state(state, &cert.name);
            cs.renewal = Some(ari::merge_window(cs.renewal.as_ref(), &id, w, now));
            sess.dir.save(state)?;
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(cert = %cert.name, error = %e, "renewal info unavailable"),
    }
    Ok(())
}

async fn place_order(
    sess: &mut Session<'_>,
    state: &mut State,
    cert: &CertConfig,
    reason: &str,
    replaces: Option<String>,
) -> Result<(), CronError> {
    let acct = sess.account(state).await?;
    let dir = sess.dir.cert_dir(&cert.name)?;
    remove_durable(&dir.join("pending.key"))?;
    let ids = cert.acme_identifiers();
    let profile = cert.profile.as_deref();
    let (order, replaces) = match acct.new_order(&ids, profile, replaces.as_deref()).await {
        Err(e) if replaces.is_some() && e.problem_type() == Some(ProblemType::AlreadyReplaced) => {
            // RFC 9773 §5: the certificate was already replaced; order without `replaces`.
            (acct.new_order(&ids, profile, None).await?, None)
        }
        r => (r?, replaces),
    };
    let now = sess.now();
    let cs = cert_state(state, &cert.name);
    cs.pending = Some(Pending {
        order_url: order.url,
        identifiers: cert.identifiers.clone(),
        replaces,
        reason: reason.to_string(),
        created: now,
        not_before: None,
    });
    cs.failure = None;
    sess.dir.save(state)?;
    sess.crash_point("order")
}
