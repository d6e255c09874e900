//! `arbor testdns`: runs the scriptable test DNS server (arbor-testdns, like Pebble's
//! `pebble-challtestsrv -dns01 ... -management ...`) until Ctrl-C. Point `arbor serve
//! --dns-server` at `--dns`, and script records through the JSON management API on
//! `--management` (routes in `arbor_testdns::mgmt`).
//!
//! For tests only: it answers anyone who reaches it. Stable flags: --dns, --management,
//! --default-ipv4.

use arbor_testdns::TestDns;
use std::net::{Ipv4Addr, SocketAddr};

/// Flags of `arbor testdns`.
#[derive(clap::Args, Debug)]
pub struct TestDnsArgs {
    /// DNS listener, UDP and TCP.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8053")]
    dns: SocketAddr,
    /// HTTP management API listener (JSON).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8055")]
    management: SocketAddr,
    /// Answer A queries for names with no A record with this address (like
    /// challtestsrv's -defaultIPv4); by default such names have no A record.
    #[arg(long, value_name = "IP")]
    default_ipv4: Option<Ipv4Addr>,
}

/// Runs the server until Ctrl-C.
pub async fn run(args: TestDnsArgs) -> Result<(), String> {
    let srv = TestDns::start(args.dns, args.management)
        .await
        .map_err(|e| e.to_string())?;
    srv.set_default_ipv4(args.default_ipv4);
    // The bound addresses (a port of 0 picks a free one), for scripts to read.
    println!(
        "arbor testdns: DNS on {} (udp+tcp), management API on http://{}",
        srv.dns_addr, srv.mgmt_addr
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("cannot wait for Ctrl-C: {e}"))?;
    drop(srv);
    Ok(())
}
