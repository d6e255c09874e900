//! c2sp.org/signed-note keys: key IDs (`SHA-256(name || 0x0A || type ||
//! key)[:4]`), key names, verifier-key strings `name+hex(id)+base64(type||key)`,
//! the pluggable [`NoteSigner`]/[`NoteVerifier`] traits, and the Ed25519
//! (type 0x01) implementation on aws-lc-rs. Signer keys use the Go
//! `golang.org/x/mod/sumdb/note` form `PRIVATE+KEY+name+hex(id)+base64(0x01||seed)`.

use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use base64ct::{Base64, Encoding};

use crate::error::NoteError;
use crate::hash::sha256;

/// Signature type 0x01: Ed25519 note signatures (signed-note).
pub const SIG_ED25519: u8 = 0x01;
/// Signature type 0x02: ECDSA (transparency-dev/witness).
pub const SIG_ECDSA: u8 = 0x02;
/// Signature type 0x04: timestamped Ed25519 `cosignature/v1` (tlog-cosignature).
pub const SIG_COSIGNATURE_V1: u8 = 0x04;
/// Signature type 0x05: RFC 6962 TreeHeadSignature (static-ct-api).
pub const SIG_RFC6962_STH: u8 = 0x05;
/// Signature type 0x06: timestamped ML-DSA-44 `subtree/v1` cosignature.
pub const SIG_SUBTREE_V1_MLDSA44: u8 = 0x06;
/// Signature type 0xff: types without an assigned byte.
pub const SIG_OTHER: u8 = 0xff;

/// Length of an Ed25519 public key, seed and signature.
pub const ED25519_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const ED25519_SIG_LEN: usize = 64;

/// `SHA-256(name || 0x0A || sig_type || public_key)[:4]`.
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8]) -> [u8; 4] {
    let mut buf = Vec::with_capacity(name.len() + 2 + public_key.len());
    buf.extend_from_slice(name.as_bytes());
    buf.push(b'\n');
    buf.push(sig_type);
    buf.extend_from_slice(public_key);
    let h = sha256(&buf);
    [h[0], h[1], h[2], h[3]]
}

/// A key name must be non-empty, with no Unicode space, `+`, or control character.
pub fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(NoteError::BadKeyName);
    }
    Ok(())
}

/// Produces note signatures for one key.
pub trait NoteSigner {
    /// The key name written in the signature line.
    fn name(&self) -> &str;
    /// The 4-byte key ID prefixed to the signature.
    fn key_hash(&self) -> [u8; 4];
    /// Signs the note text (the signature bytes, without the key ID).
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, NoteError>;
}

/// Checks note signatures for one key.
pub trait NoteVerifier {
    /// The key name expected in the signature line.
    fn name(&self) -> &str;
    /// The 4-byte key ID expected.
    fn key_hash(&self) -> [u8; 4];
    /// Whether `sig` (without the key ID) is valid over the note text `msg`.
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool;
}

/// A parsed verifier key `name+hex(id)+base64(type||key)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    /// Key name.
    pub name: String,
    /// Key ID as written in the vkey.
    pub key_id: [u8; 4],
    /// Signature type byte.
    pub sig_type: u8,
    /// Public key material.
    pub public_key: Vec<u8>,
}

impl VerifierKey {
    /// A vkey with the recommended key ID.
    pub fn new(name: &str, sig_type: u8, public_key: &[u8]) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, sig_type, public_key),
            sig_type,
            public_key: public_key.to_vec(),
        })
    }

    /// Parses a vkey. For the types whose ID derivation this crate knows
    /// (0x01, 0x04, 0x06) the ID must match the recommended derivation.
    pub fn parse(s: &str) -> Result<Self, NoteError> {
        let (name, rest) = s.split_once('+').ok_or(NoteError::BadKey("missing '+'"))?;
        let (id_hex, b64) = rest
            .split_once('+')
            .ok_or(NoteError::BadKey("missing second '+'"))?;
        check_key_name(name)?;
        let key_id = parse_hex4(id_hex)?;
        let raw = Base64::decode_vec(b64).map_err(|_| NoteError::BadKey("bad base64"))?;
        let (&sig_type, public_key) = raw.split_first().ok_or(NoteError::BadKey("empty key"))?;
        if public_key.is_empty() {
            return Err(NoteError::BadKey("empty key"));
        }
        if matches!(sig_type, SIG_ED25519 | SIG_COSIGNATURE_V1)
            && public_key.len() != ED25519_KEY_LEN
        {
            return Err(NoteError::BadKey("Ed25519 key must be 32 bytes"));
        }
        let known = matches!(
            sig_type,
            SIG_ED25519 | SIG_COSIGNATURE_V1 | SIG_SUBTREE_V1_MLDSA44
        );
        if known && key_id != self::key_id(name, sig_type, public_key) {
            return Err(NoteError::BadKey("key ID does not match"));
        }
        Ok(Self {
            name: name.to_owned(),
            key_id,
            sig_type,
            public_key: public_key.to_vec(),
        })
    }

    /// The Ed25519 verifier for a type-0x01 vkey.
    pub fn ed25519_verifier(&self) -> Result<Ed25519Verifier, NoteError> {
        if self.sig_type != SIG_ED25519 {
            return Err(NoteError::UnsupportedType(self.sig_type));
        }
        Ed25519Verifier::new(&self.name, &self.public_key)
    }
}

impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = Vec::with_capacity(1 + self.public_key.len());
        raw.push(self.sig_type);
        raw.extend_from_slice(&self.public_key);
        write!(
            f,
            "{}+{}+{}",
            self.name,
            hex4(self.key_id),
            Base64::encode_string(&raw)
        )
    }
}

fn hex4(id: [u8; 4]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_hex4(s: &str) -> Result<[u8; 4], NoteError> {
    if s.len() != 8
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(NoteError::BadKey("key ID must be 8 lowercase hex digits"));
    }
    let v = u32::from_str_radix(s, 16).map_err(|_| NoteError::BadKey("bad key ID"))?;
    Ok(v.to_be_bytes())
}

/// An Ed25519 note signer (type 0x01).
pub struct Ed25519Signer {
    name: String,
    id: [u8; 4],
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ed25519Signer")
            .field("name", &self.name)
            .field("id", &hex4(self.id))
            .finish()
    }
}

impl Ed25519Signer {
    /// A signer from a 32-byte RFC 8032 seed.
    pub fn from_seed(name: &str, seed: &[u8]) -> Result<Self, NoteError> {
        Self::from_seed_typed(name, SIG_ED25519, seed)
    }

    /// A signer whose key ID uses `sig_type` (0x04 for cosignature keys).
    pub(crate) fn from_seed_typed(
        name: &str,
        sig_type: u8,
        seed: &[u8],
    ) -> Result<Self, NoteError> {
        check_key_name(name)?;
        if seed.len() != ED25519_KEY_LEN {
            return Err(NoteError::BadKey("Ed25519 seed must be 32 bytes"));
        }
        let pair =
            Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| NoteError::BadKey("bad seed"))?;
        let id = key_id(name, sig_type, pair.public_key().as_ref());
        Ok(Self {
            name: name.to_owned(),
            id,
            pair,
        })
    }

    /// Parses `PRIVATE+KEY+name+hex(id)+base64(0x01||seed)`.
    pub fn parse_private_key(s: &str) -> Result<Self, NoteError> {
        let rest = s
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::BadKey("missing PRIVATE+KEY+"))?;
        let (name, rest) = rest
            .split_once('+')
            .ok_or(NoteError::BadKey("missing '+'"))?;
        let (id_hex, b64) = rest
            .split_once('+')
            .ok_or(NoteError::BadKey("missing '+'"))?;
        let id = parse_hex4(id_hex)?;
        let raw = Base64::decode_vec(b64).map_err(|_| NoteError::BadKey("bad base64"))?;
        match raw.split_first() {
            Some((&SIG_ED25519, seed)) => {
                let signer = Self::from_seed(name, seed)?;
                if signer.id != id {
                    return Err(NoteError::BadKey("key ID does not match"));
                }
                Ok(signer)
            }
            Some((&t, _)) => Err(NoteError::UnsupportedType(t)),
            None => Err(NoteError::BadKey("empty key")),
        }
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        let mut pk = [0u8; 32];
        pk.copy_from_slice(self.pair.public_key().as_ref());
        pk
    }

    /// The matching type-0x01 verifier key.
    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key_id: self.id,
            sig_type: SIG_ED25519,
            public_key: self.public_key().to_vec(),
        }
    }

    /// Raw Ed25519 signature over `msg`.
    pub(crate) fn sign_raw(&self, msg: &[u8]) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(msg).as_ref());
        out
    }
}

impl NoteSigner for Ed25519Signer {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_hash(&self) -> [u8; 4] {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, NoteError> {
        Ok(self.sign_raw(msg).to_vec())
    }
}

/// An Ed25519 note verifier (type 0x01).
#[derive(Debug, Clone)]
pub struct Ed25519Verifier {
    name: String,
    id: [u8; 4],
    public_key: [u8; 32],
}

impl Ed25519Verifier {
    /// A verifier for `name` and a 32-byte public key.
    pub fn new(name: &str, public_key: &[u8]) -> Result<Self, NoteError> {
        Self::new_typed(name, SIG_ED25519, public_key)
    }

    pub(crate) fn new_typed(
        name: &str,
        sig_type: u8,
        public_key: &[u8],
    ) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let pk: [u8; 32] = public_key
            .try_into()
            .map_err(|_| NoteError::BadKey("Ed25519 key must be 32 bytes"))?;
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, sig_type, &pk),
            public_key: pk,
        })
    }

    pub(crate) fn verify_raw(&self, msg: &[u8], sig: &[u8]) -> bool {
        sig.len() == ED25519_SIG_LEN
            && UnparsedPublicKey::new(&ED25519, &self.public_key)
                .verify(msg, sig)
                .is_ok()
    }
}

impl NoteVerifier for Ed25519Verifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_hash(&self) -> [u8; 4] {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.verify_raw(msg, sig)
    }
}
