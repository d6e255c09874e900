//! `arbor client`: a cron-driven ACME client. Each invocation of [`run::run_pass`] is one
//! short, idempotent pass over the configured certificates — load state, decide per
//! certificate ([`plan`]), act ([`run`]), write files atomically ([`install`]), run the
//! deploy hook, save state ([`state`]) — safe to start every few minutes and to kill at any
//! point. Renewal follows ACME Renewal Information (RFC 9773, [`ari`]) when the CA offers
//! it, else a fixed fraction of the lifetime.
//!
//! Exit codes of the CLI built on this module: 0 all certificates fine, 1 some certificate
//! failed (the report says which and when it is retried), 2 configuration error, 3 another
//! run holds the lock.

pub mod ari;
pub mod config;
pub mod error;
pub mod hook;
pub mod install;
pub mod issue;
pub mod landmark;
pub mod lock;
pub mod manage;
pub mod plan;
pub mod run;
pub mod session;
pub mod solvers;
pub mod state;
pub mod status;

pub use config::Config;
pub use error::CronError;
pub use run::{CertOutcome, PassReport, run_pass};
pub use session::{Clock, RunOptions, SystemClock};

/// Exit code: every certificate is fine.
pub const EXIT_OK: u8 = 0;
/// Exit code: at least one certificate failed.
pub const EXIT_CERT_FAILED: u8 = 1;
/// Exit code: the configuration is unusable.
pub const EXIT_CONFIG: u8 = 2;
/// Exit code: another run holds the lock.
pub const EXIT_LOCKED: u8 = 3;

/// Formats Unix seconds as RFC 3339 UTC for report lines.
pub fn fmt_time(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| {
            d.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}
