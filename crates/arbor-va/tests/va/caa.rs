//! CAA (RFC 8659, RFC 8657) against arbor-testdns over real sockets on 127.0.0.1.

use crate::common::{problem, test_dns, va};
use arbor_proto::Identifier;
use arbor_testdns::{CaaRecord, TestDns};
use arbor_va::{ResolverConfig, Va, VaConfig, ValidationError};
use std::net::Ipv4Addr;

const CA: &str = "ca.example";
const ACCOUNT: &str = "https://ca.example/acme/acct/7";

async fn check(
    dns: &TestDns,
    name: &str,
    wildcard: bool,
    method: &str,
) -> Result<(), ValidationError> {
    va(dns, 5001)
        .check_caa(
            &Identifier::dns(name),
            wildcard,
            &[CA.to_string(), "other-name-of-ca.example".into()],
            ACCOUNT,
            method,
        )
        .await
}

fn issue(value: &str) -> CaaRecord {
    CaaRecord::new(0, "issue", value)
}

fn assert_forbidden(r: Result<(), ValidationError>, needle: &str) {
    let e = r.expect_err("CAA should forbid");
    let (kind, detail) = problem(&e);
    assert_eq!(kind, "caa", "{detail}");
    assert!(
        detail.contains(needle),
        "{detail:?} should contain {needle:?}"
    );
}

#[tokio::test]
async fn no_caa_anywhere_allows_and_climbs_to_the_tld() {
    let dns = test_dns().await;
    check(&dns, "a.b.example.com", false, "http-01")
        .await
        .unwrap();
    for name in ["a.b.example.com", "b.example.com", "example.com", "com"] {
        let h = dns.history_for(name);
        assert!(h.iter().any(|e| e.qtype == "CAA"), "{name} not looked up");
    }
}

#[tokio::test]
async fn issue_allows_and_forbids() {
    let dns = test_dns().await;
    dns.set_caa("example.com", vec![issue("CA.Example")]);
    check(&dns, "example.com", false, "http-01").await.unwrap();
    dns.set_caa("example.com", vec![issue("letsencrypt.org")]);
    assert_forbidden(
        check(&dns, "example.com", false, "http-01").await,
        "CAA record for example.com prevents issuance: issue \"letsencrypt.org\" names another CA",
    );
    dns.set_caa("example.com", vec![issue(";")]);
    assert_forbidden(
        check(&dns, "example.com", false, "http-01").await,
        "forbids all issuance",
    );
    // iodef alone does not restrict
    dns.set_caa(
        "example.com",
        vec![CaaRecord::new(0, "iodef", "mailto:sec@example.com")],
    );
    check(&dns, "example.com", false, "http-01").await.unwrap();
}

#[tokio::test]
async fn issuewild_for_wildcards_with_fallback_to_issue() {
    let dns = test_dns().await;
    dns.set_caa(
        "example.com",
        vec![issue(CA), CaaRecord::new(0, "issuewild", ";")],
    );
    check(&dns, "example.com", false, "dns-01").await.unwrap();
    assert_forbidden(
        check(&dns, "example.com", true, "dns-01").await,
        "issuewild \";\"",
    );
    assert_forbidden(
        check(&dns, "*.example.com", false, "dns-01").await,
        "issuewild",
    );
    dns.set_caa(
        "example.com",
        vec![issue(";"), CaaRecord::new(0, "issuewild", CA)],
    );
    check(&dns, "*.example.com", true, "dns-01").await.unwrap();
    assert_forbidden(
        check(&dns, "example.com", false, "dns-01").await,
        "issue \";\"",
    );
    // no issuewild: a wildcard falls back to issue
    dns.set_caa("example.com", vec![issue(CA)]);
    check(&dns, "*.example.com", true, "dns-01").await.unwrap();
}

