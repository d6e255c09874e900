//! End-to-end issuance: a hierarchy generated in a tempdir and reloaded,
//! leaves issued for rcgen CSRs of every supported key type, and each checked
//! by independent tools — `openssl verify` along both chains, `openssl x509
//! -text`, `openssl crl`, and pkilint where it is installed.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use arbor_ca::{
    CaConfig, CaError, DEFAULT_LEAF_VALIDITY_SECS, Hierarchy, LeafRequest, RevokedEntry, check_csr,
    parse_csr, random_serial,
};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, KeyPair, PublicKeyData, SignatureAlgorithm,
};

/// 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600;

fn cfg() -> CaConfig {
    CaConfig {
        aia_base_url: "http://127.0.0.1:14080/aia".into(),
        crl_base_url: "http://127.0.0.1:14080/crl".into(),
        organization: "Arbor Test CA".into(),
    }
}

/// A configuration with public-looking URLs: pkilint (rightly) flags
/// loopback URLs and IPs as internal names, so lint runs use these.
fn public_cfg() -> CaConfig {
    CaConfig {
        aia_base_url: "http://pki.example.com/aia".into(),
        crl_base_url: "http://pki.example.com/crl".into(),
        organization: "Arbor Test CA".into(),
    }
}

fn pem(der: &[u8]) -> String {
    pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, der).unwrap()
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn csr_der(alg: &'static SignatureAlgorithm, sans: &[&str], cn: Option<&str>) -> Vec<u8> {
    let kp = KeyPair::generate_for(alg).unwrap();
    let mut params =
        CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name = DistinguishedName::new();
    if let Some(cn) = cn {
        params.distinguished_name.push(DnType::CommonName, cn);
    }
    params.serialize_request(&kp).unwrap().der().to_vec()
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn pkilint(tool: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("ARBOR_PKILINT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/work/main/.venv/bin"));
    // $ARBOR_PKILINT may name the tool itself or its bin directory.
    let p = if dir.is_dir() {
        dir.join(tool)
    } else {
        dir.parent()?.join(tool)
    };
    p.exists().then_some(p)
}

