//! http-01 validation against real sockets on 127.0.0.1: a small scripted hyper server
//! with a request log, and (when installed) pebble-challtestsrv as the DNS server.

use arbor_proto::{Identifier, ProblemType};
use arbor_va::{
    HostResolver, LookupFuture, ResolverConfig, Va, VaConfig, ValidationError, ValidationRecord,
};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TOKEN: &str = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
const KEY_AUTH: &str =
    "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// What the scripted server does for one path.
#[derive(Clone)]
enum Reply {
    Body(&'static str),
    Status(u16),
    Redirect(u16, String),
    Slow(Duration),
    Big(usize),
}

/// A scripted HTTP server on 127.0.0.1 with a log of (path, Host header).
#[derive(Clone)]
struct Server {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Reply>>>,
    log: Arc<Mutex<Vec<(String, String)>>>,
}

impl Server {
    async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server {
            addr: listener.local_addr().unwrap(),
            routes: Arc::default(),
            log: Arc::default(),
        };
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| {
                        let s = s.clone();
                        async move { Ok::<_, std::convert::Infallible>(s.handle(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        server
    }

    /// The same server behind TLS, with a fresh self-signed certificate for `names`.
    async fn start_tls(names: &[&str]) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server {
            addr: listener.local_addr().unwrap(),
            routes: Arc::default(),
            log: Arc::default(),
        };
        let ck = rcgen::generate_simple_self_signed(
            names.iter().map(|n| n.to_string()).collect::<Vec<_>>(),
        )
        .unwrap();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![ck.cert.der().clone()], key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let s = server.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let svc = service_fn(move |req| {
                        let s = s.clone();
                        async move { Ok::<_, std::convert::Infallible>(s.handle(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        server
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn route(&self, path: &str, reply: Reply) {
        self.routes.lock().unwrap().insert(path.into(), reply);
    }

    fn challenge(&self, reply: Reply) {
        self.route(&format!("/.well-known/acme-challenge/{TOKEN}"), reply);
    }

    fn requests(&self) -> Vec<(String, String)> {
        self.log.lock().unwrap().clone()
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_string();
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        self.log.lock().unwrap().push((path.clone(), host));
        let reply = self.routes.lock().unwrap().get(&path).cloned();
        let mut resp = Response::new(Full::new(Bytes::new()));
        match reply {
            None => *resp.status_mut() = StatusCode::NOT_FOUND,
            Some(Reply::Body(b)) => *resp.body_mut() = Full::new(Bytes::from_static(b.as_bytes())),
            Some(Reply::Status(code)) => *resp.status_mut() = StatusCode::from_u16(code).unwrap(),
            Some(Reply::Redirect(code, to)) => {
                *resp.status_mut() = StatusCode::from_u16(code).unwrap();
                resp.headers_mut()
                    .insert(http::header::LOCATION, to.parse().unwrap());
            }
            Some(Reply::Slow(d)) => {
                tokio::time::sleep(d).await;
                *resp.body_mut() = Full::new(Bytes::from_static(KEY_AUTH.as_bytes()));
            }
            Some(Reply::Big(n)) => *resp.body_mut() = Full::new(Bytes::from(vec![b'a'; n])),
        }
        resp
    }
}

fn local_cfg(port: u16) -> VaConfig {
    VaConfig {
        http_port: port,
        timeout: Duration::from_secs(5),
        ..VaConfig::local(ResolverConfig::Fixed(LOCALHOST))
    }
}

async fn validate(cfg: VaConfig, id: &Identifier) -> Result<ValidationRecord, ValidationError> {
    Va::new(cfg)
        .unwrap()
        .validate_http01(id, TOKEN, KEY_AUTH)
        .await
}

fn example() -> Identifier {
    Identifier::dns("example.com")
}

#[tokio::test]
async fn correct_key_authorization_validates() {
    let srv = Server::start().await;
    srv.challenge(Reply::Body(KEY_AUTH));
    let rec = validate(local_cfg(srv.port()), &example()).await.unwrap();
    assert_eq!(rec.address_used, Some(LOCALHOST));
    assert_eq!(rec.addresses_resolved, vec![LOCALHOST]);
    assert_eq!(rec.hostname, "example.com");
    assert_eq!(rec.port, srv.port());
    assert_eq!(
        rec.url,
        format!(
            "http://example.com:{}/.well-known/acme-challenge/{TOKEN}",
            srv.port()
        )
    );
    assert!(rec.redirects.is_empty());
    let log = srv.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].1, format!("example.com:{}", srv.port()));
}

#[tokio::test]
async fn trailing_whitespace_is_ignored() {
    let srv = Server::start().await;
    srv.challenge(Reply::Body(
        "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI\r\n \n",
    ));
    validate(local_cfg(srv.port()), &example()).await.unwrap();
}

#[tokio::test]
async fn wrong_content_is_unauthorized_and_not_echoed() {
    let srv = Server::start().await;
    srv.challenge(Reply::Body("<html>SECRET-PAGE-CONTENT</html>"));
    let err = validate(local_cfg(srv.port()), &example())
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::Unauthorized, "{err}");
    assert!(err.detail().contains("did not match"), "{err}");
    assert!(!err.detail().contains("SECRET"), "{err}");
    // Leading whitespace is not ignored.
    srv.challenge(Reply::Body(
        " evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI",
    ));
    let err = validate(local_cfg(srv.port()), &example())
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::Unauthorized, "{err}");
}

#[tokio::test]
async fn not_found_is_unauthorized() {
    let srv = Server::start().await;
    let err = validate(local_cfg(srv.port()), &example())
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::Unauthorized);
    assert!(err.detail().contains("HTTP 404"), "{err}");
    srv.challenge(Reply::Status(500));
    let err = validate(local_cfg(srv.port()), &example())
        .await
        .unwrap_err();
    assert!(err.detail().contains("HTTP 500"), "{err}");
}

#[tokio::test]
async fn connection_refused_is_connection() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port()
    };
    let err = validate(local_cfg(port), &example()).await.unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::Connection, "{err}");
    assert!(err.detail().contains("Connection refused"), "{err}");
}

#[tokio::test]
async fn slow_server_times_out() {
    let srv = Server::start().await;
    srv.challenge(Reply::Slow(Duration::from_secs(3)));
    let cfg = VaConfig {
        timeout: Duration::from_millis(500),
        ..local_cfg(srv.port())
    };
    let start = Instant::now();
    let err = validate(cfg, &example()).await.unwrap_err();
    let took = start.elapsed();
    assert_eq!(err.problem_type(), ProblemType::Connection, "{err}");
    assert!(err.detail().contains("Timeout"), "{err}");
    assert!(took >= Duration::from_millis(450), "{took:?}");
    assert!(took < Duration::from_secs(2), "{took:?}");
}

#[tokio::test]
async fn declared_oversized_body_is_refused() {
    let srv = Server::start().await;
    srv.challenge(Reply::Big(100_000));
    let cfg = VaConfig {
        max_body: 1024,
        ..local_cfg(srv.port())
    };
    let err = validate(cfg, &example()).await.unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::Unauthorized, "{err}");
    assert!(err.detail().contains("larger than 1024 bytes"), "{err}");
}

