//! Certificate signing requests for finalize (RFC 8555 §7.4, PKCS#10 / RFC 2986) with a
//! fresh ECDSA P-256 key, built by rcgen on aws-lc-rs; and PEM chain splitting for the
//! downloaded `application/pem-certificate-chain` (RFC 8555 §9.1).
//!
//! The CSR carries every identifier as a subjectAltName (dNSName or iPAddress) and, when
//! it fits, the first one as the subject CN (64-character limit, RFC 5280 ub-common-name).

use crate::error::ClientError;
use arbor_proto::Identifier;
use rcgen::{
    CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P256_SHA256, SanType,
};
use std::net::IpAddr;

/// Upper bound of a CommonName (RFC 5280 Appendix A, `ub-common-name`).
pub const MAX_COMMON_NAME_LEN: usize = 64;

/// A CSR and the private key it was made with.
pub struct NewCsr {
    /// The DER-encoded PKCS#10 request, as `finalize` wants it.
    pub der: Vec<u8>,
    /// The new private key, PKCS#8 PEM.
    pub key_pem: String,
}

impl std::fmt::Debug for NewCsr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCsr")
            .field("der_len", &self.der.len())
            .finish_non_exhaustive()
    }
}

/// Makes a fresh P-256 key and a CSR for `identifiers` (`dns` and `ip` types).
pub fn csr_p256(identifiers: &[Identifier]) -> Result<NewCsr, ClientError> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    csr_with_key(identifiers, &key)
}

/// A CSR for `identifiers` signed by an existing key (the cron client keeps the key on
/// disk before it finalizes, so a crash never loses it).
pub fn csr_with_key(identifiers: &[Identifier], key: &KeyPair) -> Result<NewCsr, ClientError> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    if let Some(first) = identifiers.first()
        && first.value.len() <= MAX_COMMON_NAME_LEN
    {
        dn.push(DnType::CommonName, first.value.as_str());
    }
    params.distinguished_name = dn;
    params.subject_alt_names = identifiers
        .iter()
        .map(san_for)
        .collect::<Result<Vec<_>, _>>()?;
    let csr = params.serialize_request(key)?;
    Ok(NewCsr {
        der: csr.der().to_vec(),
        key_pem: key.serialize_pem(),
    })
}

fn san_for(id: &Identifier) -> Result<SanType, ClientError> {
    if id.typ == "ip" {
        let ip: IpAddr = id
            .value
            .parse()
            .map_err(|_| ClientError::BadCsrIdentifier(id.value.clone()))?;
        return Ok(SanType::IpAddress(ip));
    }
    let name = id
        .value
        .as_str()
        .try_into()
        .map_err(|_| ClientError::BadCsrIdentifier(id.value.clone()))?;
    Ok(SanType::DnsName(name))
}

/// Splits a PEM chain into DER certificates, in order (end-entity first).
pub fn pem_chain_to_der(pem: &str) -> Result<Vec<Vec<u8>>, ClientError> {
    let mut out = Vec::new();
    for block in x509_parser::pem::Pem::iter_from_buffer(pem.as_bytes()) {
        let block = block.map_err(|_| ClientError::NoCertificateInPem)?;
        if block.label == "CERTIFICATE" {
            out.push(block.contents);
        }
    }
    if out.is_empty() {
        return Err(ClientError::NoCertificateInPem);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::process::{Command, Stdio};

    /// openssl, an independent parser, must accept the CSR and see our names and key.
    #[test]
    fn csr_parses_in_openssl() {
        let ids = [
            Identifier::dns("a1.bench.example.com"),
            Identifier::dns("www.example.org"),
            Identifier::ip("192.0.2.7".parse().unwrap()),
        ];
        let csr = csr_p256(&ids).unwrap();
        assert!(csr.key_pem.contains("BEGIN PRIVATE KEY"));
        let mut child = Command::new("openssl")
            .args(["req", "-inform", "DER", "-noout", "-text", "-verify"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl installed");
        child.stdin.take().unwrap().write_all(&csr.der).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("DNS:a1.bench.example.com"), "{text}");
        assert!(text.contains("DNS:www.example.org"), "{text}");
        assert!(text.contains("IP Address:192.0.2.7"), "{text}");
        assert!(
            text.contains("CN=a1.bench.example.com") || text.contains("CN = a1.bench.example.com"),
            "{text}"
        );
        assert!(text.contains("prime256v1"), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("verify OK") || text.contains("verify OK"),
            "{err}"
        );
    }

    #[test]
    fn splits_pem_chain() {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let a = CertificateParams::new(vec!["a.example.com".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let b = CertificateParams::new(vec!["b.example.com".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let chain = format!("{}{}", a.pem(), b.pem());
        let ders = pem_chain_to_der(&chain).unwrap();
        assert_eq!(ders, vec![a.der().to_vec(), b.der().to_vec()]);
        assert!(pem_chain_to_der("no pem here").is_err());
    }
}
