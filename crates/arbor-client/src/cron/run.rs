//! Acting on the plan: one pass over every configured certificate (RFC 8555 §7.1 issuance
//! cycle, driven as a resumable state machine). Every step that creates something at the
//! CA or on disk is saved before the next one starts: the order URL right after newOrder,
//! the certificate key before finalize, the downloaded chain before installation. A crash
//! anywhere therefore resumes the same order with the same key next run.
//!
//! Never blocks long: a `Retry-After` beyond [`RunOptions::max_inline_wait`] is saved and
//! the order resumed next run; a rate limit is saved with its retry time.

use crate::account::Account;
use crate::cron::ari;
use crate::cron::config::{CertConfig, Config, KeyChoice};
use crate::cron::error::CronError;
use crate::cron::install;
use crate::cron::lock::RunLock;
use crate::cron::plan::{self, Action};
use crate::cron::session::{RunOptions, Session};
use crate::cron::solvers::Solvers;
use crate::cron::state::{
    CertState, Failure, Issued, KEY_MODE, Pending, State, read_key, remove_durable, write_atomic,
};
use crate::cron::{EXIT_CERT_FAILED, EXIT_OK, fmt_time};
use crate::csr::{csr_with_key, pem_chain_to_der};
use crate::error::ClientError;
use crate::order::PollOptions;
use arbor_proto::ProblemType;
use arbor_proto::objects::{AuthzStatus, ChallengeStatus, Order, OrderStatus};
use arbor_proto::sign::SigningKey;
use std::time::Duration;

