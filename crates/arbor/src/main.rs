//! `arbor`: the one binary. Subcommands: `serve` (the ACME CA, with the MTC log at
//! `/mtc`), `client` (the cron ACME client), `admin` (EAB keys), `bench` (load generator
//! against any ACME CA), `testdns` (scriptable DNS for tests), `verify` (MTC relying
//! party), `log` (MTC log monitor), `witness` (independent MTC/tlog cosigner).
#![forbid(unsafe_code)]

mod cmd_admin;
mod cmd_bench;
mod cmd_client;
mod cmd_log;
mod cmd_serve;
mod cmd_testdns;
mod cmd_verify;
mod cmd_witness;
mod config;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "arbor",
    version,
    about = "An ACME certificate authority and client"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the ACME CA (embedded default: SQLite in ./arbor-data, a generated test
    /// hierarchy, HTTPS on 127.0.0.1:14000).
    Serve(cmd_serve::ServeArgs),
    /// The ACME client a cron job runs: `arbor client run --config FILE` moves every
    /// certificate along (new order, pending order, ARI renewal) and exits.
    Client(cmd_client::ClientArgs),
    /// Operator actions on a CA's data directory (EAB keys).
    Admin(cmd_admin::AdminArgs),
    /// Drive N complete orders against a running ACME CA and print throughput, latency
    /// and the server's CPU time per order.
    ///
    /// `--profiles classic,mtc` alternates profiles across the orders of one run and
    /// reports each separately. `--landmark-relative N` instead measures landmark-relative
    /// Merkle Tree Certificates served per second right after a landmark (designs A and B).
    Bench(cmd_bench::BenchArgs),
    /// A scriptable test DNS server (A/AAAA/TXT/CAA/CNAME, SERVFAIL) with an HTTP
    /// management API and a query history, for testing against Arbor on a laptop.
    Testdns(cmd_testdns::TestDnsArgs),
    /// Verify a Merkle Tree Certificate as a relying party.
    Verify(cmd_verify::VerifyArgs),
    /// Inspect and monitor an MTC issuance log.
    Log(cmd_log::LogArgs),
    /// An independent MTC/tlog witness (c2sp.org/tlog-witness add-checkpoint, sign-subtree).
    Witness(cmd_witness::WitnessArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ARBOR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("arbor: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let res: Result<u8, String> = rt.block_on(async {
        match cli.cmd {
            Cmd::Serve(a) => cmd_serve::run(a).await.map(|()| 0),
            Cmd::Client(a) => cmd_client::run(a).await,
            Cmd::Admin(a) => cmd_admin::run(a).await.map(|()| 0),
            Cmd::Testdns(a) => cmd_testdns::run(a).await.map(|()| 0),
            Cmd::Verify(a) => cmd_verify::run_code(a).await,
            Cmd::Log(a) => cmd_log::run_code(a).await,
            Cmd::Witness(a) => cmd_witness::run(a).await.map(|()| 0),
            Cmd::Bench(a) => cmd_bench::run(a)
                .await
                .map(|()| 0)
                .map_err(|e| e.to_string()),
        }
    });
    match res {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("arbor: {e}");
            ExitCode::from(2)
        }
    }
}