/// A raw server that streams an endless chunked body; counts the bytes it got out.
#[tokio::test]
async fn streamed_oversized_body_is_not_read_to_the_end() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = Arc::new(AtomicUsize::new(0));
    let total: usize = 64 * 1024 * 1024;
    let sent2 = sent.clone();
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        if s.write_all(head).await.is_err() {
            return;
        }
        let chunk = format!("4000\r\n{}\r\n", "a".repeat(0x4000));
        while sent2.load(Ordering::Relaxed) < total {
            if s.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
            sent2.fetch_add(0x4000, Ordering::Relaxed);
        }
    });
    let err = validate(local_cfg(port), &example()).await.unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::Unauthorized, "{err}");
    assert!(err.detail().contains("larger than 65536 bytes"), "{err}");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the VA closed the connection")
        .unwrap();
    let n = sent.load(Ordering::Relaxed);
    assert!(n < total / 4, "server pushed {n} bytes");
}

#[tokio::test]
async fn redirect_same_host_same_port_is_followed() {
    let srv = Server::start().await;
    let next = format!("http://example.com:{}/elsewhere/proof", srv.port());
    srv.challenge(Reply::Redirect(302, next.clone()));
    srv.route("/elsewhere/proof", Reply::Body(KEY_AUTH));
    let rec = validate(local_cfg(srv.port()), &example()).await.unwrap();
    assert_eq!(rec.redirects.len(), 1);
    assert_eq!(rec.redirects[0].url, next);
    assert_eq!(rec.redirects[0].address_used, Some(LOCALHOST));
    let paths: Vec<String> = srv.requests().into_iter().map(|r| r.0).collect();
    assert_eq!(
        paths,
        vec![
            format!("/.well-known/acme-challenge/{TOKEN}"),
            "/elsewhere/proof".to_string()
        ]
    );
    // A relative Location works too, and so do 301/307/308.
    for code in [301, 307, 308] {
        srv.challenge(Reply::Redirect(code, "/elsewhere/proof".into()));
        let rec = validate(local_cfg(srv.port()), &example()).await.unwrap();
        assert_eq!(rec.redirects.len(), 1, "{code}");
    }
}

