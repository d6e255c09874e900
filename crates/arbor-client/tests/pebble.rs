//! Integration tests of arbor-client against Debian's Pebble (a real ACME server written by
//! others), with Pebble's 5 % badNonce rejection left ON so the retry path is exercised.
//! Certificates are checked with the openssl CLI as an independent parser.
//!
//! Each test starts its own pebble + pebble-challtestsrv on free loopback ports (no clash
//! with other users of 14000/5002). Tests print a reason and pass if Pebble is absent.

use arbor_client::{
    AcmeClient, ClientError, ClientOptions, Http01Responder, PollOptions, RevocationReason,
    flow::issue_http01, pem_chain_to_der,
};
use arbor_proto::sign::{KeyKind, SigningKey};
use arbor_proto::{Identifier, ProblemType};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use arbor_testkit::{Pebble, PebbleOptions};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Pebble validating http-01 on `http_port`, with extra env vars.
async fn start(http_port: u16, env: &[(&str, &str)]) -> Option<Pebble> {
    start_with(http_port, env, serde_json::json!({})).await
}

/// Like [`start`], merging `extra` into the `pebble` config object.
async fn start_with(
    http_port: u16,
    env: &[(&str, &str)],
    extra: serde_json::Value,
) -> Option<Pebble> {
    Pebble::start(PebbleOptions {
        http_port,
        tls_port: free_port(),
        env,
        extra,
    })
    .await
}

async fn responder() -> Http01Responder {
    Http01Responder::start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("responder binds")
}

fn poll() -> PollOptions {
    PollOptions::fast(Duration::from_millis(5), Duration::from_secs(30))
}

fn name(i: usize) -> Identifier {
    Identifier::dns(format!(
        "t{i}-{}.client-test.example.com",
        std::process::id()
    ))
}

/// Runs `openssl x509 -text` on a DER certificate.
fn x509_text(der: &[u8], dir: &Path) -> String {
    let f = dir.join("cert.der");
    std::fs::write(&f, der).expect("write der");
    let out = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-noout", "-text", "-in"])
        .arg(&f)
        .output()
        .expect("openssl runs");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_orders_download_revoke_with_bad_nonces() {
    let resp = responder().await;
    let Some(pebble) = start(resp.local_addr().port(), &[("PEBBLE_ALTERNATE_ROOTS", "1")]).await
    else {
        return;
    };
    let client = pebble.client().await;
    assert!(
        client
            .directory()
            .new_order
            .starts_with("https://127.0.0.1:")
    );

    // Accounts: create, re-create (same URL, 200), find, find-unknown.
    let key = SigningKey::generate(KeyKind::P256).expect("key");
    let key_pem = key.to_pem();
    let contact = vec!["mailto:ops@client-test.example.com".to_string()];
    let acct = client
        .new_account(key, &contact, true, None)
        .await
        .expect("new account");
    assert!(acct.was_created());
    assert_eq!(acct.object().contact, contact);
    let again = client
        .new_account(
            SigningKey::from_pem(&key_pem).expect("pem"),
            &[],
            true,
            None,
        )
        .await
        .expect("existing account");
    assert!(!again.was_created());
    assert_eq!(again.url(), acct.url());
    let found = client
        .find_account(SigningKey::from_pem(&key_pem).expect("pem"))
        .await
        .expect("find");
    assert_eq!(found.url(), acct.url());
    let unknown = client
        .find_account(SigningKey::generate(KeyKind::Rsa2048).expect("key"))
        .await
        .expect_err("no such account");
    assert_eq!(
        unknown.problem_type(),
        Some(ProblemType::AccountDoesNotExist),
        "{unknown}"
    );

    // Enough orders that 5 % nonce rejection almost surely hits (≈8 requests each).
    let mut issued = Vec::new();
    for i in 0..20 {
        let it = issue_http01(&acct, &resp, &[name(i)], None, &poll())
            .await
            .unwrap_or_else(|e| panic!("order {i}: {e}"));
        issued.push(it);
    }
    let stats = client.stats();
    assert!(
        stats.bad_nonce_retries > 0,
        "no badNonce retry seen: {stats:?}"
    );
    assert!(stats.nonce_fetches <= 2, "pool not reused: {stats:?}");
    assert!(resp.hits() >= 20, "pebble fetched {} tokens", resp.hits());
    assert!(resp.is_empty(), "tokens left published");

    // The chain names the order's identifier, and openssl verifies it to Pebble's root.
    let (st, root) = pebble.mgmt_get("/roots/0").await;
    assert_eq!(st, 200);
    std::fs::write(pebble.path("root.pem"), root).expect("root");
    let first = &issued[0];
    let ders = pem_chain_to_der(&first.chain.pem).expect("chain");
    assert!(ders.len() >= 2, "leaf + intermediate expected");
    let text = x509_text(&ders[0], pebble.dir.path());
    assert!(text.contains(&format!("DNS:{}", name(0).value)), "{text}");
    std::fs::write(pebble.path("chain.pem"), &first.chain.pem).expect("chain");
    let out = Command::new("openssl")
        .args([
            "verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "chain.pem",
            "chain.pem",
        ])
        .current_dir(pebble.dir.path())
        .output()
        .expect("openssl verify");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        first.chain.alternates.len(),
        1,
        "PEBBLE_ALTERNATE_ROOTS=1 gives one alternate"
    );
    let alt = acct
        .certificate(&first.chain.alternates[0])
        .await
        .expect("alternate");
    assert_eq!(pem_chain_to_der(&alt.pem).expect("alt chain")[0], ders[0]);

    // Revoke #0 as the account, #1 with the certificate's own key.
    acct.revoke(&ders[0], Some(RevocationReason::Superseded))
        .await
        .expect("revoke");
    let twice = acct
        .revoke(&ders[0], None)
        .await
        .expect_err("already revoked");
    assert_eq!(
        twice.problem_type(),
        Some(ProblemType::AlreadyRevoked),
        "{twice}"
    );
    let der1 = pem_chain_to_der(&issued[1].chain.pem).expect("chain")[0].clone();
    let cert_key = SigningKey::from_pem(&issued[1].key_pem).expect("cert key");
    client
        .revoke_with_cert_key(&der1, &cert_key, Some(RevocationReason::KeyCompromise))
        .await
        .expect("revoke by cert key");
    let wrong = client
        .revoke_with_cert_key(
            &pem_chain_to_der(&issued[2].chain.pem).expect("chain")[0],
            &SigningKey::generate(KeyKind::P256).expect("key"),
            None,
        )
        .await
        .expect_err("unrelated key may not revoke");
    assert!(matches!(wrong, ClientError::Problem { .. }), "{wrong}");
    for (der, want) in [(&ders[0], "Revoked"), (&der1, "Revoked")] {
        let hex = serial_hex(der);
        let (st, body) = pebble
            .mgmt_get(&format!("/cert-status-by-serial/{hex}"))
            .await;
        assert_eq!(st, 200, "{body}");
        assert!(body.contains(want), "{body}");
    }
}