/// Runs a pkilint tool's `lint` with `args` on `file`; asserts that it
/// reports no ERROR-or-worse finding. Skips (with a note) if pkilint is absent.
fn pkilint_clean(tool: &str, args: &[&str], file: &Path) {
    let Some(exe) = pkilint(tool) else {
        println!("note: pkilint not found (set ARBOR_PKILINT); skipping {tool} on {file:?}");
        return;
    };
    let out = Command::new(exe)
        .arg("lint")
        .args(args)
        .args(["-s", "ERROR"])
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success() && text.trim().is_empty(),
        "{tool} findings for {file:?}:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// pkilint's CA/B Forum DV subscriber lint.
fn lint_leaf(leaf: &Path) {
    pkilint_clean(
        "lint_cabf_serverauth_cert",
        &["-t", "DV-FINAL-CERTIFICATE"],
        leaf,
    );
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

fn hierarchy_with(cfg: &CaConfig) -> (tempfile::TempDir, Hierarchy) {
    let dir = tempfile::tempdir().unwrap();
    let h = Hierarchy::load_or_generate(&dir.path().join("ca"), cfg, now_unix() - 3600).unwrap();
    (dir, h)
}

fn hierarchy() -> (tempfile::TempDir, Hierarchy) {
    hierarchy_with(&cfg())
}

#[test]
fn hierarchy_reloads_identically_and_keys_are_private() {
    let (dir, h) = hierarchy();
    let ca = dir.path().join("ca");
    let again = Hierarchy::load_or_generate(&ca, &cfg(), now_unix() + 999).unwrap();
    assert_eq!(h.root, again.root);
    assert_eq!(h.root_alt, again.root_alt);
    assert_eq!(h.intermediate.cert_der, again.intermediate.cert_der);
    assert_eq!(
        h.intermediate.cross_cert_der,
        again.intermediate.cross_cert_der
    );
    assert_eq!(h.intermediate.id, again.intermediate.id);
    assert_eq!(h.root.subject_cn, "Arbor Test Root");
    assert_eq!(h.root_alt.subject_cn, "Arbor Test Alternate Root");
    assert_eq!(h.intermediate.subject_cn, "Arbor Test Intermediate");
    assert_eq!(h.intermediate.id.len(), 16);
    assert_eq!(
        h.intermediate.aia_url,
        format!("http://127.0.0.1:14080/aia/{}.der", h.intermediate.id)
    );
    use std::os::unix::fs::PermissionsExt;
    for key in ["root.key", "root-alt.key", "intermediate.key"] {
        let mode = std::fs::metadata(ca.join(key))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{key}");
        let body = std::fs::read_to_string(ca.join(key)).unwrap();
        assert!(body.starts_with("-----BEGIN PRIVATE KEY-----"));
    }
    // The files on disk are what the API returns.
    assert_eq!(
        std::fs::read_to_string(ca.join("root.pem")).unwrap(),
        h.root.pem
    );
    // The cross-cert has the intermediate's subject and key under another issuer.
    let text = |der: &[u8], n: &str| {
        let p = write(dir.path(), n, &pem(der));
        openssl(&[
            "x509", "-noout", "-subject", "-issuer", "-pubkey", "-in", &p,
        ])
        .1
    };
    let a = text(&h.intermediate.cert_der, "i.pem");
    let b = text(&h.intermediate.cross_cert_der, "x.pem");
    assert!(a.contains("Arbor Test Root") && b.contains("Arbor Test Alternate Root"));
    let key_of = |s: &str| s[s.find("-----BEGIN PUBLIC KEY").unwrap()..].to_string();
    assert_eq!(key_of(&a), key_of(&b));
    // Both roots and both intermediates verify with openssl.
    let root = ca.join("root.pem");
    let (ok, out) = openssl(&[
        "verify",
        "-CAfile",
        root.to_str().unwrap(),
        ca.join("intermediate.pem").to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    let alt = ca.join("root-alt.pem");
    let (ok, out) = openssl(&[
        "verify",
        "-CAfile",
        alt.to_str().unwrap(),
        ca.join("intermediate-cross.pem").to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
}

#[test]
fn tampered_or_partial_hierarchy_is_refused() {
    let (dir, h) = hierarchy();
    let ca = dir.path().join("ca");
    // A key that does not belong to its certificate.
    std::fs::copy(ca.join("root-alt.key"), ca.join("root.key")).unwrap();
    let err = Hierarchy::load_or_generate(&ca, &cfg(), NOW).unwrap_err();
    assert!(matches!(err, CaError::BadStoredFile { .. }), "{err}");
    // A missing file with root.pem present.
    std::fs::remove_file(ca.join("intermediate-cross.pem")).unwrap();
    let err = Hierarchy::load_or_generate(&ca, &cfg(), NOW).unwrap_err();
    assert!(
        matches!(err, CaError::IncompleteHierarchy { ref missing, .. }
        if missing == &vec!["intermediate-cross.pem".to_string()]),
        "{err}"
    );
    // Without root.pem (written last) the set counts as an interrupted first
    // start and is regenerated from scratch.
    std::fs::remove_file(ca.join("root.pem")).unwrap();
    let fresh = Hierarchy::load_or_generate(&ca, &cfg(), now_unix()).unwrap();
    assert_ne!(fresh.root.der, h.root.der);
    assert_ne!(fresh.intermediate.id, h.intermediate.id);
    assert!(ca.join("intermediate-cross.pem").exists());
    Hierarchy::load_or_generate(&ca, &cfg(), now_unix()).unwrap();
}

/// Issues a leaf for a fresh `alg` CSR naming example.com, www.example.com
/// and `ip`, and checks it with openssl (and pkilint when `lint`).
fn issue_and_check(
    h: &Hierarchy,
    dir: &Path,
    tag: &str,
    alg: &'static SignatureAlgorithm,
    ip: &str,
    lint: bool,
) {
    let names = ["www.example.com", "example.com", ip];
    let der = csr_der(alg, &names, Some("example.com"));
    let csr = parse_csr(&der).unwrap();
    let dns = vec!["example.com".to_string(), "www.example.com".to_string()];
    let ips: Vec<IpAddr> = vec![ip.parse().unwrap()];
    let account = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    check_csr(&csr, &dns, &ips, &account.subject_public_key_info()).unwrap();

    let req = LeafRequest {
        serial: random_serial().unwrap(),
        spki_der: csr.spki_der.clone(),
        dns_names: csr.dns_names.clone(),
        ips: csr.ips.clone(),
        not_before: now_unix() - 60,
        validity_secs: DEFAULT_LEAF_VALIDITY_SECS,
        common_name: csr.common_name.clone(),
    };
    let leaf = h.intermediate.issue_leaf(&req).unwrap();
    let leaf_path = write(dir, &format!("{tag}-leaf.pem"), &pem(&leaf));
    let (ok, text) = openssl(&["x509", "-noout", "-text", "-in", &leaf_path]);
    assert!(ok, "{text}");
    assert!(text.contains("DNS:www.example.com"), "{text}");
    assert!(text.contains(&format!("IP Address:{ip}")), "{text}");
    assert!(text.contains("Subject: CN = example.com"), "{text}");
    assert!(text.contains("CA:FALSE"), "{text}");
    assert!(text.contains("TLS Web Server Authentication"), "{text}");
    assert!(text.contains("2.23.140.1.2.1"), "{text}");
    assert!(text.contains(&h.intermediate.aia_url), "{text}");
    assert!(text.contains(&h.intermediate.crl_url), "{text}");
    assert!(text.contains("ecdsa-with-SHA256"), "{text}");

    let root = write(dir, "root.pem", &h.root.pem);
    let inter = write(dir, "inter.pem", &pem(&h.chain_default()[0]));
    let (ok, out) = openssl(&[
        "verify",
        "-purpose",
        "sslserver",
        "-CAfile",
        &root,
        "-untrusted",
        &inter,
        &leaf_path,
    ]);
    assert!(ok, "{tag} default chain: {out}");
    let alt = write(dir, "root-alt.pem", &h.root_alt.pem);
    let cross = write(dir, "cross.pem", &pem(&h.chain_alternate()[0]));
    let (ok, out) = openssl(&[
        "verify",
        "-purpose",
        "sslserver",
        "-CAfile",
        &alt,
        "-untrusted",
        &cross,
        &leaf_path,
    ]);
    assert!(ok, "{tag} alternate chain: {out}");
    // The default intermediate does not chain to the alternate root.
    let (ok, _) = openssl(&["verify", "-CAfile", &alt, "-untrusted", &inter, &leaf_path]);
    assert!(
        !ok,
        "{tag}: default intermediate must not verify under the alternate root"
    );
    if lint {
        lint_leaf(Path::new(&leaf_path));
    }
}

#[test]
fn leaves_for_every_key_type_verify_along_both_chains() {
    let (dir, h) = hierarchy();
    let ip = "127.0.0.1";
    issue_and_check(
        &h,
        dir.path(),
        "p256",
        &rcgen::PKCS_ECDSA_P256_SHA256,
        ip,
        false,
    );
    issue_and_check(
        &h,
        dir.path(),
        "p384",
        &rcgen::PKCS_ECDSA_P384_SHA384,
        ip,
        false,
    );
    issue_and_check(
        &h,
        dir.path(),
        "rsa2048",
        &rcgen::PKCS_RSA_SHA256,
        ip,
        false,
    );
    issue_and_check(&h, dir.path(), "ed25519", &rcgen::PKCS_ED25519, ip, false);
}

#[test]
fn leaves_pass_pkilint_dv_profile() {
    let (dir, h) = hierarchy_with(&public_cfg());
    // A public address: pkilint refuses reserved ranges as internal names.
    let ip = "8.8.8.8";
    issue_and_check(
        &h,
        dir.path(),
        "p256",
        &rcgen::PKCS_ECDSA_P256_SHA256,
        ip,
        true,
    );
    issue_and_check(
        &h,
        dir.path(),
        "p384",
        &rcgen::PKCS_ECDSA_P384_SHA384,
        ip,
        true,
    );
    issue_and_check(&h, dir.path(), "rsa2048", &rcgen::PKCS_RSA_SHA256, ip, true);
    // Ed25519 subject keys are outside BR §6.1.5, so pkilint is not asked.

    // The CA certificates against their BR profiles.
    let ca = dir.path().join("ca");
    let tls_ca = ["-t", "INTERNAL-UNCONSTRAINED-TLS-CA"];
    let tool = "lint_cabf_serverauth_cert";
    pkilint_clean(tool, &tls_ca, &ca.join("intermediate.pem"));
    pkilint_clean(tool, &tls_ca, &ca.join("intermediate-cross.pem"));
    pkilint_clean(tool, &["-t", "ROOT-CA"], &ca.join("root.pem"));
    pkilint_clean(tool, &["-t", "ROOT-CA"], &ca.join("root-alt.pem"));
}

#[test]
fn leaf_without_common_name_has_empty_subject_and_critical_san() {
    let (dir, h) = hierarchy_with(&public_cfg());
    let der = csr_der(&rcgen::PKCS_ECDSA_P256_SHA256, &["example.org"], None);
    let csr = parse_csr(&der).unwrap();
    let req = LeafRequest {
        serial: random_serial().unwrap(),
        spki_der: csr.spki_der,
        dns_names: csr.dns_names,
        ips: vec![],
        not_before: now_unix() - 60,
        validity_secs: DEFAULT_LEAF_VALIDITY_SECS,
        common_name: None,
    };
    let leaf = h.intermediate.issue_leaf(&req).unwrap();
    let p = write(dir.path(), "leaf.pem", &pem(&leaf));
    let (ok, text) = openssl(&["x509", "-noout", "-text", "-in", &p]);
    assert!(ok);
    assert!(
        text.contains("Subject: \n") || text.contains("Subject:\n"),
        "{text}"
    );
    assert!(
        text.contains("X509v3 Subject Alternative Name: critical"),
        "{text}"
    );
    // notAfter is inclusive: exactly 90 days minus one second after notBefore.
    let (_, dates) = openssl(&[
        "x509",
        "-noout",
        "-startdate",
        "-enddate",
        "-dateopt",
        "iso_8601",
        "-in",
        &p,
    ]);
    assert!(dates.contains("notBefore="), "{dates}");
    lint_leaf(Path::new(&p));
    let root = write(dir.path(), "root.pem", &h.root.pem);
    let inter = write(dir.path(), "inter.pem", &pem(&h.intermediate.cert_der));
    let (ok, out) = openssl(&["verify", "-CAfile", &root, "-untrusted", &inter, &p]);
    assert!(ok, "{out}");
}

#[test]
fn server_cert_serves_localhost() {
    let (dir, h) = hierarchy();
    let (chain, key) = h
        .server_cert(
            &["localhost".into()],
            &["127.0.0.1".parse().unwrap()],
            now_unix() - 60,
        )
        .unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[1], h.intermediate.cert_der);
    let leaf = write(dir.path(), "srv.pem", &pem(&chain[0]));
    let root = write(dir.path(), "root.pem", &h.root.pem);
    let inter = write(dir.path(), "inter.pem", &pem(&chain[1]));
    let (ok, out) = openssl(&[
        "verify",
        "-purpose",
        "sslserver",
        "-verify_hostname",
        "localhost",
        "-verify_ip",
        "127.0.0.1",
        "-CAfile",
        &root,
        "-untrusted",
        &inter,
        &leaf,
    ]);
    assert!(ok, "{out}");
    // The private key matches the certificate.
    let key_pem =
        pem_rfc7468::encode_string("PRIVATE KEY", pem_rfc7468::LineEnding::LF, &key).unwrap();
    let kp = write(dir.path(), "srv.key", &key_pem);
    let (_, a) = openssl(&["pkey", "-pubout", "-in", &kp]);
    let (_, b) = openssl(&["x509", "-noout", "-pubkey", "-in", &leaf]);
    assert_eq!(a, b);
}

#[test]
fn crls_parse_and_verify_with_openssl() {
    let (dir, h) = hierarchy();
    let revoked = [
        RevokedEntry {
            serial: vec![0x01; 16],
            revoked_at: NOW,
            reason: Some(1),
        },
        RevokedEntry {
            serial: vec![0x02; 16],
            revoked_at: NOW,
            reason: None,
        },
        RevokedEntry {
            serial: vec![0x03; 16],
            revoked_at: NOW,
            reason: Some(0),
        },
    ];
    let crl = h
        .intermediate
        .sign_crl(&revoked, 42, NOW, NOW + 86_400)
        .unwrap();
    let crl_pem =
        pem_rfc7468::encode_string("X509 CRL", pem_rfc7468::LineEnding::LF, &crl).unwrap();
    let crl_path = write(dir.path(), "i.crl", &crl_pem);
    let inter = write(dir.path(), "inter.pem", &pem(&h.intermediate.cert_der));
    let (ok, text) = openssl(&[
        "crl", "-noout", "-text", "-CAfile", &inter, "-in", &crl_path,
    ]);
    assert!(ok, "{text}");
    assert!(text.contains("verify OK"), "{text}");
    assert!(
        text.contains("X509v3 CRL Number: \n                42"),
        "{text}"
    );
    assert!(text.contains("Only User Certificates"), "{text}");
    assert!(text.contains(&h.intermediate.crl_url), "{text}");
    assert_eq!(text.matches("Key Compromise").count(), 1, "{text}");
    assert_eq!(text.matches("Serial Number:").count(), 3, "{text}");
    pkilint_clean("lint_crl", &["-t", "CRL", "-p", "BR"], Path::new(&crl_path));
    // An empty root CRL omits revokedCertificates and is signed by the root.
    let crl = h.sign_root_crl(false, &[], 1, NOW, NOW + 86_400).unwrap();
    let crl_pem =
        pem_rfc7468::encode_string("X509 CRL", pem_rfc7468::LineEnding::LF, &crl).unwrap();
    let crl_path = write(dir.path(), "r.crl", &crl_pem);
    let root = write(dir.path(), "root.pem", &h.root.pem);
    let (ok, text) = openssl(&["crl", "-noout", "-text", "-CAfile", &root, "-in", &crl_path]);
    assert!(ok && text.contains("verify OK"), "{text}");
    assert!(text.contains("No Revoked Certificates"), "{text}");
    assert!(text.contains("Only CA Certificates"), "{text}");
    pkilint_clean("lint_crl", &["-t", "ARL", "-p", "BR"], Path::new(&crl_path));
    // Reason codes BR forbids are refused.
    let bad = [RevokedEntry {
        serial: vec![0x05; 16],
        revoked_at: NOW,
        reason: Some(6),
    }];
    assert!(h.intermediate.sign_crl(&bad, 43, NOW, NOW + 60).is_err());
}
