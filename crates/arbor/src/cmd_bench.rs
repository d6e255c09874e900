//! `arbor bench`: the command-line front of the ACME load benchmark in
//! [`arbor_client::bench`] (RFC 8555 issuance cycle with http-01, N orders by C workers)
//! and of the landmark-relative MTC benchmark in [`arbor_client::bench_mtc`]
//! (draft-ietf-plants-merkle-tree-certs §9 design A, ACME PR #207 design B).
//!
//! Prints a human report and one machine-readable line starting with `bench `. Server CPU
//! is measured from `/proc/PID/stat` for every `--server-pid` and every process whose
//! name matches a `--server-name` (e.g. both `pebble` and `pebble-challtestsrv`).
//! `--profiles classic,mtc` alternates the profiles across orders and adds one report and
//! one `bench label=<label>/<profile>` line per profile; `--landmark-relative N` runs the
//! MTC benchmark instead and prints one `bench-landmark ` line per design.

use arbor_client::bench::{BenchConfig, run_bench};
use arbor_client::bench_mtc::{Design, LandmarkBenchConfig, run_landmark_bench};
use arbor_client::cpu::find_pids_by_name;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Options of `arbor bench`.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// ACME directory URL of the server under test.
    #[arg(long, default_value = "https://127.0.0.1:14000/dir")]
    pub directory: String,
    /// PEM file with an extra trust root for the server's HTTPS listener.
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Number of complete orders.
    #[arg(long, default_value_t = 1000)]
    pub orders: usize,
    /// Concurrent workers, each with its own account.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Port of the in-process http-01 responder on 127.0.0.1.
    #[arg(long, default_value_t = 5002)]
    pub http_port: u16,
    /// Server process whose CPU time to measure (repeatable).
    #[arg(long)]
    pub server_pid: Vec<u32>,
    /// Measure every process with this name, as in /proc/PID/comm (repeatable).
    #[arg(long)]
    pub server_name: Vec<String>,
    /// Order poll interval in milliseconds.
    #[arg(long, default_value_t = 2)]
    pub poll_ms: u64,
    /// Timeout for one order's polling, in seconds.
    #[arg(long, default_value_t = 60)]
    pub order_timeout_secs: u64,
    /// Label printed in the summary line.
    #[arg(long, default_value = "acme")]
    pub label: String,
    /// Names are `<random>.<suffix>`; keep it under a public suffix.
    #[arg(long, default_value = "bench.example.com")]
    pub domain_suffix: String,
    /// Never show the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Profiles to alternate across orders, comma-separated (e.g. `classic,mtc`): order i
    /// asks for profile i mod K. Each profile gets its own report and `bench` line.
    /// Default: newOrder names no profile.
    #[arg(long, value_delimiter = ',', value_name = "P1,P2")]
    pub profiles: Vec<String>,
    /// Landmark-relative MTC mode instead of the order benchmark: per design, issue N MTC
    /// standalone certificates (profile --mtc-profile, --concurrency accounts), wait until
    /// a landmark covers them, then fire --landmark-requests requests for their
    /// landmark-relative certificates with --concurrency workers. Prints served/s,
    /// latency and the 503s of the server's stampede guard (waited out, not failures).
    #[arg(long, value_name = "N")]
    pub landmark_relative: Option<usize>,
    /// Landmark-relative requests per design (cycling over the N certificates).
    #[arg(long, default_value_t = 2000, value_name = "M")]
    pub landmark_requests: usize,
    /// Designs to measure, in order: `a` (POST-as-GET <certificate>/landmark, draft §9)
    /// and/or `b` (newRelativeCertificate, ACME PR #207).
    #[arg(long, value_delimiter = ',', default_value = "a,b", value_name = "a,b")]
    pub landmark_designs: Vec<Design>,
    /// The profile that issues MTCs in landmark-relative mode.
    #[arg(long, default_value = "mtc")]
    pub mtc_profile: String,
    /// Poll interval of design A while waiting for the landmark, in milliseconds.
    #[arg(long, default_value_t = 50)]
    pub landmark_poll_ms: u64,
    /// Give up waiting for a landmark after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub landmark_timeout_secs: u64,
    /// 503 replies one landmark-relative request may meet before it counts as failed.
    #[arg(long, default_value_t = 20)]
    pub max_busy_retries: u32,
}

/// Runs the benchmark and prints its report.
pub async fn run(args: BenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    let root_pem = match &args.root {
        Some(p) => {
            Some(std::fs::read(p).map_err(|e| format!("cannot read --root {}: {e}", p.display()))?)
        }
        None => None,
    };
    if let Some(certs) = args.landmark_relative {
        return run_landmark(args, root_pem, certs).await;
    }
    let mut server_pids = args.server_pid.clone();
    for name in &args.server_name {
        server_pids.extend(find_pids_by_name(name)?);
    }
    server_pids.sort_unstable();
    server_pids.dedup();
    let cfg = BenchConfig {
        directory: args.directory,
        root_pem,
        orders: args.orders,
        concurrency: args.concurrency,
        http_addr: SocketAddr::from(([127, 0, 0, 1], args.http_port)),
        server_pids,
        poll: Duration::from_millis(args.poll_ms),
        order_timeout: Duration::from_secs(args.order_timeout_secs),
        label: args.label,
        domain_suffix: args.domain_suffix,
        progress: !args.no_progress,
        profiles: args.profiles,
    };
    let report = run_bench(cfg).await?;
    print!("{report}");
    for p in &report.by_profile {
        let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0).unwrap_or(f64::NAN);
        println!(
            "profile {:<10} {} orders ({} ok, {} failed), {:.1} orders/s of the mixed run, p50 {:.2} ms, p99 {:.2} ms",
            p.label.rsplit('/').next().unwrap_or_default(),
            p.orders,
            p.ok,
            p.failures,
            p.rate(),
            ms(p.percentile(0.50)),
            ms(p.percentile(0.99)),
        );
        for e in &p.errors {
            println!("  error: {e}");
        }
    }
    println!("{}", report.summary_line());
    for p in &report.by_profile {
        println!("{}", p.summary_line());
    }
    if report.ok == 0 && report.orders > 0 {
        return Err("no order succeeded".into());
    }
    Ok(())
}

/// `--landmark-relative N`: the landmark-relative MTC benchmark.
async fn run_landmark(
    args: BenchArgs,
    root_pem: Option<Vec<u8>>,
    certs: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    if certs == 0 || args.landmark_requests == 0 || args.landmark_designs.is_empty() {
        return Err("--landmark-relative, --landmark-requests and --landmark-designs must not be zero or empty".into());
    }
    let cfg = LandmarkBenchConfig {
        directory: args.directory,
        root_pem,
        certs,
        requests: args.landmark_requests,
        concurrency: args.concurrency,
        designs: args.landmark_designs,
        profile: args.mtc_profile,
        http_addr: SocketAddr::from(([127, 0, 0, 1], args.http_port)),
        poll: Duration::from_millis(args.poll_ms),
        order_timeout: Duration::from_secs(args.order_timeout_secs),
        landmark_poll: Duration::from_millis(args.landmark_poll_ms),
        landmark_timeout: Duration::from_secs(args.landmark_timeout_secs),
        max_busy_retries: args.max_busy_retries,
        domain_suffix: args.domain_suffix,
    };
    let reports = run_landmark_bench(cfg).await?;
    for r in &reports {
        print!("{r}");
        println!();
    }
    for r in &reports {
        println!("{}", r.summary_line());
    }
    if reports.iter().any(|r| r.served == 0) {
        return Err("a design served no landmark-relative certificate".into());
    }
    Ok(())
}
