//! tls-alpn-01 (RFC 8737) with the client's own TLS listener on `bind_address:tls_port`,
//! bound only for the pass. For each identifier it serves a self-signed certificate whose
//! only SAN is the identifier and which carries the critical acmeIdentifier extension
//! (id-pe-acmeIdentifier, §3) holding SHA-256 of the key authorization; only the
//! `acme-tls/1` ALPN protocol is offered (§4). IP identifiers (RFC 8738 §6) are matched by
//! their reverse-DNS SNI name.
//!
//! rustls's `with_single_cert` would run webpki over the certificate, which refuses the
//! unknown critical extension, so certificates are served through a resolver.

use crate::cron::error::CronError;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, ServerConfig};
use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};

/// The ALPN protocol name of RFC 8737 §6.2.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

#[derive(Debug, Default)]
struct ByName(RwLock<HashMap<String, Arc<CertifiedKey>>>);

impl ResolvesServerCert for ByName {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if !hello
            .alpn()
            .is_some_and(|mut protos| protos.any(|p| p == ACME_TLS_ALPN))
        {
            return None;
        }
        let map = self.0.read().unwrap_or_else(|e| e.into_inner());
        match hello.server_name() {
            Some(sni) => map.get(&sni.to_ascii_lowercase()).cloned(),
            None if map.len() == 1 => map.values().next().cloned(),
            None => None,
        }
    }
}

/// The SNI name a validator sends for `identifier` (RFC 8738 §6 for IPs).
pub fn sni_name(identifier: &str) -> String {
    match identifier.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        Ok(IpAddr::V6(v6)) => {
            let mut s = String::new();
            for b in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", b & 0xf, b >> 4));
            }
            s.push_str("ip6.arpa");
            s
        }
        Err(_) => identifier.to_ascii_lowercase(),
    }
}

/// A running tls-alpn-01 listener; dropping it stops it.
#[derive(Debug)]
pub struct AlpnSolver {
    certs: Arc<ByName>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for AlpnSolver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn solver_err(reason: String) -> CronError {
    CronError::Solver {
        kind: "tls-alpn-01",
        reason,
    }
}

impl AlpnSolver {
    /// Binds the listener.
    pub async fn start(addr: SocketAddr) -> Result<AlpnSolver, CronError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let certs = Arc::new(ByName::default());
        let mut cfg = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| solver_err(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(certs.clone());
        cfg.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| solver_err(format!("cannot listen on {addr}: {e}")))?;
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                let a = acceptor.clone();
                tokio::spawn(async move {
                    // The validator only needs the handshake; then close.
                    let _ =
                        tokio::time::timeout(std::time::Duration::from_secs(10), a.accept(s)).await;
                });
            }
        });
        Ok(AlpnSolver {
            certs,
            provider,
            task,
        })
    }

    /// Serves the challenge certificate for `identifier`.
    pub fn add(&self, identifier: &str, key_authorization: &str) -> Result<(), CronError> {
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_authorization.as_bytes());
        let mut params = rcgen::CertificateParams::new(vec![identifier.to_string()])
            .map_err(|e| solver_err(e.to_string()))?;
        params.custom_extensions =
            vec![rcgen::CustomExtension::new_acme_identifier(digest.as_ref())];
        let key = rcgen::KeyPair::generate().map_err(|e| solver_err(e.to_string()))?;
        let cert = params
            .self_signed(&key)
            .map_err(|e| solver_err(e.to_string()))?;
        let signing = self
            .provider
            .key_provider
            .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                key.serialize_der(),
            )))
            .map_err(|e| solver_err(e.to_string()))?;
        let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone()];
        self.certs
            .0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                sni_name(identifier),
                Arc::new(CertifiedKey::new(chain, signing)),
            );
        Ok(())
    }

    /// Stops serving `identifier`.
    pub fn remove(&self, identifier: &str) {
        self.certs
            .0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&sni_name(identifier));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names_for_ips() {
        assert_eq!(sni_name("127.0.0.1"), "1.0.0.127.in-addr.arpa");
        assert_eq!(
            sni_name("2001:db8::1"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
        assert_eq!(sni_name("WWW.Example.com"), "www.example.com");
    }
}
