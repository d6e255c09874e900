//! CA policy as the client meets it: EAB, rate limits, `alreadyReplaced`, long
//! `processing`, failing deploy hooks and the hostile CA.

use super::*;

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
