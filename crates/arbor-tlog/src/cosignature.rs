//! c2sp.org/tlog-cosignature: the `cosignature/v1` timestamped Ed25519 note
//! signature (type 0x04, message `"cosignature/v1\ntime <t>\n" || checkpoint
//! body`, signature `u64 timestamp || ed25519[64]`), and the `subtree/v1`
//! cosigned message (`"subtree/v1\n\0" || name<1..255> || u64 timestamp ||
//! origin<1..255> || u64 start || u64 end || hash[32]`). The latter is exactly
//! draft-ietf-plants-merkle-tree-certs §5.4.1's CosignedMessage for SHA-256;
//! its signature algorithm (ML-DSA-44 for tlog use) is plugged in through
//! [`MessageSigner`] / [`MessageVerifier`].

use crate::checkpoint::Checkpoint;
use crate::error::NoteError;
use crate::hash::Hash;
use crate::keys::{
    Ed25519Signer, Ed25519Verifier, NoteSigner, NoteVerifier, SIG_COSIGNATURE_V1,
    SIG_SUBTREE_V1_MLDSA44, key_id,
};

/// The 12-byte `subtree/v1` label.
pub const SUBTREE_V1_LABEL: &[u8; 12] = b"subtree/v1\n\0";
/// Largest timestamp tlog-cosignature allows (2^63 - 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The `cosignature/v1` signed message for a checkpoint body at `timestamp`.
pub fn cosignature_v1_message(timestamp: u64, checkpoint_body: &[u8]) -> Vec<u8> {
    let header = format!("cosignature/v1\ntime {timestamp}\n");
    let mut out = Vec::with_capacity(header.len() + checkpoint_body.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(checkpoint_body);
    out
}

/// Splits a timestamped note signature into `(timestamp, signature)`.
pub fn split_timestamped(sig: &[u8]) -> Option<(u64, &[u8])> {
    let (ts, rest) = sig.split_first_chunk::<8>()?;
    Some((u64::from_be_bytes(*ts), rest))
}

/// The `subtree/v1` cosigned message. Enforces the field limits and the rule
/// that a non-zero `start` requires a zero `timestamp`.
pub fn subtree_v1_message(
    cosigner_name: &str,
    timestamp: u64,
    log_origin: &str,
    start: u64,
    end: u64,
    hash: &Hash,
) -> Result<Vec<u8>, NoteError> {
    let name = u8::try_from(cosigner_name.len())
        .map_err(|_| NoteError::BadMessage("cosigner name too long"))?;
    let origin =
        u8::try_from(log_origin.len()).map_err(|_| NoteError::BadMessage("log origin too long"))?;
    if name == 0 || origin == 0 {
        return Err(NoteError::BadMessage("empty cosigner name or origin"));
    }
    if start != 0 && timestamp != 0 {
        return Err(NoteError::BadMessage("non-zero start requires timestamp 0"));
    }
    if timestamp > MAX_TIMESTAMP || start > end {
        return Err(NoteError::BadMessage("timestamp or range out of bounds"));
    }
    let mut out =
        Vec::with_capacity(12 + 1 + usize::from(name) + 8 + 1 + usize::from(origin) + 16 + 32);
    out.extend_from_slice(SUBTREE_V1_LABEL);
    out.push(name);
    out.extend_from_slice(cosigner_name.as_bytes());
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.push(origin);
    out.extend_from_slice(log_origin.as_bytes());
    out.extend_from_slice(&start.to_be_bytes());
    out.extend_from_slice(&end.to_be_bytes());
    out.extend_from_slice(hash);
    Ok(out)
}

/// A signature algorithm over raw messages (e.g. ML-DSA-44 with an empty context).
pub trait MessageSigner {
    /// Signs `msg`.
    fn sign_message(&self, msg: &[u8]) -> Result<Vec<u8>, NoteError>;
    /// The public key bytes hashed into the key ID.
    fn public_key(&self) -> &[u8];
}

/// Verifies signatures produced by a [`MessageSigner`].
pub trait MessageVerifier {
    /// Whether `sig` is valid over `msg`.
    fn verify_message(&self, msg: &[u8], sig: &[u8]) -> bool;
    /// The public key bytes hashed into the key ID.
    fn public_key(&self) -> &[u8];
}

/// Timestamped Ed25519 `cosignature/v1` signer (key ID type 0x04). The
/// timestamp is chosen by the caller (this crate reads no clock).
#[derive(Debug)]
pub struct CosignatureV1Signer {
    key: Ed25519Signer,
    timestamp: u64,
}

impl CosignatureV1Signer {
    /// A cosigner from a 32-byte Ed25519 seed, signing at `timestamp`.
    pub fn from_seed(name: &str, seed: &[u8], timestamp: u64) -> Result<Self, NoteError> {
        if timestamp > MAX_TIMESTAMP {
            return Err(NoteError::BadMessage("timestamp above 2^63-1"));
        }
        Ok(Self {
            key: Ed25519Signer::from_seed_typed(name, SIG_COSIGNATURE_V1, seed)?,
            timestamp,
        })
    }

    /// The same key signing at another time.
    pub fn set_timestamp(&mut self, timestamp: u64) -> Result<(), NoteError> {
        if timestamp > MAX_TIMESTAMP {
            return Err(NoteError::BadMessage("timestamp above 2^63-1"));
        }
        self.timestamp = timestamp;
        Ok(())
    }

    /// The cosigner public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.public_key()
    }
}

