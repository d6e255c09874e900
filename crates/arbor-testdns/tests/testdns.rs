//! The test DNS server seen from a real resolver (hickory) and a raw HTTP client on
//! 127.0.0.1: answers, SERVFAIL, NXDOMAIN, the management API and the history.

use arbor_testdns::{CaaRecord, TestDns};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn start() -> TestDns {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    TestDns::start(any, any).await.unwrap()
}

fn resolver(addr: SocketAddr, tcp_only: bool) -> TokioResolver {
    let mut udp = ConnectionConfig::udp();
    udp.port = addr.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = addr.port();
    let conns = if tcp_only { vec![tcp] } else { vec![udp, tcp] };
    let ns = NameServerConfig::new(addr.ip(), true, conns);
    let mut b = TokioResolver::builder_with_config(
        ResolverConfig::from_name_servers(vec![ns]),
        TokioRuntimeProvider::default(),
    );
    b.options_mut().cache_size = 0;
    b.options_mut().timeout = Duration::from_secs(2);
    b.options_mut().attempts = 1;
    b.build().unwrap()
}

/// Sends one HTTP/1.1 request and returns (status, body).
async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

fn txts(l: &hickory_resolver::lookup::Lookup) -> Vec<String> {
    l.answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(
                t.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn answers_over_udp_and_tcp() {
    let dns = start().await;
    dns.set_txt("_acme-challenge.Example.com", "one");
    dns.set_txt("_acme-challenge.example.com.", "two");
    dns.add_a("www.example.com", &[Ipv4Addr::new(192, 0, 2, 7)]);
    for tcp in [false, true] {
        let r = resolver(dns.dns_addr, tcp);
        let l = r
            .lookup("_acme-challenge.example.com.", RecordType::TXT)
            .await
            .unwrap();
        let mut got = txts(&l);
        got.sort();
        assert_eq!(got, vec!["one", "two"]);
        let l = r.lookup("www.example.com.", RecordType::A).await.unwrap();
        assert!(matches!(&l.answers()[0].data, RData::A(a) if a.0 == Ipv4Addr::new(192, 0, 2, 7)));
        let e = r.lookup("missing.example.com.", RecordType::A).await;
        assert!(e.unwrap_err().is_nx_domain());
    }
    let h = dns.history_for("_acme-challenge.example.com");
    let transports: Vec<_> = h.iter().map(|e| e.transport.as_str()).collect();
    assert_eq!(transports, ["udp", "tcp"]);
    assert!(h.iter().all(|e| e.qtype == "TXT"));
}

#[tokio::test]
async fn servfail_cname_caa_and_default() {
    let dns = start().await;
    let r = resolver(dns.dns_addr, false);
    dns.set_cname("alias.example.com", "real.example.net");
    dns.set_caa(
        "real.example.net",
        vec![CaaRecord::new(128, "issue", "ca.example; accounturi=x")],
    );
    let l = r
        .lookup("alias.example.com.", RecordType::CAA)
        .await
        .unwrap();
    let caa: Vec<_> = l
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::CAA(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(caa.len(), 1);
    assert!(caa[0].issuer_critical);
    assert_eq!(caa[0].value, b"ca.example; accounturi=x");
    dns.set_servfail("real.example.net");
    let e = r.lookup("alias.example.com.", RecordType::CAA).await;
    assert!(e.is_err());
    assert!(!e.unwrap_err().is_nx_domain());
    dns.set_default_ipv4(Some(Ipv4Addr::new(127, 0, 0, 9)));
    let l = r.lookup("anything.test.", RecordType::A).await.unwrap();
    assert!(matches!(&l.answers()[0].data, RData::A(a) if a.0 == Ipv4Addr::new(127, 0, 0, 9)));
}

#[tokio::test]
async fn management_api() {
    let dns = start().await;
    let m = dns.mgmt_addr;
    let ok = |(code, _): (u16, String)| assert_eq!(code, 200);
    ok(http(m, "POST", "/set-txt", r#"{"host":"a.test","value":"v1"}"#).await);
    ok(http(
        m,
        "POST",
        "/add-a",
        r#"{"host":"a.test","addresses":["10.1.2.3"]}"#,
    )
    .await);
    ok(http(
        m,
        "POST",
        "/add-aaaa",
        r#"{"host":"a.test","addresses":["2001:db8::5"]}"#,
    )
    .await);
    ok(http(
        m,
        "POST",
        "/set-caa",
        r#"{"host":"a.test","records":[{"flags":0,"tag":"issue","value":";"}]}"#,
    )
    .await);
    let r = resolver(dns.dns_addr, false);
    let l = r.lookup("a.test.", RecordType::TXT).await.unwrap();
    assert_eq!(txts(&l), vec!["v1"]);
    assert_eq!(
        r.lookup("a.test.", RecordType::AAAA)
            .await
            .unwrap()
            .answers()
            .len(),
        1
    );
    assert_eq!(
        r.lookup("a.test.", RecordType::CAA)
            .await
            .unwrap()
            .answers()
            .len(),
        1
    );
    ok(http(m, "POST", "/set-servfail", r#"{"host":"a.test"}"#).await);
    assert!(r.lookup("a.test.", RecordType::A).await.is_err());
    ok(http(m, "POST", "/clear-servfail", r#"{"host":"a.test"}"#).await);
    ok(http(m, "POST", "/clear-txt", r#"{"host":"a.test"}"#).await);
    ok(http(m, "POST", "/clear-a", r#"{"host":"a.test"}"#).await);
    let e = r.lookup("a.test.", RecordType::TXT).await.unwrap_err();
    assert!(e.is_no_records_found() && !e.is_nx_domain(), "{e}");
    ok(http(
        m,
        "POST",
        "/set-cname",
        r#"{"host":"b.test","target":"a.test"}"#,
    )
    .await);
    let l = r.lookup("b.test.", RecordType::AAAA).await.unwrap();
    assert!(l.answers().iter().any(|r| matches!(r.data, RData::AAAA(_))));
    ok(http(m, "POST", "/set-default-ipv4", r#"{"ip":"127.0.0.2"}"#).await);
    let (code, _) = http(m, "POST", "/set-default-ipv4", r#"{"ip":"nope"}"#).await;
    assert_eq!(code, 400);
    let (code, _) = http(m, "POST", "/set-txt", r#"{"host":1}"#).await;
    assert!((400..500).contains(&code));
    let (code, body) = http(m, "GET", "/history", "").await;
    assert_eq!(code, 200);
    let h: serde_json::Value = serde_json::from_str(&body).unwrap();
    let names: Vec<_> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap(), e["type"].as_str().unwrap()))
        .collect();
    assert!(names.contains(&("a.test", "TXT")));
    assert!(names.contains(&("b.test", "AAAA")));
    assert!(h[0]["unixMillis"].as_u64().unwrap() > 0);
    ok(http(m, "POST", "/clear-history", "").await);
    assert!(dns.history().is_empty());
}

/// dig (when installed) as an independent parser of the wire format.
#[tokio::test]
async fn dig_reads_our_answers() {
    const DIG: &str = "/usr/bin/dig";
    if !std::path::Path::new(DIG).exists() {
        eprintln!("note: {DIG} not installed; skipping the independent wire-format check");
        return;
    }
    let dns = start().await;
    dns.set_caa(
        "example.com",
        vec![
            CaaRecord::new(0, "issue", "ca.example; accounturi=https://ca.example/a/1"),
            CaaRecord::new(128, "tbs", "x"),
        ],
    );
    dns.set_txt("_acme-challenge.example.com", "tok-en_1");
    let dig = |rtype: &'static str, name: &'static str, tcp: bool| {
        let addr = dns.dns_addr;
        async move {
            let mut cmd = tokio::process::Command::new(DIG);
            cmd.args(["+short", "+time=2", "+tries=1", "-p"])
                .arg(addr.port().to_string())
                .arg(format!("@{}", addr.ip()))
                .args([rtype, name]);
            if tcp {
                cmd.arg("+tcp");
            }
            let out = tokio::time::timeout(Duration::from_secs(10), cmd.output())
                .await
                .unwrap()
                .unwrap();
            assert!(out.status.success());
            let mut lines: Vec<String> = String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect();
            lines.sort();
            lines
        }
    };
    assert_eq!(
        dig("CAA", "example.com", false).await,
        [
            "0 issue \"ca.example; accounturi=https://ca.example/a/1\"",
            "128 tbs \"x\""
        ]
    );
    assert_eq!(
        dig("TXT", "_acme-challenge.example.com", true).await,
        ["\"tok-en_1\""]
    );
}