/// Bound on one pass's work on a single order (all polling included).
pub const ORDER_PASS_BUDGET: Duration = Duration::from_secs(180);
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
    let mut state = sess.dir.load()?;
    let mut report = PassReport::default();
    for cert in &cfg.certificates {
        state.certificates.entry(cert.name.clone()).or_default();
        let r = process(&mut sess, &mut state, cert).await;
        let outcome = match r {
            Ok(o) => o,
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

fn line(cert: &CertConfig, ok: bool, issued: bool, text: String) -> CertOutcome {
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
            Ok(line(
                cert,
                true,
                false,
                format!(
                    "ok, valid until {until}; renewal due {} ({why})",
                    fmt_time(next)
                ),
            ))
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
            install::deploy(cert).await?;
            cert_state(state, &cert.name).deploy_pending = false;
            sess.dir.save(state)?;
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

fn drop_pending(sess: &Session<'_>, state: &mut State, cert: &CertConfig) -> Result<(), CronError> {
    cert_state(state, &cert.name).pending = None;
    sess.dir.save(state)?;
    remove_durable(&sess.dir.cert_dir(&cert.name)?.join("pending.key"))
}

async fn drive_order(
    sess: &mut Session<'_>,
    state: &mut State,
    cert: &CertConfig,
) -> Result<CertOutcome, CronError> {
    let acct = sess.account(state).await?;
    let Some(pending) = cert_state(state, &cert.name).pending.clone() else {
        return Ok(line(cert, true, false, "nothing pending".into()));
    };
    let url = pending.order_url.clone();
    let started = tokio::time::Instant::now();
    loop {
        let order = match acct.order(&url).await {
            Ok(o) => o,
            Err(e) if is_gone(&e) => {
                drop_pending(sess, state, cert)?;
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        match order.value.status {
            OrderStatus::Pending => {
                match authorize(sess, &acct, cert, &order.value).await {
                    Err(CronError::Acme(e @ ClientError::Invalid { .. })) => {
                        drop_pending(sess, state, cert)?;
                        return Err(e.into());
                    }
                    r => r?,
                }
                sess.crash_point("challenges")?;
            }
            OrderStatus::Ready => {
                let key_pem = ensure_cert_key(sess, cert)?;
                sess.crash_point("key")?;
                let kp = rcgen_key(&key_pem, cert.key)?;
                let csr = csr_with_key(&cert.acme_identifiers(), &kp)?;
                acct.finalize(&order.value.finalize, &csr.der).await?;
                sess.crash_point("finalize")?;
            }
            OrderStatus::Processing => {
                let wait = order.retry_after.unwrap_or(sess.opts.poll_interval);
                if wait > sess.opts.max_inline_wait {
                    let until = sess.now() + wait.as_secs() as i64;
                    if let Some(p) = cert_state(state, &cert.name).pending.as_mut() {
                        p.not_before = Some(until);
                    }
                    sess.dir.save(state)?;
                    return Ok(line(
                        cert,
                        true,
                        false,
                        format!("order processing; polling again after {}", fmt_time(until)),
                    ));
                }
                tokio::time::sleep(wait.max(sess.opts.poll_interval)).await;
            }
            OrderStatus::Valid => {
                let issued = finish(sess, state, cert, &acct, &order.value, &pending).await?;
                install_current(sess, state, cert).await?;
                return Ok(line(
                    cert,
                    true,
                    true,
                    format!(
                        "issued ({}), serial {}, valid until {}",
                        pending.reason,
                        issued.serial,
                        fmt_time(issued.not_after)
                    ),
                ));
            }
            OrderStatus::Invalid => {
                drop_pending(sess, state, cert)?;
                return Err(ClientError::Invalid {
                    what: "order",
                    url,
                    problem: order.value.error.map(Box::new),
                }
                .into());
            }
        }
        if started.elapsed() > ORDER_PASS_BUDGET {
            return Ok(line(
                cert,
                false,
                false,
                format!(
                    "order still {} after {ORDER_PASS_BUDGET:?}; resuming next run",
                    order.value.status.as_str()
                ),
            ));
        }
    }
}

fn is_gone(e: &ClientError) -> bool {
    matches!(
        e,
        ClientError::Problem { status: 404, .. }
            | ClientError::UnexpectedStatus { status: 404, .. }
    )
}

/// Provisions, answers and polls every pending authorization of `order`; cleans up always.
async fn authorize(
    sess: &Session<'_>,
    acct: &Account,
    cert: &CertConfig,
    order: &Order,
) -> Result<(), CronError> {
    let mut solvers = Solvers::new(sess.cfg, cert);
    let poll = PollOptions {
        interval: sess.opts.poll_interval,
        timeout: sess.opts.authz_timeout,
        honor_retry_after: true,
        max_retry_after: sess.opts.max_inline_wait,
    };
    let result = async {
        let mut started = Vec::new();
        for az_url in &order.authorizations {
            let az = acct.authorization(az_url).await?.value;
            match az.status {
                AuthzStatus::Valid => continue,
                AuthzStatus::Pending => {}
                _ => {
                    return Err(CronError::Acme(ClientError::Invalid {
                        what: "authorization",
                        url: az_url.clone(),
                        problem: az
                            .challenges
                            .iter()
                            .find_map(|c| c.error.clone())
                            .map(Box::new),
                    }));
                }
            }
            let domain = az.identifier.value.clone();
            let lookup = if az.wildcard == Some(true) {
                format!("*.{domain}")
            } else {
                domain.clone()
            };
            let kind = cert
                .identifiers
                .iter()
                .find(|i| i.eq_ignore_ascii_case(&lookup))
                .map(|i| cert.challenge_for(i))
                .unwrap_or(cert.challenge);
            let ch = az
                .challenges
                .iter()
                .find(|c| c.typ == kind.as_str())
                .ok_or_else(|| ClientError::NoSuchChallenge {
                    authz: az_url.clone(),
                    typ: kind.as_str().to_string(),
                })?;
            let ka = acct.key_authorization(&ch.token);
            solvers.provision(kind, &domain, &ch.token, &ka).await?;
            started.push((az_url.clone(), ch.url.clone(), ch.status));
        }
        solvers.ready().await?;
        for (_, ch_url, status) in &started {
            if *status == ChallengeStatus::Pending {
                acct.respond_challenge(ch_url).await?;
            }
        }
        for (az_url, _, _) in &started {
            acct.poll_authorization(az_url, &poll).await?;
        }
        Ok(())
    }
    .await;
    let cleaned = solvers.cleanup().await;
    result?;
    cleaned
}

/// The certificate key for the pending order: loaded if saved, else generated and saved
/// (0600) before it is used in a CSR.
fn ensure_cert_key(sess: &Session<'_>, cert: &CertConfig) -> Result<String, CronError> {
    let path = sess.dir.cert_dir(&cert.name)?.join("pending.key");
    if let Some(k) = read_key(&path)? {
        return Ok(k.to_pem());
    }
    let key = SigningKey::generate(cert.key.kind()).map_err(|e| CronError::BadKey {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let pem = key.to_pem();
    write_atomic(&path, pem.as_bytes(), KEY_MODE)?;
    Ok(pem)
}

fn rcgen_key(pem: &str, choice: KeyChoice) -> Result<rcgen::KeyPair, CronError> {
    let parsed = SigningKey::from_pem(pem).map_err(|e| CronError::BadKey {
        path: "pending.key".into(),
        reason: e.to_string(),
    })?;
    let kind = match parsed.kind() {
        arbor_proto::sign::KeyKind::P384 => KeyChoice::P384,
        arbor_proto::sign::KeyKind::Rsa2048
        | arbor_proto::sign::KeyKind::Rsa3072
        | arbor_proto::sign::KeyKind::Rsa4096 => KeyChoice::Rsa2048,
        arbor_proto::sign::KeyKind::Ed25519 => KeyChoice::Ed25519,
        _ => {
            let _ = choice;
            KeyChoice::P256
        }
    };
    let alg = match kind {
        KeyChoice::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeyChoice::P384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        KeyChoice::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
        KeyChoice::Ed25519 => &rcgen::PKCS_ED25519,
    };
    rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(pem, alg).map_err(|e| CronError::BadKey {
        path: "pending.key".into(),
        reason: e.to_string(),
    })
}

/// Picks the chain whose topmost certificate was issued by `preferred` (CN), else the
/// default.
async fn download(
    acct: &Account,
    cert_url: &str,
    preferred: Option<&str>,
) -> Result<Vec<Vec<u8>>, CronError> {
    let main = acct.certificate(cert_url).await?;
    let default = pem_chain_to_der(&main.pem)?;
    let Some(want) = preferred else {
        return Ok(default);
    };
    let top_issuer = |ders: &[Vec<u8>]| {
        ders.last()
            .and_then(|d| ari::cert_facts(d).ok())
            .and_then(|f| f.issuer_cn)
    };
    if top_issuer(&default).as_deref() == Some(want) {
        return Ok(default);
    }
    for alt in &main.alternates {
        let c = acct.certificate(alt).await?;
        let ders = pem_chain_to_der(&c.pem)?;
        if top_issuer(&ders).as_deref() == Some(want) {
            return Ok(ders);
        }
    }
    Ok(default)
}

/// Downloads the chain of a valid order, checks it matches the saved key, and saves it as
/// the current certificate (install pending).
async fn finish(
    sess: &mut Session<'_>,
    state: &mut State,
    cert: &CertConfig,
    acct: &Account,
    order: &Order,
    pending: &Pending,
) -> Result<Issued, CronError> {
    let cert_url = order
        .certificate
        .clone()
        .ok_or_else(|| ClientError::NoCertificateUrl(pending.order_url.clone()))?;
    let chain = download(acct, &cert_url, cert.preferred_chain.as_deref()).await?;
    let dir = sess.dir.cert_dir(&cert.name)?;
    let key_path = dir.join("pending.key");
    let key = read_key(&key_path)?.ok_or_else(|| CronError::BadKey {
        path: key_path.clone(),
        reason: "the order is valid but its key is missing".into(),
    })?;
    let leaf = chain
        .first()
        .ok_or_else(|| CronError::BadCertificate("empty chain".into()))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| CronError::BadCertificate(e.to_string()))?;
    let kp = rcgen_key(&key.to_pem(), cert.key)?;
    if parsed.tbs_certificate.subject_pki.raw
        != rcgen::PublicKeyData::subject_public_key_info(&kp).as_slice()
    {
        return Err(CronError::BadCertificate(
            "the issued certificate does not carry our key".into(),
        ));
    }
    let facts = ari::cert_facts(leaf)?;
    let full: String = chain.iter().map(|d| install::cert_pem(d)).collect();
    write_atomic(&dir.join("chain.pem"), full.as_bytes(), 0o600)?;
    write_atomic(&dir.join("cert.key"), key.to_pem().as_bytes(), KEY_MODE)?;
    let issued = Issued {
        identifiers: pending.identifiers.clone(),
        cert_id: facts.cert_id,
        serial: facts.serial,
        not_before: facts.not_before,
        not_after: facts.not_after,
        order_url: pending.order_url.clone(),
        certificate_url: cert_url,
    };
    let cs = cert_state(state, &cert.name);
    cs.current = Some(issued.clone());
    cs.pending = None;
    cs.renewal = None;
    cs.failure = None;
    cs.install_pending = true;
    cs.deploy_pending = cert.deploy_hook.is_some();
    sess.dir.save(state)?;
    remove_durable(&key_path)?;
    sess.crash_point("download")?;
    Ok(issued)
}

/// Writes the saved key and chain to `output_dir`, then runs the deploy hook.
async fn install_current(
    sess: &mut Session<'_>,
    state: &mut State,
    cert: &CertConfig,
) -> Result<(), CronError> {
    let dir = sess.dir.cert_dir(&cert.name)?;
    let key = std::fs::read_to_string(dir.join("cert.key"))
        .map_err(CronError::io("read", &dir.join("cert.key")))?;
    let chain_pem = std::fs::read_to_string(dir.join("chain.pem"))
        .map_err(CronError::io("read", &dir.join("chain.pem")))?;
    let chain = pem_chain_to_der(&chain_pem)?;
    install::install_files(cert, &key, &chain)?;
    cert_state(state, &cert.name).install_pending = false;
    sess.dir.save(state)?;
    sess.crash_point("install")?;
    if cert_state(state, &cert.name).deploy_pending {
        install::deploy(cert).await?;
        cert_state(state, &cert.name).deploy_pending = false;
        sess.dir.save(state)?;
    }
    Ok(())
}
