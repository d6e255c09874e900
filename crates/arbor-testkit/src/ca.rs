//! An in-process CA on loopback, started through the same `arbor_server::app::start` that
//! `arbor serve` uses.

use arbor_client::Http01Responder;
use arbor_ra::{Clock, RaConfig, SystemClock, TestClock};
use arbor_server::FrontEndConfig;
use arbor_server::app::{Running, StartOptions, start};
use arbor_va::{ResolverConfig, VaConfig};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A running test CA.
pub struct TestCa {
    /// Keeps the data directory alive.
    pub dir: tempfile::TempDir,
    /// The started server.
    pub running: Running,
    /// `https://127.0.0.1:PORT`.
    pub base: String,
    /// `{base}/dir`.
    pub directory: String,
    /// The root to trust (PEM).
    pub root_pem: Vec<u8>,
    /// The alternate root (PEM).
    pub root_alt_pem: Vec<u8>,
    /// Answers http-01 for every name (all names resolve to 127.0.0.1).
    pub responder: Http01Responder,
    /// The RA's clock, movable by tests.
    pub clock: Arc<TestClock>,
}

impl TestCa {
    /// Starts a CA with default policy.
    /// Starts a CA with default policy but no rate limits (tests of limits opt in).
    pub async fn start() -> TestCa {
        Self::start_with(RaConfig {
            rate_limits: arbor_ra::RateLimits::off(),
            ..RaConfig::default()
        })
        .await
    }

    /// Starts a CA with the given RA policy, resolving every name to 127.0.0.1.
    pub async fn start_with(ra: RaConfig) -> TestCa {
        Self::start_full(
            ra,
            ResolverConfig::Fixed("127.0.0.1".parse().expect("addr")),
            5001,
        )
        .await
    }

    /// Starts a CA that resolves names (A/AAAA/TXT/CAA) through the DNS server at `dns`,
    /// and validates tls-alpn-01 on `tls_port`.
    pub async fn start_with_dns(ra: RaConfig, dns: std::net::SocketAddr, tls_port: u16) -> TestCa {
        Self::start_full(ra, ResolverConfig::Server(dns), tls_port).await
    }

    /// Starts a hostile CA (test knobs on) resolving every name to 127.0.0.1.
    pub async fn start_hostile(ra: RaConfig, knobs: arbor_server::HostileKnobs) -> TestCa {
        Self::start_opts(
            ra,
            ResolverConfig::Fixed("127.0.0.1".parse().expect("addr")),
            5001,
            knobs,
        )
        .await
    }

    async fn start_full(ra: RaConfig, resolver: ResolverConfig, tls_port: u16) -> TestCa {
        Self::start_opts(ra, resolver, tls_port, Default::default()).await
    }

    /// Starts a CA with every option given.
    pub async fn start_opts(
        ra: RaConfig,
        resolver: ResolverConfig,
        tls_port: u16,
        hostile: arbor_server::HostileKnobs,
    ) -> TestCa {
        Self::start_impl(ra, resolver, tls_port, hostile, None).await
    }

    /// Starts a CA with the MTC issuance log enabled (profile `mtc` offered), resolving
    /// every name to 127.0.0.1.
    pub async fn start_mtc(ra: RaConfig, mtc: arbor_server::mtc::MtcOptions) -> TestCa {
        Self::start_impl(
            ra,
            ResolverConfig::Fixed("127.0.0.1".parse().expect("addr")),
            5001,
            Default::default(),
            Some(mtc),
        )
        .await
    }

    async fn start_impl(
        ra: RaConfig,
        resolver: ResolverConfig,
        tls_port: u16,
        hostile: arbor_server::HostileKnobs,
        mtc: Option<arbor_server::mtc::MtcOptions>,
    ) -> TestCa {
        let dir = tempfile::tempdir().expect("temp dir");
        let responder = Http01Responder::start("127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("http-01 responder");
        let clock = Arc::new(TestClock::new(SystemClock.now()));
        let running = Self::start_in(
            dir.path(),
            responder.local_addr().port(),
            tls_port,
            resolver,
            ra,
            hostile,
            clock.clone(),
            mtc,
        )
        .await;
        let base = format!("https://{}", running.acme_addr);
        let root_pem = std::fs::read(dir.path().join("root.pem")).expect("root.pem");
        let root_alt_pem = std::fs::read(dir.path().join("root-alt.pem")).expect("root-alt.pem");
        TestCa {
            directory: format!("{base}/dir"),
            base,
            dir,
            running,
            root_pem,
            root_alt_pem,
            responder,
            clock,
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "private: one argument per StartOptions field tests vary"
    )]
    async fn start_in(
        data_dir: &Path,
        http_port: u16,
        tls_port: u16,
        resolver: ResolverConfig,
        ra: RaConfig,
        hostile: arbor_server::HostileKnobs,
        clock: Arc<TestClock>,
        mtc: Option<arbor_server::mtc::MtcOptions>,
    ) -> Running {
        start(StartOptions {
            data_dir: data_dir.to_path_buf(),
            listen: "127.0.0.1:0".parse().expect("addr"),
            public_http_listen: "127.0.0.1:0".parse().expect("addr"),
            public_http_base: "http://127.0.0.1:14080".into(),
            va: VaConfig {
                resolver,
                http_port,
                tls_port,
                allow_loopback: true,
                timeout: Duration::from_secs(5),
                max_body: 64 * 1024,
            },
            ra,
            front_end: FrontEndConfig {
                hostile,
                ..FrontEndConfig::default()
            },
            server_names: vec!["localhost".into()],
            server_ips: vec!["127.0.0.1".parse().expect("addr")],
            organization: "Arbor Test CA".into(),
            clock,
            mtc,
        })
        .await
        .expect("start test CA")
    }

    /// A raw client with a fresh key of `kind`, not yet registered.
    pub async fn raw(&self, kind: arbor_proto::sign::KeyKind) -> crate::Raw {
        crate::Raw::new(&self.directory, &self.root_pem, kind).await
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        for t in &self.running.tasks {
            t.abort();
        }
    }
}
