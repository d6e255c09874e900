//! Validation end to end through a real DNS server (arbor-testdns on 127.0.0.1): dns-01
//! for a wildcard, tls-alpn-01, CAA at validation time, and the CAA recheck at finalize
//! for authorizations older than 8 hours — the regression test for Boulder's 2020 bug,
//! where N names needing a recheck got one name checked N times.

use arbor_proto::b64;
use arbor_proto::sign::KeyKind;
use arbor_ra::{RaConfig, RateLimits};
use arbor_testdns::{CaaRecord, TestDns};
use arbor_testkit::{AlpnResponder, Raw, TestCa};
use serde_json::{Value, json};

async fn dns() -> TestDns {
    let d = TestDns::start(
        "127.0.0.1:0".parse().unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    d.set_default_ipv4(Some("127.0.0.1".parse().unwrap()));
    d
}

fn cfg() -> RaConfig {
    RaConfig {
        rate_limits: RateLimits::off(),
        ..RaConfig::default()
    }
}

async fn challenge(raw: &Raw, order: &Value, i: usize, typ: &str) -> Value {
    let authz = raw
        .signed(order["authorizations"][i].as_str().unwrap(), None)
        .await
        .json();
    authz["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == typ)
        .cloned()
        .unwrap_or_else(|| panic!("no {typ} in {authz}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_by_dns01() {
    let d = dns().await;
    let ca = TestCa::start_with_dns(cfg(), d.dns_addr, 5001).await;
    let mut raw = ca.raw(KeyKind::P256).await;
    raw.register().await;
    let r = raw.new_order(&["*.wild.example.com"]).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let url = r.header("location").unwrap();
    let order = r.json();
    let authz = raw
        .signed(order["authorizations"][0].as_str().unwrap(), None)
        .await
        .json();
    assert_eq!(authz["wildcard"], true);
    assert_eq!(authz["identifier"]["value"], "wild.example.com");
    let types: Vec<&str> = authz["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["dns-01"], "a wildcard is proven only by dns-01");
    let ch = &authz["challenges"][0];
    let token = ch["token"].as_str().unwrap();
    let ka = format!("{token}.{}", raw.key.public_jwk().thumbprint());
    // Wrong value first: invalid with a dns problem naming the mismatch.
    d.set_txt("_acme-challenge.wild.example.com", "not-the-digest");
    let r2 = raw.new_order(&["*.wild2.example.com"]).await.json();
    let ch2 = challenge(&raw, &r2, 0, "dns-01").await;
    d.set_txt("_acme-challenge.wild2.example.com", "wrong");
    let v = raw
        .signed(ch2["url"].as_str().unwrap(), Some(&json!({})))
        .await
        .json();
    assert_eq!(v["status"], "invalid");
    assert!(
        v["error"]["type"]
            .as_str()
            .unwrap()
            .ends_with(":unauthorized")
            || v["error"]["type"].as_str().unwrap().ends_with(":dns")
            || v["error"]["type"]
                .as_str()
                .unwrap()
                .ends_with(":incorrectResponse"),
        "{v}"
    );
    // Right value (among several) validates.
    d.set_txt(
        "_acme-challenge.wild.example.com",
        &arbor_va::dns01::txt_value(&ka),
    );
    let v = raw
        .signed(ch["url"].as_str().unwrap(), Some(&json!({})))
        .await
        .json();
    assert_eq!(v["status"], "valid", "{v}");
    let o = raw.signed(&url, None).await.json();
    assert_eq!(o["status"], "ready");
    let (csr, _) = Raw::csr(&["*.wild.example.com"]);
    let f = raw
        .signed(
            o["finalize"].as_str().unwrap(),
            Some(&json!({"csr": b64::encode(&csr)})),
        )
        .await;
    assert_eq!(f.status, 200, "{}", f.text());
    assert!(
        d.history_for("_acme-challenge.wild.example.com")
            .iter()
            .any(|h| h.qtype == "TXT")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caa_at_validation_and_recheck_each_name() {
    let d = dns().await;
    let ca = TestCa::start_with_dns(cfg(), d.dns_addr, 5001).await;
    let mut raw = ca.raw(KeyKind::P256).await;
    raw.register().await;
    // CAA naming another CA refuses at validation.
    d.set_caa(
        "caa.example.com",
        vec![CaaRecord::new(0, "issue", "other-ca.example")],
    );
    let r = raw.new_order(&["blocked.caa.example.com"]).await.json();
    let ch = challenge(&raw, &r, 0, "http-01").await;
    let token = ch["token"].as_str().unwrap();
    ca.responder.insert(
        token,
        &format!("{token}.{}", raw.key.public_jwk().thumbprint()),
    );
    let v = raw
        .signed(ch["url"].as_str().unwrap(), Some(&json!({})))
        .await
        .json();
    assert_eq!(v["status"], "invalid");
    assert!(
        v["error"]["type"].as_str().unwrap().ends_with(":caa"),
        "{v}"
    );
    // Our own identity is allowed (tree climbing finds the parent's record).
    d.set_caa(
        "caa.example.com",
        vec![CaaRecord::new(0, "issue", "arbor.test")],
    );
    let names = [
        "a.caa.example.com",
        "b.caa.example.com",
        "c.caa.example.com",
    ];
    let r = raw.new_order(&names).await;
    let url = r.header("location").unwrap();
    raw.solve_http01(&r.json(), &ca.responder).await;
    // Only the third name loses permission; eight hours pass.
    d.set_caa(
        "c.caa.example.com",
        vec![CaaRecord::new(0, "issue", "other-ca.example")],
    );
    ca.clock.advance(8 * 3600 + 1);
    d.clear_history();
    let o = raw.signed(&url, None).await.json();
    let (csr, _) = Raw::csr(&names);
    let f = raw
        .signed(
            o["finalize"].as_str().unwrap(),
            Some(&json!({"csr": b64::encode(&csr)})),
        )
        .await;
    assert_eq!(f.status, 403, "{}", f.text());
    let p = f.problem().unwrap();
    assert!(p.typ.ends_with(":caa"), "{}", f.text());
    assert_eq!(p.subproblems.len(), 1);
    assert_eq!(
        p.subproblems[0].identifier.as_ref().unwrap().value,
        "c.caa.example.com"
    );
    // One CAA lookup per name, each name its own.
    let h = d.history();
    for n in names {
        let caa: Vec<_> = h
            .iter()
            .filter(|e| e.qtype == "CAA" && e.name == n)
            .collect();
        assert_eq!(caa.len(), 1, "CAA lookups for {n}: {h:?}");
    }
    // Within 8 hours no recheck happens.
    d.clear_caa("c.caa.example.com");
    let r = raw.new_order(&["fresh.caa.example.com"]).await;
    let url = r.header("location").unwrap();
    raw.solve_http01(&r.json(), &ca.responder).await;
    d.clear_history();
    let o = raw.signed(&url, None).await.json();
    let (csr, _) = Raw::csr(&["fresh.caa.example.com"]);
    let f = raw
        .signed(
            o["finalize"].as_str().unwrap(),
            Some(&json!({"csr": b64::encode(&csr)})),
        )
        .await;
    assert_eq!(f.status, 200, "{}", f.text());
    assert!(
        d.history().iter().all(|e| e.qtype != "CAA"),
        "no CAA recheck for fresh authz"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_alpn01_end_to_end() {
    let d = dns().await;
    // The responder needs the key authorization (account key + token), so the CA is
    // told a free port first and the responder binds it once the order exists.
    let name = "alpn.example.com";
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let ca = TestCa::start_with_dns(cfg(), d.dns_addr, port).await;
    let mut raw = ca.raw(KeyKind::P256).await;
    raw.register().await;
    let r = raw.new_order(&[name]).await;
    let url = r.header("location").unwrap();
    let ch = challenge(&raw, &r.json(), 0, "tls-alpn-01").await;
    let token = ch["token"].as_str().unwrap();
    let ka = format!("{token}.{}", raw.key.public_jwk().thumbprint());
    let _responder = AlpnResponder::start(port, name, &ka).await;
    let v = raw
        .signed(ch["url"].as_str().unwrap(), Some(&json!({})))
        .await
        .json();
    assert_eq!(v["status"], "valid", "{v}");
    let o = raw.signed(&url, None).await.json();
    assert_eq!(o["status"], "ready");
}