#[tokio::test]
async fn redirect_to_disallowed_port_is_refused() {
    let srv = Server::start().await;
    srv.challenge(Reply::Redirect(302, "http://example.com:8081/x".into()));
    let err = validate(local_cfg(srv.port()), &example())
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::Connection, "{err}");
    assert!(err.detail().contains("Invalid port"), "{err}");
    assert_eq!(srv.requests().len(), 1);
}

#[tokio::test]
async fn redirect_303_is_not_followed() {
    let srv = Server::start().await;
    srv.challenge(Reply::Redirect(303, "/elsewhere/proof".into()));
    srv.route("/elsewhere/proof", Reply::Body(KEY_AUTH));
    let err = validate(local_cfg(srv.port()), &example())
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::Unauthorized, "{err}");
    assert!(err.detail().contains("HTTP 303"), "{err}");
    assert_eq!(srv.requests().len(), 1);
}

#[tokio::test]
async fn bad_redirects_are_refused() {
    let srv = Server::start().await;
    // Loop.
    srv.challenge(Reply::Redirect(302, "/a".into()));
    srv.route("/a", Reply::Redirect(302, "/b".into()));
    srv.route("/b", Reply::Redirect(302, "/a".into()));
    let err = validate(local_cfg(srv.port()), &example())
        .await
        .unwrap_err();
    assert!(err.detail().contains("loop"), "{err}");
    // Too many: /r0 -> /r1 -> ... -> /r11.
    srv.challenge(Reply::Redirect(302, "/r0".into()));
    for i in 0..12 {
        srv.route(
            &format!("/r{i}"),
            Reply::Redirect(302, format!("/r{}", i + 1)),
        );
    }
    let err = validate(local_cfg(srv.port()), &example())
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::Connection, "{err}");
    assert!(err.detail().contains("Too many redirects"), "{err}");
    // Exactly ten redirects is still fine.
    srv.route("/r9", Reply::Body(KEY_AUTH));
    let rec = validate(local_cfg(srv.port()), &example()).await.unwrap();
    assert_eq!(rec.redirects.len(), 10);
    // Other schemes.
    for (to, want) in [
        ("ftp://example.com/x", "protocol scheme"),
        ("https://example.com:8443/x", "Invalid port"),
    ] {
        srv.challenge(Reply::Redirect(302, to.into()));
        let err = validate(local_cfg(srv.port()), &example())
            .await
            .unwrap_err();
        assert_eq!(err.problem_type(), ProblemType::Connection, "{err}");
        assert!(err.detail().contains(want), "{to}: {err}");
    }
}

#[tokio::test]
async fn ip_identifier_validates() {
    let srv = Server::start().await;
    srv.challenge(Reply::Body(KEY_AUTH));
    // The resolver must not be consulted for an IP identifier.
    let cfg = VaConfig {
        resolver: ResolverConfig::Fixed("192.0.2.1".parse().unwrap()),
        ..local_cfg(srv.port())
    };
    let rec = validate(cfg, &Identifier::ip(LOCALHOST)).await.unwrap();
    assert_eq!(rec.hostname, "127.0.0.1");
    assert_eq!(rec.address_used, Some(LOCALHOST));
    assert_eq!(srv.requests()[0].1, format!("127.0.0.1:{}", srv.port()));
}

#[tokio::test]
async fn production_policy_refuses_loopback_without_connecting() {
    let srv = Server::start().await;
    srv.challenge(Reply::Body(KEY_AUTH));
    let cfg = VaConfig {
        allow_loopback: false,
        ..local_cfg(srv.port())
    };
    for id in [example(), Identifier::ip(LOCALHOST)] {
        let err = validate(cfg.clone(), &id).await.unwrap_err();
        assert_eq!(err.problem_type(), ProblemType::Connection, "{err}");
        assert!(err.detail().contains("loopback"), "{err}");
    }
    assert!(srv.requests().is_empty());
}

