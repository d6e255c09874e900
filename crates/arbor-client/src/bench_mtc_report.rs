//! Reports and errors of the landmark-relative MTC benchmark ([`crate::bench_mtc`]): which
//! design a phase used (draft-ietf-plants-merkle-tree-certs §9 design A, ACME PR #207 design B),
//! the issuance that preceded it, and served/s, latency percentiles, the stampede guard's
//! 503s and every failure of the herd that followed the landmark.

use crate::bench::percentile;
use crate::bench_mtc::NEW_RELATIVE_CERTIFICATE;
use crate::error::ClientError;
use std::collections::BTreeMap;
use std::time::Duration;

/// How the landmark-relative certificate is fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Design {
    /// §9 (merged): POST-as-GET to the certificate's `acme-optional-alternate` link,
    /// `<certificate-url>/landmark`.
    A,
    /// PR #207 (open): JWS POST `{"standalone": base64url(DER)}` to the directory's
    /// `newRelativeCertificate`.
    B,
}

impl Design {
    /// `A` or `B`.
    pub fn name(self) -> &'static str {
        match self {
            Design::A => "A",
            Design::B => "B",
        }
    }

    /// What the phase sends.
    pub fn describe(self) -> &'static str {
        match self {
            Design::A => "POST-as-GET <certificate>/landmark",
            Design::B => "POST newRelativeCertificate {\"standalone\": ...}",
        }
    }
}

impl std::str::FromStr for Design {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "a" | "A" => Ok(Design::A),
            "b" | "B" => Ok(Design::B),
            other => Err(format!("design {other:?}: expected a or b")),
        }
    }
}

/// How the phase's standalone certificates were issued.
#[derive(Debug, Clone, Default)]
pub struct IssueStats {
    /// Wall time of the issuance.
    pub wall: Duration,
    /// newOrder → certificate downloaded, per successful order, ascending.
    pub latencies: Vec<Duration>,
    /// Orders that failed.
    pub failures: usize,
    /// Up to five failure messages.
    pub errors: Vec<String>,
}

/// The outcome of one phase.
#[derive(Debug, Clone)]
pub struct PhaseReport {
    /// The design measured.
    pub design: Design,
    /// Standalone certificates the requests cycle over.
    pub certs: usize,
    /// How they were issued.
    pub issue: IssueStats,
    /// The highest log index among them (the landmark covers it).
    pub landmark_index: u64,
    /// From the end of issuance until design A answered 200 for that index.
    pub landmark_wait: Duration,
    /// Requests fired.
    pub requests: usize,
    /// Workers.
    pub concurrency: usize,
    /// Requests answered with a landmark-relative certificate.
    pub served: usize,
    /// Requests that failed.
    pub failures: usize,
    /// 503 + `Retry-After` replies met (each waited out and resent).
    pub busy: u64,
    /// Wall time from the first request to the last answer.
    pub wall: Duration,
    /// First send → certificate, 503 waits included, ascending.
    pub latencies: Vec<Duration>,
    /// The answering request alone, ascending.
    pub service: Vec<Duration>,
    /// Failures by kind (e.g. `HTTP 500 serverInternal`).
    pub failure_kinds: BTreeMap<String, usize>,
    /// Up to five failure messages.
    pub errors: Vec<String>,
}

fn ms(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("{:.2}ms", d.as_secs_f64() * 1000.0),
        None => "n/a".into(),
    }
}

impl PhaseReport {
    /// An empty report for a phase about to run.
    pub fn new(design: Design, requests: usize, concurrency: usize, certs: usize) -> Self {
        PhaseReport {
            design,
            certs,
            issue: IssueStats::default(),
            landmark_index: 0,
            landmark_wait: Duration::ZERO,
            requests,
            concurrency,
            served: 0,
            failures: 0,
            busy: 0,
            wall: Duration::ZERO,
            latencies: Vec::new(),
            service: Vec::new(),
            failure_kinds: BTreeMap::new(),
            errors: Vec::new(),
        }
    }

    /// Landmark-relative certificates served per second of wall time.
    pub fn rate(&self) -> f64 {
        self.served as f64 / self.wall.as_secs_f64().max(f64::EPSILON)
    }

    /// One machine-readable line: `bench-landmark design=A certs=N requests=M conc=C
    /// served=K fail=F rate=R/s p50=Xms p99=Yms service_p50=.. service_p99=.. busy503=B`.
    pub fn summary_line(&self) -> String {
        format!(
            "bench-landmark design={} certs={} requests={} conc={} served={} fail={} rate={:.1}/s p50={} p99={} service_p50={} service_p99={} busy503={}",
            self.design.name(),
            self.certs,
            self.requests,
            self.concurrency,
            self.served,
            self.failures,
            self.rate(),
            ms(percentile(&self.latencies, 0.50)),
            ms(percentile(&self.latencies, 0.99)),
            ms(percentile(&self.service, 0.50)),
            ms(percentile(&self.service, 0.99)),
            self.busy,
        )
    }
}

