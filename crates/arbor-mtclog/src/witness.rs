//! `arbor witness`: an independent cosigner implementing c2sp.org/tlog-witness
//! `add-checkpoint` and `sign-subtree` (as profiled by c2sp.org/mtc-tlog for
//! MTC cosigners). It keeps the latest checkpoint per known origin (durably,
//! before answering), accepts a new one only with a valid consistency proof
//! from exactly that size, and answers with a `subtree/v1` cosignature
//! (non-zero timestamp on checkpoints, zero on subtrees).
//!
//! Errors follow the spec: 400 malformed, 403 bad/missing signature, 404
//! unknown origin, 409 (`text/x.tlog.size`) wrong old size or same-size fork,
//! 422 bad proof. Deviation: no monitoring (`GET …/checkpoint`) endpoint yet.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use arbor_mtc::TrustAnchorId;
use arbor_tlog::checkpoint::Checkpoint;
use arbor_tlog::cosignature::{SubtreeV1NoteSigner, SubtreeV1NoteVerifier, subtree_v1_message};
use arbor_tlog::keys::{NoteSigner, NoteVerifier, VerifierKey};
use arbor_tlog::note::{Note, NoteSignature};
use arbor_tlog::{
    Hash, empty_root, is_valid_subtree, verify_consistency, verify_subtree_consistency,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64ct::{Base64, Encoding};
use thiserror::Error;

use crate::clock::Clock;
use crate::error::StorageError;
use crate::signer::{SharedMessageSigner, SharedSigner, SharedVerifier};
use crate::storage::LogStorage;

/// Path of the witness state in its storage.
pub const WITNESS_STATE_PATH: &str = "witness/state";
/// Most proof lines a request may carry (tlog-witness).
pub const MAX_PROOF_LINES: usize = 63;

/// Errors answered by the witness.
#[derive(Debug, Error)]
pub enum WitnessError {
    /// The request is malformed.
    #[error("malformed request: {0}")]
    BadRequest(&'static str),
    /// The origin is not a log this witness knows.
    #[error("unknown log origin")]
    UnknownOrigin,
    /// The checkpoint's log (or, for sign-subtree, witness) signature is missing or bad.
    #[error("checkpoint signature missing or invalid")]
    BadSignature,
    /// The request's old size is not the witness's current size for the log.
    #[error("witness has size {0}")]
    Conflict(u64),
    /// The proof does not verify.
    #[error("proof does not verify")]
    BadProof,
    /// Persisting state failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Signing failed.
    #[error("signing failed")]
    Sign,
}

/// Witness settings.
pub struct WitnessConfig {
    /// The witness's cosigner ID; its name is `oid/1.3.6.1.4.1.<id>`.
    pub cosigner_id: TrustAnchorId,
    /// Its signing key (ML-DSA-44 in production).
    pub signer: SharedMessageSigner,
    /// The matching verifier (to check its own cosignature in sign-subtree).
    pub verifier: SharedVerifier,
    /// Log keys it accepts; each key's name is the log origin.
    pub logs: Vec<VerifierKey>,
    /// Where it keeps its state.
    pub storage: Arc<dyn LogStorage>,
    /// Timestamps of checkpoint cosignatures.
    pub clock: Arc<dyn Clock>,
}

/// The witness.
pub struct Witness {
    cfg: WitnessConfig,
    name: String,
    state: Mutex<BTreeMap<String, (u64, Hash)>>,
}

fn encode_state(m: &BTreeMap<String, (u64, Hash)>) -> String {
    m.iter()
        .map(|(o, (s, h))| format!("{o} {s} {}\n", Base64::encode_string(h)))
        .collect()
}

fn decode_state(data: &[u8]) -> Option<BTreeMap<String, (u64, Hash)>> {
    let mut m = BTreeMap::new();
    for line in std::str::from_utf8(data).ok()?.lines() {
        let mut f = line.split(' ');
        let (o, s, h) = (f.next()?, f.next()?, f.next()?);
        let h: Hash = Base64::decode_vec(h).ok()?.try_into().ok()?;
        m.insert(o.to_owned(), (s.parse().ok()?, h));
    }
    Some(m)
}

/// Splits `<header>\n<proof lines>\n<note>` into header, proof hashes and note.
fn split_body(
    body: &[u8],
    header_lines: usize,
) -> Result<(Vec<&str>, Vec<Hash>, Note), WitnessError> {
    let text = std::str::from_utf8(body).map_err(|_| WitnessError::BadRequest("not UTF-8"))?;
    let mut rest = text;
    let mut header = Vec::new();
    for _ in 0..header_lines {
        let (l, r) = rest
            .split_once('\n')
            .ok_or(WitnessError::BadRequest("header"))?;
        header.push(l);
        rest = r;
    }
    let mut proof = Vec::new();
    loop {
        let (l, r) = rest
            .split_once('\n')
            .ok_or(WitnessError::BadRequest("proof"))?;
        rest = r;
        if l.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_LINES {
            return Err(WitnessError::BadRequest("too many proof lines"));
        }
        let h: Hash = Base64::decode_vec(l)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or(WitnessError::BadRequest("proof line"))?;
        proof.push(h);
    }
    let note = Note::parse(rest.as_bytes()).map_err(|_| WitnessError::BadRequest("note"))?;
    Ok((header, proof, note))
}

fn parse_u64(s: &str) -> Result<u64, WitnessError> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(WitnessError::BadRequest("number"));
    }
    s.parse().map_err(|_| WitnessError::BadRequest("number"))
}

