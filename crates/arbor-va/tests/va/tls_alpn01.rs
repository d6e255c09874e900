//! tls-alpn-01 (RFC 8737, RFC 8738 §6) against a rustls responder with rcgen-made
//! certificates on 127.0.0.1, names resolved through arbor-testdns.

use crate::common::{KEY_AUTH, problem, test_dns, va};
use arbor_proto::Identifier;
use arbor_testdns::TestDns;
use arbor_va::ValidationError;
use rcgen::{CertificateParams, CustomExtension, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, ServerConfig};
use rustls::sign::CertifiedKey;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

const ACME_IDENTIFIER: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 31];
const ACME_IDENTIFIER_V1: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 30, 1];

fn digest(key_auth: &str) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_auth.as_bytes())
        .as_ref()
        .to_vec()
}

/// DER OCTET STRING of `bytes` (short form length).
fn octet_string(bytes: &[u8]) -> Vec<u8> {
    let mut v = vec![0x04, u8::try_from(bytes.len()).unwrap()];
    v.extend_from_slice(bytes);
    v
}

/// How the responder's certificate and handshake are made.
struct Spec {
    sans: Vec<String>,
    ext: Option<CustomExtension>,
    alpn: Vec<Vec<u8>>,
    tls12_only: bool,
}

impl Spec {
    fn good(san: &str) -> Spec {
        Spec {
            sans: vec![san.into()],
            ext: Some(CustomExtension::new_acme_identifier(&digest(KEY_AUTH))),
            alpn: vec![b"acme-tls/1".to_vec()],
            tls12_only: false,
        }
    }
}

type SniLog = Arc<Mutex<Vec<Option<String>>>>;

/// Always presents one certificate; logs the SNI of each ClientHello that reaches
/// certificate selection (i.e. that agreed on ALPN).
#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>, SniLog);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.1
            .lock()
            .unwrap()
            .push(hello.server_name().map(str::to_string));
        Some(self.0.clone())
    }
}

/// A TLS responder on 127.0.0.1 that logs the SNI of each completed handshake.
struct Responder {
    addr: SocketAddr,
    sni: SniLog,
}

async fn responder(spec: Spec) -> Responder {
    let mut params = CertificateParams::new(spec.sans).unwrap();
    params.custom_extensions.extend(spec.ext);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let sni = SniLog::default();
    let versions: &[&rustls::SupportedProtocolVersion] = if spec.tls12_only {
        &[&rustls::version::TLS12]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    // `with_single_cert` would run webpki over the certificate, which refuses the
    // critical acmeIdentifier extension; serve the key pair as is.
    let signing = provider.key_provider.load_private_key(key_der).unwrap();
    let certified = Arc::new(CertifiedKey::new(chain, signing));
    let mut cfg = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(certified, sni.clone())));
    cfg.alpn_protocols = spec.alpn;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            // Keep the connection until the client is done with it.
            if let Ok(mut tls) = acceptor.accept(stream).await {
                let mut buf = [0u8; 1];
                let _ = tokio::io::AsyncReadExt::read(&mut tls, &mut buf).await;
            }
        }
    });
    Responder { addr, sni }
}