#[tokio::test]
async fn accounturi_and_validationmethods() {
    let dns = test_dns().await;
    dns.set_caa(
        "example.com",
        vec![issue(&format!("{CA}; accounturi={ACCOUNT}"))],
    );
    check(&dns, "example.com", false, "http-01").await.unwrap();
    dns.set_caa(
        "example.com",
        vec![issue(&format!(
            "{CA}; accounturi=https://ca.example/acme/acct/8"
        ))],
    );
    assert_forbidden(
        check(&dns, "example.com", false, "http-01").await,
        "limited to another ACME account",
    );
    dns.set_caa(
        "example.com",
        vec![issue(&format!(
            "{CA}; validationmethods=dns-01,tls-alpn-01"
        ))],
    );
    check(&dns, "example.com", false, "dns-01").await.unwrap();
    assert_forbidden(
        check(&dns, "example.com", false, "http-01").await,
        "does not allow this validation method",
    );
    dns.set_caa(
        "example.com",
        vec![issue(&format!(
            "{CA}; accounturi={ACCOUNT}; validationmethods=http-01"
        ))],
    );
    check(&dns, "example.com", false, "http-01").await.unwrap();
}

#[tokio::test]
async fn critical_unknown_tag_refuses_noncritical_is_ignored() {
    let dns = test_dns().await;
    dns.set_caa(
        "example.com",
        vec![issue(CA), CaaRecord::new(0, "futuretag", "x")],
    );
    check(&dns, "example.com", false, "http-01").await.unwrap();
    dns.set_caa(
        "example.com",
        vec![issue(CA), CaaRecord::new(128, "futuretag", "x")],
    );
    assert_forbidden(
        check(&dns, "example.com", false, "http-01").await,
        "critical property tag \"futuretag\" is not understood",
    );
}

#[tokio::test]
async fn parent_caa_applies_to_child_and_stops_the_climb() {
    let dns = test_dns().await;
    dns.set_caa("example.com", vec![issue("letsencrypt.org")]);
    dns.add_a("www.example.com", &[Ipv4Addr::new(192, 0, 2, 1)]);
    assert_forbidden(
        check(&dns, "deep.www.example.com", false, "http-01").await,
        "CAA record for example.com",
    );
    for name in ["deep.www.example.com", "www.example.com", "example.com"] {
        assert!(!dns.history_for(name).is_empty(), "{name} not looked up");
    }
    assert!(
        dns.history_for("com").is_empty(),
        "climb went past the relevant RRset"
    );
    // a CAA set on the child overrides the parent's
    dns.set_caa("www.example.com", vec![issue(CA)]);
    check(&dns, "www.example.com", false, "http-01")
        .await
        .unwrap();
}

#[tokio::test]
async fn cname_to_a_caa_bearing_name() {
    let dns = test_dns().await;
    dns.set_cname("shop.example.com", "shops.hosting.example.net");
    dns.set_caa("shops.hosting.example.net", vec![issue("letsencrypt.org")]);
    assert_forbidden(
        check(&dns, "shop.example.com", false, "http-01").await,
        "CAA record for shop.example.com",
    );
    dns.set_caa("shops.hosting.example.net", vec![issue(CA)]);
    check(&dns, "shop.example.com", false, "http-01")
        .await
        .unwrap();
}

#[tokio::test]
async fn servfail_refuses_with_dns() {
    let dns = test_dns().await;
    dns.set_caa("example.com", vec![issue(CA)]);
    dns.set_servfail("www.example.com");
    let e = check(&dns, "www.example.com", false, "http-01")
        .await
        .unwrap_err();
    let (kind, detail) = problem(&e);
    assert_eq!(kind, "dns");
    assert!(
        detail.contains("SERVFAIL looking up CAA for www.example.com"),
        "{detail}"
    );
    // a failure higher up the tree refuses too
    dns.clear_servfail("www.example.com");
    dns.clear_caa("example.com");
    dns.set_servfail("example.com");
    let e = check(&dns, "www.example.com", false, "http-01")
        .await
        .unwrap_err();
    assert_eq!(problem(&e).0, "dns");
    assert!(problem(&e).1.contains("CAA for example.com"), "{e}");
}

#[tokio::test]
async fn ip_identifiers_and_laptop_mode_allow() {
    let dns = test_dns().await;
    let v = va(&dns, 5001);
    let ip = Identifier::ip(Ipv4Addr::new(192, 0, 2, 9).into());
    v.check_caa(&ip, false, &[CA.into()], ACCOUNT, "http-01")
        .await
        .unwrap();
    assert!(dns.history().is_empty());
    let fixed = Va::new(VaConfig::local(ResolverConfig::Fixed(
        Ipv4Addr::LOCALHOST.into(),
    )))
    .unwrap();
    fixed
        .check_caa(
            &Identifier::dns("example.com"),
            false,
            &[CA.into()],
            ACCOUNT,
            "http-01",
        )
        .await
        .unwrap();
}