impl std::fmt::Display for PhaseReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.issue;
        writeln!(
            f,
            "design {}:     {}",
            self.design.name(),
            self.design.describe()
        )?;
        writeln!(
            f,
            "issued:       {} MTC standalone in {:.3} s ({} failed), order p50 {} p99 {}",
            self.certs,
            i.wall.as_secs_f64(),
            i.failures,
            ms(percentile(&i.latencies, 0.50)),
            ms(percentile(&i.latencies, 0.99)),
        )?;
        for e in &i.errors {
            writeln!(f, "issue error:  {e}")?;
        }
        writeln!(
            f,
            "landmark:     covers log index {} after {:.3} s of waiting",
            self.landmark_index,
            self.landmark_wait.as_secs_f64()
        )?;
        writeln!(
            f,
            "requests:     {} over {} certificates, concurrency {}",
            self.requests, self.certs, self.concurrency
        )?;
        writeln!(
            f,
            "served:       {} ({} failed) in {:.3} s = {:.1}/s",
            self.served,
            self.failures,
            self.wall.as_secs_f64(),
            self.rate()
        )?;
        writeln!(
            f,
            "latency:      p50 {} p99 {} (first send to certificate, 503 waits included)",
            ms(percentile(&self.latencies, 0.50)),
            ms(percentile(&self.latencies, 0.99)),
        )?;
        writeln!(
            f,
            "service:      p50 {} p99 {} (the answering request alone)",
            ms(percentile(&self.service, 0.50)),
            ms(percentile(&self.service, 0.99)),
        )?;
        writeln!(
            f,
            "503 busy:     {} (stampede guard; waited out per Retry-After and resent)",
            self.busy
        )?;
        for (kind, n) in &self.failure_kinds {
            writeln!(f, "failures:     {n} x {kind}")?;
        }
        for e in &self.errors {
            writeln!(f, "error:        {e}")?;
        }
        Ok(())
    }
}

/// Why a phase could not run (individual request failures are counted instead).
#[derive(Debug, thiserror::Error)]
pub enum LandmarkBenchError {
    /// Connecting, creating accounts, starting the responder or polling failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Generating an account key failed.
    #[error("account key generation failed: {0}")]
    Key(#[from] arbor_proto::jws::JwsError),
    /// Design B was asked for but the directory does not offer it.
    #[error("the directory offers no {NEW_RELATIVE_CERTIFICATE} (design B)")]
    NoDesignB,
    /// Not a single MTC could be issued.
    #[error("none of {wanted} MTC orders succeeded; first error: {first}")]
    NothingIssued {
        /// Orders attempted.
        wanted: usize,
        /// The first failure.
        first: String,
    },
    /// Design A did not answer `200` in time for the newest certificate.
    #[error("no landmark covered log index {index} within {waited:?}")]
    LandmarkTimeout {
        /// The log index waited for.
        index: u64,
        /// How long we waited.
        waited: Duration,
    },
    /// Design A answered neither `200`, `202` nor a 503 while waiting for the landmark.
    #[error("design A answered HTTP {status} for {url} while waiting for the landmark")]
    LandmarkWait {
        /// The status.
        status: u16,
        /// The design-A URL.
        url: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn designs_parse_and_lines_report() {
        assert_eq!("a".parse::<Design>(), Ok(Design::A));
        assert_eq!(" B".parse::<Design>(), Ok(Design::B));
        assert!("c".parse::<Design>().is_err());
        let mut r = PhaseReport::new(Design::B, 4, 2, 2);
        r.latencies = (1..=4).map(Duration::from_millis).collect();
        r.service = vec![Duration::from_millis(1); 4];
        r.served = 4;
        r.busy = 3;
        r.wall = Duration::from_secs(2);
        let line = r.summary_line();
        assert_eq!(
            line,
            "bench-landmark design=B certs=2 requests=4 conc=2 served=4 fail=0 rate=2.0/s p50=2.00ms p99=4.00ms service_p50=1.00ms service_p99=1.00ms busy503=3"
        );
        r.failure_kinds.insert("HTTP 500 serverInternal".into(), 1);
        let text = r.to_string();
        assert!(
            text.contains("failures:     1 x HTTP 500 serverInternal"),
            "{text}"
        );
        assert!(text.contains("503 busy:     3"), "{text}");
    }
}
