//! The landmark-relative MTC benchmark (draft-ietf-plants-merkle-tree-certs §9 "design A",
//! ACME pull request #207 "design B"). Per design, in its own phase:
//!
//! 1. N standalone Merkle Tree Certificates are issued under profile `mtc`, each through
//!    the full RFC 8555 http-01 cycle ([`crate::flow`]) by C accounts;
//! 2. the benchmark polls design A for the certificate with the highest log index until
//!    it answers `200`: a landmark now covers all N (landmarks cover a prefix of the log);
//! 3. at once, C workers fire M requests for landmark-relative certificates, request `k`
//!    for certificate `k mod N` by the account that ordered it: the herd a landmark
//!    releases. Reported: served/s, latency percentiles, and the stampede guard's 503s.
//!
//! A `503` with `Retry-After` is the server's stampede guard doing its job: it is counted,
//! waited out and the request resent, never a failure. Anything else that is not a
//! landmark-relative certificate (another 5xx, `202`/`landmarkNotReady` after the landmark,
//! a transport error, a body that is not one PEM certificate) is a failure and reported.
//! The herd is in [`crate::bench_mtc_herd`], the report and error types in
//! [`crate::bench_mtc_report`].

pub use crate::bench_mtc_report::{Design, IssueStats, LandmarkBenchError, PhaseReport};

use crate::account::Account;
use crate::bench_mtc_herd::{fire, status_of};
use crate::client::{AcmeClient, ClientOptions};
use crate::csr::pem_chain_to_der;
use crate::flow::issue_http01;
use crate::order::PollOptions;
use crate::responder::Http01Responder;
use arbor_proto::Identifier;
use arbor_proto::sign::{KeyKind, SigningKey};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The link relation of the design-A landmark-relative certificate (§9).
pub const OPTIONAL_ALTERNATE: &str = "acme-optional-alternate";
/// The media type an MTC-aware client asks for (§9): the certificate alone, plus its
/// `CERTIFICATE PROPERTIES` block. Used for every download here.
pub const PEM_WITH_PROPERTIES: &str = "application/pem-certificate-chain-with-properties";
/// The directory field naming the design-B resource (PR #207).
pub const NEW_RELATIVE_CERTIFICATE: &str = "newRelativeCertificate";
/// The low 48 bits of an MTC serial are the entry's log index (§5.2 serial layout).
const INDEX_MASK: u64 = (1 << 48) - 1;
/// How many distinct failure messages a phase keeps.
pub(crate) const MAX_KEPT_ERRORS: usize = 5;

/// What to measure.
#[derive(Debug, Clone)]
pub struct LandmarkBenchConfig {
    /// The server's directory URL.
    pub directory: String,
    /// Extra trust root (PEM) for the server's listener certificate.
    pub root_pem: Option<Vec<u8>>,
    /// N: standalone certificates issued per phase.
    pub certs: usize,
    /// M: landmark-relative requests per phase.
    pub requests: usize,
    /// C: concurrent workers (= accounts), for issuance and for the herd.
    pub concurrency: usize,
    /// The phases, in order.
    pub designs: Vec<Design>,
    /// The profile that issues MTCs.
    pub profile: String,
    /// Where the http-01 responder listens.
    pub http_addr: SocketAddr,
    /// Poll interval for orders.
    pub poll: Duration,
    /// Timeout for one order's polls.
    pub order_timeout: Duration,
    /// Poll interval of design A while waiting for the landmark (kept short so the herd
    /// starts right after the landmark; the server's `Retry-After` is only an estimate).
    pub landmark_poll: Duration,
    /// Give up waiting for a landmark after this long.
    pub landmark_timeout: Duration,
    /// 503s one request may meet before it counts as failed.
    pub max_busy_retries: u32,
    /// Names are `<random>.<domain_suffix>`.
    pub domain_suffix: String,
}

impl Default for LandmarkBenchConfig {
    fn default() -> Self {
        LandmarkBenchConfig {
            directory: "https://127.0.0.1:14000/dir".into(),
            root_pem: None,
            certs: 200,
            requests: 2000,
            concurrency: 32,
            designs: vec![Design::A, Design::B],
            profile: "mtc".into(),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 5002)),
            poll: Duration::from_millis(2),
            order_timeout: Duration::from_secs(60),
            landmark_poll: Duration::from_millis(50),
            landmark_timeout: Duration::from_secs(120),
            max_busy_retries: 20,
            domain_suffix: "bench.example.com".into(),
        }
    }
}

/// One issued standalone certificate and how to ask for its landmark-relative form.
#[derive(Debug, Clone)]
pub(crate) struct MtcCert {
    /// Index into the account list: the account that ordered it.
    pub(crate) account: usize,
    /// Design A: the `acme-optional-alternate` link of the certificate download.
    pub(crate) landmark_url: String,
    /// Design B: the JWS payload `{"standalone": base64url(DER)}`.
    pub(crate) b_payload: Vec<u8>,
    /// The standalone DER (the relative certificate must differ from it).
    pub(crate) der: Vec<u8>,
    /// The entry's log index.
    pub(crate) index: u64,
}

