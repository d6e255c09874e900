//! The ACME load benchmark: C accounts created up front, then N complete http-01 orders
//! (RFC 8555 §7.1 cycle, see [`crate::flow`]) run by C concurrent workers against one
//! server; reports throughput, latency percentiles and, given the server's pids, the
//! server's CPU time per order (from procfs, see [`crate::cpu`]).
//!
//! Each order is for one fresh random name under `domain_suffix`, so authorizations are
//! never reused and every order does the full validation. With several `profiles`
//! (draft-aaron-acme-profiles, e.g. `classic` and `mtc`) order *i* asks for profile
//! `i mod len`, so the profiles alternate on the same server in one run, and each gets its
//! own report in [`BenchReport::by_profile`]. The landmark-relative MTC benchmark is in
//! [`crate::bench_mtc`].

use crate::client::{AcmeClient, ClientStats};
use crate::cpu::{CpuError, clock_ticks_per_second, total_cpu};
use crate::error::ClientError;
use crate::flow::issue_http01;
use crate::order::PollOptions;
use crate::responder::Http01Responder;
use arbor_proto::Identifier;
use arbor_proto::sign::{KeyKind, SigningKey};
use rand::Rng;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many distinct failure messages a report keeps.
const MAX_KEPT_ERRORS: usize = 5;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// The server's directory URL.
    pub directory: String,
    /// Extra trust root (PEM) for the server's listener certificate.
    pub root_pem: Option<Vec<u8>>,
    /// Number of orders to complete.
    pub orders: usize,
    /// Concurrent workers (= accounts).
    pub concurrency: usize,
    /// Where the http-01 responder listens.
    pub http_addr: SocketAddr,
    /// Server processes whose CPU time is measured (empty: not measured).
    pub server_pids: Vec<u32>,
    /// Poll interval for orders.
    pub poll: Duration,
    /// Timeout for one order's polls.
    pub order_timeout: Duration,
    /// Label printed in the summary.
    pub label: String,
    /// Names are `<random>.<domain_suffix>`.
    pub domain_suffix: String,
    /// Show a progress bar (it is hidden anyway when stdout is not a terminal).
    pub progress: bool,
    /// Profiles cycled across orders (order `i` uses `profiles[i % len]`); empty: newOrder
    /// carries no `profile` and the server's default applies.
    pub profiles: Vec<String>,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            directory: "https://127.0.0.1:14000/dir".into(),
            root_pem: None,
            orders: 1000,
            concurrency: 4,
            http_addr: SocketAddr::from(([127, 0, 0, 1], 5002)),
            server_pids: Vec::new(),
            poll: Duration::from_millis(2),
            order_timeout: Duration::from_secs(60),
            label: "acme".into(),
            domain_suffix: "bench.example.com".into(),
            progress: true,
            profiles: Vec::new(),
        }
    }
}

/// Why the benchmark could not run at all (individual order failures are counted instead).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Connecting, creating accounts or starting the responder failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Generating an account key failed.
    #[error("account key generation failed: {0}")]
    Key(#[from] arbor_proto::jws::JwsError),
    /// Reading the server's CPU time failed.
    #[error(transparent)]
    Cpu(#[from] CpuError),
}

/// The outcome.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// The label.
    pub label: String,
    /// Orders attempted.
    pub orders: usize,
    /// Orders that ended with a downloaded certificate.
    pub ok: usize,
    /// Orders that failed.
    pub failures: usize,
    /// Workers.
    pub concurrency: usize,
    /// Wall time of the order phase (accounts excluded).
    pub wall: Duration,
    /// Latencies of successful orders, sorted ascending.
    pub latencies: Vec<Duration>,
    /// Server CPU time spent during the order phase, if pids were given.
    pub server_cpu: Option<Duration>,
    /// Client request counters for the order phase and account creation.
    pub client_stats: ClientStats,
    /// Up to five failure messages.
    pub errors: Vec<String>,
    /// With several profiles: one report per profile (label `<label>/<profile>`, the same
    /// wall time, no CPU or request counters, which cannot be split). Empty otherwise.
    pub by_profile: Vec<BenchReport>,
}

/// The `q`-quantile (0..=1) of ascending `sorted` durations, nearest-rank.
pub fn percentile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}

