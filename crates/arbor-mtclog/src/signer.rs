//! Signing keys of an issuance log. The checkpoint carries the log's Ed25519
//! note signature (c2sp.org/tlog-tiles requires one for public logs) and the CA
//! cosigner's `subtree/v1` cosignature (c2sp.org/mtc-tlog); certificates carry
//! `subtree/v1` subtree signatures with timestamp 0 (draft §5.4.1). The CA
//! cosigner is any [`MessageSigner`], so the ML-DSA-44 key from `arbor-mtc`
//! plugs in; [`Ed25519MessageSigner`] is the built-in one (tests, demos).

use std::sync::Arc;

use arbor_mtc::TrustAnchorId;
use arbor_tlog::NoteError;
use arbor_tlog::cosignature::{MessageSigner, MessageVerifier};
use arbor_tlog::keys::Ed25519Signer;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{
    ED25519, Ed25519KeyPair, KeyPair, ML_DSA_44, ML_DSA_44_SIGNING, PqdsaKeyPair, UnparsedPublicKey,
};

/// A cosigner key usable from any thread.
pub type SharedMessageSigner = Arc<dyn MessageSigner + Send + Sync>;

/// Adapts a shared signer to the by-value `MessageSigner` arbor-tlog wraps.
#[derive(Clone)]
pub struct SharedSigner(pub SharedMessageSigner);

impl MessageSigner for SharedSigner {
    fn sign_message(&self, msg: &[u8]) -> Result<Vec<u8>, NoteError> {
        self.0.sign_message(msg)
    }
    fn public_key(&self) -> &[u8] {
        self.0.public_key()
    }
}

/// Raw Ed25519 over the message (a `subtree/v1` signer for tests and demos;
/// mtc-tlog deployments use ML-DSA-44).
pub struct Ed25519MessageSigner {
    key: Ed25519KeyPair,
    public: Vec<u8>,
}

impl Ed25519MessageSigner {
    /// From a 32-byte seed.
    pub fn from_seed(seed: &[u8]) -> Result<Self, NoteError> {
        let key =
            Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| NoteError::BadKey("seed"))?;
        let public = key.public_key().as_ref().to_vec();
        Ok(Self { key, public })
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Ed25519MessageVerifier {
        Ed25519MessageVerifier(self.public.clone())
    }
}

impl MessageSigner for Ed25519MessageSigner {
    fn sign_message(&self, msg: &[u8]) -> Result<Vec<u8>, NoteError> {
        Ok(self.key.sign(msg).as_ref().to_vec())
    }
    fn public_key(&self) -> &[u8] {
        &self.public
    }
}

/// ML-DSA-44 over the raw message with an empty context (mtc-tlog cosigners).
pub struct MlDsa44MessageSigner {
    key: PqdsaKeyPair,
    public: Vec<u8>,
}

impl MlDsa44MessageSigner {
    /// A fresh key.
    pub fn generate() -> Result<Self, NoteError> {
        Self::from_key(
            PqdsaKeyPair::generate(&ML_DSA_44_SIGNING).map_err(|_| NoteError::SignFailed)?,
        )
    }

