//! Arbor's async ACME client library (RFC 8555): one [`AcmeClient`] per server with a shared
//! HTTPS pool and nonce pool, [`Account`] handles for everything signed, typed errors that
//! keep the server's problem document and `Retry-After`, plus the pieces a benchmark or a
//! test needs: a CSR builder, an in-process http-01 [`Http01Responder`], the end-to-end
//! [`flow::issue_http01`], the [`bench`] load driver and the landmark-relative MTC
//! benchmark [`bench_mtc`]; and [`cron`], the resumable
//! cron-driven client behind `arbor client` (ARI renewal, solvers, atomic state).
//!
//! Signing is [`arbor_proto::sign`]; the wire objects are [`arbor_proto::objects`].
//! Deviations: only `http-01` is automated by [`flow`]; other challenge types can be
//! answered with [`Account::respond_challenge`] once the caller has provisioned them.
#![forbid(unsafe_code)]

pub mod account;
pub mod bench;
pub mod bench_mtc;
pub mod bench_mtc_herd;
pub mod bench_mtc_report;
pub mod client;
pub mod cpu;
pub mod cron;
pub mod csr;
pub mod error;
pub mod flow;
pub mod http;
pub mod mtc;
pub mod nonce;
pub mod order;
pub mod responder;
pub mod revoke;

pub use account::{Account, ExternalAccountBinding};
pub use client::{AcmeClient, ClientOptions, ClientStats};
pub use csr::{NewCsr, csr_p256, pem_chain_to_der};
pub use error::ClientError;
pub use http::HttpOptions;
pub use order::{CertificateChain, Fetched, PollOptions};
pub use responder::Http01Responder;
pub use revoke::RevocationReason;
