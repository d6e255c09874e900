//! `arbor bench`: the command-line front of the ACME load benchmark in
//! [`arbor_client::bench`] (RFC 8555 issuance cycle with http-01, N orders by C workers).
//!
//! Prints a human report and one machine-readable line starting with `bench `. Server CPU
//! is measured from `/proc/PID/stat` for every `--server-pid` and every process whose
//! name matches a `--server-name` (e.g. both `pebble` and `pebble-challtestsrv`).

use arbor_client::bench::{BenchConfig, run_bench};
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
}

/// Runs the benchmark and prints its report.
pub async fn run(args: BenchArgs) -> Result<(), Box<dyn std::error::Error>> {
    let root_pem = match &args.root {
        Some(p) => {
            Some(std::fs::read(p).map_err(|e| format!("cannot read --root {}: {e}", p.display()))?)
        }
        None => None,
    };
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
    };
    let report = run_bench(cfg).await?;
    print!("{report}");
    println!("{}", report.summary_line());
    if report.ok == 0 && report.orders > 0 {
        return Err("no order succeeded".into());
    }
    Ok(())
}
