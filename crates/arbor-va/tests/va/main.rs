//! The VA's integration tests, one binary: every challenge type and CAA against real
//! sockets on 127.0.0.1, with arbor-testdns as the DNS server.

mod caa;
mod common;
mod dns01;
mod http01;
mod tls_alpn01;
