//! Merkle Tree Certificates through the cron client (draft-ietf-plants-merkle-tree-certs
//! §9, PR #207), end to end over HTTPS on loopback with a driven landmark clock: the
//! standalone certificate is installed at once; runs before the landmark change nothing
//! and fail nothing; once the test mints a landmark the next run installs `landmark.pem`
//! (+ `.properties`), it verifies against the landmark's subtree, and the deploy hook runs
//! again. Both designs: the `acme-optional-alternate` link and `newRelativeCertificate`.

use super::*;
use arbor_mtc::formats::CertificatePropertyList;
use arbor_mtc::verify::VerifiedBy;
use arbor_mtc::{CaCertificate, CosignerKey, CosignerPolicy, TrustedSubtrees, verify};

impl Ca {
    fn log(&self) -> std::sync::Arc<arbor_mtclog::IssuanceLog> {
        self.running
            .state
            .mtc
            .as_ref()
            .expect("MTC log on")
            .log()
            .clone()
    }

    /// Mints a landmark now (the landmark clock is otherwise an hour).
    async fn mint_landmark(&self) -> u64 {
        self.log()
            .allocate_landmark_now()
            .await
            .expect("landmark")
            .expect("the tree grew since the last landmark")
    }

    /// What a relying party current to the newest landmark trusts.
    fn trusted(&self) -> TrustedSubtrees {
        self.log().trusted_subtrees()
    }

    async fn mtc_ca_cert(&self) -> CaCertificate {
        let root = std::fs::read(self.root()).expect("root");
        let client = AcmeClient::new(&self.directory, Some(&root))
            .await
            .expect("client");
        let url = self.directory.replace("/dir", "/mtc/ca.der");
        let r = client.get(&url).await.expect("ca.der");
        CaCertificate::from_der(&r.body).expect("MTC CA certificate")
    }
}

fn der_of(path: &Path) -> Vec<u8> {
    let pem = std::fs::read_to_string(path).expect("read PEM");
    let mut ders = arbor_client::pem_chain_to_der(&pem).expect("PEM certificate");
    assert_eq!(ders.len(), 1, "{} holds one certificate", path.display());
    ders.remove(0)
}

fn properties(path: &Path) -> CertificatePropertyList {
    CertificatePropertyList::decode(&std::fs::read(path).expect("properties file"))
        .expect("binary CertificatePropertyList")
}

