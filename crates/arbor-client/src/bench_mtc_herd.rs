//! The herd of the landmark-relative MTC benchmark ([`crate::bench_mtc`]): right after a
//! landmark, C workers fire M requests for landmark-relative certificates
//! (draft-ietf-plants-merkle-tree-certs §9 design A, ACME PR #207 design B), request `k`
//! for certificate `k mod N` by the account that ordered it.
//!
//! A `503` with `Retry-After` (RFC 9110 §10.2.3) is the server's stampede guard: counted,
//! waited out and resent. Any other non-certificate answer is a failure, tallied by kind.

use crate::account::Account;
use crate::bench_mtc::{LandmarkBenchConfig, MAX_KEPT_ERRORS, MtcCert, PEM_WITH_PROPERTIES};
use crate::bench_mtc_report::{Design, PhaseReport};
use crate::csr::pem_chain_to_der;
use crate::error::ClientError;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The HTTP status of an error reply.
pub(crate) fn status_of(e: &ClientError) -> Option<u16> {
    match e {
        ClientError::Problem { status, .. } | ClientError::UnexpectedStatus { status, .. } => {
            Some(*status)
        }
        _ => None,
    }
}

/// How one landmark-relative request ended.
enum Outcome {
    /// Answered with a certificate: total time (with 503 waits) and the answering request's.
    Served { total: Duration, service: Duration },
    /// Failed: a short kind for the tally and the message.
    Failed { kind: String, message: String },
}

/// One landmark-relative request, resent after each 503 + `Retry-After`; returns the
/// outcome and how many 503s it met.
async fn one_request(
    design: Design,
    account: &Account,
    cert: &MtcCert,
    b_url: &str,
    max_busy: u32,
) -> (Outcome, u64) {
    let start = Instant::now();
    let mut busy = 0u64;
    loop {
        let t = Instant::now();
        let res = match design {
            Design::A => {
                account
                    .post(&cert.landmark_url, None, Some(PEM_WITH_PROPERTIES))
                    .await
            }
            Design::B => {
                account
                    .post(b_url, Some(&cert.b_payload), Some(PEM_WITH_PROPERTIES))
                    .await
            }
        };
        let service = t.elapsed();
        let failed = move |kind: String, message: String| (Outcome::Failed { kind, message }, busy);
        let raw = match res {
            Ok(raw) => raw,
            Err(e) => match (status_of(&e), e.retry_after()) {
                (Some(503), Some(wait)) if busy < u64::from(max_busy) => {
                    busy += 1;
                    tokio::time::sleep(wait).await;
                    continue;
                }
                (Some(503), Some(_)) => {
                    return failed("503 retries exhausted".into(), e.to_string());
                }
                (Some(s), _) => {
                    let typ = match &e {
                        ClientError::Problem { problem, .. } => problem.typ.clone(),
                        _ => String::new(),
                    };
                    let typ = typ.trim_start_matches("urn:ietf:params:acme:error:");
                    return failed(format!("HTTP {s} {typ}").trim().into(), e.to_string());
                }
                (None, _) => return failed("client error".into(), e.to_string()),
            },
        };
        if raw.status != 200 {
            let msg = format!(
                "{} answered HTTP {} after the landmark",
                raw.url, raw.status
            );
            return failed(format!("HTTP {}", raw.status), msg);
        }
        let ders = std::str::from_utf8(&raw.body)
            .ok()
            .and_then(|p| pem_chain_to_der(p).ok());
        return match ders {
            Some(d) if d.first().is_some_and(|c| *c != cert.der) => (
                Outcome::Served {
                    total: start.elapsed(),
                    service,
                },
                busy,
            ),
            _ => failed(
                "bad body".into(),
                format!("{}: no landmark-relative PEM certificate", raw.url),
            ),
        };
    }
}