impl Witness {
    /// Loads state from `cfg.storage`.
    pub fn new(cfg: WitnessConfig) -> Result<Self, WitnessError> {
        let name = cfg.cosigner_id.note_name();
        let state = match cfg.storage.get(WITNESS_STATE_PATH)? {
            Some(d) => decode_state(&d).ok_or(WitnessError::BadRequest("corrupt witness state"))?,
            None => BTreeMap::new(),
        };
        Ok(Self {
            cfg,
            name,
            state: Mutex::new(state),
        })
    }

    /// The witness's note name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The latest (size, root) accepted for `origin`.
    pub fn latest(&self, origin: &str) -> Option<(u64, Hash)> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(origin)
            .copied()
    }

    fn checkpoint_of(&self, note: &Note) -> Result<(Checkpoint, &VerifierKey), WitnessError> {
        let cp =
            Checkpoint::parse(&note.text).map_err(|_| WitnessError::BadRequest("checkpoint"))?;
        let key = self
            .cfg
            .logs
            .iter()
            .find(|k| k.name == cp.origin)
            .ok_or(WitnessError::UnknownOrigin)?;
        Ok((cp, key))
    }

    /// `POST <prefix>/add-checkpoint`: returns the cosignature line.
    pub fn add_checkpoint(&self, body: &[u8]) -> Result<String, WitnessError> {
        let (header, proof, note) = split_body(body, 1)?;
        let old = parse_u64(
            header[0]
                .strip_prefix("old ")
                .ok_or(WitnessError::BadRequest("old"))?,
        )?;
        let (cp, key) = self.checkpoint_of(&note)?;
        let v = key
            .ed25519_verifier()
            .map_err(|_| WitnessError::BadSignature)?;
        note.verify(&[&v as &dyn NoteVerifier])
            .map_err(|_| WitnessError::BadSignature)?;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (size, root) = state.get(&cp.origin).copied().unwrap_or((0, empty_root()));
        if old != size {
            return Err(WitnessError::Conflict(size));
        }
        if cp.size < old {
            return Err(WitnessError::BadRequest("checkpoint older than old size"));
        }
        if cp.size == old && cp.root_hash != root {
            return Err(WitnessError::Conflict(size));
        }
        verify_consistency(old, cp.size, &root, &cp.root_hash, &proof)
            .map_err(|_| WitnessError::BadProof)?;
        if cp.size > size {
            let mut next = state.clone();
            next.insert(cp.origin.clone(), (cp.size, cp.root_hash));
            self.cfg
                .storage
                .put_mutable(WITNESS_STATE_PATH, encode_state(&next).as_bytes())?;
            *state = next;
        }
        drop(state);
        let signer = SubtreeV1NoteSigner::new(
            &self.name,
            SharedSigner(self.cfg.signer.clone()),
            self.cfg.clock.now_secs(),
        )
        .map_err(|_| WitnessError::Sign)?;
        let sig = signer
            .sign(note.text.as_bytes())
            .map_err(|_| WitnessError::Sign)?;
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: signer.key_hash(),
            signature: sig,
        }
        .to_line())
    }

    /// `POST <prefix>/sign-subtree`: returns the subtree cosignature line
    /// (key ID, timestamp 0, signature).
    pub fn sign_subtree(&self, body: &[u8]) -> Result<String, WitnessError> {
        let (header, proof, note) = split_body(body, 2)?;
        let range = header[0]
            .strip_prefix("subtree ")
            .and_then(|r| r.split_once(' '))
            .ok_or(WitnessError::BadRequest("subtree line"))?;
        let (start, end) = (parse_u64(range.0)?, parse_u64(range.1)?);
        let hash: Hash = Base64::decode_vec(header[1])
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or(WitnessError::BadRequest("subtree hash"))?;
        let (cp, _) = self.checkpoint_of(&note)?;
        let own = SubtreeV1NoteVerifier::new(&self.name, self.cfg.verifier.clone())
            .map_err(|_| WitnessError::BadSignature)?;
        note.verify(&[&own as &dyn NoteVerifier])
            .map_err(|_| WitnessError::BadSignature)?;
        if start >= end || !is_valid_subtree(start, end) || end > cp.size {
            return Err(WitnessError::BadRequest("invalid subtree"));
        }
        verify_subtree_consistency(start, end, cp.size, &hash, &cp.root_hash, &proof)
            .map_err(|_| WitnessError::BadProof)?;
        let msg = subtree_v1_message(&self.name, 0, &cp.origin, start, end, &hash)
            .map_err(|_| WitnessError::Sign)?;
        let sig = self
            .cfg
            .signer
            .sign_message(&msg)
            .map_err(|_| WitnessError::Sign)?;
        let mut blob = 0u64.to_be_bytes().to_vec();
        blob.extend_from_slice(&sig);
        Ok(NoteSignature {
            name: self.name.clone(),
            key_id: own.key_hash(),
            signature: blob,
        }
        .to_line())
    }
}