/// The log index of a standalone MTC: the low 48 bits of its serial number.
pub fn mtc_log_index(der: &[u8]) -> Option<u64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let raw = cert.tbs_certificate.raw_serial();
    let raw = &raw[raw.iter().position(|b| *b != 0).unwrap_or(raw.len())..];
    if raw.len() > 8 {
        return None;
    }
    let serial = raw.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    Some(serial & INDEX_MASK)
}

/// Runs one phase per design and returns their reports, in order.
pub async fn run_landmark_bench(
    cfg: LandmarkBenchConfig,
) -> Result<Vec<PhaseReport>, LandmarkBenchError> {
    let responder = Arc::new(Http01Responder::start(cfg.http_addr).await?);
    let setup = prepare(&cfg, responder).await?;
    let mut reports = Vec::new();
    for &design in &cfg.designs {
        let ready = issue_and_wait(&cfg, &setup).await?;
        let mut report = fire(&cfg, design, &setup.accounts, ready.certs, &setup.b_url).await;
        report.issue = ready.issue;
        report.landmark_index = ready.landmark_index;
        report.landmark_wait = ready.landmark_wait;
        reports.push(report);
    }
    Ok(reports)
}

/// What every phase shares: the accounts, the responder and the design-B URL.
pub(crate) struct Setup {
    pub(crate) accounts: Arc<Vec<Account>>,
    pub(crate) responder: Arc<Http01Responder>,
    pub(crate) b_url: String,
}

/// Connects (503s must reach us to be counted, so the client resends none itself),
/// finds design B in the directory if it is measured, and registers C accounts.
pub(crate) async fn prepare(
    cfg: &LandmarkBenchConfig,
    responder: Arc<Http01Responder>,
) -> Result<Setup, LandmarkBenchError> {
    let opts = ClientOptions {
        max_unavailable_retries: 0,
        ..ClientOptions::default()
    };
    let client = AcmeClient::with_options(&cfg.directory, cfg.root_pem.as_deref(), opts).await?;
    let b_url = match cfg.designs.contains(&Design::B) {
        true => {
            let dir: serde_json::Value = client.get(&cfg.directory).await?.json()?;
            let url = dir.get(NEW_RELATIVE_CERTIFICATE).and_then(|v| v.as_str());
            url.ok_or(LandmarkBenchError::NoDesignB)?.to_string()
        }
        false => String::new(),
    };
    let mut accounts = Vec::with_capacity(cfg.concurrency.max(1));
    for _ in 0..cfg.concurrency.max(1) {
        let key = SigningKey::generate(KeyKind::P256)?;
        accounts.push(client.new_account(key, &[], true, None).await?);
    }
    Ok(Setup {
        accounts: Arc::new(accounts),
        responder,
        b_url,
    })
}

/// A phase's certificates, all covered by a landmark.
pub(crate) struct Ready {
    pub(crate) certs: Arc<Vec<MtcCert>>,
    pub(crate) issue: IssueStats,
    pub(crate) landmark_index: u64,
    pub(crate) landmark_wait: Duration,
}

/// Steps 1 and 2: issue N MTCs, then wait until a landmark covers the newest.
pub(crate) async fn issue_and_wait(
    cfg: &LandmarkBenchConfig,
    setup: &Setup,
) -> Result<Ready, LandmarkBenchError> {
    let (certs, issue) = issue(cfg, &setup.accounts, &setup.responder).await?;
    let newest = certs.iter().max_by_key(|c| c.index).cloned();
    let Some(newest) = newest else {
        return Err(LandmarkBenchError::NothingIssued {
            wanted: cfg.certs,
            first: issue.errors.first().cloned().unwrap_or_default(),
        });
    };
    let Some(account) = setup.accounts.get(newest.account) else {
        return Err(LandmarkBenchError::NothingIssued {
            wanted: cfg.certs,
            first: "certificate of an unknown account".into(),
        });
    };
    let landmark_wait = wait_for_landmark(cfg, account, &newest).await?;
    Ok(Ready {
        certs: Arc::new(certs),
        issue,
        landmark_index: newest.index,
        landmark_wait,
    })
}

