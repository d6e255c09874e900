//! End-to-end tests of the cron client (`arbor_client::cron`) against an in-process Arbor
//! CA on loopback (real HTTPS, real validation by the CA's VA), BIND for RFC 2136 when
//! installed, and Debian's Pebble when installed. Certificates are checked with the openssl
//! CLI. Every test is bounded by a timeout.

use arbor_client::AcmeClient;
use arbor_client::cron::lock::RunLock;
use arbor_client::cron::manage::Manager;
use arbor_client::cron::state::{State, StateDir};
use arbor_client::cron::{Clock, Config, CronError, RunOptions, run_pass};
use arbor_proto::ProblemType;
use arbor_proto::sign::SigningKey;
use arbor_ra::{Clock as RaClock, RaConfig, SystemClock, TestClock};
use arbor_server::FrontEndConfig;
use arbor_server::app::{Running, StartOptions, start};
use arbor_va::{ResolverConfig, VaConfig};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(120);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// An Arbor CA validating http-01 on `http_port` and tls-alpn-01 on `tls_port`.
struct Ca {
    dir: tempfile::TempDir,
    running: Running,
    directory: String,
    clock: Arc<TestClock>,
}

impl Drop for Ca {
    fn drop(&mut self) {
        for t in &self.running.tasks {
            t.abort();
        }
    }
}

impl Ca {
    async fn start(http_port: u16, tls_port: u16, resolver: ResolverConfig) -> Ca {
        Self::start_with(
            http_port,
            tls_port,
            resolver,
            RaConfig {
                rate_limits: arbor_ra::RateLimits::off(),
                ..RaConfig::default()
            },
        )
        .await
    }

    async fn start_with(
        http_port: u16,
        tls_port: u16,
        resolver: ResolverConfig,
        ra: RaConfig,
    ) -> Ca {
        Self::start_full(http_port, tls_port, resolver, ra, FrontEndConfig::default()).await
    }

    async fn start_full(
        http_port: u16,
        tls_port: u16,
        resolver: ResolverConfig,
        ra: RaConfig,
        front_end: FrontEndConfig,
    ) -> Ca {
        Self::start_all(http_port, tls_port, resolver, ra, front_end, None).await
    }

    /// A CA that also runs an MTC issuance log (profile `mtc`) whose landmarks come
    /// only when a test mints one ([`Ca::mint_landmark`]).
    async fn start_mtc(http_port: u16) -> Ca {
        Self::start_mtc_clock(http_port, None).await
    }

    /// [`Ca::start_mtc`] with the log on `log_clock` (landmark expiry is driven by it).
    async fn start_mtc_clock(
        http_port: u16,
        log_clock: Option<Arc<dyn arbor_mtclog::Clock>>,
    ) -> Ca {
        Self::start_all(
            http_port,
            free_port(),
            ResolverConfig::Fixed("127.0.0.1".parse().expect("ip")),
            RaConfig {
                rate_limits: arbor_ra::RateLimits::off(),
                ..RaConfig::default()
            },
            FrontEndConfig::default(),
            Some(arbor_server::mtc::MtcOptions {
                sequence_interval: Duration::from_millis(20),
                landmark_interval: Duration::from_secs(3_600),
                clock: log_clock,
                ..Default::default()
            }),
        )
        .await
    }

    async fn start_all(
        http_port: u16,
        tls_port: u16,
        resolver: ResolverConfig,
        ra: RaConfig,
        front_end: FrontEndConfig,
        mtc: Option<arbor_server::mtc::MtcOptions>,
    ) -> Ca {
        let dir = tempfile::tempdir().expect("tempdir");
        let clock = Arc::new(TestClock::new(SystemClock.now()));
        let running = start(StartOptions {
            data_dir: dir.path().to_path_buf(),
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
            front_end,
            server_names: vec!["localhost".into()],
            server_ips: vec!["127.0.0.1".parse().expect("addr")],
            organization: "Arbor Test CA".into(),
            clock: clock.clone(),
            mtc,
        })
        .await
        .expect("start CA");
        let directory = format!("https://{}/dir", running.acme_addr);
        Ca {
            dir,
            running,
            directory,
            clock,
        }
    }