/// openssl (an independent parser) reads the certificate, sees the name and the key.
fn openssl_reads(cert: &Path, key: &Path, name: &str) {
    let run = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let c = cert.to_str().unwrap();
    let text = run(&["x509", "-in", c, "-noout", "-ext", "subjectAltName"]);
    assert!(text.contains(&format!("DNS:{name}")), "{text}");
    assert_eq!(
        run(&["x509", "-in", c, "-noout", "-pubkey"]),
        run(&["pkey", "-in", key.to_str().unwrap(), "-pubout"]),
        "{c} carries key.pem's public key"
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn landmark(cfg: &Config) -> arbor_client::cron::state::LandmarkState {
    load_state(cfg).certificates["www"]
        .landmark
        .clone()
        .expect("landmark state")
}

/// A client config for one MTC named `name`, against `ca` validating on `port`.
fn mtc_config(d: &Path, ca: &Ca, port: u16, name: &str) -> Config {
    config(
        d,
        ca,
        "",
        &format!("identifiers = [\"{name}\"]\nhttp_port = {port}\nprofile = \"mtc\""),
    )
}

/// Moves the client's clock just past the saved landmark check.
fn past_next_check(ca: &Ca, cfg: &Config) {
    let l = landmark(cfg);
    ca.clock.advance(l.next_check - ca.clock.now() + 1);
}

async fn standalone_now_landmark_relative_later(design: &str) {
    let port = free_port();
    let ca = Ca::start_mtc(port).await;
    let d = tempfile::tempdir().unwrap();
    let deployed = d.path().join("deployed");
    let cfg = config(
        d.path(),
        &ca,
        "",
        &format!(
            "identifiers = [\"mtc.example.com\"]\nhttp_port = {port}\nprofile = \"mtc\"\nlandmark = \"{design}\"\ndeploy_hook = \"echo $ARBOR_CERT_NAME >> {}\"",
            deployed.display()
        ),
    );
    let out = cfg.certificates[0].output_dir.clone();
    let o = opts(&ca);
    let ca_cert = ca.mtc_ca_cert().await;
    let ca_policy = CosignerPolicy::new()
        .with_cosigner(
            CosignerKey::from_spki_der(ca_cert.ca_id.clone(), &ca_cert.spki_der).unwrap(),
        )
        .require(ca_cert.ca_id.clone());

    // Run 1: the standalone certificate, installed at once with its properties.
    let r = pass(&cfg, &o).await;
    assert_eq!(r.exit_code(), 0, "{:?}", r.outcomes);
    assert!(r.outcomes[0].issued, "{}", r.outcomes[0].line);
    assert!(
        r.outcomes[0].line.contains("no landmark covers"),
        "asked once right after issuance: {}",
        r.outcomes[0].line
    );
    let standalone = der_of(&out.join("cert.pem"));
    assert_eq!(der_of(&out.join("fullchain.pem")), standalone, "no chain");
    assert_eq!(std::fs::read_to_string(out.join("chain.pem")).unwrap(), "");
    let v = verify(
        &standalone,
        &ca_cert,
        &ca_policy,
        &TrustedSubtrees::default(),
        now(),
    )
    .expect("the standalone certificate verifies with the CA's cosignature");
    assert_eq!(v.by, VerifiedBy::Cosigners(vec![ca_cert.ca_id.clone()]));
    openssl_reads(
        &out.join("cert.pem"),
        &out.join("key.pem"),
        "mtc.example.com",
    );
    for f in ["cert.pem.properties", "fullchain.pem.properties"] {
        assert_eq!(
            properties(&out.join(f)).trust_anchor_id(),
            Some(&ca_cert.ca_id),
            "{f}"
        );
    }
    assert!(!out.join("landmark.pem").exists());
    assert_eq!(std::fs::read_to_string(&deployed).unwrap(), "www\n");
    let l1 = landmark(&cfg);
    assert_eq!(l1.attempts, 1);
    assert!(l1.next_check > ca.clock.now(), "{l1:?}");
    assert!(
        l1.next_check <= ca.clock.now() + 3_600 + 360,
        "Retry-After ≤ one interval: {l1:?}"
    );

    // Run 2, before the CA's Retry-After: nothing is asked, nothing changes.
    let r = pass(&cfg, &o).await;
    assert_eq!(r.exit_code(), 0, "{:?}", r.outcomes);
    assert!(!r.outcomes[0].issued);
    assert!(
        r.outcomes[0].line.contains("asked for again after"),
        "{}",
        r.outcomes[0].line
    );
    assert_eq!(landmark(&cfg), l1);

    // Run 3, after Retry-After but before any landmark: asks, no error, no change.
    ca.clock.advance(l1.next_check - ca.clock.now() + 1);
    let r = pass(&cfg, &o).await;
    assert_eq!(r.exit_code(), 0, "{:?}", r.outcomes);
    assert!(
        r.outcomes[0].line.contains("no landmark covers"),
        "{}",
        r.outcomes[0].line
    );
    let l2 = landmark(&cfg);
    assert_eq!(l2.attempts, 2);
    assert!(!out.join("landmark.pem").exists());
    assert_eq!(der_of(&out.join("cert.pem")), standalone);

    // The landmark is minted; the next due run installs the landmark-relative certificate.
    ca.mint_landmark().await;
    ca.clock.advance(l2.next_check - ca.clock.now() + 1);
    let r = pass(&cfg, &o).await;
    assert_eq!(r.exit_code(), 0, "{:?}", r.outcomes);
    assert!(
        r.outcomes[0]
            .line
            .contains("landmark-relative certificate installed"),
        "{}",
        r.outcomes[0].line
    );
    let wire = match design {
        "acme-optional-alternate" => "(acme-optional-alternate, after 2 not-yet answers)",
        _ => "(newRelativeCertificate, after 2 not-yet answers)",
    };
    assert!(r.outcomes[0].line.contains(wire), "{}", r.outcomes[0].line);
    let relative = der_of(&out.join("landmark.pem"));
    assert_ne!(relative, standalone);
    let v = verify(
        &relative,
        &ca_cert,
        &CosignerPolicy::new(),
        &ca.trusted(),
        now(),
    )
    .expect("the landmark-relative certificate verifies against the landmark");
    assert_eq!(v.by, VerifiedBy::TrustedSubtree);
    assert!(
        verify(
            &relative,
            &ca_cert,
            &CosignerPolicy::new(),
            &TrustedSubtrees::default(),
            now()
        )
        .is_err(),
        "and only with the landmark's subtree"
    );
    openssl_reads(
        &out.join("landmark.pem"),
        &out.join("key.pem"),
        "mtc.example.com",
    );
    let tai = properties(&out.join("landmark.pem.properties"))
        .trust_anchor_id()
        .expect("trust anchor ID")
        .to_string();
    assert!(tai.starts_with(&format!("{}.1.", ca_cert.ca_id)), "{tai}");
    assert_eq!(der_of(&out.join("cert.pem")), standalone, "standalone kept");
    assert_eq!(std::fs::read_to_string(&deployed).unwrap(), "www\nwww\n");

    // Afterwards: idle, the hook does not run again; lost files come back, both of them.
    let r = pass(&cfg, &o).await;
    assert!(
        r.outcomes[0]
            .line
            .contains("landmark-relative certificate installed"),
        "{}",
        r.outcomes[0].line
    );
    std::fs::remove_file(out.join("cert.pem")).unwrap();
    std::fs::remove_file(out.join("landmark.pem")).unwrap();
    let r = pass(&cfg, &o).await;
    assert!(
        r.outcomes[0].line.contains("installed the saved"),
        "{}",
        r.outcomes[0].line
    );
    assert_eq!(der_of(&out.join("landmark.pem")), relative);
    assert_eq!(der_of(&out.join("cert.pem")), standalone);
    let status = arbor_client::cron::status::describe(&cfg, ca.clock.now())
        .unwrap()
        .join("\n");
    assert!(
        status.contains("landmark-relative certificate installed"),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtc_design_a_acme_optional_alternate() {
    standalone_now_landmark_relative_later("acme-optional-alternate").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtc_design_b_new_relative_certificate() {
    standalone_now_landmark_relative_later("new-relative-certificate").await;
}

/// A renewal replaces the standalone certificate: the old `landmark.pem` (another
/// certificate's) is removed at once, and the new one follows its own landmark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_removes_the_old_landmark_certificate() {
    let port = free_port();
    let ca = Ca::start_mtc(port).await;
    let d = tempfile::tempdir().unwrap();
    let cfg = mtc_config(d.path(), &ca, port, "renew.example.com");
    let out = cfg.certificates[0].output_dir.clone();
    let o = opts(&ca);
    assert_eq!(pass(&cfg, &o).await.exit_code(), 0);
    ca.mint_landmark().await;
    past_next_check(&ca, &cfg);
    let r = pass(&cfg, &o).await;
    assert!(
        r.outcomes[0].line.contains("installed"),
        "{}",
        r.outcomes[0].line
    );
    let first = der_of(&out.join("cert.pem"));
    assert!(out.join("landmark.pem").exists());
    // Past two thirds of the 7-day lifetime (no ARI for MTCs: they carry no AKI).
    let cur = load_state(&cfg).certificates["www"]
        .current
        .clone()
        .unwrap();
    ca.clock
        .advance(cur.not_after - ca.clock.now() - 24 * 3_600);
    let r = pass(&cfg, &o).await;
    assert!(r.outcomes[0].issued, "{}", r.outcomes[0].line);
    assert_ne!(der_of(&out.join("cert.pem")), first);
    assert!(
        !out.join("landmark.pem").exists(),
        "old landmark.pem removed"
    );
    assert!(!out.join("landmark.pem.properties").exists());
    assert_eq!(
        landmark(&cfg).status,
        arbor_client::cron::state::LandmarkStatus::Waiting
    );
}

/// The log's clock, ahead of the system clock by a settable offset.
#[derive(Default)]
struct AheadClock(std::sync::atomic::AtomicU64);

impl arbor_mtclog::Clock for AheadClock {
    fn now_millis(&self) -> u64 {
        arbor_mtclog::SystemClock.now_millis() + self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The covering landmark expires before the client asks (a machine that was off for
/// weeks): the CA answers certificateTooOldForLandmark; the client keeps the standalone
/// certificate, records why, exits 0 and stops asking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_landmark_keeps_the_standalone_certificate() {
    let port = free_port();
    let ahead = Arc::new(AheadClock::default());
    let ca = Ca::start_mtc_clock(port, Some(ahead.clone())).await;
    let d = tempfile::tempdir().unwrap();
    let cfg = mtc_config(d.path(), &ca, port, "late.example.com");
    let out = cfg.certificates[0].output_dir.clone();
    let o = opts(&ca);
    assert_eq!(pass(&cfg, &o).await.exit_code(), 0);
    let standalone = der_of(&out.join("cert.pem"));
    ca.mint_landmark().await;
    // Past the landmark's expiry (the longest certificate lifetime after it).
    let lifetime = arbor_mtclog::LogConfig::new("32473.1".parse().unwrap(), 1).max_cert_lifetime;
    ahead.0.store(
        (lifetime + Duration::from_secs(86_400)).as_millis() as u64,
        std::sync::atomic::Ordering::SeqCst,
    );
    past_next_check(&ca, &cfg);
    let r = pass(&cfg, &o).await;
    assert_eq!(r.exit_code(), 0, "{:?}", r.outcomes);
    assert!(
        r.outcomes[0]
            .line
            .contains("no landmark-relative certificate will come"),
        "{}",
        r.outcomes[0].line
    );
    let l = landmark(&cfg);
    assert_eq!(
        l.status,
        arbor_client::cron::state::LandmarkStatus::Unavailable
    );
    assert!(
        l.note
            .as_deref()
            .unwrap_or_default()
            .contains("certificateTooOldForLandmark"),
        "{l:?}"
    );
    assert!(!out.join("landmark.pem").exists());
    assert_eq!(der_of(&out.join("cert.pem")), standalone);
    // Later runs do not ask again.
    ca.clock.advance(7_200);
    let r = pass(&cfg, &o).await;
    assert_eq!(r.exit_code(), 0);
    assert!(
        r.outcomes[0]
            .line
            .contains("no landmark-relative certificate ("),
        "{}",
        r.outcomes[0].line
    );
}
