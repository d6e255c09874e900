//! Helpers shared by the VA tests: a test DNS server and a VA pointed at it.

use arbor_testdns::TestDns;
use arbor_va::{ResolverConfig, Va, VaConfig, ValidationError};
use std::net::SocketAddr;
use std::time::Duration;

pub const KEY_AUTH: &str =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

/// A fresh test DNS server on 127.0.0.1 (random ports).
pub async fn test_dns() -> TestDns {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    TestDns::start(any, any).await.unwrap()
}

/// A local-mode VA that asks `dns` and connects to tls-alpn-01 on `tls_port`.
pub fn va(dns: &TestDns, tls_port: u16) -> Va {
    let cfg = VaConfig {
        tls_port,
        timeout: Duration::from_secs(5),
        ..VaConfig::local(ResolverConfig::Server(dns.dns_addr))
    };
    Va::new(cfg).unwrap()
}

/// The problem short name and detail of an error.
pub fn problem(e: &ValidationError) -> (&'static str, &str) {
    (e.problem_type().short_name(), e.detail())
}