    /// From a PKCS#8 private key.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, NoteError> {
        Self::from_key(
            PqdsaKeyPair::from_pkcs8(&ML_DSA_44_SIGNING, der)
                .map_err(|_| NoteError::BadKey("pkcs8"))?,
        )
    }

    /// From a 32-byte FIPS 204 key-generation seed.
    pub fn from_seed(seed: &[u8]) -> Result<Self, NoteError> {
        Self::from_key(
            PqdsaKeyPair::from_seed(&ML_DSA_44_SIGNING, seed)
                .map_err(|_| NoteError::BadKey("seed"))?,
        )
    }

    /// The private key as PKCS#8 (to store it; mode 0600 is the caller's job).
    pub fn to_pkcs8(&self) -> Result<Vec<u8>, NoteError> {
        Ok(self
            .key
            .to_pkcs8v1()
            .map_err(|_| NoteError::BadKey("pkcs8"))?
            .as_ref()
            .to_vec())
    }

    /// The matching verifier.
    pub fn verifier(&self) -> MlDsa44MessageVerifier {
        MlDsa44MessageVerifier(self.public.clone())
    }

    fn from_key(key: PqdsaKeyPair) -> Result<Self, NoteError> {
        let public = key.public_key().as_ref().to_vec();
        Ok(Self { key, public })
    }

    /// DER SubjectPublicKeyInfo (for the CA certificate or a relying party).
    pub fn spki_der(&self) -> Result<Vec<u8>, NoteError> {
        Ok(self
            .key
            .public_key()
            .as_der()
            .map_err(|_| NoteError::BadKey("spki"))?
            .as_ref()
            .to_vec())
    }
}

impl MessageSigner for MlDsa44MessageSigner {
    fn sign_message(&self, msg: &[u8]) -> Result<Vec<u8>, NoteError> {
        let mut sig = vec![0; self.key.algorithm().signature_len()];
        let n = self
            .key
            .sign(msg, &mut sig)
            .map_err(|_| NoteError::SignFailed)?;
        sig.truncate(n);
        Ok(sig)
    }
    fn public_key(&self) -> &[u8] {
        &self.public
    }
}

/// Verifier for [`MlDsa44MessageSigner`] (raw 1312-byte public key).
#[derive(Debug, Clone)]
pub struct MlDsa44MessageVerifier(pub Vec<u8>);

impl MessageVerifier for MlDsa44MessageVerifier {
    fn verify_message(&self, msg: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&ML_DSA_44, &self.0)
            .verify(msg, sig)
            .is_ok()
    }
    fn public_key(&self) -> &[u8] {
        &self.0
    }
}

/// Verifier for [`Ed25519MessageSigner`].
#[derive(Debug, Clone)]
pub struct Ed25519MessageVerifier(pub Vec<u8>);

impl MessageVerifier for Ed25519MessageVerifier {
    fn verify_message(&self, msg: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&ED25519, &self.0)
            .verify(msg, sig)
            .is_ok()
    }
    fn public_key(&self) -> &[u8] {
        &self.0
    }
}

/// The keys a log signs with.
#[derive(Clone)]
pub struct LogKeys {
    /// The log's Ed25519 note key; its name must be the log origin.
    pub log_key: Arc<Ed25519Signer>,
    /// The CA cosigner key (cosigner ID = CA ID).
    pub ca_cosigner: SharedMessageSigner,
}

/// An external cosigner the log asks for signatures (tlog-witness).
#[derive(Clone)]
pub struct WitnessEndpoint {
    /// URL prefix; the log POSTs to `<prefix>/add-checkpoint` and `<prefix>/sign-subtree`.
    pub url: String,
    /// The witness's cosigner ID (its note name is `oid/1.3.6.1.4.1.<id>`).
    pub cosigner_id: TrustAnchorId,
    /// The witness's key. When set, its subtree signatures are verified before
    /// they go into certificates (a bad one is dropped with a warning).
    pub verifier: Option<Arc<dyn MessageVerifier + Send + Sync>>,
}

impl std::fmt::Debug for WitnessEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessEndpoint")
            .field("url", &self.url)
            .field("cosigner_id", &self.cosigner_id)
            .field("verifier", &self.verifier.is_some())
            .finish()
    }
}

/// A shared verifier (adapts `Arc<dyn MessageVerifier>` to the by-value trait).
#[derive(Clone)]
pub struct SharedVerifier(pub Arc<dyn MessageVerifier + Send + Sync>);

impl MessageVerifier for SharedVerifier {
    fn verify_message(&self, msg: &[u8], sig: &[u8]) -> bool {
        self.0.verify_message(msg, sig)
    }
    fn public_key(&self) -> &[u8] {
        self.0.public_key()
    }
}
