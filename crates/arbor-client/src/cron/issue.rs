//! Driving one saved order to a certificate (RFC 8555 §7.1 flow, resumable): answer the
//! pending authorizations (§7.5.1) through the solvers, save the certificate key before
//! finalize (§7.4), honour `processing` with its `Retry-After` (long waits are saved and
//! resumed next run), download the chain — the preferred one among the alternates
//! (§7.4.2) — check it carries our key, save it, then install the files.

use crate::account::Account;
use crate::cron::ari;
use crate::cron::config::{CertConfig, KeyChoice};
use crate::cron::error::CronError;
use crate::cron::fmt_time;
use crate::cron::install;
use crate::cron::landmark;
use crate::cron::run::{CertOutcome, cert_state, line};
use crate::cron::session::Session;
use crate::cron::solvers::Solvers;
use crate::cron::state::{
    Issued, KEY_MODE, LandmarkStatus, Pending, State, read_key, remove_durable, write_atomic,
};
use crate::csr::{csr_with_key, pem_chain_to_der};
use crate::error::ClientError;
use crate::order::PollOptions;
use arbor_proto::objects::{AuthzStatus, ChallengeStatus, Order, OrderStatus};
use arbor_proto::sign::SigningKey;
use std::time::Duration;

/// Bound on one pass's work on a single order (all polling included).
pub const ORDER_PASS_BUDGET: Duration = Duration::from_secs(180);

fn drop_pending(sess: &Session<'_>, state: &mut State, cert: &CertConfig) -> Result<(), CronError> {
    cert_state(state, &cert.name).pending = None;
    sess.dir.save(state)?;
    remove_durable(&sess.dir.cert_dir(&cert.name)?.join("pending.key"))
}

pub(crate) async fn drive_order(
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
                let kp = rcgen_key(&key_pem)?;
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
                let mut text = format!(
                    "issued ({}), serial {}, valid until {}",
                    pending.reason,
                    issued.serial,
                    fmt_time(issued.not_after)
                );
                if crate::cron::plan::landmark_due(cert_state(state, &cert.name)).is_some() {
                    // Ask once now: the answer's Retry-After schedules the next run's check.
                    match landmark::advance(sess, state, cert).await {
                        Ok(t) => text.push_str(&format!("; {t}")),
                        Err(e @ CronError::SimulatedCrash(_)) => return Err(e),
                        Err(e) => {
                            tracing::warn!(cert = %cert.name, error = %e, "landmark-relative certificate: retried next run");
                        }
                    }
                }
                return Ok(line(cert, true, true, text));
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

fn rcgen_key(pem: &str) -> Result<rcgen::KeyPair, CronError> {
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
        arbor_proto::sign::KeyKind::P256 | arbor_proto::sign::KeyKind::P521 => KeyChoice::P256,
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
    let mtc_profile = sess.cfg.is_mtc(cert);
    let (chain, properties, optional_alternate) = if mtc_profile {
        // draft-ietf-plants-merkle-tree-certs §9: the standalone certificate with its
        // properties, and the design-A link to the landmark-relative one.
        let c = acct.certificate_with_properties(&cert_url).await?;
        (
            c.chain,
            c.properties,
            c.optional_alternates.into_iter().next(),
        )
    } else {
        let chain = download(acct, &cert_url, cert.preferred_chain.as_deref()).await?;
        (chain, None, None)
    };
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
    let kp = rcgen_key(&key.to_pem())?;
    if parsed.tbs_certificate.subject_pki.raw
        != rcgen::PublicKeyData::subject_public_key_info(&kp).as_slice()
    {
        return Err(CronError::BadCertificate(
            "the issued certificate does not carry our key".into(),
        ));
    }
    let facts = ari::cert_facts(leaf)?;
    let is_mtc = arbor_mtc::MtcCertificate::from_der(leaf).is_ok();
    let full: String = chain.iter().map(|d| install::cert_pem(d)).collect();
    write_atomic(&dir.join("chain.pem"), full.as_bytes(), 0o600)?;
    write_atomic(&dir.join("cert.key"), key.to_pem().as_bytes(), KEY_MODE)?;
    let props_path = dir.join("cert.properties");
    match properties.as_deref().filter(|_| is_mtc) {
        Some(p) => write_atomic(&props_path, p, 0o600)?,
        None => remove_durable(&props_path)?,
    }
    landmark::forget(sess, &cert.name)?;
    let landmark = is_mtc.then(|| {
        landmark::initial(
            cert,
            facts.serial.clone(),
            optional_alternate,
            acct.client().directory().new_relative_certificate.is_some(),
            order.landmark_url.clone(),
            sess.now(),
        )
    });
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
    cs.landmark = landmark;
    sess.dir.save(state)?;
    remove_durable(&key_path)?;
    sess.crash_point("download")?;
    Ok(issued)
}

/// Writes the saved key and chain to `output_dir`, then runs the deploy hook.
pub(crate) async fn install_current(
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
    let props_path = dir.join("cert.properties");
    let properties = crate::cron::state::read_optional(&props_path)?;
    install::install_files(cert, &key, &chain, properties.as_deref())?;
    // landmark.pem belongs to this certificate only once it was fetched for it.
    let cs = cert_state(state, &cert.name);
    let own_landmark = cs
        .current
        .as_ref()
        .zip(cs.landmark.as_ref())
        .is_some_and(|(c, l)| {
            l.serial == c.serial
                && matches!(l.status, LandmarkStatus::Saved | LandmarkStatus::Installed)
        });
    if own_landmark {
        landmark::install_files(sess, cert)?;
    } else {
        install::remove_landmark(cert)?;
    }
    cert_state(state, &cert.name).install_pending = false;
    sess.dir.save(state)?;
    sess.crash_point("install")?;
    install::deploy_if_pending(sess, state, cert).await
}
