//! TLS clients on rustls with the aws-lc-rs provider: one for https redirect targets
//! during http-01 (RFC 8555 §8.3), one for tls-alpn-01 (RFC 8737 §3).
//!
//! As in Let's Encrypt, the certificate chain of a redirect target is not verified: the
//! proof is the key authorization in the body, and applicants redirecting to https often
//! have no valid certificate yet (that is why they ask for one). The handshake signature
//! is still checked against the presented key, so the peer must hold that key.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use std::sync::Arc;

/// Accepts any certificate chain; checks handshake signatures.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The client configuration for https redirect targets: TLS 1.2/1.3, ALPN `http/1.1`,
/// no chain verification.
pub(crate) fn redirect_client_config() -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let mut cfg = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

/// The ALPN protocol of tls-alpn-01 (RFC 8737 §6.2).
pub(crate) const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// Like [`AcceptAnyCert`], but checks handshake signatures against the certificate's
/// public key without parsing the certificate through webpki, which refuses the critical
/// acmeIdentifier extension every tls-alpn-01 certificate carries (RFC 8737 §3).
#[derive(Debug)]
struct AcmeTlsVerifier(Arc<CryptoProvider>);

impl AcmeTlsVerifier {
    /// Verifies `dss` over `message` with the leaf's key; `tls13` limits the candidate
    /// algorithms to the first one for the scheme, as TLS 1.3 does.
    fn verify(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
        tls13: bool,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        use der::{Decode, Encode};
        let bad_cert = || rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding);
        let parsed = x509_cert::Certificate::from_der(cert.as_ref()).map_err(|_| bad_cert())?;
        let spki_der = parsed
            .tbs_certificate()
            .subject_public_key_info()
            .to_der()
            .map_err(|_| bad_cert())?;
        let spki = rustls::pki_types::SubjectPublicKeyInfoDer::from(spki_der.as_slice());
        let key = webpki::RawPublicKeyEntity::try_from(&spki).map_err(|_| bad_cert())?;
        let algs = self
            .0
            .signature_verification_algorithms
            .mapping
            .iter()
            .find(|(scheme, _)| *scheme == dss.scheme)
            .map(|(_, algs)| *algs)
            .ok_or(rustls::Error::PeerMisbehaved(
                rustls::PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme,
            ))?;
        let candidates = if tls13 {
            &algs[..algs.len().min(1)]
        } else {
            algs
        };
        let bad_sig = rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature);
        for alg in candidates {
            if key.verify_signature(*alg, message, dss.signature()).is_ok() {
                return Ok(HandshakeSignatureValid::assertion());
            }
        }
        Err(bad_sig)
    }
}

impl ServerCertVerifier for AcmeTlsVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify(message, cert, dss, false)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify(message, cert, dss, true)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The TLS versions tls-alpn-01 may use: 1.3 and 1.2 (RFC 8737 §4).
pub(crate) const ACME_TLS_VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

/// The client configuration for tls-alpn-01: TLS 1.2 and 1.3 only (RFC 8737 §4 requires
/// TLS 1.2 or later), ALPN `acme-tls/1` and nothing else, no chain verification (the
/// certificate is self-signed by design; its contents are checked after the handshake),
/// no session resumption. The handshake signature is still verified ([`AcmeTlsVerifier`]).
pub(crate) fn acme_tls_client_config() -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let mut cfg = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(ACME_TLS_VERSIONS)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcmeTlsVerifier(provider)))
        .with_no_client_auth();
    cfg.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
    cfg.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acme_tls_config_is_tls12_plus_with_one_alpn() {
        let cfg = acme_tls_client_config().unwrap();
        assert_eq!(cfg.alpn_protocols, vec![b"acme-tls/1".to_vec()]);
        // Every enabled version is TLS 1.2 (0x0303) or later; TLS 1.0/1.1 are absent.
        let versions: Vec<u16> = ACME_TLS_VERSIONS
            .iter()
            .map(|v| u16::from(v.version))
            .collect();
        assert_eq!(versions, [0x0304, 0x0303]);
        assert!(
            versions
                .iter()
                .all(|v| *v >= u16::from(rustls::ProtocolVersion::TLSv1_2))
        );
        assert!(!versions.contains(&u16::from(rustls::ProtocolVersion::TLSv1_1)));
    }

    #[test]
    fn config_builds_with_http11_alpn() {
        let cfg = redirect_client_config().unwrap();
        assert_eq!(cfg.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
}