/// Fires `cfg.requests` landmark-relative requests with `cfg.concurrency` workers.
pub(crate) async fn fire(
    cfg: &LandmarkBenchConfig,
    design: Design,
    accounts: &Arc<Vec<Account>>,
    certs: Arc<Vec<MtcCert>>,
    b_url: &str,
) -> PhaseReport {
    let next = Arc::new(AtomicUsize::new(0));
    let kinds = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let start = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..cfg.concurrency.max(1) {
        let (accounts, certs, next) = (accounts.clone(), certs.clone(), next.clone());
        let (kinds, errors, b_url) = (kinds.clone(), errors.clone(), b_url.to_string());
        let (total, max_busy) = (cfg.requests, cfg.max_busy_retries);
        workers.push(tokio::spawn(async move {
            let (mut lat, mut svc, mut busy) = (Vec::new(), Vec::new(), 0u64);
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(cert) = certs.get(k % certs.len().max(1)).filter(|_| k < total) else {
                    break;
                };
                let Some(account) = accounts.get(cert.account) else {
                    break;
                };
                let (outcome, b) = one_request(design, account, cert, &b_url, max_busy).await;
                busy += b;
                match outcome {
                    Outcome::Served { total, service } => {
                        lat.push(total);
                        svc.push(service);
                    }
                    Outcome::Failed { kind, message } => {
                        *kinds
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .entry(kind)
                            .or_default() += 1;
                        let mut e = errors.lock().unwrap_or_else(|p| p.into_inner());
                        if e.len() < MAX_KEPT_ERRORS {
                            e.push(message);
                        }
                    }
                }
            }
            (lat, svc, busy)
        }));
    }
    let mut report = PhaseReport::new(design, cfg.requests, cfg.concurrency.max(1), certs.len());
    for w in workers {
        match w.await {
            Ok((lat, svc, busy)) => {
                report.latencies.extend(lat);
                report.service.extend(svc);
                report.busy += busy;
            }
            Err(e) => {
                let mut k = kinds.lock().unwrap_or_else(|p| p.into_inner());
                *k.entry("worker stopped".into()).or_default() += 1;
                errors
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(e.to_string());
            }
        }
    }
    report.wall = start.elapsed();
    report.latencies.sort_unstable();
    report.service.sort_unstable();
    report.served = report.latencies.len();
    report.failure_kinds = kinds.lock().unwrap_or_else(|p| p.into_inner()).clone();
    report.failures = report.failure_kinds.values().sum();
    report.errors = errors.lock().unwrap_or_else(|p| p.into_inner()).clone();
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench_mtc::{issue_and_wait, prepare};
    use crate::responder::Http01Responder;
    use arbor_server::app::{StartOptions, start};
    use arbor_server::state::RELATIVE_PERMITS;

    /// An MTC-enabled CA on loopback (1 s landmarks) validating http-01 on `http_port`.
    async fn mtc_ca(dir: &std::path::Path, http_port: u16) -> arbor_server::app::Running {
        start(StartOptions {
            data_dir: dir.to_path_buf(),
            listen: "127.0.0.1:0".parse().expect("addr"),
            public_http_listen: "127.0.0.1:0".parse().expect("addr"),
            public_http_base: "http://127.0.0.1:14080".into(),
            va: arbor_va::VaConfig {
                resolver: arbor_va::ResolverConfig::Fixed("127.0.0.1".parse().expect("ip")),
                http_port,
                tls_port: 5001,
                allow_loopback: true,
                timeout: Duration::from_secs(5),
                max_body: 64 * 1024,
            },
            ra: arbor_ra::RaConfig {
                rate_limits: arbor_ra::RateLimits::off(),
                ..arbor_ra::RaConfig::default()
            },
            front_end: arbor_server::FrontEndConfig::default(),
            server_names: vec!["localhost".into()],
            server_ips: vec!["127.0.0.1".parse().expect("ip")],
            organization: "Arbor bench test".into(),
            clock: Arc::new(arbor_ra::SystemClock),
            mtc: Some(arbor_server::mtc::MtcOptions {
                sequence_interval: Duration::from_millis(20),
                landmark_interval: Duration::from_secs(1),
                ..arbor_server::mtc::MtcOptions::default()
            }),
        })
        .await
        .expect("start CA")
    }

    /// With the build permits held when the herd starts, both designs meet the stampede
    /// guard: every 503 is counted, waited out and resent, and all requests are served.
    /// Asking with the wrong account is a failure, tallied by kind.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn busy_replies_are_counted_and_retried_and_errors_are_failures() {
        let dir = tempfile::tempdir().expect("temp dir");
        let responder = Http01Responder::start("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("responder");
        let running = mtc_ca(dir.path(), responder.local_addr().port()).await;
        let cfg = LandmarkBenchConfig {
            directory: format!("https://{}/dir", running.acme_addr),
            root_pem: Some(std::fs::read(dir.path().join("root.pem")).expect("root.pem")),
            certs: 3,
            requests: 24,
            concurrency: 3,
            landmark_timeout: Duration::from_secs(20),
            ..LandmarkBenchConfig::default()
        };
        let setup = prepare(&cfg, Arc::new(responder)).await.expect("prepare");
        assert!(
            setup.b_url.ends_with("/acme/new-relative-cert"),
            "{}",
            setup.b_url
        );
        let ready = issue_and_wait(&cfg, &setup)
            .await
            .expect("issued and covered");
        assert_eq!(ready.certs.len(), 3);
        assert_eq!(ready.issue.failures, 0, "{:?}", ready.issue.errors);
        for design in [Design::A, Design::B] {
            let permits = running.state.relative_permits.clone();
            let held = permits
                .acquire_many_owned(RELATIVE_PERMITS as u32)
                .await
                .expect("permits");
            let release = tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(1_200)).await;
                drop(held);
            });
            let r = fire(
                &cfg,
                design,
                &setup.accounts,
                ready.certs.clone(),
                &setup.b_url,
            )
            .await;
            release.await.expect("release");
            assert_eq!(
                r.failures, 0,
                "{design:?}: {:?} {:?}",
                r.failure_kinds, r.errors
            );
            assert_eq!(r.served, 24, "{design:?}");
            assert!(
                r.busy >= 3,
                "{design:?}: each first request met the guard: {}",
                r.busy
            );
            // A 503 carries Retry-After of at least 1 s, which was waited out.
            let slowest = r.latencies.last().copied().unwrap_or_default();
            assert!(slowest >= Duration::from_secs(1), "{design:?}: {slowest:?}");
            assert!(r.service.iter().all(|s| *s < slowest));
        }
        // Every certificate asked for by an account that did not order it: all failures.
        let n = setup.accounts.len();
        let wrong: Vec<MtcCert> = ready
            .certs
            .iter()
            .map(|c| MtcCert {
                account: (c.account + 1) % n,
                ..c.clone()
            })
            .collect();
        let r = fire(
            &cfg,
            Design::B,
            &setup.accounts,
            Arc::new(wrong),
            &setup.b_url,
        )
        .await;
        assert_eq!(
            (r.served, r.failures, r.busy),
            (0, 24, 0),
            "{:?}",
            r.failure_kinds
        );
        assert!(
            r.failure_kinds.keys().all(|k| k.starts_with("HTTP 4")),
            "{:?}",
            r.failure_kinds
        );
        assert_eq!(r.errors.len(), MAX_KEPT_ERRORS);
        for t in &running.tasks {
            t.abort();
        }
    }
}