#[tokio::test]
async fn malformed_requests() {
    let cfg = local_cfg(5002);
    let va = Va::new(cfg).unwrap();
    let err = va
        .validate_http01(&Identifier::dns("*.example.com"), TOKEN, KEY_AUTH)
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::Malformed, "{err}");
    for token in ["", "../etc/passwd", "a/b", "a?b", "a b"] {
        let err = va
            .validate_http01(&example(), token, KEY_AUTH)
            .await
            .unwrap_err();
        assert_eq!(err.problem_type(), ProblemType::Malformed, "{token:?}");
    }
}

/// Resolves every name to `[::1, 127.0.0.1]`: the server listens on IPv4 only, so the
/// IPv6 attempt fails and the VA must fall back.
#[derive(Debug)]
struct DualStack;

impl HostResolver for DualStack {
    fn lookup_ips<'a>(&'a self, _name: &'a str) -> LookupFuture<'a> {
        Box::pin(async { Ok(vec!["::1".parse().unwrap(), LOCALHOST]) })
    }
}

#[tokio::test]
async fn falls_back_from_ipv6_to_ipv4() {
    let srv = Server::start().await;
    srv.challenge(Reply::Body(KEY_AUTH));
    let va = Va::with_resolver(local_cfg(srv.port()), Arc::new(DualStack)).unwrap();
    let rec = va
        .validate_http01(&example(), TOKEN, KEY_AUTH)
        .await
        .unwrap();
    assert_eq!(rec.address_used, Some(LOCALHOST));
    assert_eq!(rec.addresses_tried, vec!["::1".parse::<IpAddr>().unwrap()]);
    assert_eq!(rec.addresses_resolved.len(), 2);
}

/// pebble-challtestsrv as a real DNS server, or `None` (with a note) when not installed.
struct ChallTestSrv {
    child: tokio::process::Child,
    dns: SocketAddr,
    mgmt: SocketAddr,
}

const CHALLTESTSRV: &str = "/usr/bin/pebble-challtestsrv";

async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