impl BenchReport {
    /// Successful orders per second of wall time.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.wall.as_secs_f64().max(f64::EPSILON)
    }

    /// The `q`-quantile (0..=1) of successful order latency, nearest-rank.
    pub fn percentile(&self, q: f64) -> Option<Duration> {
        percentile(&self.latencies, q)
    }

    /// Server CPU per successful order.
    pub fn server_cpu_per_order(&self) -> Option<Duration> {
        let cpu = self.server_cpu?;
        (self.ok > 0).then(|| cpu / self.ok as u32)
    }

    /// One machine-readable line:
    /// `bench label=L orders=N ok=K fail=F conc=C rate=R/s p50=Xms p99=Yms server_cpu_per_order=Zms`.
    pub fn summary_line(&self) -> String {
        let ms = |d: Option<Duration>| match d {
            Some(d) => format!("{:.2}ms", d.as_secs_f64() * 1000.0),
            None => "n/a".to_string(),
        };
        format!(
            "bench label={} orders={} ok={} fail={} conc={} rate={:.1}/s p50={} p99={} server_cpu_per_order={} bad_nonce_retries={}",
            self.label.replace(char::is_whitespace, "_"),
            self.orders,
            self.ok,
            self.failures,
            self.concurrency,
            self.rate(),
            ms(self.percentile(0.50)),
            ms(self.percentile(0.99)),
            ms(self.server_cpu_per_order()),
            self.client_stats.bad_nonce_retries,
        )
    }
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0).unwrap_or(f64::NAN);
        writeln!(f, "label:        {}", self.label)?;
        writeln!(
            f,
            "orders:       {} ({} ok, {} failed)",
            self.orders, self.ok, self.failures
        )?;
        writeln!(f, "concurrency:  {}", self.concurrency)?;
        writeln!(f, "wall time:    {:.3} s", self.wall.as_secs_f64())?;
        writeln!(f, "throughput:   {:.1} orders/s", self.rate())?;
        writeln!(f, "latency p50:  {:.2} ms", ms(self.percentile(0.50)))?;
        writeln!(f, "latency p99:  {:.2} ms", ms(self.percentile(0.99)))?;
        match self.server_cpu_per_order() {
            Some(c) => writeln!(f, "server CPU:   {:.3} ms/order", c.as_secs_f64() * 1000.0)?,
            None => writeln!(f, "server CPU:   not measured")?,
        }
        writeln!(
            f,
            "requests:     {} ({} newNonce, {} badNonce retries)",
            self.client_stats.requests,
            self.client_stats.nonce_fetches,
            self.client_stats.bad_nonce_retries
        )?;
        for e in &self.errors {
            writeln!(f, "error:        {e}")?;
        }
        Ok(())
    }
}