    async fn fixed(http_port: u16, tls_port: u16) -> Ca {
        Self::start(
            http_port,
            tls_port,
            ResolverConfig::Fixed("127.0.0.1".parse().expect("ip")),
        )
        .await
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root.pem")
    }
}

/// The client reads the CA's driven clock.
struct Driven(Arc<TestClock>);
impl Clock for Driven {
    fn now(&self) -> i64 {
        self.0.now()
    }
}

fn opts(ca: &Ca) -> RunOptions {
    RunOptions {
        clock: Arc::new(Driven(ca.clock.clone())),
        poll_interval: Duration::from_millis(100),
        authz_timeout: Duration::from_secs(20),
        ..RunOptions::default()
    }
}

/// Writes a config into `dir` with one certificate described by `cert_body`.
fn config(dir: &Path, ca: &Ca, extra_top: &str, cert_body: &str) -> Config {
    let text = format!(
        "directory = \"{}\"\ntrust_root = \"{}\"\nstate_dir = \"state\"\nemail = \"ops@example.com\"\n{extra_top}\n[[certificate]]\nname = \"www\"\noutput_dir = \"live/www\"\nbind_address = \"127.0.0.1\"\n{cert_body}\n",
        ca.directory,
        ca.root().display()
    );
    let path = dir.join("client.toml");
    std::fs::write(&path, text).expect("write config");
    Config::load(&path).expect("config loads")
}

fn load_state(cfg: &Config) -> State {
    StateDir::open(&cfg.state_dir)
        .and_then(|d| d.load())
        .expect("state")
}

