//! Relying-party verification throughput (draft-ietf-plants-merkle-tree-certs §8.2) on
//! the plants-07 demo corpus, and certificate sizes next to the draft's estimates
//! (draft §12 "Size estimates", as summarised in mtc-notes.md §9).
//!
//! `cargo run --release -p arbor-mtc --example verify_bench [VECTOR_DIR] [SECONDS]`
//! (default `/work/shared/vectors/mtc-plants-07`, 1 second per case).
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use arbor_mtc::{
    CaCertificate, CosignerKey, CosignerPolicy, MtcCertificate, TrustedSubtree, TrustedSubtrees,
    verify,
};

/// A time inside every corpus certificate's validity (2020-01-01 .. 2030-12-31).
const NOW: i64 = 1_800_000_000;

struct Case {
    name: &'static str,
    file: &'static str,
    policy: CosignerPolicy,
    trusted: TrustedSubtrees,
    /// The draft's (or its notes') size for the production-like equivalent.
    estimate: &'static str,
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
}

fn hex_file(dir: &Path, name: &str) -> Vec<u8> {
    let text = String::from_utf8(read(dir, &format!("keys/{name}.hex"))).expect("hex text");
    arbor_mtc::policy_file::decode_hex(text.trim()).expect("hex")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "/work/shared/vectors/mtc-plants-07".into()),
    );
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let ca = CaCertificate::from_der(&read(&dir, "ca.der")).expect("ca.der");

    let subtree = |start, end, file| TrustedSubtree {
        log: 1,
        start,
        end,
        hash: hex_file(&dir, file).try_into().expect("32-byte hash"),
    };
    let key = |id: &str, file| {
        CosignerKey::from_spki_der(id.parse().expect("id"), &hex_file(&dir, file)).expect("key")
    };
    let witnesses = CosignerPolicy::new()
        .with_cosigner(key("32473.2.1", "C_32473_2_1"))
        .with_cosigner(key("32473.2.2", "C_32473_2_2"))
        .require(ca.ca_id.clone())
        .require("32473.2.1".parse().expect("id"))
        .require("32473.2.2".parse().expect("id"));
    let cases = vec![
        Case {
            name: "landmark-relative [32,34)",
            file: "landmark_32.der",
            policy: CosignerPolicy::new(),
            trusted: TrustedSubtrees(vec![subtree(32, 34, "SUBTREE_32_34")]),
            estimate: "draft: 23-hash proof 736 B; notes: ~1,020 B cert (MTCProof 755 B)",
        },
        Case {
            name: "landmark-relative [2048,2122)",
            file: "landmark_2121.der",
            policy: CosignerPolicy::new(),
            trusted: TrustedSubtrees(vec![subtree(2048, 2122, "SUBTREE_2048_2122")]),
            estimate: "draft: 23-hash proof 736 B; notes: ~1,020 B cert",
        },
        Case {
            name: "standalone, CA only (ML-DSA-44)",
            file: "standalone_ca_only.der",
            policy: CosignerPolicy::new(),
            trusted: TrustedSubtrees::default(),
            estimate: "notes: 12 hashes + CA ML-DSA-44 ~3,095 B",
        },
        Case {
            name: "standalone, CA + ECDSA + ML-DSA-65",
            file: "standalone.der",
            policy: witnesses,
            trusted: TrustedSubtrees::default(),
            estimate: "notes: + 1 ML-DSA-44 witness ~5,523 B, + 2 ~7,951 B",
        },
    ];

    println!(
        "{:<36} {:>7} {:>7} {:>6} {:>5} {:>12}  estimate",
        "certificate", "bytes", "proof", "hashes", "sigs", "verify/s"
    );
    for c in &cases {
        let der = read(&dir, c.file);
        let cert = MtcCertificate::from_der(&der).expect("parses");
        verify(&der, &ca, &c.policy, &c.trusted, NOW).expect("corpus certificate verifies");
        let budget = Duration::from_secs_f64(secs);
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < budget {
            for _ in 0..16 {
                std::hint::black_box(verify(
                    std::hint::black_box(&der),
                    &ca,
                    &c.policy,
                    &c.trusted,
                    NOW,
                ))
                .ok();
            }
            n += 16;
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        println!(
            "{:<36} {:>7} {:>7} {:>6} {:>5} {:>12.0}  {}",
            c.name,
            der.len(),
            cert.proof.encoded_len(),
            cert.proof.inclusion_proof.len(),
            cert.proof.signatures.len(),
            rate,
            c.estimate
        );
    }
    println!(
        "\nMTCProof size = 19 + 32*hashes + sum(1 + |id| + 2 + |sig|) (-06/-07); \
         the draft compares against 7,260 B (ML-DSA-44) / 9,927 B (ML-DSA-65) for a leaf \
         signature plus 2 SCTs."
    );
}