async fn run(spec: Spec, ident: &Identifier) -> (Result<(), ValidationError>, Responder, TestDns) {
    let dns = test_dns().await;
    dns.add_a("example.com", &[Ipv4Addr::LOCALHOST]);
    let r = responder(spec).await;
    let res = va(&dns, r.addr.port())
        .validate_tls_alpn01(ident, KEY_AUTH)
        .await
        .map(|rec| {
            assert_eq!(rec.port, r.addr.port());
            assert_eq!(rec.address_used, Some(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        });
    (res, r, dns)
}

fn assert_unauthorized(res: Result<(), ValidationError>, needle: &str) {
    let e = res.expect_err("validation should fail");
    let (kind, detail) = problem(&e);
    assert_eq!(kind, "unauthorized", "{detail}");
    assert!(
        detail.contains(needle),
        "{detail:?} should contain {needle:?}"
    );
}

#[tokio::test]
async fn correct_certificate_validates_with_sni() {
    let (res, r, dns) = run(Spec::good("example.com"), &Identifier::dns("example.com")).await;
    res.unwrap();
    assert_eq!(
        *r.sni.lock().unwrap(),
        vec![Some("example.com".to_string())]
    );
    assert!(!dns.history_for("example.com").is_empty());
}

#[tokio::test]
async fn tls12_only_server_validates() {
    let spec = Spec {
        tls12_only: true,
        ..Spec::good("example.com")
    };
    run(spec, &Identifier::dns("example.com")).await.0.unwrap();
}

#[tokio::test]
async fn ip_identifier_uses_reverse_dns_sni() {
    let ident = Identifier::ip(Ipv4Addr::LOCALHOST.into());
    let (res, r, dns) = run(Spec::good("127.0.0.1"), &ident).await;
    res.unwrap();
    assert_eq!(
        *r.sni.lock().unwrap(),
        vec![Some("1.0.0.127.in-addr.arpa".to_string())]
    );
    assert!(dns.history().is_empty(), "an IP identifier needs no DNS");
    // a dNSName SAN does not prove an IP identifier
    let (res, _, _) = run(Spec::good("example.com"), &ident).await;
    assert_unauthorized(res, "not the iPAddress 127.0.0.1");
}

#[tokio::test]
async fn obsolete_oid_is_refused() {
    let mut ext =
        CustomExtension::from_oid_content(ACME_IDENTIFIER_V1, octet_string(&digest(KEY_AUTH)));
    ext.set_criticality(true);
    let spec = Spec {
        ext: Some(ext),
        ..Spec::good("example.com")
    };
    let (res, _, _) = run(spec, &Identifier::dns("example.com")).await;
    assert_unauthorized(res, "obsolete OID 1.3.6.1.5.5.7.1.30.1");
}

#[tokio::test]
async fn non_critical_extension_is_refused() {
    let ext = CustomExtension::from_oid_content(ACME_IDENTIFIER, octet_string(&digest(KEY_AUTH)));
    let spec = Spec {
        ext: Some(ext),
        ..Spec::good("example.com")
    };
    let (res, _, _) = run(spec, &Identifier::dns("example.com")).await;
    assert_unauthorized(res, "not marked critical");
}

#[tokio::test]
async fn missing_extension_is_refused() {
    let spec = Spec {
        ext: None,
        ..Spec::good("example.com")
    };
    let (res, _, _) = run(spec, &Identifier::dns("example.com")).await;
    assert_unauthorized(res, "extension (1.3.6.1.5.5.7.1.31) is missing");
}

#[tokio::test]
async fn extra_san_is_refused() {
    let spec = Spec {
        sans: vec!["example.com".into(), "extra.example.com".into()],
        ..Spec::good("example.com")
    };
    let (res, _, _) = run(spec, &Identifier::dns("example.com")).await;
    assert_unauthorized(res, "exactly one name, it holds 2");
}

#[tokio::test]
async fn wrong_san_is_refused() {
    let (res, _, _) = run(
        Spec::good("other.example.com"),
        &Identifier::dns("example.com"),
    )
    .await;
    assert_unauthorized(res, "not the dNSName example.com");
}

#[tokio::test]
async fn wrong_digest_is_refused() {
    let spec = Spec {
        ext: Some(CustomExtension::new_acme_identifier(&digest(
            "another.keyauth",
        ))),
        ..Spec::good("example.com")
    };
    let (res, _, _) = run(spec, &Identifier::dns("example.com")).await;
    assert_unauthorized(
        res,
        "does not hold SHA-256 of this challenge's key authorization",
    );
}

#[tokio::test]
async fn server_without_alpn_is_refused() {
    let spec = Spec {
        alpn: Vec::new(),
        ..Spec::good("example.com")
    };
    let (res, _, _) = run(spec, &Identifier::dns("example.com")).await;
    assert_unauthorized(res, "Cannot negotiate ALPN protocol \"acme-tls/1\"");
}

#[tokio::test]
async fn server_offering_only_h2_fails() {
    let spec = Spec {
        alpn: vec![b"h2".to_vec()],
        ..Spec::good("example.com")
    };
    let (res, _, _) = run(spec, &Identifier::dns("example.com")).await;
    let e = res.unwrap_err();
    // rustls servers abort with no_application_protocol when no protocol overlaps.
    assert_eq!(problem(&e).0, "tls", "{e}");
    assert!(e.detail().contains("TLS handshake for tls-alpn-01"), "{e}");
}

#[tokio::test]
async fn closed_port_is_connection() {
    let dns = test_dns().await;
    dns.add_a("example.com", &[Ipv4Addr::LOCALHOST]);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = va(&dns, port)
        .validate_tls_alpn01(&Identifier::dns("example.com"), KEY_AUTH)
        .await
        .unwrap_err();
    assert_eq!(problem(&e).0, "connection", "{e}");
    let e = va(&dns, port)
        .validate_tls_alpn01(&Identifier::dns("*.example.com"), KEY_AUTH)
        .await
        .unwrap_err();
    assert_eq!(problem(&e).0, "malformed", "{e}");
}

/// `openssl s_server` as an independent TLS stack answering the challenge.
#[tokio::test]
async fn openssl_s_server_responder_validates() {
    const OPENSSL: &str = "/usr/bin/openssl";
    if !std::path::Path::new(OPENSSL).exists() {
        eprintln!("note: {OPENSSL} not installed; skipping the openssl responder test");
        return;
    }
    let mut params = CertificateParams::new(vec!["example.com".to_string()]).unwrap();
    params
        .custom_extensions
        .push(CustomExtension::new_acme_identifier(&digest(KEY_AUTH)));
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let dir = std::env::temp_dir().join(format!("arbor-va-alpn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = tokio::process::Command::new(OPENSSL)
        .args(["s_server", "-quiet", "-naccept", "1", "-alpn", "acme-tls/1"])
        .arg("-accept")
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(dir.join("cert.pem"))
        .arg("-key")
        .arg(dir.join("key.pem"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Wait (bounded) until it listens, without consuming its one accept.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let busy = std::net::TcpListener::bind(("127.0.0.1", port)).is_err();
        if busy {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "openssl did not start"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let dns = test_dns().await;
    dns.add_a("example.com", &[Ipv4Addr::LOCALHOST]);
    let res = va(&dns, port)
        .validate_tls_alpn01(&Identifier::dns("example.com"), KEY_AUTH)
        .await;
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
    let rec = res.unwrap();
    assert_eq!(rec.port, port);
}