/// Issues `cfg.certs` MTCs with `cfg.concurrency` workers.
async fn issue(
    cfg: &LandmarkBenchConfig,
    accounts: &Arc<Vec<Account>>,
    responder: &Arc<Http01Responder>,
) -> Result<(Vec<MtcCert>, IssueStats), LandmarkBenchError> {
    let next = Arc::new(AtomicUsize::new(0));
    let poll = PollOptions::fast(cfg.poll, cfg.order_timeout);
    let start = Instant::now();
    let mut workers = Vec::new();
    for idx in 0..accounts.len() {
        let (accounts, responder, next) = (accounts.clone(), responder.clone(), next.clone());
        let (total, profile, suffix) = (cfg.certs, cfg.profile.clone(), cfg.domain_suffix.clone());
        workers.push(tokio::spawn(async move {
            let mut out = Vec::new();
            let account = &accounts[idx];
            while next.fetch_add(1, Ordering::Relaxed) < total {
                let name = Identifier::dns(format!("{}.{suffix}", crate::bench::random_label()));
                let t = Instant::now();
                let issued =
                    issue_http01(account, &responder, &[name], Some(&profile), &poll).await;
                let took = t.elapsed();
                let cert = match issued {
                    Ok(i) => describe(account, idx, &i.order_url).await,
                    Err(e) => Err(e.to_string()),
                };
                out.push(cert.map(|c| (c, took)));
            }
            out
        }));
    }
    let mut certs = Vec::with_capacity(cfg.certs);
    let mut stats = IssueStats::default();
    for w in workers {
        let results = w
            .await
            .unwrap_or_else(|e| vec![Err(format!("worker stopped: {e}"))]);
        for r in results {
            match r {
                Ok((c, took)) => {
                    certs.push(c);
                    stats.latencies.push(took);
                }
                Err(e) => {
                    stats.failures += 1;
                    if stats.errors.len() < MAX_KEPT_ERRORS {
                        stats.errors.push(e);
                    }
                }
            }
        }
    }
    stats.wall = start.elapsed();
    stats.latencies.sort_unstable();
    Ok((certs, stats))
}

/// Finds the design-A link and the standalone DER (from a fresh certificate download, as
/// an MTC-aware client makes it) and the log index.
async fn describe(account: &Account, idx: usize, order_url: &str) -> Result<MtcCert, String> {
    let order = account.order(order_url).await.map_err(|e| e.to_string())?;
    let cert_url = order
        .value
        .certificate
        .ok_or("valid order without certificate URL")?;
    let raw = account
        .post(&cert_url, None, Some(PEM_WITH_PROPERTIES))
        .await
        .map_err(|e| e.to_string())?;
    let landmark_url = raw
        .links_with_rel(OPTIONAL_ALTERNATE)
        .into_iter()
        .next()
        .ok_or_else(|| format!("{cert_url} links no {OPTIONAL_ALTERNATE} (design A)"))?;
    let pem = String::from_utf8_lossy(&raw.body);
    let der = pem_chain_to_der(&pem)
        .map_err(|e| format!("{cert_url}: {e}"))?
        .into_iter()
        .next()
        .ok_or_else(|| format!("{cert_url}: no certificate"))?;
    let index = mtc_log_index(&der).ok_or_else(|| format!("{cert_url}: no MTC serial"))?;
    let b_payload =
        serde_json::to_vec(&serde_json::json!({ "standalone": arbor_proto::b64::encode(&der) }))
            .map_err(|e| e.to_string())?;
    Ok(MtcCert {
        account: idx,
        landmark_url,
        b_payload,
        der,
        index,
    })
}

/// Polls design A for `newest` until it answers 200; returns how long that took.
async fn wait_for_landmark(
    cfg: &LandmarkBenchConfig,
    account: &Account,
    newest: &MtcCert,
) -> Result<Duration, LandmarkBenchError> {
    let start = Instant::now();
    loop {
        let wait = match account
            .post(&newest.landmark_url, None, Some(PEM_WITH_PROPERTIES))
            .await
        {
            Ok(r) if r.status == 200 => return Ok(start.elapsed()),
            Ok(r) if r.status == 202 => cfg.landmark_poll,
            Ok(r) => {
                return Err(LandmarkBenchError::LandmarkWait {
                    status: r.status,
                    url: newest.landmark_url.clone(),
                });
            }
            Err(e) if status_of(&e) == Some(503) && e.retry_after().is_some() => {
                e.retry_after().unwrap_or(cfg.landmark_poll)
            }
            Err(e) => return Err(e.into()),
        };
        if start.elapsed() >= cfg.landmark_timeout {
            return Err(LandmarkBenchError::LandmarkTimeout {
                index: newest.index,
                waited: start.elapsed(),
            });
        }
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_index_is_the_low_48_bits_of_the_serial() {
        let mut params =
            rcgen::CertificateParams::new(vec!["x.example".to_string()]).expect("params");
        let serial: u64 = (1u64 << 48) | 0x0123_4567;
        params.serial_number = Some(rcgen::SerialNumber::from(serial.to_be_bytes().to_vec()));
        let key = rcgen::KeyPair::generate().expect("key");
        let der = params.self_signed(&key).expect("cert").der().to_vec();
        assert_eq!(mtc_log_index(&der), Some(0x0123_4567));
        assert_eq!(mtc_log_index(b"not der"), None);
    }
}