impl ChallTestSrv {
    async fn start() -> Option<ChallTestSrv> {
        if !std::path::Path::new(CHALLTESTSRV).exists() {
            println!("note: {CHALLTESTSRV} not installed; skipping the DNS server test");
            return None;
        }
        let dns = SocketAddr::new(LOCALHOST, free_port().await);
        let mgmt = SocketAddr::new(LOCALHOST, free_port().await);
        let child = tokio::process::Command::new(CHALLTESTSRV)
            .args(["-dns01", &dns.to_string(), "-defaultIPv4", "127.0.0.1"])
            .args([
                "-defaultIPv6",
                "",
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
            ])
            .args(["-management", &mgmt.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start pebble-challtestsrv");
        let srv = ChallTestSrv { child, dns, mgmt };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(srv.mgmt).await.is_err() {
            assert!(Instant::now() < deadline, "challtestsrv did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Some(srv)
    }

    /// POSTs a JSON command to the management interface.
    async fn command(&self, path: &str, json: &str) {
        let mut s = tokio::net::TcpStream::connect(self.mgmt).await.unwrap();
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{json}",
            self.mgmt,
            json.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).await.unwrap();
        assert!(resp.starts_with("HTTP/1.1 200"), "{path}: {resp}");
    }
}

#[tokio::test]
async fn resolves_through_a_real_dns_server() {
    let Some(mut dns) = ChallTestSrv::start().await else {
        return;
    };
    let cfg = VaConfig::local(ResolverConfig::Server(dns.dns));
    let va = Va::new(cfg).unwrap();
    // The default answer.
    let ips = va
        .resolver()
        .lookup_ips("anything.example.com")
        .await
        .unwrap();
    assert_eq!(ips, vec![LOCALHOST]);
    // A scripted A and AAAA record: AAAA comes first.
    dns.command(
        "/add-a",
        r#"{"host":"multi.example.com.","addresses":["127.0.0.2","127.0.0.3"]}"#,
    )
    .await;
    dns.command(
        "/add-aaaa",
        r#"{"host":"multi.example.com.","addresses":["::1"]}"#,
    )
    .await;
    let ips = va.resolver().lookup_ips("multi.example.com").await.unwrap();
    let want: Vec<IpAddr> = ["::1", "127.0.0.2", "127.0.0.3"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(ips, want);
    // SERVFAIL is reported as a dns problem that says so.
    dns.command("/set-servfail", r#"{"host":"broken.example.com."}"#)
        .await;
    let err = va
        .resolver()
        .lookup_ips("broken.example.com")
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::Dns, "{err}");
    assert!(err.detail().contains("SERVFAIL"), "{err}");

    // End to end: http-01 for a name the DNS server points at our responder.
    let srv = Server::start().await;
    srv.challenge(Reply::Body(KEY_AUTH));
    dns.command(
        "/add-a",
        r#"{"host":"www.arbor.test.","addresses":["127.0.0.1"]}"#,
    )
    .await;
    let cfg = VaConfig {
        http_port: srv.port(),
        ..VaConfig::local(ResolverConfig::Server(dns.dns))
    };
    let rec = validate(cfg.clone(), &Identifier::dns("www.arbor.test"))
        .await
        .unwrap();
    assert_eq!(rec.addresses_resolved, vec![LOCALHOST]);
    // The same answer in production mode is refused by the address policy.
    let prod = VaConfig {
        allow_loopback: false,
        ..cfg.clone()
    };
    let err = validate(prod, &Identifier::dns("www.arbor.test"))
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::Connection, "{err}");
    assert_eq!(srv.requests().len(), 1);
    // With no default address, an unknown name has no records: a dns problem.
    dns.command("/set-default-ipv4", r#"{"ip":""}"#).await;
    let err = validate(cfg, &Identifier::dns("nothing.arbor.test"))
        .await
        .unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::Dns, "{err}");
    assert!(err.detail().contains("nothing.arbor.test"), "{err}");
    let _ = dns.child.kill().await;
}

#[tokio::test]
async fn https_redirect_is_followed_without_chain_verification() {
    let plain = Server::start().await;
    let tls = Server::start_tls(&["example.com"]).await;
    let next = format!("https://example.com:{}/proof", tls.port());
    plain.challenge(Reply::Redirect(301, next.clone()));
    tls.route("/proof", Reply::Body(KEY_AUTH));
    let cfg = VaConfig {
        tls_port: tls.port(),
        ..local_cfg(plain.port())
    };
    let rec = validate(cfg.clone(), &example()).await.unwrap();
    assert_eq!(rec.redirects.len(), 1);
    assert_eq!(rec.redirects[0].url, next);
    assert_eq!(
        tls.requests(),
        vec![("/proof".to_string(), format!("example.com:{}", tls.port()))]
    );
    // Wrong content over TLS is still unauthorized.
    tls.route("/proof", Reply::Body("nope"));
    let err = validate(cfg.clone(), &example()).await.unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::Unauthorized, "{err}");
    // A plain-HTTP server on the https port fails the handshake: a tls problem.
    plain.route("/plain", Reply::Body(KEY_AUTH));
    plain.challenge(Reply::Redirect(
        302,
        format!("https://example.com:{}/plain", plain.port()),
    ));
    let cfg = VaConfig {
        tls_port: plain.port(),
        ..cfg
    };
    let err = validate(cfg, &example()).await.unwrap_err();
    assert_eq!(err.problem_type(), ProblemType::Tls, "{err}");
}

#[tokio::test]
async fn ipv6_identifier_validates_when_loopback_v6_exists() {
    let Ok(listener) = std::net::TcpListener::bind("[::1]:0") else {
        println!("note: no IPv6 loopback here; skipping");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let listener = TcpListener::from_std(listener).unwrap();
    let seen = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 1024];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0);
            req.extend_from_slice(&buf[..n]);
        }
        let resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{KEY_AUTH}",
            KEY_AUTH.len()
        );
        s.write_all(resp.as_bytes()).await.unwrap();
        String::from_utf8(req).unwrap()
    });
    let ip: IpAddr = "::1".parse().unwrap();
    let rec = validate(local_cfg(port), &Identifier::ip(ip))
        .await
        .unwrap();
    assert_eq!(rec.address_used, Some(ip));
    assert_eq!(rec.hostname, "::1");
    let req = seen.await.unwrap();
    assert!(
        req.starts_with(&format!(
            "GET /.well-known/acme-challenge/{TOKEN} HTTP/1.1\r\n"
        )),
        "{req}"
    );
    assert!(
        req.to_ascii_lowercase()
            .contains(&format!("host: [::1]:{port}\r\n")),
        "{req}"
    );
}
