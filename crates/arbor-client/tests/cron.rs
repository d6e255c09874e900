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
            mtc: None,
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

/// BIND started by scripts/bind.sh; stopped on drop.
struct Bind {
    state: tempfile::TempDir,
    port: u16,
    tsig_key: String,
    tsig_secret: String,
}

impl Drop for Bind {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(bind_script())
            .args(["stop", "--state"])
            .arg(self.state.path())
            .output();
    }
}

fn bind_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/bind.sh")
}

fn start_bind() -> Option<Bind> {
    if !Path::new("/usr/sbin/named").exists() {
        eprintln!("SKIP: /usr/sbin/named not installed (apt-get install bind9)");
        return None;
    }
    for _ in 0..5 {
        let port = free_port();
        if !(1025..64999).contains(&port) || TcpListener::bind(("127.0.0.1", port + 1)).is_err() {
            continue;
        }
        let state = tempfile::tempdir().unwrap();
        let out = Command::new("bash")
            .arg(bind_script())
            .args(["start", "--port", &port.to_string(), "--state"])
            .arg(state.path())
            .output()
            .expect("bash runs");
        if !out.status.success() {
            eprintln!("bind.sh start: {}", String::from_utf8_lossy(&out.stderr));
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let get = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}=")))
                .map(str::to_string)
                .expect("bind.sh prints the variable")
        };
        return Some(Bind {
            port,
            tsig_key: get("RFC2136_TSIG_KEY"),
            tsig_secret: get("RFC2136_TSIG_SECRET"),
            state,
        });
    }
    panic!("could not start BIND");
}

