//! `arbor verify` and `arbor log` run as the built binary: verification of the
//! draft-ietf-plants-merkle-tree-certs -07 vectors (exit codes and reasons), and the
//! monitor commands against a static tlog-tiles server started in-process, serving a
//! log generated here with arbor-tlog (2,600 entries: 11 bundles, two tile levels; Ed25519-signed checkpoint).
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arbor_mtc::MtcCertificate;
use arbor_tlog::bundle::encode_bundle;
use arbor_tlog::checkpoint::{Checkpoint, sign_checkpoint};
use arbor_tlog::keys::Ed25519Signer;
use arbor_tlog::tile::tiles_to_publish;
use arbor_tlog::{MemoryTree, consistency_proof, cover, inclusion_proof, leaf_hash, subtree_hash};

const VECTORS: &str = "/work/shared/vectors/mtc-plants-07";

fn vector(name: &str) -> PathBuf {
    Path::new(VECTORS).join(name)
}

fn arbor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_arbor"))
        .args(args)
        .output()
        .expect("run arbor")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn key_hex(name: &str) -> String {
    std::fs::read_to_string(vector(&format!("keys/{name}.hex")))
        .expect("key file")
        .trim()
        .to_string()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn verify(cert: &str, extra: &[&str]) -> Output {
    let cert = vector(cert);
    let ca = vector("ca.der");
    let mut args = vec![
        "verify",
        "--cert",
        cert.to_str().unwrap(),
        "--ca",
        ca.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    arbor(&args)
}

/// A policy requiring the CA and both the ECDSA and ML-DSA-65 witnesses, with the
/// ECDSA key given inline and the ML-DSA-65 key as a relative path.
fn write_policy(dir: &Path, extra: &str) -> PathBuf {
    std::fs::write(dir.join("mldsa65.hex"), key_hex("C_32473_2_2")).unwrap();
    let policy = format!(
        "required = [\"32473.1\"]\n{extra}\n\
         [[cosigner]]\nid = \"32473.2.1\"\nkey = \"{}\"\n\
         [[cosigner]]\nid = \"32473.2.2\"\nkey = \"mldsa65.hex\"\n\
         [[quorum]]\nthreshold = 2\nmembers = [\"32473.2.1\", \"32473.2.2\"]\n",
        key_hex("C_32473_2_1")
    );
    let path = dir.join("policy.toml");
    std::fs::write(&path, policy).unwrap();
    path
}

#[test]
fn standalone_with_witness_policy() {
    let dir = tempfile::tempdir().unwrap();
    let policy = write_policy(dir.path(), "");
    let o = verify("standalone.der", &["--policy", policy.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(
        stdout(&o).trim(),
        "valid: standalone 0x100000000000a log 1 index 10, subtree [8, 11), by cosigners 32473.1, 32473.2.1, 32473.2.2"
    );
    // openssl, an independent parser, reads the same serial.
    let ssl = Command::new("openssl")
        .args(["x509", "-inform", "der", "-noout", "-serial", "-in"])
        .arg(vector("standalone.der"))
        .output()
        .expect("run openssl");
    let serial = String::from_utf8_lossy(&ssl.stdout).trim().to_string();
    let serial = u64::from_str_radix(serial.strip_prefix("serial=").unwrap(), 16).unwrap();
    assert!(stdout(&o).contains(&format!(
        " 0x{serial:x} log {} index {},",
        serial >> 48,
        serial & 0xffff_ffff_ffff
    )));
    // The CA-only certificate lacks the witnesses this policy wants.
    let o = verify(
        "standalone_ca_only.der",
        &["--policy", policy.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).starts_with("invalid: cosignatures do not satisfy the policy: at least 2 of [32473.2.1, 32473.2.2] must sign"),
        "{}",
        stdout(&o)
    );
    // Revoking index 10 of log 1 rejects it.
    let revoked = write_policy(dir.path(), "[[revoked]]\nlog = 1\nfirst = 9\nlast = 10\n");
    let o = verify("standalone.der", &["--policy", revoked.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("revoked range"), "{}", stdout(&o));
}

#[test]
fn standalone_ca_only_and_time() {
    let o = verify("standalone_ca_only.der", &[]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(
        stdout(&o).ends_with("by cosigners 32473.1\n"),
        "{}",
        stdout(&o)
    );
    // notAfter is 2030-12-31T23:59:59Z.
    let o = verify("standalone_ca_only.der", &["--now", "2030-12-31T23:59:59Z"]);
    assert_eq!(o.status.code(), Some(0));
    let o = verify("standalone_ca_only.der", &["--now", "1924992000"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o).trim(),
        "invalid: certificate expired at 1924991999 (now 1924992000)"
    );
}

#[test]
fn bad_certificates() {
    let o = verify("bitflip_bad.der", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o).trim(),
        "invalid: signature by cosigner 32473.1 does not verify over subtree [8, 11) (bad signature, altered certificate or wrong key)"
    );
    let o = verify("unused_bit_bad.der", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).starts_with("invalid: malformed"),
        "{}",
        stdout(&o)
    );
    let o = verify("plain.pem", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).starts_with("invalid: not a Merkle Tree Certificate"),
        "{}",
        stdout(&o)
    );
    // Usage and I/O errors exit 2.
    let o = verify("does-not-exist.der", &[]);
    assert_eq!(o.status.code(), Some(2));
    let o = verify("standalone.der", &["--now", "yesterday"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn landmark_relative() {
    let good = format!("1:32:34:{}", key_hex("SUBTREE_32_34"));
    let o = verify("landmark_32.der", &["--trusted-subtree", &good]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(
        stdout(&o).trim(),
        "valid: landmark-relative 0x1000000000020 log 1 index 32, subtree [32, 34), by trusted subtree"
    );
    // A landmark document names the landmark ([30, 34) is covered by [30, 32) and [32, 34)).
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("landmarks");
    std::fs::write(&doc, "2\n34 1924991999\n30 1900000000\n0 0\n").unwrap();
    let o = verify(
        "landmark_32.der",
        &[
            "--trusted-subtree",
            &good,
            "--landmarks",
            doc.to_str().unwrap(),
        ],
    );
    assert!(
        stdout(&o).trim().ends_with("by landmark 2"),
        "{}",
        stdout(&o)
    );
    // The same hash from a file.
    let file = dir.path().join("trusted");
    std::fs::write(
        &file,
        format!(
            "# log start end hash\n1 32 34 {}\n",
            key_hex("SUBTREE_32_34")
        ),
    )
    .unwrap();
    let o = verify(
        "landmark_32.der",
        &["--trusted-subtrees", file.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    // A wrong hash, and no hash at all.
    let mut wrong = key_hex("SUBTREE_32_34").into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    let wrong = format!("1:32:34:{}", String::from_utf8(wrong).unwrap());
    let o = verify("landmark_32.der", &["--trusted-subtree", &wrong]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).starts_with("invalid: landmark subtree [32, 34) of log 1"),
        "{}",
        stdout(&o)
    );
    let o = verify("landmark_32.der", &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("not a trusted landmark subtree"));
    // landmark_2121 with its own hash.
    let t = format!("1:2048:2122:{}", key_hex("SUBTREE_2048_2122"));
    let o = verify("landmark_2121.der", &["--trusted-subtree", &t]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    // A malformed flag is a usage error.
    let o = verify("landmark_32.der", &["--trusted-subtree", "1:32:34:zz"]);
    assert_eq!(o.status.code(), Some(2));
}

// ---- arbor log against a static tile server ----

const ORIGIN: &str = "oid/1.3.6.1.4.1.32473.1.0.1";
const SIZE: u64 = 2600;
/// Landmarks 1..3 at sizes 64, 200, 300; landmark 1 expires first.
const LANDMARKS: &str = "3\n300 1924991999\n200 1900000000\n64 1800000000\n0 0\n";

struct TestLog {
    files: HashMap<String, Vec<u8>>,
    tree: MemoryTree,
    vkey: String,
}

/// Entries cycle through null and the three vector certificates' log entries.
fn build_log() -> TestLog {
    build_log_altered(None)
}

/// [`build_log`], with entry `altered` (a null entry) replaced by `00 00 00 01`.
fn build_log_altered(altered: Option<u64>) -> TestLog {
    let certs: Vec<Vec<u8>> = ["standalone.der", "landmark_32.der", "landmark_2121.der"]
        .iter()
        .map(|f| {
            let der = std::fs::read(vector(f)).unwrap();
            let cert = MtcCertificate::from_der(&der).unwrap();
            cert.log_entry().unwrap().encode().unwrap()
        })
        .collect();
    let entries: Vec<Vec<u8>> = (0..SIZE)
        .map(|i| match i % 4 {
            _ if Some(i) == altered => vec![0, 0, 0, 1],
            0 => vec![0, 0, 0, 0],
            k => certs[k as usize - 1].clone(),
        })
        .collect();
    let tree = MemoryTree::from_leaf_hashes(entries.iter().map(|e| leaf_hash(e)));
    let mut files = HashMap::new();
    for t in tiles_to_publish(0, SIZE) {
        files.insert(t.path(), t.read(&tree).unwrap());
        if t.level == 0 {
            let first = (t.index * 256) as usize;
            let bundle = encode_bundle(&entries[first..first + usize::from(t.width)]).unwrap();
            files.insert(t.entries_path(), bundle);
        }
    }
    let signer = Ed25519Signer::from_seed(ORIGIN, &[7u8; 32]).unwrap();
    let cp = Checkpoint::new(ORIGIN, SIZE, tree.root());
    files.insert(
        "checkpoint".into(),
        sign_checkpoint(&cp, &[&signer]).unwrap(),
    );
    files.insert("landmarks".into(), LANDMARKS.as_bytes().to_vec());
    TestLog {
        files,
        tree,
        vkey: signer.verifier_key().to_string(),
    }
}

/// Serves `files` under `/mtc/1/` on 127.0.0.1; returns the prefix URL.
fn serve(files: HashMap<String, Vec<u8>>) -> String {
    let files = Arc::new(files);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
                let files = files.clone();
                async move {
                    let path = uri.path().strip_prefix("/mtc/1/").unwrap_or("");
                    match files.get(path) {
                        Some(b) => (axum::http::StatusCode::OK, b.clone()),
                        None => (axum::http::StatusCode::NOT_FOUND, Vec::new()),
                    }
                }
            });
            axum::serve(listener, app).await.unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    format!("http://{addr}/mtc/1")
}

fn log_cmd(url: &str, args: &[&str]) -> Output {
    let mut all = vec!["log", "--url", url];
    all.extend_from_slice(args);
    arbor(&all)
}

#[test]
fn log_commands() {
    let log = build_log();
    let url = serve(log.files.clone());
    let root = hex(&log.tree.root());

    let o = log_cmd(&url, &["--log-key", &log.vkey, "checkpoint"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let out = stdout(&o);
    assert!(
        out.contains(&format!("origin: {ORIGIN}\nsize: {SIZE}\nroot: {root}\n")),
        "{out}"
    );
    assert!(
        out.contains(&format!("log signature: verified ({ORIGIN})")),
        "{out}"
    );
    // Another key under the same name rejects the checkpoint.
    let other = Ed25519Signer::from_seed(ORIGIN, &[8u8; 32]).unwrap();
    let o = log_cmd(
        &url,
        &["--log-key", &other.verifier_key().to_string(), "checkpoint"],
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert_eq!(
        stdout(&o).trim(),
        format!("invalid: checkpoint: no log signature by {ORIGIN}")
    );

    let o = log_cmd(&url, &["entry", "5"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "entry 5 of {SIZE}\nentry: tbs_cert_entry issuer 32473.1"
        )),
        "{out}"
    );
    assert!(out.contains("validity 1577836800 .. 1924991999"), "{out}");
    assert!(out.contains(&format!(
        "inclusion: verified against root {root} of size {SIZE}"
    )));
    let o = log_cmd(&url, &["entry", "260"]);
    assert!(stdout(&o).contains("entry: null_entry"), "{}", stdout(&o));
    let o = log_cmd(&url, &["entry", &SIZE.to_string()]);
    assert_eq!(o.status.code(), Some(2));

    // Inclusion in an older tree, proven consistent with the checkpoint.
    let o = log_cmd(&url, &["inclusion", "200", "--size", "250"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let out = stdout(&o);
    let want = inclusion_proof(&log.tree, 200, 250).unwrap();
    assert!(out.contains(&format!("inclusion proof ({} hashes):", want.len())));
    for h in &want {
        assert!(out.contains(&format!("  {}\n", hex(h))), "{out}");
    }
    assert!(
        out.contains(&format!("consistency 250 -> {SIZE} (checkpoint): verified")),
        "{out}"
    );

    // The last entry (partial bundle and tiles) and one in a middle bundle.
    for index in ["2599", "1500"] {
        let o = log_cmd(&url, &["inclusion", index]);
        assert_eq!(o.status.code(), Some(0), "{o:?}");
        assert!(stdout(&o).contains(&format!("inclusion: verified against root {root}")));
    }

    let o = log_cmd(&url, &["consistency", "100", "299"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let out = stdout(&o);
    let want = consistency_proof(&log.tree, 100, 299).unwrap();
    assert!(out.contains(&format!("consistency proof ({} hashes):", want.len())));
    for h in &want {
        assert!(out.contains(&format!("  {}\n", hex(h))), "{out}");
    }
    assert!(out.contains(&format!(
        "consistency 100 -> 299: verified\nconsistency 299 -> {SIZE} (checkpoint): verified"
    )));

    let o = log_cmd(&url, &["verify-all"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(
        stdout(&o),
        format!(
            "checked {SIZE} entries in 11 bundles: 650 null_entry, 1950 tbs_cert_entry, 0 undecodable\n\
             root from entries: {root} matches the checkpoint\n\
             hash tiles: 12 tiles on 2 levels match the entries\n\
             root from hash tiles: matches the checkpoint\n"
        )
    );
}

#[test]
fn log_detects_tampering() {
    let log = build_log();
    // Entry 4, a null entry (00 00 00 00), becomes 00 00 00 01 in the first bundle.
    let mut files = log.files.clone();
    let bundle = files.get_mut("tile/entries/000").unwrap();
    let entries: Vec<Vec<u8>> = arbor_tlog::bundle::decode_bundle(bundle)
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, e)| if i == 4 { vec![0, 0, 0, 1] } else { e.to_vec() })
        .collect();
    *bundle = encode_bundle(&entries).unwrap();
    let url = serve(files);
    // A checkpoint whose text changed under its signature lines.
    let mut forged_files = log.files.clone();
    let signed = String::from_utf8(log.files["checkpoint"].clone()).unwrap();
    let (_, sigs) = signed.split_once("\n\n").unwrap();
    let forged = Checkpoint::new(ORIGIN, SIZE, [0u8; 32]).to_text().unwrap();
    forged_files.insert(
        "checkpoint".into(),
        format!("{forged}\n{sigs}").into_bytes(),
    );
    let forged_url = serve(forged_files);
    let o = log_cmd(&forged_url, &["--log-key", &log.vkey, "checkpoint"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert_eq!(
        stdout(&o).trim(),
        format!("invalid: checkpoint: signature by {ORIGIN} does not verify")
    );

    // A level-0 hash tile altered at entry 10: landmark subtree hashes (or their
    // consistency proofs) from tiles no longer match the checkpoint (the newest
    // landmark, 3, is checked first), and verify-all notices the tiles.
    let mut bad_tiles = log.files.clone();
    bad_tiles.get_mut("tile/0/000").unwrap()[10 * 32] ^= 1;
    let bad_tiles_url = serve(bad_tiles);
    let o = log_cmd(&bad_tiles_url, &["landmarks", "--all", "--now", "0"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert_eq!(
        stdout(&o).trim(),
        "invalid: landmark 3 subtree [192, 256) is not consistent with the checkpoint: hash mismatch"
    );
    let o = log_cmd(&bad_tiles_url, &["verify-all"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert_eq!(
        stdout(&o).trim(),
        "invalid: tile/0/000 hash 10 does not match the entries"
    );

    let o = log_cmd(&url, &["verify-all"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    // The altered entry no longer matches its leaf hash in the level-0 tile.
    assert_eq!(
        stdout(&o).trim(),
        "invalid: tile/0/000 hash 4 does not match the entries"
    );
    // A self-consistent log (entries and tiles agree) under another log's checkpoint.
    let other = build_log_altered(Some(4));
    let mut mixed = other.files.clone();
    mixed.insert("checkpoint".into(), log.files["checkpoint"].clone());
    let o = log_cmd(&serve(mixed), &["verify-all"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert_eq!(
        stdout(&o).trim(),
        format!(
            "invalid: root of the {SIZE} fetched entries is {}, checkpoint says {}",
            hex(&other.tree.root()),
            hex(&log.tree.root())
        )
    );
    let o = log_cmd(&url, &["inclusion", "4"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        stdout(&o).starts_with("invalid: inclusion proof of entry 4"),
        "{}",
        stdout(&o)
    );
    // Untouched entries still prove.
    let o = log_cmd(&url, &["inclusion", "5"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
}

#[test]
fn log_landmarks_feed_trusted_subtrees() {
    let log = build_log();
    let url = serve(log.files.clone());
    let run = |extra: &[&str]| {
        let mut args = vec!["landmarks", "--now", "1850000000"];
        args.extend_from_slice(extra);
        let o = log_cmd(&url, &args);
        assert_eq!(o.status.code(), Some(0), "{o:?}");
        stdout(&o)
    };
    // Expected: the non-empty covering subtrees of each active landmark, newest first.
    let expect = |ranges: &[(u64, u64, u64)]| -> Vec<(u64, u64, String)> {
        ranges
            .iter()
            .flat_map(|&(l, a, b)| {
                cover(a, b)
                    .into_iter()
                    .filter(|(s, e)| s < e)
                    .map(move |r| (l, r))
            })
            .map(|(_, (s, e))| (s, e, hex(&subtree_hash(&log.tree, s, e).unwrap())))
            .collect()
    };
    let active = run(&[]);
    let all = run(&["--all"]);
    for (out, ranges) in [
        (&active, vec![(3, 200, 300), (2, 64, 200)]),
        (&all, vec![(3, 200, 300), (2, 64, 200), (1, 0, 64)]),
    ] {
        // The output is a valid --trusted-subtrees file with the right hashes.
        let parsed = arbor_mtc::policy_file::parse_trusted_subtrees(out).unwrap();
        let got: Vec<(u64, u64, String)> = parsed
            .0
            .iter()
            .map(|t| {
                assert_eq!(t.log, 1);
                (t.start, t.end, hex(&t.hash))
            })
            .collect();
        assert_eq!(got, expect(&ranges), "{out}");
    }
    assert!(
        active.contains("# landmark 3, expires 1924991999"),
        "{active}"
    );
    assert!(!active.contains("landmark 1,"), "{active}");
}

/// Kills the server when the test ends, pass or fail.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `arbor log` over HTTPS against a real `arbor serve` (fresh, empty log 1): the extra
/// trust root is needed and used, and the served checkpoint, tiles and landmark
/// document parse.
#[test]
fn log_over_https_against_arbor_serve() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (acme, http) = (free_port(), free_port());
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_arbor"))
            .args(["serve", "--data-dir", data.to_str().unwrap()])
            .args(["--listen", &format!("127.0.0.1:{acme}")])
            .args(["--public-http-listen", &format!("127.0.0.1:{http}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start arbor serve"),
    );
    let url = format!("https://127.0.0.1:{acme}/mtc/1");
    let root = data.join("root.pem");
    let root = root.to_str().unwrap();
    let mut ready = None;
    for _ in 0..120 {
        let o = log_cmd(&url, &["--root", root, "checkpoint"]);
        if o.status.success() {
            ready = Some(o);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let o = ready.expect("arbor serve answers /mtc/1/checkpoint");
    assert!(
        stdout(&o).starts_with("origin: oid/1.3.6.1.4.1.32473.1.0.1\nsize: "),
        "{}",
        stdout(&o)
    );
    // Without the extra root the TLS handshake fails: a transport error, exit 2.
    let o = log_cmd(&url, &["checkpoint"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("invalid peer certificate"),
        "{o:?}"
    );
    let o = log_cmd(&url, &["--root", root, "verify-all"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(stdout(&o).contains("root from hash tiles: matches the checkpoint"));
    // The served CA certificate's cosigner key verifies the checkpoint's cosignature;
    // the demo CA (same ID, other key) does not.
    let ca = data.join("mtc/ca.der");
    let o = log_cmd(
        &url,
        &["--root", root, "--ca", ca.to_str().unwrap(), "checkpoint"],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(
        stdout(&o).contains("CA cosignature: verified (oid/1.3.6.1.4.1.32473.1)"),
        "{}",
        stdout(&o)
    );
    let demo = vector("ca.der");
    let o = log_cmd(
        &url,
        &["--root", root, "--ca", demo.to_str().unwrap(), "checkpoint"],
    );
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert_eq!(
        stdout(&o).trim(),
        "invalid: checkpoint: no CA cosignature by oid/1.3.6.1.4.1.32473.1"
    );
    // verify --log-url: the served CA cosigned the checkpoint, so its (still empty)
    // landmark list is accepted and the demo landmark certificate is not covered.
    let lm = vector("landmark_32.der");
    let o = arbor(&[
        "verify",
        "--cert",
        lm.to_str().unwrap(),
        "--ca",
        ca.to_str().unwrap(),
        "--log-url",
        &url,
        "--root",
        root,
    ]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(stdout(&o).starts_with("invalid: "), "{o:?}");
    // With the demo CA the checkpoint lacks that CA's cosignature: not trustworthy, exit 2.
    let o = arbor(&[
        "verify",
        "--cert",
        lm.to_str().unwrap(),
        "--ca",
        demo.to_str().unwrap(),
        "--log-url",
        &url,
        "--root",
        root,
    ]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no CA cosignature by oid/1.3.6.1.4.1.32473.1"),
        "{o:?}"
    );
    let o = log_cmd(&url, &["--root", root, "landmarks", "--all"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    arbor_mtc::policy_file::parse_trusted_subtrees(&stdout(&o)).unwrap();
}

#[test]
fn help_documents_the_file_formats() {
    let o = arbor(&["verify", "--help"]);
    let help = stdout(&o);
    for want in [
        "POLICY FILE (TOML):",
        "[[quorum]]",
        "[[revoked]]",
        "LOG START END HEXHASH",
    ] {
        assert!(help.contains(want), "{want} missing from:\n{help}");
    }
}

/// A whole issuance in miniature: a fresh ML-DSA-44 CA, a 40-entry log whose checkpoint
/// the CA cosigns (`subtree/v1`), a landmark document, and a landmark-relative
/// certificate for entry 35. `arbor verify --log-url` must find the landmark subtree
/// [32, 40) from the live log and accept the certificate; `arbor log --ca` must accept
/// the checkpoint's cosignature.
#[test]
fn landmark_certificate_verified_against_live_log() {
    use arbor_mtc::formats::{EntryExtensions, MtcCaExtension, serial_number};
    use arbor_mtc::{CaCertificate, MtcLogEntry, MtcProof, TbsCertificateLogEntry, TrustAnchorId};
    use arbor_mtclog::MlDsa44MessageSigner;
    use arbor_tlog::cosignature::SubtreeV1NoteSigner;
    use arbor_tlog::subtree_inclusion_proof;
    use x509_cert::der::asn1::{ObjectIdentifier, UtcTime};
    use x509_cert::time::{Time, Validity};

    const T0: u64 = 1_780_000_000;
    let t =
        |s| Time::UtcTime(UtcTime::from_unix_duration(std::time::Duration::from_secs(s)).unwrap());
    let ca_id: TrustAnchorId = "32473.1".parse().unwrap();
    let ca_signer = MlDsa44MessageSigner::generate().unwrap();
    let ca = CaCertificate::build(
        &ca_id,
        1,
        &Validity::new(t(T0 - 86_400), t(T0 + 365 * 86_400)),
        &ca_signer.spki_der().unwrap(),
        MtcCaExtension {
            sig_alg: x509_cert::spki::AlgorithmIdentifierOwned {
                oid: ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.17"),
                parameters: None,
            },
            min_serial: 1 << 48,
            max_serial: (2 << 48) - 1,
        },
    )
    .unwrap();
    // Leaf key: any P-256 SPKI will do (the ECDSA cosigner's from the vectors).
    let leaf_spki = arbor_mtc::policy_file::decode_hex(&key_hex("C_32473_2_1")).unwrap();
    let tbs: Vec<TbsCertificateLogEntry> = (1..40)
        .map(|i| {
            TbsCertificateLogEntry::new(
                x509_cert::certificate::Version::V3,
                &ca_id,
                &Validity::new(t(T0), t(T0 + 7 * 86_400)),
                &format!("CN=host{i}.example").parse().unwrap(),
                &leaf_spki,
                None,
            )
            .unwrap()
        })
        .collect();
    let mut entries = vec![MtcLogEntry::null().encode().unwrap()];
    entries.extend(
        tbs.iter()
            .map(|e| MtcLogEntry::tbs_cert(e.clone()).encode().unwrap()),
    );
    let tree = MemoryTree::from_leaf_hashes(entries.iter().map(|e| leaf_hash(e)));
    let size = entries.len() as u64;

    let mut files = HashMap::new();
    for tile in tiles_to_publish(0, size) {
        files.insert(tile.path(), tile.read(&tree).unwrap());
        if tile.level == 0 {
            files.insert(tile.entries_path(), encode_bundle(&entries).unwrap());
        }
    }
    let origin = format!("oid/1.3.6.1.4.1.{ca_id}.0.1");
    let log_key = Ed25519Signer::from_seed(&origin, &[9u8; 32]).unwrap();
    let cosigner = SubtreeV1NoteSigner::new(&ca_id.note_name(), ca_signer, T0).unwrap();
    let cp = Checkpoint::new(&origin, size, tree.root());
    files.insert(
        "checkpoint".into(),
        sign_checkpoint(&cp, &[&log_key, &cosigner]).unwrap(),
    );
    // Landmarks 1 (size 20) and 2 (size 40): landmark 2 covers [16, 32) and [32, 40).
    let expiry = T0 + 14 * 86_400;
    files.insert(
        "landmarks".into(),
        format!("2\n40 {expiry}\n20 {expiry}\n0 0\n").into_bytes(),
    );
    let url = serve(files);

    let (index, start, end) = (35u64, 32u64, 40u64);
    let proof = MtcProof::new(
        EntryExtensions::default(),
        start,
        end,
        subtree_inclusion_proof(&tree, start, end, index).unwrap(),
        vec![],
    )
    .unwrap();
    let cert = MtcCertificate::build(
        &tbs[index as usize - 1],
        &leaf_spki,
        serial_number(1, index).unwrap(),
        proof,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, ca_path) = (dir.path().join("cert.der"), dir.path().join("ca.der"));
    std::fs::write(&cert_path, cert.to_der().unwrap()).unwrap();
    std::fs::write(&ca_path, &ca.der).unwrap();
    let (cert_path, ca_path) = (cert_path.to_str().unwrap(), ca_path.to_str().unwrap());
    let now = (T0 + 3600).to_string();

    let o = arbor(&[
        "verify",
        "--cert",
        cert_path,
        "--ca",
        ca_path,
        "--log-url",
        &url,
        "--now",
        &now,
    ]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(
        stdout(&o).trim(),
        "valid: landmark-relative 0x1000000000023 log 1 index 35, subtree [32, 40), by landmark 2"
    );
    // After the landmarks expire the log no longer vouches for them.
    let later = (expiry + 1).to_string();
    let o = arbor(&[
        "verify",
        "--cert",
        cert_path,
        "--ca",
        ca_path,
        "--log-url",
        &url,
        "--now",
        &later,
    ]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(
        stdout(&o).contains("not a trusted landmark subtree"),
        "{o:?}"
    );

    let o = log_cmd(
        &url,
        &[
            "--ca",
            ca_path,
            "--log-key",
            &log_key.verifier_key().to_string(),
            "checkpoint",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(stdout(&o).contains(&format!(
        "log signature: verified ({origin})\nCA cosignature: verified (oid/1.3.6.1.4.1.32473.1)\n"
    )));
    let o = log_cmd(&url, &["entry", "35"]);
    assert!(
        stdout(&o).contains("subject \"CN=host35.example\""),
        "{}",
        stdout(&o)
    );
}