/// A random DNS label of 12 lower-case letters and digits.
pub(crate) fn random_label() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..12)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Runs the benchmark.
pub async fn run_bench(cfg: BenchConfig) -> Result<BenchReport, BenchError> {
    let concurrency = cfg.concurrency.max(1);
    let client = AcmeClient::new(&cfg.directory, cfg.root_pem.as_deref()).await?;
    let responder = Arc::new(Http01Responder::start(cfg.http_addr).await?);
    let mut accounts = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let key = SigningKey::generate(KeyKind::P256)?;
        accounts.push(client.new_account(key, &[], true, None).await?);
    }

    let ticks = clock_ticks_per_second();
    let cpu_before = match cfg.server_pids.is_empty() {
        true => None,
        false => Some(total_cpu(&cfg.server_pids, ticks)?),
    };
    let bar = if cfg.progress && std::io::stdout().is_terminal() {
        indicatif::ProgressBar::new(cfg.orders as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let profiles = Arc::new(cfg.profiles.clone());
    let slots = profiles.len().max(1);
    let poll = PollOptions::fast(cfg.poll, cfg.order_timeout);
    let start = Instant::now();
    let mut workers = Vec::with_capacity(concurrency);
    for account in accounts {
        let (next, errors, responder, bar, profiles) = (
            next.clone(),
            errors.clone(),
            responder.clone(),
            bar.clone(),
            profiles.clone(),
        );
        let (total, suffix) = (cfg.orders, cfg.domain_suffix.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = vec![Vec::new(); slots];
            let mut failed = vec![0usize; slots];
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let slot = i % slots;
                let profile = profiles.get(slot).map(String::as_str);
                let name = Identifier::dns(format!("{}.{suffix}", random_label()));
                let t = Instant::now();
                match issue_http01(&account, &responder, &[name], profile, &poll).await {
                    Ok(_) => lat[slot].push(t.elapsed()),
                    Err(e) => {
                        failed[slot] += 1;
                        let mut errs = errors.lock().unwrap_or_else(|p| p.into_inner());
                        if errs.len() < MAX_KEPT_ERRORS {
                            errs.push(match profile {
                                Some(p) => format!("[{p}] {e}"),
                                None => e.to_string(),
                            });
                        }
                    }
                }
                bar.inc(1);
            }
            (lat, failed)
        }));
    }
    let mut per_slot = vec![(Vec::new(), 0usize); slots];
    let mut failures = 0;
    for w in workers {
        match w.await {
            Ok((lat, failed)) => {
                for (slot, (l, f)) in per_slot.iter_mut().zip(lat.into_iter().zip(failed)) {
                    slot.0.extend(l);
                    slot.1 += f;
                    failures += f;
                }
            }
            Err(join) => {
                failures += 1;
                let mut errs = errors.lock().unwrap_or_else(|p| p.into_inner());
                errs.push(format!("worker stopped: {join}"));
            }
        }
    }
    let wall = start.elapsed();
    bar.finish_and_clear();
    let server_cpu = match cpu_before {
        Some(before) => Some(total_cpu(&cfg.server_pids, ticks)?.saturating_sub(before)),
        None => None,
    };
    let errors = errors.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut latencies: Vec<Duration> = per_slot.iter().flat_map(|s| s.0.clone()).collect();
    latencies.sort_unstable();
    let by_profile = match cfg.profiles.len() {
        0 => Vec::new(),
        n => cfg
            .profiles
            .iter()
            .zip(per_slot)
            .enumerate()
            .map(|(slot, (p, (mut lat, failed)))| {
                lat.sort_unstable();
                BenchReport {
                    label: format!("{}/{p}", cfg.label),
                    orders: cfg.orders / n + usize::from(slot < cfg.orders % n),
                    ok: lat.len(),
                    failures: failed,
                    concurrency,
                    wall,
                    latencies: lat,
                    server_cpu: None,
                    client_stats: ClientStats::default(),
                    errors: errors
                        .iter()
                        .filter(|e| e.starts_with(&format!("[{p}] ")))
                        .cloned()
                        .collect(),
                    by_profile: Vec::new(),
                }
            })
            .collect(),
    };
    Ok(BenchReport {
        label: cfg.label,
        orders: cfg.orders,
        ok: latencies.len(),
        failures,
        concurrency,
        wall,
        latencies,
        server_cpu,
        client_stats: client.stats(),
        errors,
        by_profile,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(lat_ms: &[u64], cpu_ms: Option<u64>) -> BenchReport {
        BenchReport {
            label: "my label".into(),
            orders: lat_ms.len() + 1,
            ok: lat_ms.len(),
            failures: 1,
            concurrency: 4,
            wall: Duration::from_secs(2),
            latencies: lat_ms.iter().map(|&m| Duration::from_millis(m)).collect(),
            server_cpu: cpu_ms.map(Duration::from_millis),
            client_stats: ClientStats::default(),
            errors: vec![],
            by_profile: vec![],
        }
    }

    #[test]
    fn percentiles_and_summary() {
        let lat: Vec<u64> = (1..=100).collect();
        let r = report(&lat, Some(50));
        assert_eq!(r.percentile(0.5), Some(Duration::from_millis(50)));
        assert_eq!(r.percentile(0.99), Some(Duration::from_millis(99)));
        assert_eq!(r.percentile(1.0), Some(Duration::from_millis(100)));
        assert_eq!(r.percentile(0.0), Some(Duration::from_millis(1)));
        assert_eq!(r.server_cpu_per_order(), Some(Duration::from_micros(500)));
        let line = r.summary_line();
        assert!(line.starts_with("bench label=my_label orders=101 ok=100 fail=1 conc=4 rate=50.0/s p50=50.00ms p99=99.00ms server_cpu_per_order=0.50ms"), "{line}");
        let empty = report(&[], None);
        assert_eq!(empty.percentile(0.5), None);
        assert!(empty.summary_line().contains("p50=n/a"));
        assert!(empty.summary_line().contains("server_cpu_per_order=n/a"));
    }

    #[test]
    fn labels_are_dns_safe() {
        let l = random_label();
        assert_eq!(l.len(), 12);
        let id = Identifier::dns(format!("{l}.bench.example.com"));
        assert!(id.normalize().is_ok());
    }
}
