//! `arbor witness`: runs an independent MTC cosigner implementing
//! c2sp.org/tlog-witness `add-checkpoint` and `sign-subtree` (logic in
//! `arbor_mtclog::witness`) until Ctrl-C. Its key is ML-DSA-44 (c2sp.org/mtc-tlog
//! requires it for cosigners used in certificates), kept as PKCS#8 in
//! `--key-file` (created with mode 0600 by `--generate-key`). Its state (the
//! latest checkpoint per log origin) lives under `--state-dir`.
//!
//! Stable flags: --listen, --cosigner-id, --key-file, --generate-key, --log-key, --state-dir.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use arbor_mtc::TrustAnchorId;
use arbor_mtclog::signer::SharedVerifier;
use arbor_mtclog::witness::{Witness, WitnessConfig};
use arbor_mtclog::{FsStorage, MlDsa44MessageSigner, SystemClock};
use arbor_tlog::keys::VerifierKey;

/// Flags of `arbor witness`.
#[derive(clap::Args, Debug)]
pub struct WitnessArgs {
    /// HTTP listener; the endpoints are `/add-checkpoint` and `/sign-subtree`.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:7380")]
    listen: SocketAddr,
    /// The witness's cosigner ID (a trust anchor ID, dotted decimal, e.g. 64500.7).
    #[arg(long, value_name = "TAI")]
    cosigner_id: String,
    /// ML-DSA-44 private key, PKCS#8 DER.
    #[arg(long, value_name = "FILE")]
    key_file: PathBuf,
    /// Create `--key-file` (mode 0600) if it does not exist.
    #[arg(long)]
    generate_key: bool,
    /// Log verifier key (`name+hex(id)+base64(type||key)`, name = log origin); repeatable.
    #[arg(long = "log-key", value_name = "VKEY", required = true)]
    log_keys: Vec<String>,
    /// Directory holding the witness state.
    #[arg(long, value_name = "DIR")]
    state_dir: PathBuf,
}

fn load_key(args: &WitnessArgs) -> Result<MlDsa44MessageSigner, String> {
    match std::fs::read(&args.key_file) {
        Ok(der) => MlDsa44MessageSigner::from_pkcs8(&der)
            .map_err(|e| format!("{}: {e}", args.key_file.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && args.generate_key => {
            let key = MlDsa44MessageSigner::generate().map_err(|e| e.to_string())?;
            let der = key.to_pkcs8().map_err(|e| e.to_string())?;
            write_secret(&args.key_file, &der)?;
            Ok(key)
        }
        Err(e) => Err(format!("{}: {e}", args.key_file.display())),
    }
}

fn write_secret(path: &std::path::Path, data: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(data)
        .and_then(|()| f.sync_all())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Runs the witness until Ctrl-C.
pub async fn run(args: WitnessArgs) -> Result<(), String> {
    let cosigner_id: TrustAnchorId = args
        .cosigner_id
        .parse()
        .map_err(|e| format!("--cosigner-id: {e}"))?;
    let logs = args
        .log_keys
        .iter()
        .map(|k| VerifierKey::parse(k).map_err(|e| format!("--log-key {k}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let key = load_key(&args)?;
    let spki = key.spki_der().map_err(|e| e.to_string())?;
    let verifier = SharedVerifier(Arc::new(key.verifier()));
    let storage = FsStorage::new(&args.state_dir).map_err(|e| e.to_string())?;
    let witness = Arc::new(
        Witness::new(WitnessConfig {
            cosigner_id,
            signer: Arc::new(key),
            verifier,
            logs,
            storage: Arc::new(storage),
            clock: Arc::new(SystemClock),
        })
        .map_err(|e| e.to_string())?,
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("{}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "arbor witness: {} on http://{addr} (SPKI {} bytes, hex {})",
        witness.name(),
        spki.len(),
        spki.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let app = arbor_mtclog::witness::router(witness);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("witness server: {e}"))
}
