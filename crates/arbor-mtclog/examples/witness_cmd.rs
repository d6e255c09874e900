//! Runs `arbor witness` from this crate (the same source file the `arbor`
//! binary mounts), so the command compiles and runs before the binary wires it:
//! `cargo run -p arbor-mtclog --example witness_cmd -- --help`.

#[path = "../../arbor/src/cmd_witness.rs"]
mod cmd_witness;

use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: cmd_witness::WitnessArgs,
}

#[tokio::main]
async fn main() -> Result<(), String> {
    cmd_witness::run(Cli::parse().args).await
}