impl NoteSigner for CosignatureV1Signer {
    fn name(&self) -> &str {
        self.key.name()
    }
    fn key_hash(&self) -> [u8; 4] {
        self.key.key_hash()
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, NoteError> {
        let sig = self
            .key
            .sign_raw(&cosignature_v1_message(self.timestamp, msg));
        let mut out = Vec::with_capacity(72);
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&sig);
        Ok(out)
    }
}

/// Verifier for `cosignature/v1` note signatures.
#[derive(Debug, Clone)]
pub struct CosignatureV1Verifier {
    key: Ed25519Verifier,
}

impl CosignatureV1Verifier {
    /// A verifier for cosigner `name` with a 32-byte Ed25519 key.
    pub fn new(name: &str, public_key: &[u8]) -> Result<Self, NoteError> {
        Ok(Self {
            key: Ed25519Verifier::new_typed(name, SIG_COSIGNATURE_V1, public_key)?,
        })
    }
}

impl NoteVerifier for CosignatureV1Verifier {
    fn name(&self) -> &str {
        self.key.name()
    }
    fn key_hash(&self) -> [u8; 4] {
        self.key.key_hash()
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        match split_timestamped(sig) {
            Some((ts, s)) if ts <= MAX_TIMESTAMP => {
                self.key.verify_raw(&cosignature_v1_message(ts, msg), s)
            }
            _ => false,
        }
    }
}

/// A `subtree/v1` checkpoint cosigner (type 0x06 key ID) over any
/// [`MessageSigner`]: signs the checkpoint `[0, size)` at `timestamp`.
pub struct SubtreeV1NoteSigner<S: MessageSigner> {
    name: String,
    id: [u8; 4],
    timestamp: u64,
    signer: S,
}

impl<S: MessageSigner> SubtreeV1NoteSigner<S> {
    /// Wraps `signer` as cosigner `name`, signing at `timestamp`.
    pub fn new(name: &str, signer: S, timestamp: u64) -> Result<Self, NoteError> {
        crate::keys::check_key_name(name)?;
        let id = key_id(name, SIG_SUBTREE_V1_MLDSA44, signer.public_key());
        Ok(Self {
            name: name.to_owned(),
            id,
            timestamp,
            signer,
        })
    }
}

impl<S: MessageSigner> NoteSigner for SubtreeV1NoteSigner<S> {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_hash(&self) -> [u8; 4] {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, NoteError> {
        let text = std::str::from_utf8(msg).map_err(|_| NoteError::Malformed("not UTF-8"))?;
        let cp = Checkpoint::parse(text)?;
        let m = subtree_v1_message(
            &self.name,
            self.timestamp,
            &cp.origin,
            0,
            cp.size,
            &cp.root_hash,
        )?;
        let sig = self.signer.sign_message(&m)?;
        let mut out = Vec::with_capacity(8 + sig.len());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&sig);
        Ok(out)
    }
}

/// Verifier for `subtree/v1` checkpoint cosignatures over any [`MessageVerifier`].
pub struct SubtreeV1NoteVerifier<V: MessageVerifier> {
    name: String,
    id: [u8; 4],
    verifier: V,
}

impl<V: MessageVerifier> SubtreeV1NoteVerifier<V> {
    /// Wraps `verifier` for cosigner `name`.
    pub fn new(name: &str, verifier: V) -> Result<Self, NoteError> {
        crate::keys::check_key_name(name)?;
        let id = key_id(name, SIG_SUBTREE_V1_MLDSA44, verifier.public_key());
        Ok(Self {
            name: name.to_owned(),
            id,
            verifier,
        })
    }
}

impl<V: MessageVerifier> NoteVerifier for SubtreeV1NoteVerifier<V> {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_hash(&self) -> [u8; 4] {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Some((ts, s)) = split_timestamped(sig) else {
            return false;
        };
        let Ok(text) = std::str::from_utf8(msg) else {
            return false;
        };
        let Ok(cp) = Checkpoint::parse(text) else {
            return false;
        };
        match subtree_v1_message(&self.name, ts, &cp.origin, 0, cp.size, &cp.root_hash) {
            Ok(m) => self.verifier.verify_message(&m, s),
            Err(_) => false,
        }
    }
}
