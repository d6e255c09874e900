//! Policy over real HTTPS: profiles (draft-aaron-acme-profiles), ARI (RFC 9773), rate
//! limits (RFC 8555 §6.6) and external account binding (§7.3.4).

use arbor_proto::b64;
use arbor_proto::sign::KeyKind;
use arbor_ra::{Limit, RaConfig, RateLimits};
use arbor_testkit::TestCa;
use serde_json::json;

fn leaf_der(chain: &str) -> Vec<u8> {
    arbor_client::pem_chain_to_der(chain)
        .expect("a PEM certificate chain")
        .swap_remove(0)
}

fn validity_secs(der: &[u8]) -> i64 {
    let c = <x509_cert::Certificate as der::Decode>::from_der(der).unwrap();
    let v = c.tbs_certificate().validity();
    v.not_after.to_unix_duration().as_secs() as i64
        - v.not_before.to_unix_duration().as_secs() as i64
        + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_and_ip_identifiers() {
    let ca = TestCa::start().await;
    let mut raw = ca.raw(KeyKind::P256).await;
    let dir = raw.get(&ca.directory).await.json();
    assert!(dir["meta"]["profiles"]["classic"].is_string());
    assert!(dir["meta"]["profiles"]["shortlived"].is_string());
    raw.register().await;
    let url = raw.dir.new_order.clone();
    let r = raw
        .signed(&url, Some(&json!({"identifiers": [{"type": "dns", "value": "p.example.com"}], "profile": "nope"})))
        .await;
    assert_eq!(r.problem_type(), "invalidProfile", "{}", r.text());
    // IP identifiers: refused in the default (classic) profile, allowed in shortlived.
    let ip = json!({"identifiers": [{"type": "ip", "value": "127.0.0.1"}]});
    let r = raw.signed(&url, Some(&ip)).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.problem_type(), "rejectedIdentifier", "{}", r.text());
    let r = raw
        .signed(&url, Some(&json!({"identifiers": [{"type": "ip", "value": "127.0.0.1"}], "profile": "shortlived"})))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["profile"], "shortlived");
    let order_url = r.header("location").unwrap();
    raw.solve_http01(&r.json(), &ca.responder).await;
    let o = raw.signed(&order_url, None).await.json();
    assert_eq!(o["status"], "ready");
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.subject_alt_names = vec![rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap())];
    let csr = params.serialize_request(&key).unwrap();
    let f = raw
        .signed(
            o["finalize"].as_str().unwrap(),
            Some(&json!({"csr": b64::encode(csr.der())})),
        )
        .await;
    assert_eq!(f.status, 200, "{}", f.text());
    let chain = raw
        .signed(f.json()["certificate"].as_str().unwrap(), None)
        .await
        .text();
    assert_eq!(validity_secs(&leaf_der(&chain)), 160 * 3600);
    // classic is 90 days
    let (o, _) = raw.issue(&["c.example.com"], &ca.responder).await;
    let chain = raw
        .signed(o["certificate"].as_str().unwrap(), None)
        .await
        .text();
    assert_eq!(validity_secs(&leaf_der(&chain)), 90 * 86_400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ari_window_revocation_and_replaces() {
    let ca = TestCa::start().await;
    let mut raw = ca.raw(KeyKind::P256).await;
    raw.register().await;
    let dir = raw.get(&ca.directory).await.json();
    let ri = dir["renewalInfo"].as_str().unwrap().to_string();
    let (o, _) = raw.issue(&["ari.example.com"], &ca.responder).await;
    let der = leaf_der(
        &raw.signed(o["certificate"].as_str().unwrap(), None)
            .await
            .text(),
    );
    let id = arbor_ra::CertId::of_certificate(&der).unwrap().encode();
    let r = raw.get(&format!("{ri}/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("retry-after").unwrap(), "21600");
    let w = r.json();
    let start = w["suggestedWindow"]["start"].as_str().unwrap().to_string();
    let end = w["suggestedWindow"]["end"].as_str().unwrap().to_string();
    assert!(start < end);
    let now = time::OffsetDateTime::now_utc();
    let s = time::OffsetDateTime::parse(&start, &time::format_description::well_known::Rfc3339)
        .unwrap();
    assert!(
        (s - now).whole_days() >= 59 && (s - now).whole_days() <= 61,
        "{start}"
    );
    // Unknown or garbage ids.
    assert_eq!(raw.get(&format!("{ri}/AAAA.AAAA")).await.status, 404);
    assert_eq!(
        raw.get(&format!("{ri}/garbage")).await.problem_type(),
        "malformed"
    );
    // replaces: a renewal order names the old certificate; a second one is refused.
    let url = raw.dir.new_order.clone();
    let body =
        json!({"identifiers": [{"type": "dns", "value": "ari.example.com"}], "replaces": id});
    let r1 = raw.signed(&url, Some(&body)).await;
    assert_eq!(r1.status, 201, "{}", r1.text());
    assert_eq!(r1.json()["replaces"], id.as_str());
    let again = raw
        .signed(&r1.header("location").unwrap(), None)
        .await
        .json();
    assert_eq!(
        again["replaces"],
        id.as_str(),
        "replaces echoed on every read"
    );
    let r2 = raw.signed(&url, Some(&body)).await;
    assert_eq!(r2.problem_type(), "alreadyReplaced", "{}", r2.text());
    // Another account may not claim it.
    let mut other = ca.raw(KeyKind::P256).await;
    other.register().await;
    let r3 = other.signed(&url, Some(&body)).await;
    assert_eq!(r3.problem_type(), "unauthorized", "{}", r3.text());
    // Disjoint identifiers are refused.
    let r4 = raw
        .signed(&url, Some(&json!({"identifiers": [{"type": "dns", "value": "zzz.example.com"}], "replaces": id})))
        .await;
    assert_eq!(r4.problem_type(), "malformed");
    // Revocation moves the window to now.
    let rv = raw
        .signed(
            &raw.dir.revoke_cert.clone(),
            Some(&json!({"certificate": b64::encode(&der), "reason": 1})),
        )
        .await;
    assert_eq!(rv.status, 200);
    let w = raw.get(&format!("{ri}/{id}")).await.json();
    let e2 = time::OffsetDateTime::parse(
        w["suggestedWindow"]["end"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(
        e2 < time::OffsetDateTime::now_utc() && (now - e2).whole_minutes() < 120,
        "revoked: the whole window lies just before now"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_trip_and_reset() {
    let limits = RateLimits {
        new_accounts_per_ip: Some(Limit {
            count: 2,
            window_secs: 3600,
        }),
        new_orders_per_account: Some(Limit {
            count: 3,
            window_secs: 3600,
        }),
        certs_per_registered_domain: Some(Limit {
            count: 1,
            window_secs: 7 * 86_400,
        }),
        failed_validations: Some(Limit {
            count: 1,
            window_secs: 3600,
        }),
        duplicate_certificates: None,
    };
    let ca = TestCa::start_with(RaConfig {
        rate_limits: limits,
        ..RaConfig::default()
    })
    .await;
    // Accounts per IP.
    let mut a = ca.raw(KeyKind::P256).await;
    assert_eq!(a.register().await.status, 201);
    let mut b = ca.raw(KeyKind::P256).await;
    assert_eq!(b.register().await.status, 201);
    let mut c = ca.raw(KeyKind::P256).await;
    let r = c.register().await;
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.problem_type(), "rateLimited");
    assert!(r.problem().unwrap().detail.contains("new accounts"));
    let retry: i64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 3600);
    // Certificates per registered domain: one, then refused at newOrder.
    let (_o, _) = a.issue(&["one.limited.com"], &ca.responder).await;
    let r = a.new_order(&["two.limited.com"]).await;
    assert_eq!(r.problem_type(), "rateLimited", "{}", r.text());
    assert!(r.problem().unwrap().detail.contains("limited.com"));
    // Orders per account (the refused order above did not count): 1 made, 2 more allowed.
    assert_eq!(a.new_order(&["x.other.com"]).await.status, 201);
    assert_eq!(a.new_order(&["y.other.com"]).await.status, 201);
    let r = a.new_order(&["w.other.com"]).await;
    assert_eq!(r.problem_type(), "rateLimited", "{}", r.text());
    // Failed validations: one failure blocks new orders for that name.
    let r = b.new_order(&["fail.third.com"]).await;
    let order = r.json();
    let authz = b
        .signed(order["authorizations"][0].as_str().unwrap(), None)
        .await
        .json();
    let ch = authz["challenges"][0]["url"].as_str().unwrap().to_string();
    let v = b.signed(&ch, Some(&json!({}))).await;
    assert_eq!(
        v.json()["status"],
        "invalid",
        "no responder entry: validation fails"
    );
    let r = b.new_order(&["fail.third.com"]).await;
    assert_eq!(r.problem_type(), "rateLimited", "{}", r.text());
    // Everything resets once the window passes (driven clock).
    ca.clock.advance(3601);
    assert_eq!(c.register().await.status, 201);
    assert_eq!(b.new_order(&["fail.third.com"]).await.status, 201);
    assert_eq!(a.new_order(&["z.other.com"]).await.status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_account_binding() {
    let ca = TestCa::start_with(RaConfig {
        external_account_required: true,
        rate_limits: RateLimits::off(),
        ..RaConfig::default()
    })
    .await;
    let mut raw = ca.raw(KeyKind::P256).await;
    let dir = raw.get(&ca.directory).await.json();
    assert_eq!(dir["meta"]["externalAccountRequired"], true);
    let r = raw.register().await;
    assert_eq!(r.problem_type(), "externalAccountRequired", "{}", r.text());
    let (kid, key) = ca.running.state.ra.add_eab_key().await.unwrap();
    let url = raw.dir.new_account.clone();
    for alg in ["HS256", "HS384", "HS512"] {
        let mut fresh = ca.raw(KeyKind::P256).await;
        let (k2, key2) = ca.running.state.ra.add_eab_key().await.unwrap();
        let eab =
            arbor_proto::eab::eab_sign(alg, &k2, &key2, &url, &fresh.key.public_jwk().to_value())
                .unwrap();
        let r = fresh
            .signed(
                &url,
                Some(&json!({"termsOfServiceAgreed": true, "externalAccountBinding": eab})),
            )
            .await;
        assert_eq!(r.status, 201, "{alg}: {}", r.text());
        fresh.kid = r.header("location");
    }
    // Wrong HMAC key.
    let bad = arbor_proto::eab::eab_sign(
        "HS256",
        &kid,
        b"not the key at all, 32 bytes....",
        &url,
        &raw.key.public_jwk().to_value(),
    )
    .unwrap();
    let r = raw
        .signed(&url, Some(&json!({"externalAccountBinding": bad})))
        .await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.problem_type(), "unauthorized");
    // Right key binds; the same key cannot bind a second account.
    let eab =
        arbor_proto::eab::eab_sign("HS256", &kid, &key, &url, &raw.key.public_jwk().to_value())
            .unwrap();
    let r = raw
        .signed(&url, Some(&json!({"externalAccountBinding": eab})))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let second = ca.raw(KeyKind::P256).await;
    let eab2 = arbor_proto::eab::eab_sign(
        "HS256",
        &kid,
        &key,
        &url,
        &second.key.public_jwk().to_value(),
    )
    .unwrap();
    let r = second
        .signed(&url, Some(&json!({"externalAccountBinding": eab2})))
        .await;
    assert_eq!(r.problem_type(), "unauthorized", "{}", r.text());
}