/// openssl's view of the installed files: SANs present, key matches, chain verifies.
fn check_installed(cfg: &Config, ca: &Ca, names: &[&str]) {
    let out = &cfg.certificates[0].output_dir;
    let run = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs");
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let cert = out.join("cert.pem");
    let key = out.join("key.pem");
    let text = run(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-text"]);
    for n in names {
        assert!(text.contains(n), "{n} missing in {text}");
    }
    let from_cert = run(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-pubkey"]);
    let from_key = run(&["pkey", "-in", key.to_str().unwrap(), "-pubout"]);
    assert_eq!(from_cert, from_key, "cert.pem carries key.pem's public key");
    let full = std::fs::read_to_string(out.join("fullchain.pem")).unwrap();
    let leaf = std::fs::read_to_string(&cert).unwrap();
    let chain = std::fs::read_to_string(out.join("chain.pem")).unwrap();
    assert_eq!(full, format!("{leaf}{chain}"));
    let _ = ca;
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "key.pem mode");
    let st_mode = std::fs::metadata(cfg.state_dir.join("account.key"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(st_mode, 0o600, "account.key mode");
}

async fn pass(cfg: &Config, o: &RunOptions) -> arbor_client::cron::PassReport {
    tokio::time::timeout(LIMIT, run_pass(cfg, o))
        .await
        .expect("pass within the limit")
        .expect("pass runs")
}

/// An account handle from the state directory, for looking at orders.
async fn account_of(cfg: &Config, ca: &Ca) -> arbor_client::Account {
    let st = load_state(cfg);
    let key =
        SigningKey::from_pem(&std::fs::read_to_string(cfg.state_dir.join("account.key")).unwrap())
            .unwrap();
    let root = std::fs::read(ca.root()).unwrap();
    let client = AcmeClient::new(&ca.directory, Some(&root)).await.unwrap();
    client
        .load_account(key, st.account_url.as_deref().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn http01_standalone_issues_then_idles_and_reports_status() {
    let port = free_port();
    let ca = Ca::fixed(port, free_port()).await;
    let d = tempfile::tempdir().unwrap();
    let cfg = config(
        d.path(),
        &ca,
        "",
        &format!(
            "identifiers = [\"www.example.com\", \"example.com\"]\nchallenge = \"http-01\"\nhttp_port = {port}\nkey = \"p384\"\ndeploy_hook = \"echo $ARBOR_CERT_NAME >> {}/deployed\"",
            d.path().display()
        ),
    );
    let o = opts(&ca);
    let r = pass(&cfg, &o).await;
    assert_eq!(r.exit_code(), 0, "{:?}", r.outcomes);
    assert!(r.outcomes[0].issued, "{:?}", r.outcomes);
    assert!(
        r.outcomes[0].line.contains("issued"),
        "{}",
        r.outcomes[0].line
    );
    check_installed(&cfg, &ca, &["DNS:www.example.com", "DNS:example.com"]);
    let keytext = Command::new("openssl")
        .args(["pkey", "-in"])
        .arg(cfg.certificates[0].output_dir.join("key.pem"))
        .args(["-noout", "-text"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&keytext.stdout).contains("P-384"));
    assert_eq!(
        std::fs::read_to_string(d.path().join("deployed")).unwrap(),
        "www\n"
    );
    // The standalone listener is gone after the pass.
    assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
    let st1 = load_state(&cfg);
    let cur1 = st1.certificates["www"].current.clone().unwrap();
    let state_text = std::fs::read_to_string(cfg.state_dir.join("state.json")).unwrap();
    assert!(state_text.contains("\"version\": 1"));

    // Second run: nothing to do, no new order, no new files.
    let cert_before = std::fs::read(cfg.certificates[0].output_dir.join("cert.pem")).unwrap();
    let r2 = pass(&cfg, &o).await;
    assert_eq!(r2.exit_code(), 0);
    assert!(!r2.outcomes[0].issued);
    assert!(
        r2.outcomes[0].line.contains("renewal due"),
        "{}",
        r2.outcomes[0].line
    );
    let st2 = load_state(&cfg);
    assert_eq!(st2.certificates["www"].current, Some(cur1.clone()));
    let renewal = st2.certificates["www"]
        .renewal
        .clone()
        .expect("ARI window fetched");
    assert!(renewal.window_start <= renewal.renew_at && renewal.renew_at <= renewal.window_end);
    assert_eq!(
        cert_before,
        std::fs::read(cfg.certificates[0].output_dir.join("cert.pem")).unwrap()
    );
    // A third run keeps the same random point (persisted).
    pass(&cfg, &o).await;
    assert_eq!(
        load_state(&cfg).certificates["www"]
            .renewal
            .as_ref()
            .unwrap()
            .renew_at,
        renewal.renew_at
    );
    assert_eq!(
        std::fs::read_to_string(d.path().join("deployed")).unwrap(),
        "www\n",
        "deploy hook ran once"
    );
    // Deleted files are written again from the state directory, without a new order.
    std::fs::remove_file(cfg.certificates[0].output_dir.join("cert.pem")).unwrap();
    let r = pass(&cfg, &o).await;
    assert!(
        r.outcomes[0].line.contains("installed the saved"),
        "{}",
        r.outcomes[0].line
    );
    assert_eq!(
        cert_before,
        std::fs::read(cfg.certificates[0].output_dir.join("cert.pem")).unwrap()
    );
    assert_eq!(
        load_state(&cfg).certificates["www"].current,
        Some(cur1.clone())
    );
    let lines = arbor_client::cron::status::describe(&cfg, ca.clock.now()).unwrap();
    let all = lines.join("\n");
    assert!(all.contains(&cur1.serial), "{all}");
    assert!(all.contains("ARI window"), "{all}");
    assert!(all.contains("next: renew at"), "{all}");
}

/// Serves `root` as static files on `port` (the web server a webroot setup relies on).
async fn static_server(root: PathBuf, port: u16) -> tokio::task::JoinHandle<()> {
    use axum::extract::{Path as AxPath, State};
    use axum::http::StatusCode;
    async fn file(
        State(root): State<PathBuf>,
        AxPath(token): AxPath<String>,
    ) -> Result<Vec<u8>, StatusCode> {
        if token.contains('/') || token.contains("..") {
            return Err(StatusCode::BAD_REQUEST);
        }
        std::fs::read(root.join(".well-known/acme-challenge").join(token))
            .map_err(|_| StatusCode::NOT_FOUND)
    }
    let app = axum::Router::new()
        .route(
            "/.well-known/acme-challenge/{token}",
            axum::routing::get(file),
        )
        .with_state(root);
    let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind static server");
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    })
}

#[tokio::test]
async fn http01_webroot_writes_and_removes_token_files() {
    let port = free_port();
    let ca = Ca::fixed(port, free_port()).await;
    let d = tempfile::tempdir().unwrap();
    let webroot = d.path().join("htdocs");
    std::fs::create_dir_all(&webroot).unwrap();
    let server = static_server(webroot.clone(), port).await;
    let cfg = config(
        d.path(),
        &ca,
        "",
        "identifiers = [\"web.example.com\", \"127.0.0.1\"]\nwebroot = \"htdocs\"\nkey = \"rsa2048\"\nprofile = \"shortlived\"",
    );
    let r = pass(&cfg, &opts(&ca)).await;
    server.abort();
    assert_eq!(r.exit_code(), 0, "{:?}", r.outcomes);
    check_installed(&cfg, &ca, &["DNS:web.example.com", "IP Address:127.0.0.1"]);
    let left: Vec<_> = std::fs::read_dir(webroot.join(".well-known/acme-challenge"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "token files removed: {left:?}");
}

#[tokio::test]
async fn tls_alpn01_standalone_issues_with_a_per_name_override() {
    let (tls_port, http_port) = (free_port(), free_port());
    let ca = Ca::fixed(http_port, tls_port).await;
    let d = tempfile::tempdir().unwrap();
    let cfg = config(
        d.path(),
        &ca,
        "",
        &format!(
            "identifiers = [\"alpn.example.com\", \"127.0.0.1\"]\nchallenge = \"tls-alpn-01\"\ntls_port = {tls_port}\nkey = \"ed25519\"\nprofile = \"shortlived\"\nhttp_port = {http_port}\nchallenge_overrides = {{ \"alpn.example.com\" = \"http-01\" }}"
        ),
    );
    let r = pass(&cfg, &opts(&ca)).await;
    assert_eq!(r.exit_code(), 0, "{:?}", r.outcomes);
    check_installed(&cfg, &ca, &["DNS:alpn.example.com", "IP Address:127.0.0.1"]);
    assert!(
        TcpListener::bind(("127.0.0.1", tls_port)).is_ok(),
        "listener closed"
    );
    assert!(TcpListener::bind(("127.0.0.1", http_port)).is_ok());
    // Each name was validated with its own challenge type.
    let acct = account_of(&cfg, &ca).await;
    let cur = load_state(&cfg).certificates["www"]
        .current
        .clone()
        .unwrap();
    let order = acct.order(&cur.order_url).await.unwrap().value;
    for az in &order.authorizations {
        let a = acct.authorization(az).await.unwrap().value;
        let valid: Vec<_> = a
            .challenges
            .iter()
            .filter(|c| c.status == arbor_proto::objects::ChallengeStatus::Valid)
            .map(|c| c.typ.clone())
            .collect();
        // The IP address went through tls-alpn-01 (reverse-DNS SNI, RFC 8738 §6).
        let want = if a.identifier.typ == "ip" {
            "tls-alpn-01"
        } else {
            "http-01"
        };
        assert_eq!(valid, vec![want.to_string()], "{}", a.identifier.value);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns01_hook_publishes_into_testdns_and_cleans_up() {
    let dns = arbor_testdns::TestDns::start(
        "127.0.0.1:0".parse().unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    dns.set_default_ipv4(Some("127.0.0.1".parse().unwrap()));
    let ca = Ca::start(
        free_port(),
        free_port(),
        ResolverConfig::Server(dns.dns_addr),
    )
    .await;
    let d = tempfile::tempdir().unwrap();
    let log = d.path().join("hook.log");
    let script = d.path().join("hook.sh");
    std::fs::write(
        &script,
        format!(
            r#"echo "$ACME_PHASE $ACME_DOMAIN $ACME_TXT_NAME" >> {log}
if [ "$ACME_PHASE" = add ]; then p=set-txt; else p=clear-txt; fi
curl -sf -H 'Content-Type: application/json' -X POST \
  -d "{{\"host\":\"$ACME_TXT_NAME\",\"value\":\"$ACME_TXT_VALUE\"}}" http://{mgmt}/$p
"#,
            log = log.display(),
            mgmt = dns.mgmt_addr
        ),
    )
    .unwrap();
    let hook = format!("sh {}", script.display());
    let cfg = config(
        d.path(),
        &ca,
        &format!("[dns]\nhook = \"{hook}\""),
        "identifiers = [\"*.dns.example.com\", \"dns.example.com\"]\nchallenge = \"dns-01\"",
    );
    let r = pass(&cfg, &opts(&ca)).await;
    assert_eq!(r.exit_code(), 0, "{:?}", r.outcomes);
    check_installed(&cfg, &ca, &["DNS:*.dns.example.com", "DNS:dns.example.com"]);
    let log = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        log.matches("add dns.example.com _acme-challenge.dns.example.com")
            .count(),
        2,
        "{log}"
    );
    assert_eq!(
        log.matches("del dns.example.com _acme-challenge.dns.example.com")
            .count(),
        2,
        "{log}"
    );
    // The CA asked the DNS server for the TXT record, which is gone again.
    assert!(
        !dns.history_for("_acme-challenge.dns.example.com")
            .is_empty(),
        "CA queried the TXT record"
    );
    assert_eq!(
        dig_txt(dns.dns_addr.port(), "_acme-challenge.dns.example.com"),
        ""
    );
}

#[tokio::test]
async fn ari_window_drives_renewal_with_replaces() {
    let port = free_port();
    let ca = Ca::fixed(port, free_port()).await;
    let d = tempfile::tempdir().unwrap();
    let cfg = config(
        d.path(),
        &ca,
        "",
        &format!("identifiers = [\"ari.example.com\"]\nhttp_port = {port}"),
    );
    let o = opts(&ca);
    assert_eq!(pass(&cfg, &o).await.exit_code(), 0);
    let first = load_state(&cfg).certificates["www"]
        .current
        .clone()
        .unwrap();
    // Before the window: nothing happens (and the window is fetched and saved).
    let r = pass(&cfg, &o).await;
    assert!(!r.outcomes[0].issued, "{:?}", r.outcomes);
    let w = load_state(&cfg).certificates["www"]
        .renewal
        .clone()
        .unwrap();
    assert!(w.window_start > first.not_before && w.window_end < first.not_after);
    // Drive both clocks just past the chosen point (but before the next ARI re-check would
    // move anything): the next run renews, sending `replaces`.
    let advance = w.renew_at - ca.clock.now() + 1;
    ca.clock.advance(advance);
    let r = pass(&cfg, &o).await;
    assert!(r.outcomes[0].issued, "{:?}", r.outcomes);
    assert!(r.outcomes[0].line.contains("ARI"), "{}", r.outcomes[0].line);
    let second = load_state(&cfg).certificates["www"]
        .current
        .clone()
        .unwrap();
    assert_ne!(second.serial, first.serial);
    let acct = account_of(&cfg, &ca).await;
    let order = acct.order(&second.order_url).await.unwrap().value;
    assert_eq!(
        order.replaces, first.cert_id,
        "renewal order carries replaces"
    );
    check_installed(&cfg, &ca, &["DNS:ari.example.com"]);
}

#[tokio::test]
async fn key_rollover_and_revocation() {
    let port = free_port();
    let ca = Ca::fixed(port, free_port()).await;
    let d = tempfile::tempdir().unwrap();
    let cfg = config(
        d.path(),
        &ca,
        "",
        &format!("identifiers = [\"roll.example.com\"]\nhttp_port = {port}"),
    );
    let o = opts(&ca);
    {
        let mut m = Manager::open(&cfg, &o).unwrap();
        let url = m.create().await.unwrap();
        assert!(url.starts_with("https://"));
        assert!(m.show().await.unwrap().contains("mailto:ops@example.com"));
    }
    let old_key = std::fs::read_to_string(cfg.state_dir.join("account.key")).unwrap();
    Manager::open(&cfg, &o).unwrap().rollover().await.unwrap();
    let new_key = std::fs::read_to_string(cfg.state_dir.join("account.key")).unwrap();
    assert_ne!(old_key, new_key);
    // The old key no longer reaches the account; the new one does, and issuance works.
    let root = std::fs::read(ca.root()).unwrap();
    let client = AcmeClient::new(&ca.directory, Some(&root)).await.unwrap();
    let url = load_state(&cfg).account_url.unwrap();
    let old = client
        .load_account(SigningKey::from_pem(&old_key).unwrap(), &url)
        .await;
    assert!(old.is_err(), "old key still works");
    assert_eq!(pass(&cfg, &o).await.exit_code(), 0);
    let mut m = Manager::open(&cfg, &o).unwrap();
    let serial = m.revoke("www", Some(4)).await.unwrap();
    assert_eq!(
        serial,
        load_state(&cfg).certificates["www"]
            .current
            .clone()
            .unwrap()
            .serial
    );
    match m.revoke("www", None).await {
        Err(CronError::Acme(e)) => {
            assert_eq!(e.problem_type(), Some(ProblemType::AlreadyRevoked), "{e}")
        }
        other => panic!("second revocation: {other:?}"),
    }
    assert!(matches!(
        m.revoke("nope", None).await,
        Err(CronError::UnknownCertificate(_))
    ));
    m.deactivate().await.unwrap();
    assert!(load_state(&cfg).account_url.is_none());
}

#[tokio::test]
async fn crash_after_each_step_resumes_without_duplicates() {
    let port = free_port();
    let ca = Ca::fixed(port, free_port()).await;
    for step in [
        "account",
        "order",
        "challenges",
        "key",
        "finalize",
        "download",
        "install",
    ] {
        let d = tempfile::tempdir().unwrap();
        let cfg = config(
            d.path(),
            &ca,
            "",
            &format!("identifiers = [\"crash-{step}.example.com\"]\nhttp_port = {port}"),
        );
        let mut o = opts(&ca);
        o.crash_after = Some(step.to_string());
        let r = tokio::time::timeout(LIMIT, run_pass(&cfg, &o))
            .await
            .unwrap();
        assert!(
            matches!(&r, Err(CronError::SimulatedCrash(s)) if s == step),
            "{step}: {r:?}"
        );
        let after_crash = load_state(&cfg);
        let pending_url = after_crash.certificates["www"]
            .pending
            .as_ref()
            .map(|p| p.order_url.clone());
        let saved_key = std::fs::read_to_string(cfg.state_dir.join("certs/www/pending.key")).ok();
        o.crash_after = None;
        let r = pass(&cfg, &o).await;
        assert_eq!(r.exit_code(), 0, "{step}: {:?}", r.outcomes);
        let st = load_state(&cfg);
        let cur = st.certificates["www"].current.clone().unwrap();
        assert!(st.certificates["www"].pending.is_none());
        if let Some(u) = pending_url {
            assert_eq!(
                cur.order_url, u,
                "{step}: the saved order was finished, not a new one"
            );
        }
        if let Some(k) = saved_key {
            let installed =
                std::fs::read_to_string(cfg.certificates[0].output_dir.join("key.pem")).unwrap();
            assert_eq!(k, installed, "{step}: the saved key was used");
        }
        if matches!(step, "download" | "install") {
            // The order finished before the crash; the resumed run only installed.
            assert!(!cfg.state_dir.join("certs/www/pending.key").exists());
        }
        check_installed(&cfg, &ca, &[&format!("DNS:crash-{step}.example.com")]);
        // Exactly one order exists for this account.
        let acct = account_of(&cfg, &ca).await;
        {
            let orders_url = acct.object().orders.clone();
            let list = acct.post(&orders_url, None, None).await.unwrap();
            let v: serde_json::Value = list.json().unwrap();
            let n = v["orders"].as_array().map(|a| a.len()).unwrap_or(0);
            assert!(n <= 1, "{step}: {n} orders: {v}");
        }
        // And a further run is a no-op.
        let r = pass(&cfg, &o).await;
        assert!(!r.outcomes[0].issued, "{step}");
    }
}

#[tokio::test]
async fn lock_blocks_a_concurrent_run_and_exit_codes() {
    let port = free_port();
    let ca = Ca::fixed(port, free_port()).await;
    let d = tempfile::tempdir().unwrap();
    let cfg = config(
        d.path(),
        &ca,
        "",
        &format!("identifiers = [\"lock.example.com\"]\nhttp_port = {port}"),
    );
    let o = opts(&ca);
    let dir = StateDir::open(&cfg.state_dir).unwrap();
    let held = RunLock::acquire(&dir.lock_path()).unwrap();
    let r = run_pass(&cfg, &o).await;
    assert!(matches!(r, Err(CronError::Locked(_))), "{r:?}");
    assert!(load_state(&cfg).account_url.is_none(), "nothing was done");
    drop(held);
    assert_eq!(pass(&cfg, &o).await.exit_code(), 0);

    // A certificate whose validation fails: exit code 1, pending dropped, failure saved.
    let bad = tempfile::tempdir().unwrap();
    let cfg_bad = config(
        bad.path(),
        &ca,
        "",
        &format!(
            "identifiers = [\"fail.example.com\"]\nhttp_port = {}",
            free_port()
        ),
    );
    // Make the CA's http-01 port (where the solver listens) answer wrongly: the solver for
    // cfg_bad binds another port, so validation on `port` reaches nothing.
    let r = pass(&cfg_bad, &o).await;
    assert_eq!(r.exit_code(), 1, "{:?}", r.outcomes);
    assert!(
        r.outcomes[0].line.contains("FAILED"),
        "{}",
        r.outcomes[0].line
    );
    let st = load_state(&cfg_bad);
    assert!(st.certificates["www"].failure.is_some());
    assert!(st.certificates["www"].pending.is_none());

    // Configuration errors are typed as such (exit code 2).
    let e = Config::parse(
        "directory = \"https://x/dir\"\nstate_dir = \"s\"\nbogus = 1\n",
        d.path(),
    )
    .unwrap_err();
    assert!(e.is_config());
    let e = Config::load(&d.path().join("missing.toml")).unwrap_err();
    assert!(e.is_config());
}

#[tokio::test]
async fn bad_tokens_are_never_written() {
    use arbor_client::cron::config::ChallengeKind;
    use arbor_client::cron::solvers::Solvers;
    let d = tempfile::tempdir().unwrap();
    let marker = d.path().join("hook-ran");
    let text = format!(
        "directory = \"https://ca.test/dir\"\nstate_dir = \"s\"\n[dns]\nhook = \"touch {}\"\n[[certificate]]\nname = \"w\"\nidentifiers = [\"a.example\"]\nwebroot = \"htdocs\"\noutput_dir = \"o\"\n",
        marker.display()
    );
    let cfg = Config::parse(&text, d.path()).unwrap();
    for t in ["../../etc/passwd", "a/b", "tok en", "", "tok.en"] {
        for kind in [
            ChallengeKind::Http01,
            ChallengeKind::Dns01,
            ChallengeKind::TlsAlpn01,
        ] {
            let mut s = Solvers::new(&cfg, &cfg.certificates[0]);
            let r = s.provision(kind, "a.example", t, "ka").await;
            assert!(
                matches!(r, Err(CronError::BadToken(_))),
                "{t:?} {kind:?}: {r:?}"
            );
            s.cleanup().await.unwrap();
        }
    }
    assert!(
        !d.path().join("htdocs").exists(),
        "nothing written under the web root"
    );
    assert!(!marker.exists(), "the dns hook never ran");
}

mod bind;
mod mtc;
use bind::dig_txt;
mod pebble;
mod policy;