fn dig_txt(port: u16, name: &str) -> String {
    let o = Command::new("dig")
        .args(["+short", "@127.0.0.1", "-p", &port.to_string(), name, "TXT"])
        .output()
        .expect("dig runs");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[tokio::test]
async fn dns01_rfc2136_tsig_against_bind() {
    let Some(bind) = start_bind() else { return };
    let server: SocketAddr = format!("127.0.0.1:{}", bind.port).parse().unwrap();
    let ca = Ca::start(free_port(), free_port(), ResolverConfig::Server(server)).await;
    let d = tempfile::tempdir().unwrap();
    let dns = |secret: &str| {
        format!(
            "[dns]\nserver = \"{server}\"\ntsig_key = \"{}\"\ntsig_secret = \"{secret}\"\ntsig_algorithm = \"hmac-sha256.\"\npropagation_timeout = 20",
            bind.tsig_key
        )
    };
    let cfg = config(
        d.path(),
        &ca,
        &dns(&bind.tsig_secret),
        "identifiers = [\"bind.example.com\", \"*.bind.example.com\"]\nchallenge = \"dns-01\"",
    );
    let r = pass(&cfg, &opts(&ca)).await;
    assert_eq!(r.exit_code(), 0, "{:?}", r.outcomes);
    check_installed(
        &cfg,
        &ca,
        &["DNS:bind.example.com", "DNS:*.bind.example.com"],
    );
    assert_eq!(
        dig_txt(bind.port, "_acme-challenge.bind.example.com"),
        "",
        "records removed"
    );

    // BIND's signed reply verifies (RFC 8945 §5.3); tampering, a wrong request MAC or a
    // clock outside the fudge window do not.
    {
        use arbor_client::cron::solvers::dns_wire::{self, Change, TsigKey, TsigVerifyError};
        use base64ct::Encoding;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let key = TsigKey {
            name: bind.tsig_key.clone(),
            algorithm: "hmac-sha256".into(),
            secret: base64ct::Base64::decode_vec(&bind.tsig_secret).unwrap(),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let m = dns_wire::update_txt(
            4242,
            "example.com",
            "probe.example.com",
            "v",
            Change::Add(5),
        )
        .unwrap();
        let (signed, mac) = dns_wire::sign_with_mac(&m, &key, now).unwrap();
        let mut s = tokio::net::TcpStream::connect(server).await.unwrap();
        let mut framed = (signed.len() as u16).to_be_bytes().to_vec();
        framed.extend(&signed);
        s.write_all(&framed).await.unwrap();
        let mut lb = [0u8; 2];
        s.read_exact(&mut lb).await.unwrap();
        let mut reply = vec![0u8; usize::from(u16::from_be_bytes(lb))];
        s.read_exact(&mut reply).await.unwrap();
        assert_eq!(dns_wire::rcode(&reply), Some(0));
        dns_wire::verify_reply(&reply, &key, &mac, now).unwrap();
        assert_eq!(
            dns_wire::verify_reply(&reply, &key, &[0u8; 32], now),
            Err(TsigVerifyError::BadMac)
        );
        assert_eq!(
            dns_wire::verify_reply(&reply, &key, &mac, now + 1_000),
            Err(TsigVerifyError::BadTime)
        );
        let mut tampered = reply.clone();
        tampered[3] ^= 0x80; // flip a header flag bit
        assert_eq!(
            dns_wire::verify_reply(&tampered, &key, &mac, now),
            Err(TsigVerifyError::BadMac)
        );
        assert_eq!(
            dns_wire::verify_reply(&m, &key, &mac, now),
            Err(TsigVerifyError::Unsigned)
        );
        assert_eq!(dig_txt(bind.port, "probe.example.com"), "\"v\"");
    }

    // A wrong TSIG secret is refused by BIND: the certificate fails, nothing is published.
    let d2 = tempfile::tempdir().unwrap();
    let cfg2 = config(
        d2.path(),
        &ca,
        &dns("c2VjcmV0LXRoYXQtaXMtd3Jvbmctc2VjcmV0LXdyb25nISE="),
        "identifiers = [\"wrong.example.com\"]\nchallenge = \"dns-01\"",
    );
    let r = pass(&cfg2, &opts(&ca)).await;
    assert_eq!(r.exit_code(), 1, "{:?}", r.outcomes);
    assert!(
        r.outcomes[0].line.contains("refused"),
        "{}",
        r.outcomes[0].line
    );
    assert_eq!(dig_txt(bind.port, "_acme-challenge.wrong.example.com"), "");
}

/// Debian's Pebble + challtestsrv on free loopback ports, validating http-01 on `http` and
/// tls-alpn-01 on `tls`; killed on drop.
struct Pebble {
    dir: tempfile::TempDir,
    children: Vec<std::process::Child>,
    directory: String,
    mgmt: u16,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn openssl_in(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl runs");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

impl Pebble {
    async fn start(http: u16, tls: u16) -> Option<Pebble> {
        const PEBBLE: &str = "/usr/bin/pebble";
        const CHALLTESTSRV: &str = "/usr/bin/pebble-challtestsrv";
        if !Path::new(PEBBLE).exists() || !Path::new(CHALLTESTSRV).exists() {
            eprintln!("SKIP: {PEBBLE} or {CHALLTESTSRV} not installed (apt-get install pebble)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        openssl_in(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=test listener CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
            ],
        );
        openssl_in(
            d,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
            ],
        );
        std::fs::write(
            d.join("leaf.ext"),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        openssl_in(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "leaf.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "leaf.ext",
                "-out",
                "leaf.pem",
            ],
        );
        let (acme, mgmt, dns, dns_mgmt) = (free_port(), free_port(), free_port(), free_port());
        let config = serde_json::json!({ "pebble": {
            "listenAddress": format!("127.0.0.1:{acme}"),
            "managementListenAddress": format!("127.0.0.1:{mgmt}"),
            "certificate": d.join("leaf.pem"),
            "privateKey": d.join("leaf.key"),
            "httpPort": http,
            "tlsPort": tls,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false
        }});
        std::fs::write(d.join("pebble.json"), config.to_string()).unwrap();
        let log = |n: &str| std::process::Stdio::from(std::fs::File::create(d.join(n)).unwrap());
        let challtestsrv = Command::new(CHALLTESTSRV)
            .args([
                "-dns01",
                &format!("127.0.0.1:{dns}"),
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-management",
                &format!("127.0.0.1:{dns_mgmt}"),
            ])
            .stdout(log("challtestsrv.log"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start challtestsrv");
        let pebble = Command::new(PEBBLE)
            .args([
                "-config",
                &d.join("pebble.json").to_string_lossy(),
                "-dnsserver",
            ])
            .arg(format!("127.0.0.1:{dns}"))
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_AUTHZREUSE", "0")
            .env("PEBBLE_ALTERNATE_ROOTS", "1")
            .stdout(log("pebble.log"))
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start pebble");
        let p = Pebble {
            directory: format!("https://127.0.0.1:{acme}/dir"),
            mgmt,
            children: vec![challtestsrv, pebble],
            dir,
        };
        let ca = std::fs::read(p.dir.path().join("ca.pem")).unwrap();
        for _ in 0..100 {
            if AcmeClient::new(&p.directory, Some(&ca)).await.is_ok() {
                return Some(p);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("pebble did not come up");
    }

    async fn mgmt_get(&self, path: &str) -> (u16, String) {
        let ca = std::fs::read(self.dir.path().join("ca.pem")).unwrap();
        let http = reqwest::Client::builder()
            .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
            .build()
            .unwrap();
        let r = http
            .get(format!("https://127.0.0.1:{}{path}", self.mgmt))
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

#[tokio::test]
async fn pebble_http01_tls_alpn01_preferred_chain_and_revocation() {
    let (http, tls) = (free_port(), free_port());
    let Some(pebble) = Pebble::start(http, tls).await else {
        return;
    };
    // The alternate root's CN, to prefer the chain that ends there.
    let (st, alt_root) = pebble.mgmt_get("/roots/1").await;
    assert_eq!(st, 200, "{alt_root}");
    std::fs::write(pebble.dir.path().join("alt.pem"), &alt_root).unwrap();
    let subject = openssl_in(
        pebble.dir.path(),
        &[
            "x509",
            "-in",
            "alt.pem",
            "-noout",
            "-subject",
            "-nameopt",
            "multiline",
        ],
    );
    let alt_cn = subject
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("commonName")
                .map(|v| v.trim_start_matches([' ', '=']).trim().to_string())
        })
        .expect("alternate root CN");
    let d = tempfile::tempdir().unwrap();
    let text = format!(
        r#"directory = "{dir}"
trust_root = "{root}"
state_dir = "state"
[[certificate]]
name = "web"
identifiers = ["web.pebble.example.com"]
http_port = {http}
bind_address = "127.0.0.1"
output_dir = "live/web"
preferred_chain = "{alt_cn}"
[[certificate]]
name = "alpn"
identifiers = ["alpn.pebble.example.com"]
challenge = "tls-alpn-01"
tls_port = {tls}
bind_address = "127.0.0.1"
key = "p384"
output_dir = "live/alpn"
"#,
        dir = pebble.directory,
        root = pebble.dir.path().join("ca.pem").display(),
    );
    std::fs::write(d.path().join("c.toml"), text).unwrap();
    let cfg = Config::load(&d.path().join("c.toml")).unwrap();
    let o = RunOptions {
        poll_interval: Duration::from_millis(100),
        ..RunOptions::default()
    };
    let r = pass(&cfg, &o).await;
    assert_eq!(r.exit_code(), 0, "{:?}", r.outcomes);
    assert!(r.outcomes.iter().all(|o| o.issued), "{:?}", r.outcomes);
    let issuer = openssl_in(
        d.path(),
        &[
            "x509",
            "-in",
            "live/web/chain.pem",
            "-noout",
            "-issuer",
            "-nameopt",
            "multiline",
        ],
    );
    assert!(
        issuer.contains(&alt_cn),
        "preferred chain ends at {alt_cn}: {issuer}"
    );
    for name in ["web", "alpn"] {
        let cert = format!("live/{name}/cert.pem");
        let key = format!("live/{name}/key.pem");
        assert_eq!(
            openssl_in(d.path(), &["x509", "-in", &cert, "-noout", "-pubkey"]),
            openssl_in(d.path(), &["pkey", "-in", &key, "-pubout"])
        );
    }
    let r = pass(&cfg, &o).await;
    assert!(
        r.outcomes.iter().all(|o| o.ok && !o.issued),
        "{:?}",
        r.outcomes
    );

    let mut m = Manager::open(&cfg, &o).unwrap();
    let serial = m.revoke("alpn", Some(1)).await.unwrap();
    drop(m);
    let (st, body) = pebble
        .mgmt_get(&format!(
            "/cert-status-by-serial/{}",
            serial.trim_start_matches('0')
        ))
        .await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("Revoked"), "{body}");
}

fn loopback() -> ResolverConfig {
    ResolverConfig::Fixed("127.0.0.1".parse().expect("ip"))
}

#[tokio::test]
async fn eab_account_creation() {
    let ca = Ca::start_with(
        free_port(),
        free_port(),
        loopback(),
        RaConfig {
            rate_limits: arbor_ra::RateLimits::off(),
            external_account_required: true,
            ..RaConfig::default()
        },
    )
    .await;
    let (kid, hmac) = ca.running.state.ra.add_eab_key().await.unwrap();
    let d = tempfile::tempdir().unwrap();
    let cfg = config(d.path(), &ca, "", "identifiers = [\"eab.example.com\"]");
    let o = opts(&ca);
    let err = Manager::open(&cfg, &o).unwrap().create().await.unwrap_err();
    match &err {
        CronError::Acme(e) => assert_eq!(
            e.problem_type(),
            Some(ProblemType::ExternalAccountRequired),
            "{e}"
        ),
        other => panic!("{other:?}"),
    }
    let d2 = tempfile::tempdir().unwrap();
    let cfg = config(
        d2.path(),
        &ca,
        &format!(
            "[account]\neab_kid = \"{kid}\"\neab_hmac = \"{}\"",
            arbor_proto::b64::encode(&hmac)
        ),
        "identifiers = [\"eab.example.com\"]",
    );
    let url = Manager::open(&cfg, &o).unwrap().create().await.unwrap();
    assert_eq!(load_state(&cfg).account_url.as_deref(), Some(url.as_str()));
}

#[tokio::test]
async fn rate_limit_is_saved_and_waited_out() {
    let port = free_port();
    let ca = Ca::start_with(
        port,
        free_port(),
        loopback(),
        RaConfig {
            rate_limits: arbor_ra::RateLimits {
                new_orders_per_account: Some(arbor_ra::Limit {
                    count: 1,
                    window_secs: 3_600,
                }),
                ..arbor_ra::RateLimits::off()
            },
            ..RaConfig::default()
        },
    )
    .await;
    let d = tempfile::tempdir().unwrap();
    let cfg = config(
        d.path(),
        &ca,
        "",
        &format!(
            "identifiers = [\"rl1.example.com\"]\nhttp_port = {port}\n\n[[certificate]]\nname = \"second\"\nidentifiers = [\"rl2.example.com\"]\nhttp_port = {port}\nbind_address = \"127.0.0.1\"\noutput_dir = \"live/second\""
        ),
    );
    let o = opts(&ca);
    let r = pass(&cfg, &o).await;
    assert_eq!(r.exit_code(), 1, "{:?}", r.outcomes);
    assert!(r.outcomes[0].issued);
    assert!(
        r.outcomes[1].line.contains("rateLimited"),
        "{}",
        r.outcomes[1].line
    );
    assert!(
        r.outcomes[1].line.contains("retry after"),
        "{}",
        r.outcomes[1].line
    );
    let f = load_state(&cfg).certificates["second"]
        .failure
        .clone()
        .unwrap();
    let until = f.retry_after.expect("retry time saved");
    assert!(until > ca.clock.now());
    // Next run: no request for it, just the wait.
    let r = pass(&cfg, &o).await;
    assert!(
        r.outcomes[1].line.contains("waiting until"),
        "{}",
        r.outcomes[1].line
    );
    assert_eq!(r.exit_code(), 1);
    // After the window, the order goes through.
    ca.clock.advance(until - ca.clock.now() + 3_600);
    let r = pass(&cfg, &o).await;
    assert!(r.outcomes[1].issued, "{:?}", r.outcomes);
}

#[tokio::test]
async fn already_replaced_retries_without_replaces() {
    let port = free_port();
    let ca = Ca::fixed(port, free_port()).await;
    let d = tempfile::tempdir().unwrap();
    let cfg = config(
        d.path(),
        &ca,
        "",
        &format!("identifiers = [\"rep.example.com\"]\nhttp_port = {port}"),
    );
    let o = opts(&ca);
    assert_eq!(pass(&cfg, &o).await.exit_code(), 0);
    let first = load_state(&cfg).certificates["www"]
        .current
        .clone()
        .unwrap();
    // Past the whole ARI window; someone else (same account) has just placed a replacing
    // order, which is live.
    let life = first.not_after - first.not_before;
    ca.clock
        .advance(first.not_before + life * 3 / 4 + 10 - ca.clock.now());
    let acct = account_of(&cfg, &ca).await;
    let ids = cfg.certificates[0].acme_identifiers();
    let other = acct
        .new_order(&ids, None, first.cert_id.as_deref())
        .await
        .unwrap();
    let r = pass(&cfg, &o).await;
    assert!(r.outcomes[0].issued, "{:?}", r.outcomes);
    let second = load_state(&cfg).certificates["www"]
        .current
        .clone()
        .unwrap();
    assert_ne!(second.order_url, other.url);
    let order = acct.order(&second.order_url).await.unwrap().value;
    assert_eq!(order.replaces, None, "retried without replaces");
}

#[tokio::test]
async fn long_processing_is_resumed_next_run() {
    let port = free_port();
    let ca = Ca::start_with(
        port,
        free_port(),
        loopback(),
        RaConfig {
            rate_limits: arbor_ra::RateLimits::off(),
            async_finalize_ms: Some(1_500),
            ..RaConfig::default()
        },
    )
    .await;
    let d = tempfile::tempdir().unwrap();
    let cfg = config(
        d.path(),
        &ca,
        "",
        &format!("identifiers = [\"slow.example.com\"]\nhttp_port = {port}"),
    );
    let mut o = opts(&ca);
    o.max_inline_wait = Duration::ZERO;
    let r = pass(&cfg, &o).await;
    assert_eq!(r.exit_code(), 0, "{:?}", r.outcomes);
    assert!(!r.outcomes[0].issued);
    assert!(
        r.outcomes[0].line.contains("processing"),
        "{}",
        r.outcomes[0].line
    );
    let p = load_state(&cfg).certificates["www"]
        .pending
        .clone()
        .unwrap();
    assert!(p.not_before.unwrap() > ca.clock.now());
    assert!(cfg.state_dir.join("certs/www/pending.key").exists());
    let status = arbor_client::cron::status::describe(&cfg, ca.clock.now())
        .unwrap()
        .join("\n");
    assert!(
        status.contains(&format!("pending order {}", p.order_url)),
        "{status}"
    );
    assert!(status.contains("next: wait until"), "{status}");
    // Too early: waits without touching the order.
    let r = pass(&cfg, &o).await;
    assert!(
        r.outcomes[0].line.contains("waiting"),
        "{}",
        r.outcomes[0].line
    );
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    ca.clock.advance(5);
    let r = pass(&cfg, &o).await;
    assert!(r.outcomes[0].issued, "{:?}", r.outcomes);
    assert_eq!(
        load_state(&cfg).certificates["www"]
            .current
            .clone()
            .unwrap()
            .order_url,
        p.order_url
    );
}

#[tokio::test]
async fn failed_deploy_hook_is_retried_next_run() {
    let port = free_port();
    let ca = Ca::fixed(port, free_port()).await;
    let d = tempfile::tempdir().unwrap();
    let flag = d.path().join("reload-works");
    let count = d.path().join("count");
    let cfg = config(
        d.path(),
        &ca,
        "",
        &format!(
            "identifiers = [\"hook.example.com\"]\nhttp_port = {port}\ndeploy_hook = \"echo x >> {}; test -f {}\"",
            count.display(),
            flag.display()
        ),
    );
    let o = opts(&ca);
    let r = pass(&cfg, &o).await;
    assert_eq!(r.exit_code(), 1, "{:?}", r.outcomes);
    assert!(
        r.outcomes[0].line.contains("hook"),
        "{}",
        r.outcomes[0].line
    );
    // The certificate is installed even though the hook failed.
    check_installed(&cfg, &ca, &["DNS:hook.example.com"]);
    assert!(load_state(&cfg).certificates["www"].deploy_pending);
    std::fs::write(&flag, "").unwrap();
    let r = pass(&cfg, &o).await;
    assert_eq!(r.exit_code(), 0, "{:?}", r.outcomes);
    assert!(
        r.outcomes[0].line.contains("deploy hook succeeded"),
        "{}",
        r.outcomes[0].line
    );
    let st = load_state(&cfg);
    assert!(!st.certificates["www"].deploy_pending);
    assert!(
        st.certificates["www"].failure.is_none(),
        "healed failure cleared"
    );
    let r = pass(&cfg, &o).await;
    assert!(
        r.outcomes[0].line.contains("renewal due"),
        "{}",
        r.outcomes[0].line
    );
    assert_eq!(
        std::fs::read_to_string(&count).unwrap(),
        "x\nx\n",
        "hook ran twice, not thrice"
    );
}

/// The hostile CA (issue 6): half the nonces rejected, 503 + Retry-After on a fifth of the
/// POSTs, both Retry-After forms, shuffled lists, asynchronous finalize, partial
/// authorization reuse, alternate chains. The client still gets its certificate within a
/// few runs, and renews it.
#[tokio::test]
async fn hostile_ca_still_issues() {
    let port = free_port();
    let ra = RaConfig {
        rate_limits: arbor_ra::RateLimits::off(),
        async_finalize_ms: Some(300),
        authz_reuse_percent: 50,
        ..RaConfig::default()
    };
    let front_end = FrontEndConfig {
        hostile: arbor_server::HostileKnobs {
            nonce_reject_percent: 50,
            unavailable_percent: 20,
            shuffle: true,
            mixed_retry_after: true,
        },
        ..FrontEndConfig::default()
    };
    let ca = Ca::start_full(
        port,
        free_port(),
        ResolverConfig::Fixed("127.0.0.1".parse().expect("ip")),
        ra,
        front_end,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let names = ["h1.example.com", "h2.example.com", "h3.example.com"];
    let cfg = config(
        dir.path(),
        &ca,
        "",
        &format!(
            "identifiers = [\"{}\", \"{}\", \"{}\"]\nchallenge = \"http-01\"\nhttp_port = {port}\nkey = \"p256\"\npreferred_chain = \"Arbor Test Alternate Root\"\n",
            names[0], names[1], names[2]
        ),
    );
    let o = opts(&ca);
    let mut issued = false;
    let mut runs = 0;
    while runs < 10 && !issued {
        runs += 1;
        let r = pass(&cfg, &o).await;
        for c in &r.outcomes {
            println!("run {runs}: {}", c.line);
        }
        issued = r.outcomes.iter().all(|c| c.ok)
            && cfg.certificates[0].output_dir.join("cert.pem").exists();
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert!(
        issued,
        "certificate issued within {runs} runs against the hostile CA"
    );
    check_installed(&cfg, &ca, &names);
    // The alternate chain was chosen: it verifies against the alternate root only.
    let out = &cfg.certificates[0].output_dir;
    let alt_root = ca.dir.path().join("root-alt.pem");
    let v = Command::new("openssl")
        .args(["verify", "-CAfile"])
        .arg(&alt_root)
        .arg("-untrusted")
        .arg(out.join("chain.pem"))
        .arg(out.join("cert.pem"))
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
}
