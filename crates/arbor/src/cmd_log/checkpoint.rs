//! Fetching and checking a log's signed checkpoint (c2sp.org/tlog-checkpoint,
//! c2sp.org/signed-note): the log's own Ed25519 signature (`--log-key`) and the CA
//! cosigner's `subtree/v1` cosignature over `[0, size)` (draft-ietf-plants-merkle-tree-certs
//! §5.3.1, c2sp.org/tlog-cosignature), whose key comes from the CA certificate (`--ca`).
use arbor_mtc::{CaCertificate, CosignerKey};
use arbor_tlog::NoteError;
use arbor_tlog::checkpoint::Checkpoint;
use arbor_tlog::cosignature::{MessageVerifier, SubtreeV1NoteVerifier};
use arbor_tlog::keys::{NoteVerifier, VerifierKey};
use arbor_tlog::note::Note;

use super::tiles::{LogClient, LogCmdError};

/// A fetched checkpoint and a line per signature check that passed.
pub struct Fetched {
    pub checkpoint: Checkpoint,
    pub note: Note,
    pub checks: Vec<String>,
}

/// The CA cosigner's key (ML-DSA with an empty context, as MTC cosignatures use).
struct CaCosigner(CosignerKey);

impl MessageVerifier for CaCosigner {
    fn verify_message(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.0.verify(msg, sig)
    }
    fn public_key(&self) -> &[u8] {
        &self.0.public_key
    }
}

/// A `--log-key` value: the vkey itself or a file holding it.
fn log_verifier(spec: &str) -> Result<Box<dyn NoteVerifier>, LogCmdError> {
    let spec = match std::fs::read_to_string(spec) {
        Ok(s) => s.trim().to_string(),
        Err(_) => spec.trim().to_string(),
    };
    let key = VerifierKey::parse(&spec).map_err(LogCmdError::LogKey)?;
    Ok(Box::new(
        key.ed25519_verifier().map_err(LogCmdError::LogKey)?,
    ))
}

fn ca_verifier(ca: &CaCertificate) -> Result<Box<dyn NoteVerifier>, LogCmdError> {
    let key = CosignerKey::from_spki_der(ca.ca_id.clone(), &ca.spki_der)
        .map_err(|e| LogCmdError::Usage(format!("--ca: cosigner key: {e}")))?;
    let v = SubtreeV1NoteVerifier::new(&ca.ca_id.note_name(), CaCosigner(key))
        .map_err(LogCmdError::LogKey)?;
    Ok(Box::new(v))
}

/// Fetches `<prefix>/checkpoint`; every key given must have a valid signature on it.
pub async fn fetch(
    client: &LogClient,
    log_key: Option<&str>,
    ca: Option<&CaCertificate>,
) -> Result<Fetched, LogCmdError> {
    let bytes = client.get("checkpoint").await?;
    let note = Note::parse(&bytes)?;
    let checkpoint = Checkpoint::parse(&note.text).map_err(NoteError::from)?;
    let mut wanted: Vec<(&str, Box<dyn NoteVerifier>)> = Vec::new();
    if let Some(spec) = log_key {
        wanted.push(("log signature", log_verifier(spec)?));
    }
    if let Some(ca) = ca {
        wanted.push(("CA cosignature", ca_verifier(ca)?));
    }
    if wanted.is_empty() {
        let checks = vec!["signatures: not checked (no --log-key or --ca)".to_string()];
        return Ok(Fetched {
            checkpoint,
            note,
            checks,
        });
    }
    let mut checks = Vec::new();
    for (label, v) in &wanted {
        // Each key on its own: a bad signature fails, and so does a missing one.
        match note.verify(&[v.as_ref()]) {
            Ok(_) => checks.push(format!("{label}: verified ({})", v.name())),
            Err(NoteError::NoKnownSignature) => {
                return Err(LogCmdError::Unsigned {
                    what: label,
                    name: v.name().to_string(),
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Fetched {
        checkpoint,
        note,
        checks,
    })
}