/// The serial as Pebble's management API wants it (lower hex, no leading zeros).
fn serial_hex(der: &[u8]) -> String {
    let (_, cert) = x509_parser::parse_x509_certificate(der).expect("certificate parses");
    let hex: String = cert
        .tbs_certificate
        .raw_serial()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    hex.trim_start_matches('0').to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_change_deactivate_and_problems() {
    let resp = responder().await;
    let Some(pebble) = start(resp.local_addr().port(), &[]).await else {
        return;
    };
    let client = pebble.client().await;
    let old = SigningKey::generate(KeyKind::P256).expect("key");
    let old_pem = old.to_pem();
    let mut acct = client
        .new_account(old, &[], true, None)
        .await
        .expect("account");

    // Key rollover: the new key finds the account, the old one no longer does.
    let new = SigningKey::generate(KeyKind::P384).expect("key");
    let new_pem = new.to_pem();
    acct.change_key(new).await.expect("key change");
    let found = client
        .find_account(SigningKey::from_pem(&new_pem).expect("pem"))
        .await
        .expect("new key finds account");
    assert_eq!(found.url(), acct.url());
    let loaded = client
        .load_account(SigningKey::from_pem(&new_pem).expect("pem"), acct.url())
        .await
        .expect("stored key + URL load");
    assert_eq!(
        loaded.object().status,
        arbor_proto::objects::AccountStatus::Valid
    );
    let gone = client
        .find_account(SigningKey::from_pem(&old_pem).expect("pem"))
        .await
        .expect_err("old key is gone");
    assert_eq!(
        gone.problem_type(),
        Some(ProblemType::AccountDoesNotExist),
        "{gone}"
    );
    // The rolled-over handle still works: one full order.
    issue_http01(&acct, &resp, &[name(100)], None, &poll())
        .await
        .expect("order after key change");

    // A typed problem for a refused identifier.
    let bad = acct
        .new_order(&[Identifier::dns("bad_name!.example.com")], None, None)
        .await
        .expect_err("refused");
    assert!(
        matches!(
            bad.problem_type(),
            Some(ProblemType::RejectedIdentifier | ProblemType::Malformed)
        ),
        "{bad}"
    );
    let ClientError::Problem { status, .. } = bad else {
        panic!("not a problem document: {bad}");
    };
    assert_eq!(status, 400);

    // Deactivation: afterwards the account can no longer order.
    acct.deactivate().await.expect("deactivate");
    assert_eq!(
        acct.object().status,
        arbor_proto::objects::AccountStatus::Deactivated
    );
    let refused = acct
        .new_order(&[name(101)], None, None)
        .await
        .expect_err("deactivated account");
    assert_eq!(
        refused.problem_type(),
        Some(ProblemType::Unauthorized),
        "{refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonce_retries_are_bounded_and_tls_is_checked() {
    let resp = responder().await;
    let Some(pebble) = start(
        resp.local_addr().port(),
        &[("PEBBLE_WFE_NONCEREJECT", "100")],
    )
    .await
    else {
        return;
    };
    let opts = ClientOptions {
        max_nonce_retries: 2,
        ..ClientOptions::default()
    };
    let client = AcmeClient::with_options(&pebble.directory, Some(&pebble.listener_ca), opts)
        .await
        .expect("client");
    let err = client
        .new_account(
            SigningKey::generate(KeyKind::P256).expect("key"),
            &[],
            true,
            None,
        )
        .await
        .expect_err("every nonce is rejected");
    assert!(
        matches!(err, ClientError::NonceRetriesExhausted(3)),
        "{err}"
    );
    assert_eq!(client.stats().bad_nonce_retries, 2);

    // Without the listener's CA the platform roots do not trust Pebble.
    let untrusted = AcmeClient::new(&pebble.directory, None)
        .await
        .expect_err("untrusted");
    assert!(
        matches!(untrusted, ClientError::Transport(_)),
        "{untrusted}"
    );
    // Plain HTTP is refused before any connection.
    let plain = AcmeClient::new("http://127.0.0.1:1/dir", None)
        .await
        .expect_err("http");
    assert!(matches!(plain, ClientError::BadDirectoryUrl(_)), "{plain}");
    let bogus = AcmeClient::new(&pebble.directory, Some(b"not a pem"))
        .await
        .expect_err("pem");
    assert!(
        matches!(
            bogus,
            ClientError::EmptyTrustRoot | ClientError::BadTrustRoot(_)
        ),
        "{bogus}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_account_binding() {
    let resp = responder().await;
    let mac_key = b"0123456789abcdef0123456789abcdef-eab";
    let extra = serde_json::json!({
        "externalAccountBindingRequired": true,
        "externalAccountMACKeys": { "kid-1": arbor_proto::b64::encode(mac_key) },
    });
    let Some(pebble) = start_with(resp.local_addr().port(), &[], extra).await else {
        return;
    };
    let client = pebble.client().await;
    let meta = client.directory().meta.clone().unwrap_or_default();
    assert!(meta.external_account_required);
    let key = || SigningKey::generate(KeyKind::P256).expect("key");

    let missing = client
        .new_account(key(), &[], true, None)
        .await
        .expect_err("EAB required");
    assert_eq!(
        missing.problem_type(),
        Some(ProblemType::ExternalAccountRequired),
        "{missing}"
    );
    let wrong = arbor_client::ExternalAccountBinding {
        kid: "kid-1".into(),
        hmac_key: b"not the key".to_vec(),
        alg: "HS256".into(),
    };
    let refused = client
        .new_account(key(), &[], true, Some(&wrong))
        .await
        .expect_err("bad MAC");
    assert!(matches!(refused, ClientError::Problem { .. }), "{refused}");
    let eab = arbor_client::ExternalAccountBinding {
        kid: "kid-1".into(),
        hmac_key: mac_key.to_vec(),
        alg: "HS256".into(),
    };
    assert!(
        !format!("{eab:?}").contains("0123456789"),
        "Debug leaks the MAC key"
    );
    let acct = client
        .new_account(key(), &[], true, Some(&eab))
        .await
        .expect("bound account");
    assert!(acct.was_created());
    issue_http01(&acct, &resp, &[name(200)], None, &poll())
        .await
        .expect("order with bound account");
}
