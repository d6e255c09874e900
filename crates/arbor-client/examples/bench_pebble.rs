//! Runs the `arbor bench` command (crates/arbor/src/cmd_bench.rs, compiled in here
//! verbatim) without the `arbor` binary, e.g. against Pebble:
//! `cargo run --release -p arbor-client --example bench_pebble -- --root ca.pem --server-name pebble`.

#[path = "../../arbor/src/cmd_bench.rs"]
mod cmd_bench;

use clap::Parser;

/// `arbor bench` options.
#[derive(Debug, Parser)]
#[command(name = "bench_pebble")]
struct Cli {
    #[command(flatten)]
    args: cmd_bench::BenchArgs,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    cmd_bench::run(Cli::parse().args).await
}