/// The one mapping from witness errors to HTTP responses.
fn error_response(e: WitnessError) -> Response {
    let status = match &e {
        WitnessError::BadRequest(_) => StatusCode::BAD_REQUEST,
        WitnessError::UnknownOrigin => StatusCode::NOT_FOUND,
        WitnessError::BadSignature => StatusCode::FORBIDDEN,
        WitnessError::Conflict(size) => {
            return (
                StatusCode::CONFLICT,
                [(header::CONTENT_TYPE, "text/x.tlog.size")],
                format!("{size}\n"),
            )
                .into_response();
        }
        WitnessError::BadProof => StatusCode::UNPROCESSABLE_ENTITY,
        WitnessError::Storage(err) => {
            tracing::error!(error = %err, "witness storage failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        WitnessError::Sign => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (status, e.to_string()).into_response()
}

async fn run(
    w: Arc<Witness>,
    body: Bytes,
    f: fn(&Witness, &[u8]) -> Result<String, WitnessError>,
) -> Response {
    match tokio::task::spawn_blocking(move || f(&w, &body)).await {
        Ok(Ok(line)) => {
            ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], line).into_response()
        }
        Ok(Err(e)) => error_response(e),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `POST /add-checkpoint` and `POST /sign-subtree`, relative to the witness prefix.
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route(
            "/add-checkpoint",
            post(|State(w): State<Arc<Witness>>, body: Bytes| {
                run(w, body, Witness::add_checkpoint)
            }),
        )
        .route(
            "/sign-subtree",
            post(|State(w): State<Arc<Witness>>, body: Bytes| run(w, body, Witness::sign_subtree)),
        )
        .with_state(witness)
}
