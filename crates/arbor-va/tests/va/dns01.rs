//! dns-01 (RFC 8555 §8.4) against arbor-testdns over real UDP/TCP on 127.0.0.1.

use crate::common::{KEY_AUTH, problem, test_dns, va};
use arbor_proto::Identifier;
use arbor_va::dns01::{NO_DNS_DETAIL, txt_value};
use arbor_va::{ResolverConfig, Va, VaConfig};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

#[tokio::test]
async fn correct_txt_validates_and_is_looked_up() {
    let dns = test_dns().await;
    dns.set_txt("_acme-challenge.example.com", &txt_value(KEY_AUTH));
    let rec = va(&dns, 5001)
        .validate_dns01(&Identifier::dns("Example.COM"), KEY_AUTH)
        .await
        .unwrap();
    assert_eq!(rec.hostname, "example.com");
    assert_eq!(rec.address_used, None);
    let json = serde_json::to_value(&rec).unwrap();
    assert_eq!(json, serde_json::json!({"hostname": "example.com"}));
    let h = dns.history_for("_acme-challenge.example.com");
    assert!(!h.is_empty() && h.iter().all(|e| e.qtype == "TXT"), "{h:?}");
}

#[tokio::test]
async fn wildcard_uses_the_base_name() {
    let dns = test_dns().await;
    dns.set_txt("_acme-challenge.example.com", &txt_value(KEY_AUTH));
    va(&dns, 5001)
        .validate_dns01(&Identifier::dns("*.example.com"), KEY_AUTH)
        .await
        .unwrap();
    assert!(dns.history_for("_acme-challenge.*.example.com").is_empty());
}

#[tokio::test]
async fn cname_is_followed() {
    let dns = test_dns().await;
    dns.set_cname(
        "_acme-challenge.example.com",
        "example.com.validation.example.net",
    );
    dns.set_txt("example.com.validation.example.net", &txt_value(KEY_AUTH));
    va(&dns, 5001)
        .validate_dns01(&Identifier::dns("example.com"), KEY_AUTH)
        .await
        .unwrap();
    assert!(!dns.history_for("_acme-challenge.example.com").is_empty());
}

#[tokio::test]
async fn any_of_several_txt_values_wins() {
    let dns = test_dns().await;
    dns.set_txt(
        "_acme-challenge.example.com",
        "stale-value-from-an-old-order",
    );
    dns.set_txt("_acme-challenge.example.com", &txt_value(KEY_AUTH));
    dns.set_txt("_acme-challenge.example.com", "another-unrelated-value");
    va(&dns, 5001)
        .validate_dns01(&Identifier::dns("example.com"), KEY_AUTH)
        .await
        .unwrap();
}

#[tokio::test]
async fn wrong_value_is_unauthorized_and_not_echoed() {
    let dns = test_dns().await;
    dns.set_txt("_acme-challenge.example.com", "secret-wrong-value");
    dns.set_txt("_acme-challenge.example.com", &txt_value("other.key-auth"));
    let e = va(&dns, 5001)
        .validate_dns01(&Identifier::dns("example.com"), KEY_AUTH)
        .await
        .unwrap_err();
    let (kind, detail) = problem(&e);
    assert_eq!(kind, "unauthorized");
    assert!(
        detail.contains("wrong value: found 2 TXT record(s), none matches"),
        "{detail}"
    );
    assert!(detail.contains("_acme-challenge.example.com"), "{detail}");
    assert!(!detail.contains("secret-wrong-value"), "{detail}");
}

#[tokio::test]
async fn no_txt_record_is_unauthorized() {
    let dns = test_dns().await;
    dns.add_a(
        "_acme-challenge.example.com",
        &[Ipv4Addr::new(192, 0, 2, 1)],
    );
    let e = va(&dns, 5001)
        .validate_dns01(&Identifier::dns("example.com"), KEY_AUTH)
        .await
        .unwrap_err();
    assert_eq!(
        problem(&e),
        (
            "unauthorized",
            "No TXT record found at _acme-challenge.example.com"
        )
    );
}

#[tokio::test]
async fn nxdomain_is_dns() {
    let dns = test_dns().await;
    let e = va(&dns, 5001)
        .validate_dns01(&Identifier::dns("missing.example.com"), KEY_AUTH)
        .await
        .unwrap_err();
    let (kind, detail) = problem(&e);
    assert_eq!(kind, "dns");
    assert!(
        detail.contains("NXDOMAIN looking up TXT for _acme-challenge.missing.example.com"),
        "{detail}"
    );
}

#[tokio::test]
async fn servfail_is_dns() {
    let dns = test_dns().await;
    dns.set_txt("_acme-challenge.example.com", &txt_value(KEY_AUTH));
    dns.set_servfail("_acme-challenge.example.com");
    let e = va(&dns, 5001)
        .validate_dns01(&Identifier::dns("example.com"), KEY_AUTH)
        .await
        .unwrap_err();
    let (kind, detail) = problem(&e);
    assert_eq!(kind, "dns");
    assert!(
        detail.contains("SERVFAIL looking up TXT for _acme-challenge.example.com"),
        "{detail}"
    );
}

#[tokio::test]
async fn silent_server_times_out() {
    // A UDP socket that reads nothing and a TCP port that is closed.
    let silent = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = silent.local_addr().unwrap();
    let cfg = VaConfig {
        timeout: Duration::from_millis(800),
        ..VaConfig::local(ResolverConfig::Server(addr))
    };
    let start = Instant::now();
    let e = Va::new(cfg)
        .unwrap()
        .validate_dns01(&Identifier::dns("example.com"), KEY_AUTH)
        .await
        .unwrap_err();
    let (kind, detail) = problem(&e);
    assert_eq!(kind, "dns");
    assert!(
        detail.contains("looking up TXT for _acme-challenge.example.com"),
        "{detail}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn fixed_resolver_has_no_dns() {
    let va = Va::new(VaConfig::local(ResolverConfig::Fixed(
        Ipv4Addr::LOCALHOST.into(),
    )))
    .unwrap();
    let e = va
        .validate_dns01(&Identifier::dns("example.com"), KEY_AUTH)
        .await
        .unwrap_err();
    assert_eq!(problem(&e), ("dns", NO_DNS_DETAIL));
    let ip = Identifier::ip(Ipv4Addr::LOCALHOST.into());
    let e = va.validate_dns01(&ip, KEY_AUTH).await.unwrap_err();
    assert_eq!(problem(&e).0, "malformed");
}
