//! A tls-alpn-01 responder (RFC 8737 §3) on 127.0.0.1: presents a self-signed certificate
//! with the name as its only SAN and the critical acmeIdentifier extension carrying
//! SHA-256(key authorization), negotiating only `acme-tls/1`.

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, ServerConfig};
use rustls::sign::CertifiedKey;
use std::sync::Arc;

#[derive(Debug)]
struct Fixed(Arc<CertifiedKey>);

impl ResolvesServerCert for Fixed {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// A running responder; dropping it stops it.
pub struct AlpnResponder {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AlpnResponder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl AlpnResponder {
    /// Serves the challenge certificate for `name` on `127.0.0.1:port` (0 = any).
    pub async fn start(port: u16, name: &str, key_authorization: &str) -> AlpnResponder {
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_authorization.as_bytes());
        let mut params = rcgen::CertificateParams::new(vec![name.to_string()]).expect("params");
        params.custom_extensions =
            vec![rcgen::CustomExtension::new_acme_identifier(digest.as_ref())];
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("cert");
        let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        // `with_single_cert` runs webpki over the certificate, which refuses the critical
        // acmeIdentifier extension: serve the key pair through a resolver instead.
        let signing = provider
            .key_provider
            .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                key.serialize_der(),
            )))
            .expect("key");
        let mut cfg = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Fixed(Arc::new(CertifiedKey::new(chain, signing)))));
        cfg.alpn_protocols = vec![b"acme-tls/1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let l = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        let port = l.local_addr().expect("addr").port();
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                let a = acceptor.clone();
                tokio::spawn(async move {
                    let _ = a.accept(s).await;
                });
            }
        });
        AlpnResponder { port, task }
    }
}
