//! Writes a demo hierarchy, a P-256 subscriber certificate and the CRLs
//! into a directory, for inspecting with openssl or pkilint by hand:
//! `cargo run -p arbor-ca --example demo_pki -- /tmp/pki`.

use std::path::PathBuf;

use arbor_ca::{
    CaConfig, DEFAULT_LEAF_VALIDITY_SECS, Hierarchy, LeafRequest, RevokedEntry, parse_csr,
    random_serial,
};

fn pem(label: &str, der: &[u8]) -> String {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der).expect("PEM")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).ok_or("usage: demo_pki OUT_DIR")?);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let cfg = CaConfig {
        aia_base_url: "http://pki.example.com/aia".into(),
        crl_base_url: "http://pki.example.com/crl".into(),
        organization: "Arbor Test CA".into(),
    };
    let h = Hierarchy::load_or_generate(&dir.join("ca"), &cfg, now - 3600)?;
    let kp = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(vec!["example.com".to_string()])?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    let csr = parse_csr(params.serialize_request(&kp)?.der())?;
    let leaf = h.intermediate.issue_leaf(&LeafRequest {
        serial: random_serial()?,
        spki_der: csr.spki_der,
        dns_names: csr.dns_names,
        ips: csr.ips,
        not_before: now - 60,
        validity_secs: DEFAULT_LEAF_VALIDITY_SECS,
        common_name: None,
    })?;
    std::fs::write(dir.join("leaf.pem"), pem("CERTIFICATE", &leaf))?;
    let revoked = [RevokedEntry {
        serial: random_serial()?,
        revoked_at: now - 30,
        reason: Some(1),
    }];
    let crl = h.intermediate.sign_crl(&revoked, 1, now, now + 86_400)?;
    std::fs::write(dir.join("intermediate.crl"), pem("X509 CRL", &crl))?;
    let crl = h.sign_root_crl(false, &[], 1, now, now + 86_400)?;
    std::fs::write(dir.join("root.crl"), pem("X509 CRL", &crl))?;
    println!("wrote {}", dir.display());
    Ok(())
}
